"""The adaptive-mesh section of ``pdemet bench`` (issue 15, items 3 and 4): what it runs, its targets, its
part of bench.md. The measurements are in :mod:`benchmarks.adaptive` and :mod:`benchmarks.adaptive_parallel`."""

from __future__ import annotations

import math
from pathlib import Path

from benchmarks.adaptive import BOX, RADIUS, T_END, adaptive
from benchmarks.adaptive_parallel import ranks, stream


def section(quick: bool, tmp: Path, log) -> dict:
    """1 vs 2 ranks (quick.toml; full: also default.toml, whose 1-rank run is the whole run of the shares and
    the uniform extrapolation), the triad bandwidth, then the cost, uniform and memory sections."""
    from pdemet.scenario import PACKAGE_DIR

    scenarios = PACKAGE_DIR / "scenarios"
    log("adaptive meshes: quick.toml on 1 and 2 ranks")
    res = {"ranks": [ranks(scenarios / "quick.toml", tmp, repeats=1 if quick else 2)]}
    if not quick:
        log("adaptive meshes: default.toml on 1 and 2 ranks")
        res["ranks"].append(ranks(scenarios / "default.toml", tmp, repeats=1))
    log("adaptive meshes: memory bandwidth, 1 and 2 processes")
    res["stream"] = stream()
    log("adaptive meshes: cost against refined dofs, uniform mesh, memory")
    res.update(adaptive(quick, res["ranks"][-1]["one"], tmp))
    return res


def targets(a: dict) -> list[dict]:
    """The issue's targets this section measures."""
    u, x, m, r = a["uniform"], a["uniform"]["extrapolated"], a["memory"], a["ranks"][-1]
    name = Path(a["share"]["scenario"]).name
    return [
        {"target": "default scenario with adaptive sites ≥ 10× cheaper than a uniform mesh of the same front resolution",
         "measured": f"{name}: {x['time_ratio']:.3g}× time, {x['memory_ratio']:.3g}× memory (extrapolated from the "
                     f"uniform focus run: {x['dofs']:.2g} dofs); focus box measured {u['time_ratio']:.2f}× time, "
                     f"{u['memory_ratio']:.2f}× memory at {u['size_mm'] * 1000:g} µm, census within "
                     f"{max(u['census_rel_diff'].values()):.1%}",
         "met": bool(x["time_ratio"] >= 10 and u["same_census"])},
        {"target": "2 ranks ≥ 1.6× with the adaptive meshes, same census",
         "measured": f"{Path(r['scenario']).name}: {r['speedup']:.2f}× (Amdahl bound {r['amdahl_bound']:.2f}× with "
                     f"{r['serial_fraction']:.0%} on rank 0 alone; triad bandwidth of 2 processes "
                     f"{a['stream']['two_over_one']:.2f}× one); census: "
                     f"{'same lesions and foci' if _same(r) else 'different lesions or foci'}, "
                     f"{r['agreement']['census_rows_off']} of {r['agreement']['census_rows']} rows beyond 1e-8",
         "met": bool(r["speedup"] >= 1.6 and _same(r))},
        {"target": "memory for 4 clones × 5 organs × 1e6 dofs ≤ 8 GiB (pressure term, adaptive meshes)",
         "measured": f"{m['gib']:.2f} GiB (extrapolated: {m['steady_bytes_per_dof'] / 1024:.2f} KiB per refined dof held, "
                     f"{m['transient_bytes_per_dof'] / 1024:.2f} more in one organ at a time; {m['gib_all_peak']:.2f} GiB "
                     "with every organ at its peak)",
         "met": bool(m["gib"] <= 8)},
    ]


def _same(r: dict) -> bool:
    g = r["agreement"]
    return bool(g["same_lesions"] and g["foci_last"] == g["foci_last_2"])


def markdown(a: dict) -> list[str]:
    """The section's part of bench.md."""
    c, s, u, x, m = a["cost"], a["share"], a["uniform"], a["uniform"]["extrapolated"], a["memory"]
    L = ["", "## Adaptive meshes", "", f"One focus (radius {RADIUS:g} mm at ½κ, 4 clones, pressure growth m = 30) in a "
         f"{BOX:g} mm box, re-adapted every 0.5 d for {T_END:g} days, one process per element size:", "",
         "| element size | refined dofs | wall s | s/step (solve) | adapt s | peak RSS MiB | RSS after MiB | focus cells | "
         "focus volume mm³ |", "|---|---|---|---|---|---|---|---|---|"]
    for r in c["rows"]:
        f = r["foci"][0] if r["foci"] else {"cells": math.nan, "volume_mm3": math.nan}
        L.append(f"| {r['size_mm'] * 1000:g} µm | {r['dofs']} | {r['wall_s']:.3g} | {r['step_s']:.3g} | "
                 f"{r['timers_s']['adapt']:.3g} | {r['peak_rss_mib']:.0f} | {r['rss_end_mib']:.0f} | {f['cells']:.6g} | "
                 f"{f['volume_mm3']:.4g} |")
    L += ["", f"Time per step ∝ dofs^{c['step_dofs_exponent']:.2f}, re-adaptation ∝ dofs^{c['adapt_dofs_exponent']:.2f}; "
          f"peak RSS = {c['memory_intercept_mib']:.0f} MiB + {c['memory_bytes_per_dof'] / 1024:.2f} KiB per refined dof "
          f"(above the intercept ∝ dofs^{c['memory_dofs_exponent']:.2f}); held between steps "
          f"{c['steady_bytes_per_dof'] / 1024:.2f} KiB per dof. 4 clones × 5 organs × 10⁶ dofs: {m['gib']:.2f} GiB "
          f"(extrapolated; {m['gib_all_peak']:.2f} GiB if every organ were at its peak at once).", "",
          f"Whole run {Path(s['scenario']).name} (1 rank, set-up included, {s['wall_s']:.3g} s): re-adaptation "
          f"{s['adapt_share']:.1%} of the wall time, field transfer {s['transfer_share']:.1%}, solve {s['solve_share']:.1%}; "
          "re-adaptation parts: " + ", ".join(f"{k} {v:.1%}" for k, v in s["adapt_parts_share"].items()) + ".", "",
          f"Adaptive vs uniform at {u['size_mm'] * 1000:g} µm (uniform box {u['cells_per_side']}³ × 6 tetrahedra, "
          f"{u['uniform']['dofs']} dofs, against {u['adaptive']['dofs']}): {u['time_ratio']:.2f}× the wall time, "
          f"{u['step_ratio']:.2f}× per step, {u['memory_ratio']:.2f}× the peak RSS ({u['memory_ratio_above_baseline']:.2f}× "
          f"above the {c['memory_intercept_mib']:.0f} MiB intercept); census: {u['lesions'][0]} and {u['lesions'][1]} "
          "lesion(s), relative differences " + ", ".join(f"{k} {v:.2%}" for k, v in u["census_rel_diff"].items())
          + f" (tolerance {u['tolerance']:.0%}: {'met' if u['same_census'] else 'not met'}).", "",
          f"{Path(s['scenario']).name} on uniform meshes at each organ's adaptive element size (an extrapolation, not "
          f"a run): {x['dofs']:.3g} dofs; {x['time_s']:.3g} s ({x['time_ratio']:.3g}× the adaptive run's wall time, "
          f"which includes its set-up and re-adaptations), {x['memory_gib']:.3g} GiB ({x['memory_ratio']:.3g}× its peak "
          f"RSS). Per step: its transport {x['transport_s_per_step']:.3g} s + {x['other_s_per_dof_step'] * 1e6:.3g} µs "
          f"per dof; {x['output_s_per_node'] * 1e6:.3g} µs per node and output; {u['uniform_bytes_per_dof'] / 1024:.2f} KiB "
          "per dof (all from the uniform focus run).", ""]
    L += ["### 1 vs 2 ranks (adaptive meshes)", "",
          "| scenario | 1 rank s | 2 ranks s | speed-up | rank-0-only fraction | Amdahl bound | foci (last census) | "
          "census rows beyond 1e-8 | census max rel diff | cells max rel diff |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in a["ranks"]:
        g = r["agreement"]
        L.append(f"| {Path(r['scenario']).name} | {r['one']['wall_s']:.3g} | {r['two']['wall_s']:.3g} | {r['speedup']:.2f}× | "
                 f"{r['serial_fraction']:.0%} | {r['amdahl_bound']:.2f}× | {sum(g['foci_last'].values())} / "
                 f"{sum(g['foci_last_2'].values())} | {g['census_rows_off']} of {g['census_rows']} | "
                 f"{g['census_max_rel_diff']:.1e} | {g['cells_max_rel_diff']:.1e} |")
    for r in a["ranks"]:
        L += ["", f"{Path(r['scenario']).name}, seconds per part on 1 rank → on 2 ranks (rank 0, rank 1): " + "; ".join(
            f"{k} {v['1_rank_s']:.3g} → {', '.join(f'{t:.3g}' for t in v['2_ranks_s'])}" for k, v in r["parts"].items())
            + "."]
    st = a["stream"]
    L += ["", f"Triad a = b + s·c ({st['array_mib']:.0f} MiB arrays, numpy): one process {st['one_gb_s']:.3g} GB/s; two at "
          f"once {', '.join(f'{v:.3g}' for v in st['two_gb_s_each'])} GB/s: {st['two_over_one']:.2f}× one process."]
    return L
