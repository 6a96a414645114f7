"""Pictures, movies and interactive views of a pdemet run, from its output files alone.

Works from a run directory (``scenario.toml``, ``fields/<organ>.vtkhdf``,
``timeseries.csv``, ``census.csv``, ``summary.json``); never imports DOLFINx or the
solver, so it runs anywhere PyVista/VTK can render off screen.

Colors: every clone has a color (``[clones] colors`` in the scenario). A point's
color is the density-weighted mix of the clone colors (:func:`mix_colors`), so a
monoclonal region shows exactly its clone's color and a polyclonal region an
intermediate one. Tissue without tumor is drawn in a neutral tissue color;
:func:`alpha_from_density` fades between the two.

Main entry points: :func:`render_run` (PNG overviews, close-ups of the largest
foci, optional movie, plots), :func:`export_html` (standalone interactive HTML)
and :func:`view` (interactive window).
"""

from __future__ import annotations

import csv
import json
import math
import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pyvista as pv

from pdemet.errors import RenderError

__all__ = [
    "RenderError",
    "Run",
    "Organ",
    "load_run",
    "mix_colors",
    "alpha_from_density",
    "blend_tissue",
    "tumor_surface",
    "organ_plotter",
    "body_plotter",
    "closeup_plotter",
    "render_run",
    "render_movie",
    "export_html",
    "view",
]

TISSUE_RGB = (0.925, 0.870, 0.830)  # empty tissue (slices)
ORGAN_RGB = (0.720, 0.650, 0.610)  # translucent organ surface
OUTLINE_RGB = (0.35, 0.30, 0.28)  # organ silhouette
TEXT_RGB = (0.10, 0.10, 0.10)
BACKGROUND = "white"
DEFAULT_COLORS = ["#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#ffd92f", "#a65628", "#f781bf"]

# Tumor surfaces are drawn where total density > THRESHOLD_FRAC * carrying capacity.
THRESHOLD_FRAC = 0.01
# Camera directions (camera position relative to the focal point) and view-up vectors.
VIEWS = {
    "oblique": ((0.45, -1.0, 0.55), (0.0, 0.0, 1.0)),
    "iso": ((1.0, 1.0, 1.0), (0.0, 0.0, 1.0)),
    "xy": ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0)),
    "xz": ((0.0, -1.0, 0.0), (0.0, 0.0, 1.0)),
    "yz": ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
}


# ----------------------------------------------------------------------------- colors


def to_rgb(color) -> tuple[float, float, float]:
    """Any color spec PyVista understands ('#e41a1c', 'red', (r, g, b)) -> floats in [0, 1]."""
    try:
        return tuple(float(c) for c in pv.Color(color).float_rgb)
    except Exception as exc:  # pragma: no cover - message only
        raise RenderError(f"invalid color {color!r}: {exc}") from None


def mix_colors(densities, colors, tissue=TISSUE_RGB) -> np.ndarray:
    """Density-weighted mix of clone colors.

    ``densities`` (K, n) clone densities, ``colors`` (K, 3) floats in [0, 1].
    Returns (n, 3) floats: sum_i d_i c_i / sum_i d_i. A point holding a single
    clone gets exactly that clone's color, an equal mix the mean color, and
    points with no cells (total <= 0) the neutral ``tissue`` color. Negative
    densities (finite-element undershoot) are treated as zero.
    """
    d = np.clip(np.asarray(densities, dtype=np.float64), 0.0, None)
    if d.ndim == 1:
        d = d[:, None]
    c = np.asarray(colors, dtype=np.float64).reshape(-1, 3)
    if d.shape[0] != c.shape[0]:
        raise ValueError(f"{d.shape[0]} density rows but {c.shape[0]} colors")
    total = d.sum(axis=0)
    out = np.empty((d.shape[1], 3))
    out[:] = np.asarray(tissue, dtype=np.float64)
    ok = total > 0
    if ok.any():
        out[ok] = (d[:, ok].T @ c) / total[ok, None]
    return np.clip(out, 0.0, 1.0)


def alpha_from_density(total, kappa, full=0.05, faint=None) -> np.ndarray:
    """Tumor opacity/brightness in [0, 1] from total density.

    Linear ramp ``clip(total / (full * kappa), 0, 1)``: empty tissue 0, fully vivid
    from ``full`` x carrying capacity on. With ``faint`` (e.g. 1e-4) the ramp is
    logarithmic between ``faint * kappa`` and ``full * kappa``, which makes small
    micrometastases visible.
    """
    total = np.clip(np.asarray(total, dtype=np.float64), 0.0, None)
    kappa = float(kappa) if kappa and kappa > 0 else 1.0
    if faint is None:
        return np.clip(total / (full * kappa), 0.0, 1.0)
    lo, hi = math.log(faint * kappa), math.log(full * kappa)
    with np.errstate(divide="ignore"):
        a = (np.log(np.maximum(total, 1e-300)) - lo) / (hi - lo)
    return np.clip(a, 0.0, 1.0)


def blend_tissue(densities, colors, kappa, full=0.05, faint=1e-4, tissue=TISSUE_RGB) -> np.ndarray:
    """uint8 (n, 3) colors fading from tissue color (no tumor) to the clone mix (dense tumor)."""
    d = np.asarray(densities, dtype=np.float64)
    mix = mix_colors(d, colors, tissue)
    a = alpha_from_density(np.clip(d, 0, None).sum(axis=0), kappa, full, faint)[:, None]
    rgb = (1.0 - a) * np.asarray(tissue) + a * mix
    return _u8(rgb)


def _u8(rgb) -> np.ndarray:
    return np.clip(np.rint(np.asarray(rgb) * 255.0), 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------- run data


def _open_h5(path):
    try:
        return h5py.File(path, "r", locking=False)
    except TypeError:  # old h5py
        return h5py.File(path, "r")


@dataclass
class Organ:
    """One organ of a run: its mesh and field time series, read lazily from VTKHDF."""

    name: str
    role: str
    kappa: float
    path: Path
    times: np.ndarray
    _mesh: pv.UnstructuredGrid | None = field(default=None, repr=False)
    _surface: pv.PolyData | None = field(default=None, repr=False)
    _last: tuple | None = field(default=None, repr=False)  # (k, arrays) of the last step read

    @property
    def n_steps(self) -> int:
        return len(self.times)

    def mesh(self) -> pv.UnstructuredGrid:
        """Tetrahedral grid (mm) without data; cached."""
        if self._mesh is None:
            with _open_h5(self.path) as f:
                g = f["VTKHDF"]
                pts = g["Points"][:]
                conn = g["Connectivity"][:].astype(np.int64).reshape(-1, 4)
            self._mesh = pv.UnstructuredGrid({pv.CellType.TETRA: conn}, pts)
        return self._mesh

    def surface(self) -> pv.PolyData:
        if self._surface is None:
            self._surface = self.mesh().extract_surface(algorithm="dataset_surface").triangulate()
        return self._surface

    def fields(self, k: int) -> dict[str, np.ndarray]:
        """All point arrays at step ``k`` (negative counts from the end)."""
        k = _norm_step(k, self.n_steps, self.name)
        # One step is kept: an overview, the body scene and each close-up all ask for the same step.
        if self._last is None or self._last[0] != k:
            out = {}
            with _open_h5(self.path) as f:
                g = f["VTKHDF"]
                n = int(g["NumberOfPoints"][0])
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

    def grid(self, k: int, clones: Sequence[str]) -> pv.UnstructuredGrid:
        """Mesh carrying the clone arrays and ``total`` of step ``k``."""
        g = self.mesh().copy(deep=False)
        data = self.fields(k)
        dens = []
        for c in clones:
            arr = data.get(c, np.zeros(g.n_points))
            g.point_data[c] = arr
            dens.append(arr)
        g.point_data["total"] = data["total"] if "total" in data else np.sum(dens, axis=0)
        return g


def _norm_step(k: int, n: int, what: str) -> int:
    if n == 0:
        raise RenderError(f"{what}: no output steps yet")
    if not -n <= k < n:
        raise RenderError(f"step {k} out of range for {what} ({n} steps)")
    return k % n


def _num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


@dataclass
class Run:
    """A run directory: scenario, clones and colors, organs (primary first), tables."""

    path: Path
    scenario: dict
    clones: list[str]
    colors: np.ndarray  # (K, 3) floats
    organs: dict[str, Organ]
    summary: dict
    _tables: dict = field(default_factory=dict, repr=False)  # parsed CSVs, read once

    @property
    def name(self) -> str:
        return str(self.scenario.get("name") or self.path.name)

    @property
    def times(self) -> np.ndarray:
        """Output times of the reference organ (the primary one, else the first)."""
        return next(iter(self.organs.values())).times

    def time_of(self, step: int) -> float:
        k = _norm_step(step, len(self.times), "run")
        return float(self.times[k])

    def clone_rgb(self) -> dict[str, tuple[float, float, float]]:
        return {c: tuple(self.colors[i]) for i, c in enumerate(self.clones)}

    # -- tables
    def timeseries(self) -> list[dict]:
        """timeseries.csv rows (time, organ, clone, cells); [] if absent."""
        if "timeseries" not in self._tables:
            p = self.path / "timeseries.csv"
            rows = []
            if p.is_file():
                with open(p, newline="") as f:
                    rows = [{"time": _num(r.get("time")), "organ": r.get("organ", ""), "clone": r.get("clone", ""),
                             "cells": _num(r.get("cells"))} for r in csv.DictReader(f)]
            self._tables["timeseries"] = rows
        return self._tables["timeseries"]

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

    def cells(self, organ: Organ, k: int, grid: pv.UnstructuredGrid | None = None) -> dict[str, float]:
        """Cells per clone (and 'total') in ``organ`` at its step ``k``.

        From timeseries.csv when it has that time, else integrated from the P1 field.
        """
        t = float(organ.times[k])
        rows = [r for r in self.timeseries() if r["organ"] == organ.name and
                math.isclose(r["time"], t, rel_tol=1e-9, abs_tol=1e-12)]
        if rows:
            out = {r["clone"]: r["cells"] for r in rows}
            out.setdefault("total", sum(v for c, v in out.items() if c in self.clones))
            return out
        g = grid if grid is not None else organ.grid(k, self.clones)
        vol = np.abs(g.compute_cell_sizes(length=False, area=False, volume=True).cell_data["Volume"])
        conn = g.cells_dict[pv.CellType.TETRA]
        out = {c: float(vol @ np.asarray(g.point_data[c])[conn].mean(axis=1)) for c in self.clones}
        out["total"] = sum(out.values())
        return out


def read_census(run_dir) -> list[dict]:
    """census.csv rows with numeric columns as floats; [] when the file is absent or header-only."""
    p = Path(run_dir) / "census.csv"
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


def load_run(run_dir) -> Run:
    """Read a run directory's metadata (fields are read lazily). Raises :class:`RenderError`."""
    path = Path(run_dir)
    if not path.is_dir():
        raise RenderError(f"run directory not found: {path}")
    scenario = {}
    sp = path / "scenario.toml"
    if sp.is_file():
        try:
            scenario = tomllib.loads(sp.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise RenderError(f"cannot parse {sp}: {exc}") from None
    summary = {}
    jp = path / "summary.json"
    if jp.is_file():
        try:
            summary = json.loads(jp.read_text())
        except json.JSONDecodeError:
            summary = {}
    files = sorted((path / "fields").glob("*.vtkhdf")) if (path / "fields").is_dir() else []
    if not files:
        raise RenderError(f"no fields/*.vtkhdf in {path} (has the run written any output yet?)")

    organ_cfg = scenario.get("organs", {}) or {}
    by_name = {f.stem: f for f in files}
    order = [n for n, c in organ_cfg.items() if c.get("role") == "primary"]
    order += [n for n in organ_cfg if n not in order]
    order = [n for n in order if n in by_name] + sorted(n for n in by_name if n not in order)

    organs: dict[str, Organ] = {}
    array_names: list[str] = []
    for name in order:
        cfg = organ_cfg.get(name, {})
        try:
            with _open_h5(by_name[name]) as f:
                g = f["VTKHDF"]
                st = g["Steps"]
                n_pts = int(g["NumberOfPoints"][0])
                n = min(int(st.attrs.get("NSteps", [len(st["Values"])])[0]), len(st["Values"]))
                for a in g["PointData"]:
                    n = min(n, len(st["PointDataOffsets"][a]), g["PointData"][a].shape[0] // max(n_pts, 1))
                    if a not in array_names:
                        array_names.append(a)
                times = st["Values"][:n].astype(np.float64)
        except (OSError, KeyError) as exc:
            raise RenderError(f"cannot read {by_name[name]}: {exc}") from None
        organs[name] = Organ(name=name, role=str(cfg.get("role", "primary" if not organs else "site")),
                             kappa=float(cfg.get("carrying_capacity", 1.0e6)), path=by_name[name], times=times)
    if all(o.n_steps == 0 for o in organs.values()):
        raise RenderError(f"fields in {path} have no output steps yet")
    organs = {k: o for k, o in organs.items() if o.n_steps > 0}

    ccfg = scenario.get("clones", {}) or {}
    clones = [str(c) for c in ccfg.get("names", [])] or [a for a in array_names if a != "total"]
    colors = list(ccfg.get("colors", []))
    while len(colors) < len(clones):  # scenario without colors: a qualitative palette
        colors.append(DEFAULT_COLORS[len(colors) % len(DEFAULT_COLORS)])
    rgb = np.array([to_rgb(c) for c in colors[:len(clones)]]).reshape(-1, 3)
    return Run(path=path, scenario=scenario, clones=clones, colors=rgb, organs=organs, summary=summary)


def _as_run(run) -> Run:
    return run if isinstance(run, Run) else load_run(run)


# ----------------------------------------------------------------------------- geometry helpers


def tumor_surface(grid: pv.UnstructuredGrid, clones, colors, threshold: float) -> pv.PolyData | None:
    """Closed surface of the region total > threshold, colored by clone mix (``rgb`` uint8 point array)."""
    total = np.asarray(grid.point_data["total"])
    if grid.n_points == 0 or not np.any(total > threshold):
        return None
    vol = grid.clip_scalar(scalars="total", value=threshold, invert=False)
    if vol.n_cells == 0:
        return None
    surf = vol.extract_surface(algorithm="dataset_surface").triangulate()
    if surf.n_points == 0:
        return None
    dens = np.stack([np.asarray(surf.point_data[c]) for c in clones])
    surf.point_data["rgb"] = _u8(mix_colors(dens, colors))
    return surf.compute_normals(auto_orient_normals=False, split_vertices=False)


def _nice_length(x: float) -> float:
    if x <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(x))
    for m in (5, 2, 1):
        if m * e <= x:
            return m * e
    return e


def _fmt(x: float) -> str:
    """Cell counts for titles: 12,345 / 1.23e6."""
    if not np.isfinite(x):
        return "?"
    if abs(x) < 1e5:
        return f"{x:,.0f}"
    m, e = f"{x:.2e}".split("e")
    return f"{m}e{int(e)}"


def _fmt_t(t: float) -> str:
    return f"{t:.4g} d"


def _fs(size, base: float) -> int:
    """Font size scaled with the window (base is for 1600 x 1200)."""
    return max(7, int(round(base * min(size[0] / 1600, size[1] / 1200) ** 0.75)))


def _new_plotter(size, shape=(1, 1), off_screen=True, **kw) -> pv.Plotter:
    p = pv.Plotter(off_screen=off_screen, window_size=tuple(int(s) for s in size), shape=shape, border=False, **kw)
    p.set_background(BACKGROUND)
    return p


def _finish(p: pv.Plotter, aa: bool = True):
    # No depth peeling: on Mesa/EGL (VTK 9.7) it drops translucent geometry. A single translucent organ
    # surface over opaque tumor blends correctly without it.
    if aa:
        try:
            p.enable_anti_aliasing("ssaa", all_renderers=True)
        except Exception:  # pragma: no cover
            pass


def _set_camera(p: pv.Plotter, bounds, view: str, fill=(0.86, 0.74), parallel=None):
    """Look along ``view`` and zoom so the box ``bounds`` fills ``fill`` (width, height) of the viewport."""
    if view not in VIEWS:
        raise RenderError(f"unknown view {view!r}; choose from {', '.join(VIEWS)}")
    vec, up = VIEWS[view]
    p.view_vector(vec, viewup=up, render=False)
    if parallel if parallel is not None else view in ("xy", "xz", "yz"):
        p.enable_parallel_projection()
    p.reset_camera(bounds=bounds, render=False)
    ren = p.renderer
    b = np.asarray(bounds, float).reshape(3, 2)
    corners = np.array(np.meshgrid(*b, indexing="ij")).reshape(3, -1).T
    x0, y0, x1, y1 = ren.GetViewport()
    w, h = p.window_size
    vw, vh = (x1 - x0) * w, (y1 - y0) * h
    cx, cy = (x0 + x1) / 2 * w, (y0 + y1) / 2 * h
    dx = dy = 1e-9
    for c in corners:
        ren.SetWorldPoint(*c, 1.0)
        ren.WorldToDisplay()
        X, Y, _ = ren.GetDisplayPoint()
        dx, dy = max(dx, abs(X - cx)), max(dy, abs(Y - cy))
    zoom = min(fill[0] * vw / (2 * dx), fill[1] * vh / (2 * dy))
    if np.isfinite(zoom) and zoom > 0:
        p.camera.zoom(zoom)


def _screen_axes(view: str):
    """World axes that run (right, up) on screen for a view, and the depth axis with its near side sign."""
    vec, up = VIEWS[view]
    v = np.asarray(vec, float)
    u = np.asarray(up, float)
    right = np.cross(u, v)  # camera looks along -v
    ax_r = int(np.argmax(np.abs(right)))
    ax_u = int(np.argmax(np.abs(u)))
    ax_d = 3 - ax_r - ax_u
    return ax_r, ax_u, ax_d, (1.0 if v[ax_d] >= 0 else -1.0)


def _near_bottom(b, view, below=0.0):
    """Point at the near, bottom edge of box ``b`` (3x2), centred horizontally, ``below`` x height lower."""
    ax_r, ax_u, ax_d, sgn = _screen_axes(view)
    ext = b[:, 1] - b[:, 0]
    pt = b.mean(axis=1)
    pt[ax_u] = b[ax_u, 0] - below * max(ext.max(), 1e-9)
    pt[ax_d] = b[ax_d, 1] if sgn > 0 else b[ax_d, 0]
    return pt


def _add_scale_bar(p: pv.Plotter, bounds, view: str, fs: int, frac=0.25, below=0.12, at="left", name=None):
    """Scale bar ('<L> mm') under the box ``bounds``: a thick line with end ticks and a label."""
    b = np.asarray(bounds, float).reshape(3, 2)
    ax_r, ax_u, ax_d, sgn = _screen_axes(view)
    ext = b[:, 1] - b[:, 0]
    L = _nice_length(frac * ext[ax_r])
    a = _near_bottom(b, view, below)
    a[ax_r] = b[ax_r, 0] if at == "left" else b[ax_r, 1] - L
    e = a.copy()
    e[ax_r] += L
    tick = np.zeros(3)
    tick[ax_u] = 0.025 * max(ext[ax_r], ext[ax_u])
    bar = pv.Line(a, e) + pv.Line(a - tick, a + tick) + pv.Line(e - tick, e + tick)
    p.add_mesh(bar, color=TEXT_RGB, line_width=max(2, fs // 6), lighting=False, name=name and f"{name}-bar")
    mid = (a + e) / 2 - 1.2 * tick
    p.add_point_labels([mid], [f"{L:g} mm"], font_size=fs, shape=None, show_points=False, text_color=TEXT_RGB,
                       always_visible=True, bold=True, justification_horizontal="center",
                       justification_vertical="top", name=name and f"{name}-label")
    return L


def _text_size(actor) -> tuple[int, int]:
    """Pixel (width, height) of a text actor's text."""
    import vtk

    bb = [0, 0, 0, 0]
    vtk.vtkTextRenderer().GetBoundingBox(actor.GetTextProperty(), actor.GetInput(), bb, 72)
    return bb[1] - bb[0], bb[3] - bb[2]


def _legend(p: pv.Plotter, run: Run, cells: dict | None, size, name="legend", viewport=None):
    """Clone legend (color swatch, name, optional cell count) in the upper right corner of the viewport."""
    fs = _fs(size, 14)
    vw, vh = viewport if viewport is not None else size
    entries = [(c if not cells else f"{c}   {_fmt(cells.get(c, 0.0))}", tuple(run.colors[i]))
               for i, c in enumerate(run.clones)]
    texts = [p.add_text(t, position=(0, 0), font_size=fs, color=TEXT_RGB, name=f"{name}-{i}")
             for i, (t, _) in enumerate(entries)]
    sizes = [_text_size(a) for a in texts]
    line_h = max((h for _, h in sizes), default=fs) * 1.35
    sw_w = line_h * 0.9
    width = max((w for w, _ in sizes), default=0) + sw_w + 0.5 * line_h
    x = vw - width - 0.5 * line_h
    for i, ((_, col), a) in enumerate(zip(entries, texts)):
        y = vh - (i + 1) * line_h - 0.3 * line_h
        a.SetPosition(x + sw_w + 0.4 * line_h, y + 0.12 * line_h)
        pts = np.array([[x, y + 0.1 * line_h, 0], [x + sw_w, y + 0.1 * line_h, 0],
                        [x + sw_w, y + 0.95 * line_h, 0], [x, y + 0.95 * line_h, 0]])
        poly = pv.PolyData(pts, faces=[4, 0, 1, 2, 3])
        _add_2d(p, poly, col, f"{name}-sw{i}")
    for i in range(len(entries), len(entries) + 64):  # remove leftovers when reusing a name
        if f"{name}-{i}" not in p.actors:
            break
        p.remove_actor([f"{name}-{i}", f"{name}-sw{i}"], render=False)


def _add_2d(p: pv.Plotter, poly: pv.PolyData, color, name):
    """Filled polygon in viewport pixel coordinates, with a thin dark outline."""
    import vtk

    p.remove_actor([name, name + "-edge"], render=False)
    for nm, data, edge in ((name, poly, False), (name + "-edge", poly.extract_feature_edges(
            boundary_edges=True, feature_edges=False, manifold_edges=False, non_manifold_edges=False), True)):
        coord = vtk.vtkCoordinate()
        coord.SetCoordinateSystemToViewport()
        m = vtk.vtkPolyDataMapper2D()
        m.SetInputData(data)
        m.SetTransformCoordinate(coord)
        act = vtk.vtkActor2D()
        act.SetMapper(m)
        act.GetProperty().SetColor(*(OUTLINE_RGB if edge else color))
        act.GetProperty().SetLineWidth(1.5)
        p.add_actor(act, name=nm, reset_camera=False, render=False)


def _add_organ(p, organ: Organ, offset=None, opacity=0.16, silhouette=True, name=None):
    surf = organ.surface()
    if offset is not None:
        surf = surf.translate(offset, inplace=False)
    kw = dict(silhouette=dict(color=OUTLINE_RGB, line_width=2.0)) if silhouette else {}
    p.add_mesh(surf, color=ORGAN_RGB, opacity=opacity, smooth_shading=True, specular=0.1, name=name, **kw)


def _add_tumor(p, surf: pv.PolyData | None, offset=None, name=None):
    if surf is None:
        if name:
            p.remove_actor(name, render=False)
        return
    if offset is not None:
        surf = surf.translate(offset, inplace=False)
    p.add_mesh(surf, scalars="rgb", rgb=True, smooth_shading=True, ambient=0.3, diffuse=0.7, specular=0.1,
               show_scalar_bar=False, name=name)


def _note(p, text, size, name=None):
    p.add_text(text, position="lower_left", font_size=_fs(size, 15), color=(0.35, 0.35, 0.35), name=name)


# ----------------------------------------------------------------------------- scenes


def organ_plotter(run, organ: str, step: int = -1, size=(1600, 1200), view: str = "oblique",
                  off_screen: bool = True, threshold_frac: float = THRESHOLD_FRAC,
                  label_foci: int = 0) -> pv.Plotter:
    """Overview of one organ: translucent organ surface, tumor surface in clone colors, legend, scale bar.

    ``label_foci``: mark the N largest census foci (site organs) with their ids.
    """
    run = _as_run(run)
    if organ not in run.organs:
        raise RenderError(f"no organ {organ!r} in run (have: {', '.join(run.organs)})")
    o = run.organs[organ]
    t = run.time_of(step)
    k = o.step_at(t)
    g = o.grid(k, run.clones)
    cells = run.cells(o, k, g)

    p = _new_plotter(size, off_screen=off_screen)
    _add_organ(p, o)
    _add_tumor(p, tumor_surface(g, run.clones, run.colors, threshold_frac * o.kappa))
    if label_foci and o.role != "primary":
        foci = sorted((r for r in run.census_at(t) if r["organ"] == organ), key=lambda r: -r["cells"])[:label_foci]
        if foci:
            pts = np.array([[r["centroid_x"], r["centroid_y"], r["centroid_z"]] for r in foci])
            p.add_point_labels(pts, [f"#{_safe(r['focus_id'])}" for r in foci], font_size=_fs(size, 24),
                               shape=None, show_points=True, point_color=TEXT_RGB, point_size=8,
                               text_color=TEXT_RGB, always_visible=True, bold=True)
    p.add_text(f"{organ} ({o.role})   t = {_fmt_t(o.times[k])}   {_fmt(cells.get('total', 0.0))} cells",
               position="upper_left", font_size=_fs(size, 20), color=TEXT_RGB)
    _note(p, f"tumor surface: total > {threshold_frac * o.kappa:.3g} cells/mm³ "
             f"({threshold_frac:.0%} of carrying capacity)", size)
    _legend(p, run, cells, size)
    b = np.asarray(o.mesh().bounds)
    _add_scale_bar(p, b, view, _fs(size, 24), below=0.06)
    _finish(p)
    _set_camera(p, _pad_bounds(b, view, below=0.3), view)
    return p


def _pad_bounds(b, view, below=0.0, above=0.0, side=0.0):
    b = np.asarray(b, float).reshape(3, 2).copy()
    ext = b[:, 1] - b[:, 0]
    ax_r, ax_u, _, _ = _screen_axes(view)
    b[ax_u] += np.array([-below, above]) * ext[ax_u]
    b[ax_r] += np.array([-side, side]) * ext[ax_r]
    return b.ravel()


def _layout(run: Run, view: str) -> dict[str, np.ndarray]:
    """Translations placing organs side by side (primary first); over 4 organs, two rows."""
    ax_r, ax_u, _, _ = _screen_axes(view)
    names = list(run.organs)
    bounds = {n: np.asarray(run.organs[n].mesh().bounds).reshape(3, 2) for n in names}
    exts = np.array([bounds[n][:, 1] - bounds[n][:, 0] for n in names])
    gap = 0.35 * float(np.median(exts[:, ax_r]))
    ncols = len(names) if len(names) <= 4 else math.ceil(len(names) / 2)
    row_h = float(exts[:, ax_u].max()) * 1.8
    result, cursor = {}, {}
    for i, n in enumerate(names):
        r = i // ncols
        b = bounds[n]
        off = -b.mean(axis=1)
        w = b[ax_r, 1] - b[ax_r, 0]
        x0 = cursor.get(r, 0.0)
        off[ax_r] += x0 + w / 2
        off[ax_u] -= r * row_h
        cursor[r] = x0 + w + gap
        result[n] = off
    return result


def _text3d(text: str, center, height: float, view: str) -> pv.PolyData:
    """Flat 3-D text of the given height, centred at ``center``, facing the camera of ``view``."""
    vec, up = VIEWS[view]
    v = np.asarray(vec, float) / np.linalg.norm(vec)
    r = np.cross(up, v)
    r /= np.linalg.norm(r)
    u = np.cross(v, r)
    m = pv.Text3D(text, depth=0.0)
    m.points -= np.asarray(m.center)
    h = m.bounds[3] - m.bounds[2]
    m.points *= height / max(h, 1e-12) / max(1, text.count("\n") + 1)
    m.points = m.points @ np.array([r, u, v]) + np.asarray(center, float)
    return m


class BodyScene:
    """Primary and site organs side by side at a common scale; :meth:`update` redraws another step."""

    def __init__(self, run, size=(1600, 1200), view: str = "oblique", off_screen: bool = True,
                 threshold_frac: float = THRESHOLD_FRAC, silhouette: bool = True, text3d: bool = False):
        self.run = _as_run(run)
        self.text3d = text3d
        self.info: dict = {}
        if view not in VIEWS:
            raise RenderError(f"unknown view {view!r}; choose from {', '.join(VIEWS)}")
        self.size = size
        self.view = view
        self.threshold_frac = threshold_frac
        self.offsets = _layout(self.run, view)
        self.p = _new_plotter(size, off_screen=off_screen)
        self.boxes = {}
        for n, o in self.run.organs.items():
            _add_organ(self.p, o, self.offsets[n], silhouette=silhouette, name=f"organ-{n}")
            self.boxes[n] = np.asarray(o.mesh().bounds).reshape(3, 2) + self.offsets[n][:, None]
        bb = np.array(list(self.boxes.values()))
        self.bounds = np.column_stack([bb[:, :, 0].min(axis=0), bb[:, :, 1].max(axis=0)]).ravel()
        self.scale_mm = _add_scale_bar(self.p, self.bounds, view, _fs(size, 24), frac=0.1, below=0.05)
        if text3d:
            ext = float(np.max(bb[:, :, 1] - bb[:, :, 0]))
            b = self.bounds.reshape(3, 2)
            pt = _near_bottom(b, view, 0.05)
            pt[_screen_axes(view)[0]] = b[_screen_axes(view)[0], 0] + self.scale_mm / 2
            ax_u = _screen_axes(view)[1]
            pt[ax_u] -= 0.09 * ext
            self.p.add_mesh(_text3d(f"{self.scale_mm:g} mm", pt, 0.05 * ext, view), color=TEXT_RGB,
                            lighting=False)
        _finish(self.p)
        _set_camera(self.p, _pad_bounds(self.bounds, view, below=0.3, above=0.3), view, fill=(0.9, 0.72))

    def update(self, step: int = -1) -> pv.Plotter:
        run, p, size = self.run, self.p, self.size
        t = run.time_of(step)
        ax_r, ax_u, ax_d, sgn = _screen_axes(self.view)
        grand = {c: 0.0 for c in run.clones}
        pts, labels = [], []
        for n, o in run.organs.items():
            k = o.step_at(t)
            g = o.grid(k, run.clones)
            cells = run.cells(o, k, g)
            for c in run.clones:
                grand[c] += cells.get(c, 0.0)
            _add_tumor(p, tumor_surface(g, run.clones, run.colors, self.threshold_frac * o.kappa),
                       self.offsets[n], name=f"tumor-{n}")
            b = self.boxes[n]
            top = b.mean(axis=1)
            top[ax_u] = b[ax_u, 1] + 0.05 * float((b[:, 1] - b[:, 0]).max())
            top[ax_d] = b[ax_d, 0] if sgn > 0 else b[ax_d, 1]  # far top edge: above the organ on screen
            pts.append(top)
            labels.append(f"{n}: {_fmt(cells.get('total', 0.0))} cells")
        if self.text3d:
            ext = float(max(np.max(b[:, 1] - b[:, 0]) for b in self.boxes.values()))
            for i, (pt, lab) in enumerate(zip(pts, labels)):
                pt = pt.copy()
                pt[ax_u] += 0.05 * ext
                p.add_mesh(_text3d(lab, pt, 0.065 * ext, self.view), color=TEXT_RGB, lighting=False,
                           name=f"organ-label3d-{i}")
        else:
            p.add_point_labels(np.array(pts), labels, font_size=_fs(size, 30), shape=None, show_points=False,
                               text_color=TEXT_RGB, always_visible=True, bold=True, name="organ-labels",
                               justification_horizontal="center", justification_vertical="bottom")
        total = sum(grand.values())
        self.info = {"time": t, "total": total, "clones": grand, "labels": labels}
        p.add_text(f"{run.name}   t = {_fmt_t(t)}   {_fmt(total)} cells", position="upper_left",
                   font_size=_fs(size, 20), color=TEXT_RGB, name="title")
        _legend(p, run, grand, size, name="legend")
        _note(p, f"tumor surfaces: total > {self.threshold_frac:.0%} of carrying capacity", size, name="note")
        return p


def body_plotter(run, step: int = -1, size=(1600, 1200), view: str = "oblique", off_screen: bool = True,
                 threshold_frac: float = THRESHOLD_FRAC) -> pv.Plotter:
    """Body overview: all organs side by side at a common mm scale, labelled with their cell counts."""
    scene = BodyScene(run, size=size, view=view, off_screen=off_screen, threshold_frac=threshold_frac)
    return scene.update(step)


def closeup_plotter(run, organ: str, focus: dict, step: int = -1, size=(1600, 1200), view: str = "oblique",
                    off_screen: bool = True, threshold_frac: float = THRESHOLD_FRAC) -> pv.Plotter:
    """Close-up of one focus (a census row): 3-D view of a box around it and a section through its centroid."""
    run = _as_run(run)
    o = run.organs[organ]
    t = run.time_of(step)
    k = o.step_at(t)
    g = o.grid(k, run.clones)
    c = np.array([focus["centroid_x"], focus["centroid_y"], focus["centroid_z"]], float)
    ob = np.asarray(o.mesh().bounds).reshape(3, 2)
    oext = float((ob[:, 1] - ob[:, 0]).max())
    vol = focus.get("volume_mm3", float("nan"))
    r_eq = (3 * vol / (4 * math.pi)) ** (1 / 3) if np.isfinite(vol) and vol > 0 else 0.0
    h = min(max(2.5 * r_eq, 0.06 * oext), 0.5 * oext)
    box = np.array([c - h, c + h]).T.ravel()
    sub = g.clip_box(box, invert=False, crinkle=False)

    p = _new_plotter(size, shape=(2, 2), off_screen=off_screen, groups=[(0, np.s_[:])], row_weights=[1, 5.5])
    # --- title bar
    p.subplot(0, 0)
    fr = sorted(((focus.get(x, 0.0), x) for x in run.clones), reverse=True)
    fr_txt = "   ".join(f"{x} {v:.0%}" for v, x in fr if np.isfinite(v) and v > 0.005) or "no clone fractions"
    poly = focus.get("polyclonal", float("nan"))
    kind = "polyclonal" if poly == 1 else "monoclonal" if poly == 0 else "clonality ?"
    ncl = focus.get("n_clones", float("nan"))
    ncl_txt = f" ({int(ncl)} clone{'' if ncl == 1 else 's'})" if np.isfinite(ncl) else ""
    sh = focus.get("shannon", float("nan"))
    sh_txt = f"   Shannon {sh:.2f}" if np.isfinite(sh) else ""
    vol_txt = f"   {vol:.3g} mm³" if np.isfinite(vol) else ""
    p.add_text(f"{organ}  focus #{_safe(focus.get('focus_id', '?'))}   t = {_fmt_t(o.times[k])}   "
               f"{_fmt(focus.get('cells', float('nan')))} cells{vol_txt}\n"
               f"{kind}{ncl_txt}:   {fr_txt}{sh_txt}", position="upper_left", font_size=_fs(size, 20),
               color=TEXT_RGB)
    # --- left: 3-D box around the focus
    p.subplot(1, 0)
    if sub.n_cells:
        p.add_mesh(sub.extract_surface(algorithm="dataset_surface"), color=ORGAN_RGB, opacity=0.12)
        peak = float(np.max(sub.point_data["total"]))
        thr = min(threshold_frac * o.kappa, 0.5 * peak) if peak > 0 else threshold_frac * o.kappa
        _add_tumor(p, tumor_surface(sub, run.clones, run.colors, thr))
        _note(p, f"3-D: surface at {thr:.3g} cells/mm³", size)
    p.add_mesh(pv.Box(box).outline(), color=OUTLINE_RGB, line_width=2)
    _add_scale_bar(p, box, view, _fs(size, 22), frac=0.4, below=0.08)
    _set_camera(p, _pad_bounds(box, view, below=0.25), view, fill=(0.85, 0.8))
    # --- right: section through the centroid (normal z), like a histology slide
    p.subplot(1, 1)
    sl = sub.slice(normal="z", origin=c) if sub.n_cells else pv.PolyData()
    if sl.n_points:
        dens = np.stack([np.asarray(sl.point_data[x]) for x in run.clones])
        sl.point_data["rgb"] = blend_tissue(dens, run.colors, o.kappa)
        p.add_mesh(sl, scalars="rgb", rgb=True, lighting=False, show_scalar_bar=False)
    sq = box.copy()
    sq[4] = sq[5] = c[2]
    p.add_mesh(pv.Box(sq).outline(), color=OUTLINE_RGB, line_width=2)
    _note(p, f"section z = {c[2]:.3g} mm", size)
    _add_scale_bar(p, sq, "xy", _fs(size, 22), frac=0.4, below=0.08)
    _set_camera(p, _pad_bounds(sq, "xy", below=0.25), "xy", fill=(0.8, 0.8))
    _legend(p, run, None, size, viewport=(size[0] / 2, size[1] * 5.5 / 6.5))
    _finish(p)
    return p


# ----------------------------------------------------------------------------- files


def _screenshot(p: pv.Plotter, path: Path) -> Path:
    p.screenshot(str(path))
    p.close()
    return path


def render_run(run_dir, out_dir=None, size=(1600, 1200), n_closeups: int = 3, step: int = -1,
               movie: bool = False, fmt: str = "mp4", *, view: str = "oblique", plots: bool = True,
               threshold_frac: float = THRESHOLD_FRAC, fps: int = 8) -> list[Path]:
    """Write PNG renders of a run (default into ``run_dir/renders``); returns the written paths.

    - ``organ_<organ>_step<k>.png``: one overview per organ;
    - ``body_step<k>.png``: all organs side by side at a common scale;
    - ``closeup_<organ>_focus<id>_step<k>.png``: the ``n_closeups`` largest foci of each site organ
      (from census.csv at that time);
    - ``body.<fmt>`` with ``movie=True`` (``mp4`` or ``gif``): the body overview over all steps;
    - with ``plots=True`` the matplotlib plots of :mod:`pdemet.plots`.
    """
    run = load_run(run_dir)
    out = Path(out_dir) if out_dir is not None else run.path / "renders"
    out.mkdir(parents=True, exist_ok=True)
    if fmt not in ("mp4", "gif"):
        raise RenderError(f"movie format must be mp4 or gif, not {fmt!r}")
    k = _norm_step(step, len(run.times), "run")
    t = float(run.times[k])
    tag = f"step{k:04d}"
    written: list[Path] = []
    for name, o in run.organs.items():
        p = organ_plotter(run, name, k, size=size, view=view, threshold_frac=threshold_frac,
                          label_foci=n_closeups)
        written.append(_screenshot(p, out / f"organ_{name}_{tag}.png"))
    written.append(_screenshot(body_plotter(run, k, size=size, view=view, threshold_frac=threshold_frac),
                               out / f"body_{tag}.png"))
    if n_closeups > 0:
        rows = run.census_at(t)
        for name, o in run.organs.items():
            if o.role == "primary":
                continue
            foci = sorted((r for r in rows if r["organ"] == name and np.isfinite(r.get("centroid_x", np.nan))),
                          key=lambda r: -r.get("cells", 0.0))[:n_closeups]
            for r in foci:
                p = closeup_plotter(run, name, r, k, size=size, view=view, threshold_frac=threshold_frac)
                written.append(_screenshot(p, out / f"closeup_{name}_focus{_safe(r['focus_id'])}_{tag}.png"))
    if movie:
        written.append(render_movie(run, out / f"body.{fmt}", size=size, view=view, fps=fps,
                                    threshold_frac=threshold_frac))
    if plots:
        from pdemet import plots as _plots

        written += _plots.plot_run(run, out)  # the loaded run: tables and fields are not read again
    return written


def _safe(s) -> str:
    s = str(s)
    try:
        f = float(s)
        if f.is_integer():
            s = str(int(f))
    except ValueError:
        pass
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in s)


def render_movie(run_dir, path, size=(1600, 1200), view: str = "oblique", fps: int = 8,
                 threshold_frac: float = THRESHOLD_FRAC) -> Path:
    """Body overview over all output steps as MP4 (imageio-ffmpeg) or GIF, chosen by the suffix."""
    run = _as_run(run_dir)
    path = Path(path)
    size = tuple(int(16 * round(s / 16)) for s in size)  # H.264 macro blocks
    scene = BodyScene(run, size=size, view=view, threshold_frac=threshold_frac)
    p = scene.p
    if path.suffix.lower() == ".gif":
        p.open_gif(str(path), fps=fps)
    else:
        p.open_movie(str(path), framerate=fps, quality=7)
    try:
        for k in range(len(run.times)):
            scene.update(k)
            p.write_frame()
    finally:
        p.close()
    return path


def export_html(run_dir, html_path, step: int = -1, view: str = "oblique") -> Path:
    """Standalone interactive HTML (vtk.js embedded, works offline) of the body overview at ``step``.

    Text overlays (title, legend, labels) are 2-D actors that vtk.js does not export; the HTML holds the
    organs and the colored tumor surfaces, to rotate and zoom in a browser.
    """
    try:
        import trame_vtk  # noqa: F401
        from trame_vtk.tools.vtksz2html import write_html
    except ImportError:
        raise RenderError("export_html needs trame: pip install trame trame-vtk trame-vuetify trame-pyvista "
                          "nest_asyncio2") from None
    run = load_run(run_dir)
    # silhouettes are not serialised by vtk.js; the translucent surfaces outline the organs
    scene = BodyScene(run, size=(1200, 900), view=view, silhouette=False, text3d=True)
    p = scene.update(step)
    html_path = Path(html_path)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = _export_vtksz(p)
    finally:
        p.close()
    import io as _io

    buf = _io.StringIO()
    write_html(data, buf)
    html = buf.getvalue()
    overlay = _html_overlay(run, scene)
    i = html.rfind("</body>")
    html = html[:i] + overlay + html[i:] if i >= 0 else html + overlay
    html = html.replace("<title>VTK.js | Example - OfflineLocalView</title>",
                        f"<title>pdemet: {_esc(run.name)}</title>", 1)
    tmp = html_path.with_name(f".{html_path.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, html_path)
    return html_path


def _export_vtksz(p: pv.Plotter) -> bytes:
    """vtk.js scene of a plotter (zip bytes), through PyVista's trame component or the older API.

    The export runs a local trame server; its optional trame-vtklocal module would download the
    VTK.wasm bundle from the internet at start-up, which export does not need, so it is hidden then.
    """
    import sys

    blocked = "trame.widgets.vtklocal"
    saved = sys.modules.get(blocked, _MISSING)
    sys.modules[blocked] = None  # makes `from trame.widgets import vtklocal` raise ImportError
    try:
        comp = getattr(p, "trame", None)
        if comp is not None and hasattr(comp, "export_vtksz"):
            return comp.export_vtksz(filename=None)
        return p.export_vtksz(filename=None)  # PyVista < 0.49
    finally:
        if saved is _MISSING:
            sys.modules.pop(blocked, None)
        else:
            sys.modules[blocked] = saved


_MISSING = object()


def _esc(s) -> str:
    import html

    return html.escape(str(s))


def _html_overlay(run: Run, scene: "BodyScene") -> str:
    """Title, clone legend and organ cell counts as an HTML box over the vtk.js view."""
    info = scene.info
    rows = "".join(
        f'<div><span style="display:inline-block;width:0.9em;height:0.9em;margin-right:0.4em;'
        f'vertical-align:-0.1em;border:1px solid #555;background:{pv.Color(tuple(run.colors[i])).hex_rgb}">'
        f'</span>{_esc(c)} &nbsp;{_fmt(info.get("clones", {}).get(c, 0.0))}</div>'
        for i, c in enumerate(run.clones))
    box = (
        '<div id="pdemet-overlay" style="position:fixed;top:8px;left:10px;z-index:10;pointer-events:none;'
        'font:14px/1.35 sans-serif;color:#1a1a1a;background:rgba(255,255,255,0.8);padding:6px 10px;'
        'border-radius:4px">'
        f'<div style="font-size:17px;font-weight:bold">{_esc(run.name)} &nbsp; t = {_esc(_fmt_t(info.get("time", 0)))}'
        f' &nbsp; {_fmt(info.get("total", 0.0))} cells</div>{rows}'
        f'<div style="margin-top:4px;color:#555">'
        f'tumor surfaces: total &gt; {scene.threshold_frac:.0%} of carrying capacity; '
        f'scale bar {scene.scale_mm:g} mm. Drag to rotate, scroll to zoom.</div></div>')
    # the vtk.js viewer rebuilds <body> once loaded: (re)attach the box whenever it is missing
    return ("<script>(function(){var html=" + json.dumps(box) + ";"
            "function ensure(){if(document.body&&!document.getElementById('pdemet-overlay')){"
            "var d=document.createElement('div');d.innerHTML=html;document.body.appendChild(d.firstChild);}}"
            "document.addEventListener('DOMContentLoaded',ensure);window.addEventListener('load',ensure);"
            "new MutationObserver(ensure).observe(document.documentElement,{childList:true,subtree:true});"
            "})();</script>\n")


def view(run_dir, step: int = -1, organ: str | None = None, view: str = "oblique") -> None:
    """Interactive window of the body overview (or of one organ). Needs a display."""
    if os.name == "posix" and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY") \
            and not _is_macos():
        raise RenderError("no display available (DISPLAY is not set); use --html out.html for an interactive "
                          "HTML view, or render PNGs")
    run = load_run(run_dir)
    if organ is None:
        p = body_plotter(run, step, size=(1400, 1000), view=view, off_screen=False)
    else:
        p = organ_plotter(run, organ, step, size=(1400, 1000), view=view, off_screen=False)
    p.show()


def _is_macos() -> bool:
    import sys

    return sys.platform == "darwin"


def main(argv=None) -> int:
    """``python -m pdemet.render RUN_DIR [--html F] [--view] [--movie] ...``"""
    import argparse
    import sys

    ap = argparse.ArgumentParser(prog="python -m pdemet.render", description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("--out", default=None)
    ap.add_argument("--step", type=int, default=-1)
    ap.add_argument("--closeups", type=int, default=3)
    ap.add_argument("--size", type=int, nargs=2, default=(1600, 1200))
    ap.add_argument("--view", default="oblique", choices=list(VIEWS))
    ap.add_argument("--movie", action="store_true")
    ap.add_argument("--fmt", default="mp4", choices=["mp4", "gif"])
    ap.add_argument("--html", default=None)
    ap.add_argument("--interactive", action="store_true")
    a = ap.parse_args(argv)
    try:
        if a.interactive:
            view(a.run_dir, a.step, view=a.view)
        elif a.html:
            print(export_html(a.run_dir, a.html, a.step, view=a.view))
        else:
            for f in render_run(a.run_dir, a.out, tuple(a.size), a.closeups, a.step, a.movie, a.fmt, view=a.view):
                print(f)
    except RenderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
