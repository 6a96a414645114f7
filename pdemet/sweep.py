"""Parameter sweeps and seed ensembles: ``pdemet sweep SWEEP.toml --out DIR``.

A sweep file names a base scenario, the swept parameters (dotted key paths) and the seeds; every
member (parameter point × seed) is a normal run in ``DIR/members/<id>``. See docs/sweeps.md.

Parallelism is static: under ``mpiexec -n P`` the world communicator is split into groups of
``ranks_per_member`` ranks and the members still to run are dealt round-robin to the groups; without
MPI (P = 1) a ``ProcessPoolExecutor`` runs one member per process on ``MPI.COMM_SELF``. Members never
share state, so the tables are the same whatever P or the number of workers (wall times, which are
not, go to ``sweep_timing.csv``).

Re-running the same command resumes: a member whose directory holds a ``summary.json`` with status
"completed" and the same ``scenario.toml`` as the member would write now is skipped.
"""

from __future__ import annotations

import copy
import difflib
import itertools
import json
import math
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pdemet import scenario as _config
from pdemet.errors import ScenarioError, fail

SWEEP_KEYS = ("base", "design", "seeds", "seed", "samples", "parameters", "overrides")
DESIGNS = ("grid", "latin_hypercube")
RANGE_KEYS = ("range", "n", "log")
MEMBER_FILE = "member.json"
_TAG = 71  # point-to-point tag of the member records sent to world rank 0


# ----------------------------------------------------------------------------- sweep file
@dataclass
class Member:
    id: str
    point: str                       # "p003": the parameter point
    index: int                       # position in the sorted member list
    values: dict[str, Any]           # swept parameter -> value
    seed: int
    data: dict                       # the member's raw scenario (base + overrides + values + seed)


@dataclass
class Sweep:
    path: Path
    base: Path
    design: str
    parameters: list[str]
    points: list[dict[str, Any]]
    seeds: list[int]
    overrides: dict[str, Any]
    members: list[Member] = field(default_factory=list)
    point_ids: list[str] = field(default_factory=list)
    log_params: set[str] = field(default_factory=set)  # parameters whose plots use a log axis


def _is_scalar(v: Any) -> bool:
    return isinstance(v, (bool, int, float, str))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        out[key] = v
        if isinstance(v, dict):
            out.update(_flatten(v, key))
    return out


def _set_path(data: dict, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    d = data
    for p in parents:
        d = d.setdefault(p, {})
    d[last] = copy.deepcopy(value)


def known_keys(base_data: dict, scenario: _config.Scenario) -> dict[str, Any]:
    """Dotted paths a sweep may set: keys of the base scenario and of its resolved form (every default)."""
    keys = _flatten(_config.resolved(scenario))
    for organ in scenario.organs:
        for k in _config.SITE_KEYS:
            keys.setdefault(f"organs.{organ}.{k}", None)
    keys.update(_flatten(base_data))
    return keys


def _where(section: str, path: str) -> str:
    return f'{section}."{path}"'


def _check_path(path: str, section: str, keys: dict[str, Any]) -> None:
    where = _where(section, path)
    if path not in keys:
        close = difflib.get_close_matches(path, [k for k, v in keys.items() if not isinstance(v, dict)], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        fail(where, f"no key {path!r} in the base scenario{hint}")
    if isinstance(keys[path], dict):
        fail(where, f"{path!r} names a table, expected the path of one value (e.g. {path}.KEY)")


def _values(spec: Any, path: str, design: str, base_value: Any) -> tuple[Any, bool]:
    """Grid values (a list) or LHS bounds (lo, hi); and whether the axis is logarithmic."""
    where = _where("parameters", path)
    integer = isinstance(base_value, int) and not isinstance(base_value, bool)
    if isinstance(spec, list):
        if design != "grid":
            fail(where, "a latin_hypercube design samples ranges; give { range = [lo, hi] } instead of a list")
        if not spec:
            fail(where, "got an empty list, expected at least one value")
        for i, v in enumerate(spec):
            if not _is_scalar(v) or (isinstance(v, float) and not math.isfinite(v)):
                fail(f"{where}[{i}]", f"got {v!r}, expected a number, string or boolean")
        if len({json.dumps(v) for v in spec}) != len(spec):
            fail(where, f"got duplicate values in {spec!r}")
        return list(spec), False
    if not isinstance(spec, dict):
        fail(where, f"got {spec!r}, expected a list of values or {{ range = [lo, hi], n = N }}")
    for k in spec:
        if k not in RANGE_KEYS:
            fail(f"{where}.{k}", f"unknown key; known keys here: {', '.join(RANGE_KEYS)}")
    r = spec.get("range")
    if not (isinstance(r, list) and len(r) == 2 and all(_is_number(x) for x in r)):
        fail(f"{where}.range", f"got {r!r}, expected [lo, hi] with two finite numbers")
    lo, hi = float(r[0]), float(r[1])
    if not lo < hi:
        fail(f"{where}.range", f"got {r!r}, expected lo < hi")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        fail(f"{where}.log", f"got {log!r}, expected true or false")
    if log and lo <= 0:
        fail(f"{where}.range", f"got {r!r}, expected positive bounds with log = true")
    if design == "latin_hypercube":
        if "n" in spec:
            fail(f"{where}.n", "a latin_hypercube design draws `samples` points; remove n")
        return (lo, hi, integer), log
    n = spec.get("n")
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        fail(f"{where}.n", f"got {n!r}, expected an integer of at least 2 (number of grid values)")
    vals = np.geomspace(lo, hi, n) if log else np.linspace(lo, hi, n)
    if integer:
        vals = [int(round(v)) for v in vals]
        if len(set(vals)) != n:
            fail(f"{where}.n", f"the integer parameter {path} takes duplicate values {vals} with n = {n}; "
                               "use a smaller n or a list")
        return vals, log
    return [float(v) for v in vals], log


def _lhs_points(bounds: dict[str, tuple], logs: dict[str, bool], samples: int, seed: int) -> list[dict]:
    from scipy.stats import qmc

    rng = np.random.default_rng(seed)
    try:
        sampler = qmc.LatinHypercube(d=len(bounds), rng=rng)
    except TypeError:  # scipy < 1.15
        sampler = qmc.LatinHypercube(d=len(bounds), seed=rng)
    u = sampler.random(samples)
    points = []
    for row in u:
        point = {}
        for (path, (lo, hi, integer)), x in zip(bounds.items(), row):
            v = math.exp(math.log(lo) + x * (math.log(hi) - math.log(lo))) if logs[path] else lo + x * (hi - lo)
            point[path] = int(round(v)) if integer else float(v)
        points.append(point)
    return points


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file and every member's scenario (ScenarioError on any problem)."""
    path = Path(path)
    if not path.is_file():
        fail("", f"sweep file {str(path)!r} not found")
    data = _config.load_toml(path)
    for k in data:
        if k not in SWEEP_KEYS:
            close = difflib.get_close_matches(k, SWEEP_KEYS, n=1)
            fail(k, f"unknown key in the sweep file; known keys: {', '.join(SWEEP_KEYS)}"
                 + (f" (did you mean {close[0]!r}?)" if close else ""))
    base_name = data.get("base")
    if not isinstance(base_name, str):
        fail("base", f"got {base_name!r}, expected the path of the base scenario (relative to the sweep file)")
    base = Path(base_name)
    base = base if base.is_absolute() else (path.resolve().parent / base)
    if not base.is_file():
        fail("base", f"scenario file {base_name!r} not found (relative to {path.resolve().parent})")
    base = base.resolve()
    base_data = _config.load_toml(base)
    try:
        base_scenario = _config.parse_scenario(base_data, base.parent)
    except ScenarioError as e:
        fail("base", f"{base_name}: {e}")

    design = data.get("design", "grid")
    if design not in DESIGNS:
        fail("design", f"got {design!r}, expected one of {', '.join(map(repr, DESIGNS))}")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        fail("seed", f"got {seed!r}, expected a non-negative integer (seed of the Latin hypercube sampler)")
    samples = data.get("samples")
    if design == "latin_hypercube":
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            fail("samples", f"got {samples!r}, expected a positive integer (points of the Latin hypercube)")
    elif samples is not None:
        fail("samples", "is for design = \"latin_hypercube\"; a grid takes every combination of the values")

    seeds = data.get("seeds", [base_scenario.simulation.seed])
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if seeds < 1:
            fail("seeds", f"got {seeds}, expected a positive number of seeds or a list of seeds")
        seeds = list(range(seeds))
    if not isinstance(seeds, list) or not seeds:
        fail("seeds", f"got {seeds!r}, expected a non-empty list of seeds or a number of seeds")
    for i, s in enumerate(seeds):
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            fail(f"seeds[{i}]", f"got {s!r}, expected a non-negative integer")
    if len(set(seeds)) != len(seeds):
        fail("seeds", f"got duplicate seeds in {seeds!r}")

    keys = known_keys(base_data, base_scenario)
    params = data.get("parameters", {})
    if not isinstance(params, dict):
        fail("parameters", f"got {params!r}, expected a table of \"dotted.key\" = values")
    if not params:
        fail("parameters", "no parameters; add e.g. \"cluster_flux.shedding_rate\" = [1e-3, 2e-3]")
    overrides = data.get("overrides", {})
    if not isinstance(overrides, dict):
        fail("overrides", f"got {overrides!r}, expected a table of \"dotted.key\" = value")
    overrides = _flatten_overrides(overrides)
    for p, v in overrides.items():
        _check_path(p, "overrides", keys)
        if p == "simulation.seed":
            fail("overrides", "'simulation.seed' is set by `seeds`; remove it from [overrides]")
        if p in params:
            fail("overrides", f"{p!r} is also a swept parameter; keep it in one place")
    grid_values, bounds, logs = {}, {}, {}
    for p, spec in params.items():
        _check_path(p, "parameters", keys)
        if p == "simulation.seed":
            fail("parameters", "'simulation.seed' is set by `seeds`, not swept as a parameter")
        vals, logs[p] = _values(spec, p, design, keys[p])
        (grid_values if design == "grid" else bounds)[p] = vals

    if design == "grid":
        points = [dict(zip(grid_values, combo)) for combo in itertools.product(*grid_values.values())]
    else:
        points = _lhs_points(bounds, logs, samples, seed)
    sweep = Sweep(path, base, design, list(params), points, list(seeds), overrides)
    sweep.log_params = {p for p, lg in logs.items() if lg}

    wp, ws = max(3, len(str(len(points) - 1))), max(3, len(str(max(seeds))))
    for i, point in enumerate(points):
        for s in seeds:
            m = copy.deepcopy(base_data)
            for p, v in overrides.items():
                _set_path(m, p, v)
            for p, v in point.items():
                _set_path(m, p, v)
            _set_path(m, "simulation.seed", s)
            pid = f"p{i:0{wp}d}"
            if pid not in sweep.point_ids:
                sweep.point_ids.append(pid)
            member = Member(f"{pid}_s{s:0{ws}d}", pid, len(sweep.members), dict(point), s, m)
            try:
                _config.parse_scenario(m, base.parent)
            except ScenarioError as e:
                where = ", ".join(f"{p} = {v!r}" for p, v in point.items())
                fail("", f"member {member.id} ({where}, seed {s}): {e}")
            sweep.members.append(member)
    return sweep


def _flatten_overrides(d: dict, prefix: str = "") -> dict[str, Any]:
    """[overrides] accepts dotted keys ("simulation.t_end" = 2) and nested tables ([overrides.simulation])."""
    out = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            out.update(_flatten_overrides(v, key))
        else:
            out[key] = v
    return out


def member_scenario_text(member: Member, base_dir: Path) -> str:
    """The scenario.toml a run of the member writes (what resume compares)."""
    scenario = _config.parse_scenario(member.data, base_dir)
    return _config.dump_toml(_config.resolved(scenario))


def is_done(run_dir: Path, scenario_text: str) -> bool:
    """A completed run of this very scenario."""
    try:
        summary = json.loads((run_dir / "summary.json").read_text())
        return summary.get("status") == "completed" and (run_dir / "scenario.toml").read_text() == scenario_text
    except (OSError, ValueError):
        return False


# ----------------------------------------------------------------------------- running members
def _one_line(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return f"{type(e).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def run_member(member: Member, base_dir: str | Path, run_dir: str | Path, comm) -> dict:
    """Run one member on `comm`; never raises (except KeyboardInterrupt). Returns its record."""
    from pdemet.simulation import Simulation

    run_dir = Path(run_dir)
    t0 = time.perf_counter()
    status, error = "failed", ""
    try:
        scenario = _config.parse_scenario(member.data, base_dir)
        sim = Simulation(scenario, comm)
        summary = sim.run(out=run_dir, progress=False, overwrite=True)
        status = summary.get("status", "failed")
        if status != "completed":
            error = f"run ended with status {status!r}"
    except KeyboardInterrupt:
        raise
    except Exception as e:  # noqa: BLE001 - a failing member never stops the others
        status, error = "failed", _one_line(e)
    record = {"id": member.id, "status": status, "error": error,
              "wall_time_s": time.perf_counter() - t0, "ranks": comm.size}
    if comm.rank == 0:
        from pdemet.output import files as io

        run_dir.mkdir(parents=True, exist_ok=True)
        io.write_json(run_dir / MEMBER_FILE, {**record, "values": member.values, "seed": member.seed})
    return record


def _worker_init() -> None:
    """Pool workers: one thread each, and a fresh singleton MPI (not the launcher's PMI, if any)."""
    for k in list(os.environ):
        if k.startswith(("PMI_", "PMIX_", "HYDRA_", "HYDI_", "MPIR_", "OMPI_")):
            del os.environ[k]
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(k, "1")


def _pool_member(member: Member, base_dir: str, run_dir: str) -> dict:
    from pdemet.backend import MPI

    return run_member(member, base_dir, run_dir, MPI.COMM_SELF)


def _bar(total: int, initial: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="member", desc="sweep", disable=not enabled,
                dynamic_ncols=True, file=sys.stderr)


def _run_pool(todo: list[Member], base_dir: str, members_dir: Path, workers: int, bar) -> dict[str, dict]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    records = {}
    ctx = multiprocessing.get_context("spawn")  # fork after MPI/PETSc initialisation is unsafe
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init) as pool:
        futures = {pool.submit(_pool_member, m, base_dir, str(members_dir / m.id)): m for m in todo}
        try:
            for fut in as_completed(futures):
                m = futures[fut]
                try:
                    records[m.id] = fut.result()
                except BrokenProcessPool as e:
                    records[m.id] = {"id": m.id, "status": "failed", "error": _one_line(e) or "worker died",
                                     "wall_time_s": float("nan"), "ranks": 1}
                except Exception as e:  # noqa: BLE001
                    records[m.id] = {"id": m.id, "status": "failed", "error": _one_line(e),
                                     "wall_time_s": float("nan"), "ranks": 1}
                bar.update(1)
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return records


def _run_mpi(todo: list[Member], base_dir: str, members_dir: Path, world, rpm: int, bar) -> dict[str, dict]:
    """Static round-robin over groups of `rpm` ranks; group leaders send their records to world rank 0."""
    from pdemet.backend import MPI

    n_groups = world.size // rpm
    color = world.rank // rpm
    group = world.Split(color=color, key=world.rank)
    msg = world.Dup()
    records, requests = {}, []
    mine = [m for i, m in enumerate(todo) if i % n_groups == color]

    def drain(block: bool) -> None:
        while len(records) < len(todo) and (block or msg.iprobe(source=MPI.ANY_SOURCE, tag=_TAG)):
            rec = msg.recv(source=MPI.ANY_SOURCE, tag=_TAG)
            records[rec["id"]] = rec
            bar.update(1)

    try:
        for m in mine:
            rec = run_member(m, base_dir, members_dir / m.id, group)
            if group.rank == 0:
                if world.rank == 0:
                    records[m.id] = rec
                    bar.update(1)
                else:
                    requests.append(msg.isend(rec, dest=0, tag=_TAG))
            if world.rank == 0:
                drain(block=False)
        if world.rank == 0:
            drain(block=True)
        MPI.Request.Waitall(requests)
    finally:
        group.Free()
        msg.Free()
    return records


# ----------------------------------------------------------------------------- tables and plots
def headline_columns(sweep: Sweep) -> tuple[list[str], list[str], bool]:
    """(all organs, site organs, cluster flux on in any member)."""
    scenario = _config.parse_scenario(sweep.members[0].data, sweep.base.parent)
    organs = list(scenario.organs)
    sites = [o for o, c in scenario.organs.items() if c.role == "site"]
    flux = False
    for m in sweep.members:
        cf = _config.parse_scenario(m.data, sweep.base.parent).cluster_flux
        flux = flux or bool(cf is not None and getattr(cf, "enabled", False))
    return organs, sites, flux


def _headlines(organs, sites, flux) -> list[str]:
    cols = [f"cells_{o}" for o in organs]
    if sites:
        cols.append("cells_sites")
    if flux:
        cols += [f"foci_{o}" for o in sites] + ["foci_sites"]
        cols += [f"polyclonal_{o}" for o in sites] + ["polyclonal_sites"]
    return cols


def _results(run_dir: Path, organs, sites, flux) -> dict[str, Any]:
    s = json.loads((run_dir / "summary.json").read_text())
    out: dict[str, Any] = {}
    cells = s.get("cells_final", {})
    for o in organs:
        out[f"cells_{o}"] = float(sum(cells.get(o, {}).values()))
    if sites:
        out["cells_sites"] = float(sum(out[f"cells_{o}"] for o in sites))
    if flux and "foci" in s:
        foci, poly = s.get("foci", {}), s.get("polyclonal_fraction", {})
        n_poly = 0.0
        for o in sites:
            out[f"foci_{o}"] = int(foci.get(o, 0))
            p = poly.get(o)
            out[f"polyclonal_{o}"] = None if p is None else float(p)
            n_poly += out[f"foci_{o}"] * (p or 0.0)
        n = sum(out[f"foci_{o}"] for o in sites)
        out["foci_sites"] = n
        out["polyclonal_sites"] = n_poly / n if n else None
    return out


def _cell(v: Any) -> Any:
    return "" if v is None else v


def summarize(values: list[float]) -> tuple[int, float | None, float | None, float | None]:
    """n, mean, sample std and half-width of the 95 % t confidence interval of the mean."""
    from scipy import stats

    x = np.asarray([v for v in values if v is not None], dtype=float)
    n = len(x)
    if n == 0:
        return 0, None, None, None
    mean = float(x.mean())
    if n < 2:
        return 1, mean, None, None
    std = float(x.std(ddof=1))
    return n, mean, std, float(stats.t.ppf(0.975, n - 1) * std / math.sqrt(n))


def write_tables(sweep: Sweep, out: Path, records: dict[str, dict]) -> dict[str, Any]:
    """sweep.csv, sweep_timing.csv, sweep_summary.csv and the plots; returns the rows (dicts) per member."""
    from pdemet.output import files as io

    organs, sites, flux = headline_columns(sweep)
    heads = _headlines(organs, sites, flux)
    rows = []
    for m in sweep.members:
        rec = records[m.id]
        row = {"id": m.id, "point": m.point, **m.values, "seed": m.seed, "status": rec["status"],
               "error": rec.get("error", "")}
        res = _results(out / "members" / m.id, organs, sites, flux) if rec["status"] == "completed" else {}
        row.update({h: res.get(h) for h in heads})
        rows.append(row)
    header = ["id", "point", *sweep.parameters, "seed", "status", "error", *heads]
    io.write_csv(out / "sweep.csv", header, [[_cell(r[h]) for h in header] for r in rows])
    io.write_csv(out / "sweep_timing.csv", ["id", "status", "ran", "ranks", "wall_time_s"],
                 [[m.id, records[m.id]["status"], int(records[m.id].get("ran", False)),
                   records[m.id].get("ranks", ""), _cell(records[m.id].get("wall_time_s"))] for m in sweep.members])

    stats_rows, stats = [], {}
    for pid, point in zip(sweep.point_ids, sweep.points):
        mem = [r for r in rows if r["point"] == pid]
        ok = [r for r in mem if r["status"] == "completed"]
        row = [pid, *point.values(), len(mem), len(ok)]
        stats[pid] = {}
        for h in heads:
            n, mean, std, ci = summarize([r[h] for r in ok])
            stats[pid][h] = (mean, ci if ci is not None else 0.0)
            row += [n, _cell(mean), _cell(std), _cell(ci)]
        stats_rows.append(row)
    sheader = ["point", *sweep.parameters, "members", "completed"]
    for h in heads:
        sheader += [f"{h}_n", f"{h}_mean", f"{h}_std", f"{h}_ci95"]
    io.write_csv(out / "sweep_summary.csv", sheader, stats_rows)
    plot_sweep(sweep, out, stats, organs, sites, flux)
    return {"rows": rows}


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name)


PANEL_LABELS = {"cells_sites": "cells in all sites", "foci_sites": "foci (all sites)",
                "polyclonal_sites": "polyclonal fraction of foci"}


def plot_sweep(sweep: Sweep, out: Path, stats: dict, organs, sites, flux) -> list[Path]:
    """One figure per numeric swept parameter: headline results (mean ± 95 % CI over seeds) against it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    primary = next(o for o in organs if o not in sites)
    panels = [f"cells_{primary}"] + (["cells_sites"] if sites else []) + (["foci_sites", "polyclonal_sites"] if flux else [])
    point_ids = sweep.point_ids
    paths = []
    for p in sweep.parameters:
        if not all(_is_number(pt[p]) for pt in sweep.points):
            continue
        others = [q for q in sweep.parameters if q != p]
        groups: dict[tuple, list[int]] = {}
        for i, pt in enumerate(sweep.points):
            key = () if sweep.design != "grid" else tuple(pt[q] for q in others)
            groups.setdefault(key, []).append(i)
        fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
        for ax, h in zip(axes[0], panels):
            for key, idx in groups.items():
                idx = sorted(idx, key=lambda i: sweep.points[i][p])
                pts = [(sweep.points[i][p], *stats[point_ids[i]][h]) for i in idx if stats[point_ids[i]][h][0] is not None]
                if not pts:
                    continue
                x, y, e = map(np.asarray, zip(*pts))
                label = ", ".join(f"{q.split('.')[-1]}={v:g}" if _is_number(v) else f"{q.split('.')[-1]}={v}"
                                  for q, v in zip(others, key)) or None
                ax.errorbar(x, y, yerr=e, marker="o", ms=4, capsize=3, label=label,
                            linestyle="-" if sweep.design == "grid" else "none")
            if p in sweep.log_params:
                ax.set_xscale("log")
            ax.set_xlabel(p)
            ax.set_title(PANEL_LABELS.get(h, h.replace("cells_", "cells in ")), fontsize=10)
            ax.grid(alpha=0.3)
        handles, labels = axes[0][0].get_legend_handles_labels()
        if 1 < len(labels) <= 8:
            fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=8, frameon=False)
            fig.subplots_adjust(bottom=0.28)
        fig.suptitle(f"{sweep.path.name}: mean ± 95 % CI over {len(sweep.seeds)} seed(s)", fontsize=10)
        fig.tight_layout(rect=(0, 0.12 if 1 < len(labels) <= 8 else 0, 1, 1))
        path = out / f"sweep_{_safe(p)}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


# ----------------------------------------------------------------------------- driver
def _prepare_out(out: Path, sweep: Sweep) -> None:
    if out.exists() and not out.is_dir():
        fail("--out", f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / "sweep.toml").is_file():
        fail("--out", f"{out} is not empty and holds no sweep.toml; choose a new directory or a previous "
                      "sweep's output to resume it")
    try:
        (out / "members").mkdir(parents=True, exist_ok=True)
        from pdemet.output import files as io

        io.atomic_write_text(out / "sweep.toml", sweep.path.read_text())
    except OSError as e:
        fail("--out", f"cannot write to {out} ({e.strerror})")


def run_sweep(sweep_path: str | Path, out: str | Path, ranks_per_member: int = 1, workers: int | None = None,
              progress: bool = True) -> dict:
    """Run (or resume) a sweep; returns counts {members, ran, completed, failed, skipped} on every rank."""
    from pdemet.backend import MPI

    world = MPI.COMM_WORLD
    out = Path(out)
    plan, err = None, None
    if world.rank == 0:
        try:
            if isinstance(ranks_per_member, bool) or not isinstance(ranks_per_member, int) or ranks_per_member < 1:
                fail("--ranks-per-member", f"got {ranks_per_member!r}, expected a positive integer")
            if world.size == 1 and ranks_per_member > 1:
                fail("--ranks-per-member", f"got {ranks_per_member}, which needs MPI: run under mpiexec -n N "
                                           f"with N a multiple of {ranks_per_member}")
            if world.size % ranks_per_member:
                fail("--ranks-per-member", f"got {ranks_per_member}, expected a divisor of the {world.size} MPI ranks")
            if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
                fail("--workers", f"got {workers!r}, expected a positive integer")
            sweep = load_sweep(sweep_path)
            _prepare_out(out, sweep)
            todo, skipped = [], []
            for m in sweep.members:
                text = member_scenario_text(m, sweep.base.parent)
                (skipped if is_done(out / "members" / m.id, text) else todo).append(m)
            plan = (sweep, todo, skipped)
        except Exception as e:  # noqa: BLE001 - share the verdict so that all ranks stop together
            err = e
    plan, err = world.bcast((plan, err), root=0)
    if err is not None:
        raise err
    sweep, todo, skipped = plan
    base_dir = str(sweep.base.parent)
    members_dir = out / "members"

    bar = _bar(len(sweep.members), len(skipped), progress and world.rank == 0)
    try:
        if world.size > 1:
            records = _run_mpi(todo, base_dir, members_dir, world, ranks_per_member, bar)
        else:
            n = min(workers or os.cpu_count() or 1, len(todo))
            if n <= 1:
                records = {}
                for m in todo:
                    records[m.id] = run_member(m, base_dir, members_dir / m.id, MPI.COMM_SELF)
                    bar.update(1)
            else:
                records = _run_pool(todo, base_dir, members_dir, n, bar)
    finally:
        bar.close()

    counts, err = None, None
    if world.rank == 0:
        try:
            counts = _finish(sweep, out, todo, skipped, records)
        except Exception as e:  # noqa: BLE001 - share it, so that no rank waits forever
            err = e
    counts, err = world.bcast((counts, err), root=0)
    if err is not None:
        raise err
    return counts


def _finish(sweep: Sweep, out: Path, todo: list[Member], skipped: list[Member], records: dict) -> dict:
    """Rank 0: complete the records with the skipped members, write the tables and plots, count."""
    members_dir = out / "members"
    for rec in records.values():
        rec["ran"] = True
    for m in skipped:
        prev = {}
        try:
            prev = json.loads((members_dir / m.id / MEMBER_FILE).read_text())
        except (OSError, ValueError):
            pass
        records[m.id] = {"id": m.id, "status": "completed", "error": "", "ran": False,
                         "ranks": prev.get("ranks", ""), "wall_time_s": prev.get("wall_time_s")}
    write_tables(sweep, out, records)
    ran = [records[m.id] for m in todo]
    counts = {"members": len(sweep.members), "ran": len(ran),
              "completed": sum(r["status"] == "completed" for r in ran),
              "failed": sum(r["status"] != "completed" for r in ran), "skipped": len(skipped),
              "failures": {r["id"]: r["error"] for r in ran if r["status"] != "completed"}}
    return counts


def main_sweep(sweep_path: Path, out: Path, ranks_per_member: int = 1, workers: int | None = None,
               progress: bool = True) -> int:
    """``pdemet sweep``: run or resume a sweep; print the counts. Exit status 0, or 3 if a member failed.

    Raises ScenarioError (one line) for a bad sweep file or member scenario, before anything runs.
    """
    from pdemet.backend import MPI

    c = run_sweep(sweep_path, out, ranks_per_member=ranks_per_member, workers=workers, progress=progress)
    if MPI.COMM_WORLD.rank == 0:
        for mid, error in c["failures"].items():
            print(f"pdemet: member {mid} failed: {error}", file=sys.stderr)
        print(f"sweep: {c['members']} members: {c['ran']} run ({c['completed']} completed, {c['failed']} failed), "
              f"{c['skipped']} skipped (already completed); tables in {Path(out) / 'sweep.csv'}")
    return 3 if c["failed"] else 0


def _parser():
    import argparse

    p = argparse.ArgumentParser(prog="python -m pdemet.sweep", description="Run or resume a parameter sweep.")
    p.add_argument("sweep", help="sweep TOML file")
    p.add_argument("--out", required=True, help="output directory (new, or a previous sweep's to resume it)")
    p.add_argument("--ranks-per-member", type=int, default=1, help="MPI ranks per member (under mpiexec)")
    p.add_argument("--workers", type=int, default=None, help="processes without MPI (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        return main_sweep(Path(args.sweep), Path(args.out), args.ranks_per_member, args.workers, not args.quiet)
    except ScenarioError as e:
        from pdemet.backend import MPI

        if MPI.COMM_WORLD.rank == 0:
            print(f"pdemet: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
