"""The sweep's tables: headline results per member (sweep.csv), wall times (sweep_timing.csv) and
mean ± 95 % CI over the seeds of each parameter point (sweep_summary.csv)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from pdemet import scenario as _config
from pdemet.output import files as io
from pdemet.output.rundir import read_summary
from pdemet.sweep import layout
from pdemet.sweep.plots import plot_sweep
from pdemet.sweep.spec import Sweep


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
    """The headline results of a completed member, from its summary.json."""
    s = read_summary(run_dir)
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
    organs, sites, flux = headline_columns(sweep)
    heads = _headlines(organs, sites, flux)
    rows = _member_rows(sweep, out, records, heads, (organs, sites, flux))
    header = ["id", "point", *sweep.parameters, "seed", "status", "error", *heads]
    io.write_csv(out / layout.TABLE, header, [[_cell(r[h]) for h in header] for r in rows])
    io.write_csv(out / layout.TIMING, ["id", "status", "ran", "ranks", "wall_time_s"],
                 [[m.id, records[m.id]["status"], int(records[m.id].get("ran", False)),
                   records[m.id].get("ranks", ""), _cell(records[m.id].get("wall_time_s"))] for m in sweep.members])
    stats = _write_summary(sweep, out, rows, heads)
    plot_sweep(sweep, out, stats, organs, sites, flux)
    return {"rows": rows}


def _member_rows(sweep: Sweep, out: Path, records: dict[str, dict], heads: list[str], columns) -> list[dict]:
    """One dict per member: id, point, swept values, seed, status, error and the headline results."""
    rows = []
    for m in sweep.members:
        rec = records[m.id]
        row = {"id": m.id, "point": m.point, **m.values, "seed": m.seed, "status": rec["status"],
               "error": rec.get("error", "")}
        res = _results(out / layout.MEMBERS / m.id, *columns) if rec["status"] == "completed" else {}
        row.update({h: res.get(h) for h in heads})
        rows.append(row)
    return rows


def _write_summary(sweep: Sweep, out: Path, rows: list[dict], heads: list[str]) -> dict[str, dict]:
    """sweep_summary.csv; returns {point id: {headline: (mean, CI half-width or 0)}} for the plots."""
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
    io.write_csv(out / layout.SUMMARY, sheader, stats_rows)
    return stats
