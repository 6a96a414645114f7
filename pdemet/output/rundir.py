"""The one reader of a run directory (layout in :mod:`pdemet.output.layout`).

:func:`load_run` gives a :class:`Run`: the scenario, the clones and their colors, the summary, the tables
(parsed once) and one :class:`OrganFields` per organ whose mesh and field steps are read lazily from its
VTKHDF file. Plain numpy and h5py: render, plots and sweep use it without DOLFINx or the solver.
"""

from __future__ import annotations

import csv
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from pdemet.errors import RenderError
from pdemet.output import layout
from pdemet.output.vtkhdf import read_step_mesh
from pdemet.scenario.model import PALETTE


def _open_h5(path):
    return h5py.File(path, "r", locking=False)


def _num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def norm_step(k: int, n: int, what: str) -> int:
    """Step k (negative counts from the end) as an index in 0..n−1, or a RenderError."""
    if n == 0:
        raise RenderError(f"{what}: no output steps yet")
    if not -n <= k < n:
        raise RenderError(f"step {k} out of range for {what} ({n} steps)")
    return k % n


@dataclass
class OrganFields:
    """One organ of a run: its mesh and field time series, read lazily from VTKHDF.

    ``cache`` holds what readers derive from the mesh once (PyVista grids and surfaces).
    """

    name: str
    role: str
    kappa: float
    path: Path
    times: np.ndarray
    cache: dict = field(default_factory=dict, repr=False)
    _last: tuple | None = field(default=None, repr=False)  # (k, arrays) of the last step read

    @property
    def n_steps(self) -> int:
        return len(self.times)

    def part(self, k: int = 0) -> int:
        """Which mesh (part of the file) step ``k`` is on: adapted organs change mesh between steps."""
        k = norm_step(k, self.n_steps, self.name)
        if "parts" not in self.cache:
            with _open_h5(self.path) as f:
                self.cache["parts"] = f["VTKHDF"]["Steps"]["PartOffsets"][:].astype(np.int64)
        return int(self.cache["parts"][k])

    def points_tets(self, k: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Node coordinates (N, 3) in mm and tetrahedra (M, 4) of step ``k``'s mesh; cached per mesh."""
        key = ("points_tets", self.part(k))
        if key not in self.cache:
            with _open_h5(self.path) as f:
                self.cache[key] = read_step_mesh(f["VTKHDF"], norm_step(k, self.n_steps, self.name))
        return self.cache[key]

    def fields(self, k: int) -> dict[str, np.ndarray]:
        """All point arrays at step ``k`` (negative counts from the end)."""
        k = norm_step(k, self.n_steps, self.name)
        # One step is kept: an overview, the body scene and each close-up all ask for the same step.
        if self._last is None or self._last[0] != k:
            out = {}
            with _open_h5(self.path) as f:
                g = f["VTKHDF"]
                n = int(g["NumberOfPoints"][int(g["Steps"]["PartOffsets"][k])])
                for name in g["PointData"]:
                    off = int(g["Steps"]["PointDataOffsets"][name][k])
                    out[name] = g["PointData"][name][off:off + n].astype(np.float64)
            self._last = (k, out)
        return {name: a.copy() for name, a in self._last[1].items()}  # callers may change their arrays

    def step_at(self, t: float) -> int:
        """Index of the last step with time <= t (nearest step if all are later)."""
        if self.n_steps == 0:
            raise RenderError(f"organ {self.name!r} has no output steps yet")
        le = np.nonzero(self.times <= t + 1e-9 * max(1.0, abs(t)))[0]
        return int(le[-1]) if len(le) else int(np.argmin(np.abs(self.times - t)))

    def cells(self, k: int, clones) -> dict[str, float]:
        """Cells per clone and 'total' at step ``k``, integrated from the P1 field (tet volume × vertex mean)."""
        pts, tets = self.points_tets(k)
        d = pts[tets[:, 1:]] - pts[tets[:, :1]]
        vol = np.abs(np.einsum("ij,ij->i", d[:, 0], np.cross(d[:, 1], d[:, 2]))) / 6.0
        data = self.fields(k)
        out = {c: float(vol @ data.get(c, np.zeros(len(pts)))[tets].mean(axis=1)) for c in clones}
        out[layout.TOTAL] = sum(out.values())
        return out


@dataclass
class Run:
    """A run directory: scenario, clones and colors, organs (primary first), tables."""

    path: Path
    scenario: dict
    clones: list[str]
    colors: np.ndarray  # (K, 3) floats in [0, 1]
    organs: dict[str, OrganFields]
    summary: dict
    _tables: dict = field(default_factory=dict, repr=False)  # parsed CSVs, read once

    @property
    def name(self) -> str:
        return str(self.scenario.get("name") or self.path.name)

    @property
    def times(self) -> np.ndarray:
        """Output times of the reference organ (the primary one, else the first; without fields, the
        timeseries' times)."""
        if not self.organs:
            return np.unique([r["time"] for r in self.timeseries()])
        return next(iter(self.organs.values())).times

    def time_of(self, step: int) -> float:
        k = norm_step(step, len(self.times), "run")
        return float(self.times[k])

    def clone_rgb(self) -> dict[str, tuple[float, float, float]]:
        return {c: tuple(self.colors[i]) for i, c in enumerate(self.clones)}

    def timeseries(self) -> list[dict]:
        """timeseries.csv rows (time, organ, clone, cells); [] if absent."""
        if "timeseries" not in self._tables:
            p = self.path / layout.TIMESERIES
            rows = []
            if p.is_file():
                with open(p, newline="") as f:
                    rows = [{"time": _num(r.get("time")), "organ": r.get("organ", ""), "clone": r.get("clone", ""),
                             "cells": _num(r.get("cells"))} for r in csv.DictReader(f)]
            self._tables["timeseries"] = rows
        return self._tables["timeseries"]

    def seeding(self) -> dict | None:
        """The seeding event log (:func:`pdemet.output.seeding.read_seeding`); None without cluster flux."""
        if "seeding" not in self._tables:
            from pdemet.output.seeding import read_seeding

            p = self.path / layout.SEEDING
            self._tables["seeding"] = read_seeding(p) if p.is_file() else None
        return self._tables["seeding"]

    def census(self) -> list[dict]:
        """Foci table rows with numbers parsed; [] if census.csv is absent or empty."""
        if "census" not in self._tables:
            self._tables["census"] = read_census(self.path)
        return self._tables["census"]

    def census_at(self, t: float) -> list[dict]:
        """Census rows of the last census time <= t (or the nearest one)."""
        rows = self.census()
        if not rows:
            return []
        ts = np.unique([r["time"] for r in rows])
        le = ts[ts <= t + 1e-9 * max(1.0, abs(t))]
        tc = le[-1] if len(le) else ts[np.argmin(np.abs(ts - t))]
        return [r for r in rows if r["time"] == tc]

    def cells(self, organ: OrganFields, k: int) -> dict[str, float]:
        """Cells per clone (and 'total') in ``organ`` at its step ``k``.

        From timeseries.csv when it has that time, else integrated from the P1 field.
        """
        t = float(organ.times[k])
        rows = [r for r in self.timeseries() if r["organ"] == organ.name and
                math.isclose(r["time"], t, rel_tol=1e-9, abs_tol=1e-12)]
        if rows:
            out = {r["clone"]: r["cells"] for r in rows}
            out.setdefault(layout.TOTAL, sum(v for c, v in out.items() if c in self.clones))
            return out
        return organ.cells(k, self.clones)


def read_census(run_dir) -> list[dict]:
    """census.csv rows with numeric columns as floats; [] when the file is absent or header-only."""
    p = Path(run_dir) / layout.CENSUS
    if not p.is_file():
        return []
    rows = []
    with open(p, newline="") as f:
        for r in csv.DictReader(f):
            d = {k: (_num(v) if k not in ("organ",) else v) for k, v in r.items() if k is not None and k != ""}
            d["organ"] = r.get("organ", "")
            d["focus_id"] = r.get("focus_id", "")
            rows.append(d)
    return rows


def read_summary(run_dir) -> dict:
    """summary.json as a dict; {} when it is absent or unreadable (a run still going, or killed early)."""
    try:
        return json.loads((Path(run_dir) / layout.SUMMARY).read_text())
    except (OSError, ValueError):
        return {}


def is_completed(run_dir, scenario_text: str) -> bool:
    """A completed run of this very scenario (its resolved scenario.toml is ``scenario_text``), or of the same
    scenario with fields written when ``scenario_text`` writes none: a run that wrote more serves a request for
    less (its tables are the same; ``load_run(fields=False)`` reads it)."""
    try:
        stored = (Path(run_dir) / layout.SCENARIO).read_text()
    except OSError:
        return False
    same = stored == scenario_text or _with_fields_serves(stored, scenario_text)
    return same and read_summary(run_dir).get("status") == "completed"


def _with_fields_serves(stored: str, wanted: str) -> bool:
    """``stored`` is ``wanted`` except that it writes fields where ``wanted`` writes none."""
    try:
        a, b = tomllib.loads(stored), tomllib.loads(wanted)
    except tomllib.TOMLDecodeError:
        return False
    sa, sb = a.get("simulation") or {}, b.get("simulation") or {}
    if sb.get("write_fields", True) or not sa.get("write_fields", True):
        return False
    sa["write_fields"] = False
    return a == b


def hex_rgb(color) -> tuple[float, float, float]:
    """'#rrggbb' → floats in [0, 1]."""
    if not (isinstance(color, str) and re.fullmatch(r"#[0-9a-fA-F]{6}", color)):
        raise RenderError(f"invalid color {color!r}: expected '#rrggbb'")
    return tuple(int(color[i:i + 2], 16) / 255.0 for i in (1, 3, 5))


def load_run(run_dir, fields: bool = True) -> Run:
    """Read a run directory's metadata (fields are read lazily). Raises :class:`RenderError`; without
    ``fields`` a run that wrote none (``simulation.write_fields = false``) loads with no organs: its tables."""
    path = Path(run_dir)
    if not path.is_dir():
        raise RenderError(f"run directory not found: {path}")
    scenario = {}
    sp = path / layout.SCENARIO
    if sp.is_file():
        try:
            scenario = tomllib.loads(sp.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise RenderError(f"cannot parse {sp}: {exc}") from None
    organs, array_names = _organs(path, scenario.get("organs", {}) or {}, fields,
                                  (scenario.get("simulation") or {}).get("write_fields", True))
    ccfg = scenario.get("clones", {}) or {}
    clones = [str(c) for c in ccfg.get("names", [])] or [a for a in array_names if a != layout.TOTAL]
    colors = list(ccfg.get("colors", []))
    while len(colors) < len(clones):  # scenario without colors: the palette
        colors.append(PALETTE[len(colors) % len(PALETTE)])
    rgb = np.array([hex_rgb(c) for c in colors[:len(clones)]]).reshape(-1, 3)
    return Run(path=path, scenario=scenario, clones=clones, colors=rgb, organs=organs, summary=read_summary(path))


def _organs(path: Path, organ_cfg: dict, required: bool, written: bool) -> tuple[dict[str, OrganFields], list[str]]:
    """The organs with at least one output step (primary first, then scenario order), and the array names."""
    fields_dir = path / layout.FIELDS
    files = sorted(f for f in fields_dir.glob("*.vtkhdf") if not layout.is_temporary(f)) if fields_dir.is_dir() else []
    if not files and not required:
        return {}, []
    if not files and not written:
        raise RenderError(f"no fields in {path}: the run was made with simulation.write_fields = false (run it "
                          "again with true to render it)")
    if not files:
        raise RenderError(f"no {layout.FIELDS}/*.vtkhdf in {path} (has the run written any output yet?)")
    by_name = {f.stem: f for f in files}
    order = [n for n, c in organ_cfg.items() if c.get("role") == "primary"]
    order += [n for n in organ_cfg if n not in order]
    order = [n for n in order if n in by_name] + sorted(n for n in by_name if n not in order)
    organs: dict[str, OrganFields] = {}
    array_names: list[str] = []
    for name in order:
        cfg = organ_cfg.get(name, {})
        try:
            with _open_h5(by_name[name]) as f:
                g = f["VTKHDF"]
                st = g["Steps"]
                n = min(int(st.attrs.get("NSteps", [len(st["Values"])])[0]), len(st["Values"]), len(st["PartOffsets"]))
                n_pts = g["NumberOfPoints"][:][st["PartOffsets"][:n]] if n else np.zeros(0, dtype=np.int64)
                for a in g["PointData"]:
                    m = min(n, len(st["PointDataOffsets"][a]))
                    ends = st["PointDataOffsets"][a][:m] + n_pts[:m]
                    n = int(np.sum(ends <= g["PointData"][a].shape[0]))  # steps whose values are all there
                    if a not in array_names:
                        array_names.append(a)
                times = st["Values"][:n].astype(np.float64)
        except (OSError, KeyError) as exc:
            raise RenderError(f"cannot read {by_name[name]}: {exc}") from None
        organs[name] = OrganFields(name=name, role=str(cfg.get("role", "primary" if not organs else "site")),
                                   kappa=float(cfg.get("carrying_capacity", 1.0e6)), path=by_name[name], times=times)
    if all(o.n_steps == 0 for o in organs.values()):
        raise RenderError(f"fields in {path} have no output steps yet")
    return {k: o for k, o in organs.items() if o.n_steps > 0}, array_names


def as_run(run) -> Run:
    return run if isinstance(run, Run) else load_run(run)
