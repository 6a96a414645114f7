"""Error-controlled steps (``simulation.time_rtol``, step doubling + Richardson extrapolation) against today's
fixed-dt Strang/Crank–Nicolson on the py-pde box case at both diffusivities (``time_error``).

Per diffusivity: fixed-dt runs and error-controlled runs (the same largest dt, tolerances from loose to
tight), each timed from t = 0 to t_end, best of ``repeats``, without the one-time assembly of M and A (as
the bench's step times exclude the first step; the operators of every new dt are built in the timed loop);
the error reached (relative l2 against the shared Richardson reference, as everywhere in the bench, and
max |u − ref|/(atol + rtol·|ref|), the controller's own norm), steps accepted/rejected and CG iterations.
The time to the target error is interpolated log–log between the two runs that bracket it, on each
side, and their ratio is the speed-up; the same at the smallest error the fixed-dt runs reached. At D = 0.01 the tolerance nearest the target is also run with CG
rtol 1e-8 instead of 1e-12 (the cells it loses, relative, against the 1e-12 run: the conservation cost).
"""

from __future__ import annotations

import math
import time

import numpy as np

from benchmarks.accuracy import reference_state
from benchmarks.common import D, D_FAST, KAPPA, T_END_FAST, TARGET_ERROR, clone_state, make_sim, rel_err


TOLERANCES = {False: (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6), True: (1e-2, 1e-4)}  # time_rtol, by quick
FIXED_DTS = {False: 5, True: 4}  # fixed dts: the largest (the bench's), halved; enough to bracket the target
REPEATS = {False: 2, True: 1}


def time_error_section(cases, K, sizes, quick, log) -> dict:
    """The section on the largest box case (the py-pde case: its references are computed already), at
    the bench's D with its largest IMEX dt and at D_FAST with its largest dt (``sizes``: run.Sizes)."""
    box = max((c for c in cases if c["case"].startswith("box")), key=lambda c: c["dofs_per_clone"])
    organ, tols, repeats = box["organ"], TOLERANCES[quick], REPEATS[quick]
    out = {"case": box["case"], "dofs_per_clone": box["dofs_per_clone"], "K": K, "target_error": TARGET_ERROR,
           "tolerances": list(tols), "by_diffusion": []}
    for diffusion, t, largest, ref_dt in ((D, sizes.t_end, max(sizes.imex_dts), sizes.dt_ref),
                                          (D_FAST, min(T_END_FAST, sizes.t_end), max(sizes.fast_dts), sizes.dt_ref / 2)):
        dts = [largest / 2 ** k for k in range(FIXED_DTS[quick])]
        log(f"error-controlled steps: {box['case']}, D = {diffusion} mm²/day")
        ref, _ = reference_state(organ, K, ref_dt, t, diffusion)
        fixed = [{"dt": dt, **_timed(organ, K, t, ref, diffusion, repeats, dt)} for dt in dts]
        controlled = [{"time_rtol": tol, **_timed(organ, K, t, ref, diffusion, repeats, max(dts), adaptive=True,
                                                  time_rtol=tol)} for tol in tols]
        row = {"diffusion": diffusion, "t_end": t, "largest_dt": max(dts), "fixed": fixed, "controlled": controlled,
               "fixed_time_s": time_at(fixed, TARGET_ERROR), "controlled_time_s": time_at(controlled, TARGET_ERROR)}
        row["speedup"] = row["fixed_time_s"] / row["controlled_time_s"]
        row["at_smallest_fixed_error"] = at_smallest_fixed_error(fixed, controlled)
        if diffusion == D:
            row["cg_rtol_1e-8"] = _looser_cg(organ, K, t, ref, diffusion, repeats, max(dts), controlled)
        out["by_diffusion"].append(row)
    return out


def _timed(organ, K, t_end, ref, diffusion, repeats, dt, **simulation) -> dict:
    """One run to t_end, best wall time of ``repeats`` (the runs are deterministic: the same steps)."""
    best = math.inf
    for _ in range(repeats):
        sim = make_sim(organ, K, "imex", dt, t_end, diffusion, **simulation)
        sim.solvers["tissue"].linear.prepare(dt)  # one-time assembly, excluded as in the bench's step times
        t0 = time.perf_counter()
        while sim.t < t_end * (1 - 1e-12):
            sim.advance(t_end)
        best = min(best, time.perf_counter() - t0)
    u = clone_state(sim)
    tol = simulation.get("time_rtol")
    res = {"time_s": best, "error": rel_err(u, ref), "steps": dict(sim.steps),
           "cg_iterations_per_clone": sim.solvers["tissue"].stats["linear_iterations"] / K,
           "cells": float(sum(o.cells_per_clone().sum() for o in sim.organs.values()))}
    if tol:
        res["error_over_tolerance"] = float(np.max(np.abs(u - ref) / (tol * 1e-3 * KAPPA + tol * np.abs(ref))))
        res["extrapolated_steps"] = sim.doubling.stats["extrapolated"]
    return res


def _looser_cg(organ, K, t_end, ref, diffusion, repeats, dt, controlled) -> dict:
    """The tolerance whose error is nearest the target, again with CG rtol 1e-8."""
    near = min(controlled, key=lambda r: abs(math.log(r["error"] / TARGET_ERROR)))
    loose = _timed(organ, K, t_end, ref, diffusion, repeats, dt, adaptive=True, time_rtol=near["time_rtol"],
                   rtol=1e-8)
    return {"time_rtol": near["time_rtol"], **loose, "time_ratio_vs_1e-12": near["time_s"] / loose["time_s"],
            "cells_rel_diff_vs_1e-12": abs(loose["cells"] - near["cells"]) / near["cells"]}


def at_smallest_fixed_error(fixed: list[dict], controlled: list[dict]) -> dict:
    """The same comparison at the smallest error the fixed-dt runs reached (measured on both sides: a
    tighter target than the bench's, where the 4th-order extrapolated steps gain)."""
    best = min(fixed, key=lambda r: r["error"])
    t = time_at(controlled, best["error"])
    return {"error": best["error"], "fixed_time_s": best["time_s"], "controlled_time_s": t,
            "speedup": best["time_s"] / t}


def time_at(runs: list[dict], target: float) -> float:
    """Wall time to an error ≤ target: log–log interpolation between the most accurate run above the target
    and the least accurate one at or below it; the cheapest run below it if all are; NaN if none is."""
    ok = [r for r in runs if r["error"] <= target]
    bad = [r for r in runs if r["error"] > target]
    if not ok:
        return math.nan
    a = max(ok, key=lambda r: r["error"])
    if not bad:
        return min(r["time_s"] for r in ok)
    b = min(bad, key=lambda r: r["error"])
    w = (math.log(target) - math.log(b["error"])) / (math.log(a["error"]) - math.log(b["error"]))
    return math.exp(math.log(b["time_s"]) + w * (math.log(a["time_s"]) - math.log(b["time_s"])))


def report_lines(sec: dict) -> list[str]:
    """The bench.md section."""
    L = ["", f"## Error-controlled steps ({sec['case']}, {sec['dofs_per_clone']} dofs/clone, K = {sec['K']}, "
         f"target relative l2 error {sec['target_error']:.0e})", "",
         "Step doubling with Richardson extrapolation (`time_rtol`, default atol = rtol·10⁻³κ) against fixed-dt "
         "Strang/Crank–Nicolson, each run timed from t = 0 without the one-time assembly of M and A, same largest dt.", "",
         "| D (mm²/day) | run | error | error/tol (∞, weighted) | steps (acc./rej.) | CG its/clone | wall s |",
         "|---|---|---|---|---|---|---|"]
    for row in sec["by_diffusion"]:
        for r in row["fixed"]:
            L.append(f"| {row['diffusion']:g} | fixed dt {r['dt']:g} | {r['error']:.2e} | – | "
                     f"{r['steps']['accepted']}/{r['steps']['rejected']} | {r['cg_iterations_per_clone']:.0f} | "
                     f"{r['time_s']:.3g} |")
        for r in row["controlled"]:
            L.append(f"| {row['diffusion']:g} | time_rtol {r['time_rtol']:.0e} | {r['error']:.2e} | "
                     f"{r['error_over_tolerance']:.2g} | {r['steps']['accepted']}/{r['steps']['rejected']} | "
                     f"{r['cg_iterations_per_clone']:.0f} | {r['time_s']:.3g} |")
    L.append("")
    for row in sec["by_diffusion"]:
        times = [f"{row[k]:.3g} s" if math.isfinite(row[k]) else "target not reached" for k in
                 ("fixed_time_s", "controlled_time_s")]
        L.append(f"D = {row['diffusion']:g} (t_end {row['t_end']:g} d, largest dt {row['largest_dt']:g} d): time to "
                 f"{sec['target_error']:.0e}: fixed dt {times[0]}, error-controlled {times[1]}: "
                 f"**{row['speedup']:.2f}×**.")
        a = row["at_smallest_fixed_error"]
        L.append(f"At the smallest error of the fixed-dt runs, {a['error']:.2e}: fixed dt {a['fixed_time_s']:.3g} s, "
                 f"error-controlled {a['controlled_time_s']:.3g} s: {a['speedup']:.2f}×.")
        if "cg_rtol_1e-8" in row:
            c = row["cg_rtol_1e-8"]
            L.append(f"With CG rtol 1e-8 instead of 1e-12 (time_rtol {c['time_rtol']:.0e}): "
                     f"{c['time_ratio_vs_1e-12']:.2f}× faster, {c['cg_iterations_per_clone']:.0f} CG its/clone, error "
                     f"{c['error']:.2e}, cells off by {c['cells_rel_diff_vs_1e-12']:.1e} (relative) from the 1e-12 run.")
    return L
