"""Work–precision fronts and time-to-solution at equal error against the continuum reference (``continuum``).

Each tool runs at many settings (mesh or grid, element degree, dt, solver, tolerance); every run is a point
(wall time, error). A tool's **Pareto front** is the set of runs that no other run of the same tool beats in
both time and error. Its **time to a target error** is interpolated along the front, linearly in log time
against log error between the two front points that bracket the target. When no run reaches the target,
the time is extrapolated from the front's accurate end (least-squares log–log line through the front
points within 3× of its smallest error, at most one decade beyond it) and marked as such; those ratios are
estimates, not measurements.

The section runs, for each diffusivity: the reference's convergence check, pdemet's runs (scenario dicts,
:mod:`benchmarks.continuum_pdemet`), py-pde's runs (:mod:`benchmarks.continuum_pypde`), both fronts, the
times at LEVELS and the ratios py-pde / pdemet (> 1: pdemet is faster).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from benchmarks import continuum
from benchmarks import continuum_pdemet as pdemet_side
from benchmarks.common import D, D_FAST, T_END, T_END_FAST
from benchmarks.continuum_pypde import PyPdeGrid

LEVELS = (1e-2, 1e-3, 1e-4)   # target errors (relative L² vs the continuum reference)


def pareto_front(runs: list[dict]) -> list[dict]:
    """The runs that no other run beats in both time and error, fastest first (errors then decrease)."""
    front, best = [], math.inf
    for r in sorted(runs, key=lambda r: (r["time_s"], r["error"])):
        if r["error"] < best:
            front.append(r)
            best = r["error"]
    return front


def time_at(front: list[dict], target: float) -> dict:
    """Time to reach ``target`` along a front (fastest first): {"time_s", "how", "measured"}."""
    if not front:
        return {"time_s": math.nan, "how": "no runs", "measured": False}
    if front[0]["error"] <= target:
        return {"time_s": front[0]["time_s"], "how": f"its fastest run is already below ({front[0]['label']})",
                "measured": True}
    for a, b in zip(front, front[1:]):
        if b["error"] <= target < a["error"]:
            w = math.log(target / a["error"]) / math.log(b["error"] / a["error"])
            t = math.exp(math.log(a["time_s"]) + w * math.log(b["time_s"] / a["time_s"]))
            return {"time_s": t, "how": f"interpolated between {a['label']} and {b['label']}", "measured": True}
    if target < front[-1]["error"] / 10:
        return {"time_s": math.nan, "how": "not reached (more than 10× below its smallest error)", "measured": False}
    tail = [r for r in front if r["error"] <= 3 * front[-1]["error"]]
    if len(tail) < 2:
        tail = front[-2:]
    if len(tail) < 2:
        return {"time_s": math.nan, "how": "not reached (one run on the front)", "measured": False}
    slope, icpt = np.polyfit(np.log([r["error"] for r in tail]), np.log([r["time_s"] for r in tail]), 1)
    if slope >= 0:
        return {"time_s": math.nan, "how": "not reached (front not decreasing)", "measured": False}
    return {"time_s": float(math.exp(icpt + slope * math.log(target))), "measured": False,
            "how": f"extrapolated: time ∝ error^{slope:.2f} through {len(tail)} front points"}


def compare(pdemet_runs: list[dict], pypde_runs: list[dict], levels=LEVELS) -> dict:
    """Both fronts and, at each level, both times and the ratio py-pde / pdemet."""
    fp, fq = pareto_front(pdemet_runs), pareto_front(pypde_runs)
    rows = []
    for level in levels:
        a, b = time_at(fp, level), time_at(fq, level)
        rows.append({"error": level, "pdemet": a, "pypde": b, "ratio": b["time_s"] / a["time_s"],
                     "measured": a["measured"] and b["measured"]})
    return {"pdemet_front": [r["label"] for r in fp], "pypde_front": [r["label"] for r in fq], "levels": rows}


def spatial_fit(runs: list[dict], size_key: str) -> dict:
    """error ∝ size^−p over each size's smallest error (its spatial error when dt is small enough)."""
    best: dict = {}
    for r in runs:
        s = r[size_key]
        best[s] = min(best.get(s, math.inf), r["error"])
    sizes = sorted(best)
    if len(sizes) < 2:
        return {}
    p, c = np.polyfit(np.log(sizes[-3:]), np.log([best[s] for s in sizes[-3:]]), 1)
    return {"order": float(-p), "sizes": sizes, "smallest_errors": [best[s] for s in sizes],
            "size_for": {f"{lv:g}": float(math.exp((math.log(lv) - c) / p)) for lv in LEVELS}}


@dataclass
class Plan:
    """What runs at one diffusivity: pdemet scenarios (dicts) and py-pde grids with their solvers."""

    diffusion: float
    t_end: float
    pdemet: list[dict]
    pypde: list[tuple] = field(default_factory=list)  # (N, scipy methods, scipy rtols, RK4 on?)
    levels: tuple = LEVELS


def _graded(base: int, size: float, dt: float, diffusion: float, t_end: float, rtol: float) -> dict:
    """P1 on a box of base³ cubes refined by pdemet's adaptivity to ``size`` mm (grading 1) in the ball where
    U > 10⁻³ κ until t_end (radius: offset + 3.5 σ(t_end)); not re-adapted during the run. The initial
    ball only drives the refinement; the run's initial data are the Gaussians, set afterwards."""
    sigma, offset = continuum.GAUSSIANS["box"]
    radius = offset + 3.5 * math.sqrt(sigma ** 2 + 2 * diffusion * t_end)
    scen = pdemet_side.scenario(base, 1, dt, diffusion, t_end, rtol=rtol)
    organ = scen["organs"]["tissue"]
    organ["initial"] = {"shape": "ball", "radius": radius, "density": 1e4}
    organ["adapt"] = {"enabled": True, "size": size, "grading": 1.0, "padding": size, "every": 10 * t_end,
                      "where": "tumor", "threshold": 1e-3}
    return scen


RTOL = 1e-6  # pdemet's CG tolerance in these runs: its error changes < 10⁻³ of the error vs the default 1e-12


def plans(quick: bool) -> list[Plan]:
    """The runs at D (t_end 2 d) and D_FAST (0.5 d). Sizes: pdemet P1 up to 64³ and P2 up to 56³ cubes
    (1.4 M dofs per clone), py-pde up to 128³ cells (stability-limited RK4: ~10² s per run there)."""
    out = []
    for diff, t_end in ((D, T_END), (D_FAST, T_END_FAST)):
        s = pdemet_side.scenario
        if quick:
            out.append(Plan(diff, t_end, [s(8, 1, t_end / 4, diff, t_end, rtol=RTOL),
                                          s(6, 2, t_end / 4, diff, t_end, rtol=RTOL)],
                            [(12, ("RK45",), (1e-3,), False)], levels=(0.2,)))
            continue
        dts = (0.5, 0.25, 0.125, 0.0625) if diff == D else (0.125, 0.0625, 0.03125, 0.015625)
        runs = [s(n, 1, dt, diff, t_end, rtol=RTOL) for n in (16, 24, 32, 48, 64) for dt in dts[:3]]
        runs += [s(n, 2, dt, diff, t_end, rtol=RTOL) for n in (8, 12, 16, 24, 32) for dt in dts[:3]]
        runs += [s(n, 2, dt, diff, t_end, rtol=RTOL) for n in (40, 48) for dt in dts[1:]]
        runs += [s(56, 2, dt, diff, t_end, rtol=RTOL) for dt in dts[2:]]
        runs += [_graded(16, 0.0625, dts[1], diff, t_end, RTOL), _graded(12, 1 / 24, dts[2], diff, t_end, RTOL)]
        # Error-controlled steps (step doubling; Richardson-extrapolated to 4th order for P1, 2nd order for P2),
        # dt at most the largest fixed dt.
        runs += [s(n, deg, dts[0], diff, t_end, rtol=RTOL, adaptive=True, time_rtol=tol)
                 for deg, sizes in ((1, (32, 48, 64)), (2, (24, 32))) for n in sizes for tol in (1e-2, 1e-3)]
        # scipy's solvers only up to 64³: beyond, every solver is held at its stability limit, where the
        # compiled RK4 is cheaper per right-hand side (2.78/4 of the stable interval per evaluation against
        # 3.3/6 for RK45, and no Python/solve_ivp vector work) — a 128³ RK45 run alone would take ~400 s.
        grids = [(n, ("RK45", "DOP853") if n <= 64 else (), (1e-3, 1e-5), True) for n in (24, 32, 48, 64, 96, 128)]
        out.append(Plan(diff, t_end, runs, grids))
    return out


def continuum_section(quick: bool, log, K: int = 4) -> dict:
    """``continuum``: for each diffusivity the reference and its convergence, both tools' runs and fronts,
    the times at LEVELS and their ratios. A failing py-pde makes its side ``skipped`` (the rest goes on)."""
    out = {"pdemet_cg_rtol": RTOL, "cases": []}
    for plan in plans(quick):
        D_, T = plan.diffusion, plan.t_end
        log(f"continuum reference, D = {D_:g} mm²/day")
        kw = dict(N=16, steps=8) if quick else {}
        conv = continuum.convergence(D_, T, K, **kw)
        ref = continuum.solve(D_, T, K, **kw)
        case = {"diffusion": D_, "t_end": T, "K": K, "reference": conv}
        log(f"continuum: {len(plan.pdemet)} pdemet runs, D = {D_:g}")
        case["pdemet_runs"] = [_shown(pdemet_side.run(scen, ref)) for scen in plan.pdemet]
        log(f"continuum: py-pde on {len(plan.pypde)} grids, D = {D_:g}")
        try:
            case["pypde_runs"], case["pypde_compile_s"] = _pypde_runs(plan, ref, K, log)
        except Exception as e:  # not installed, or a broken numba
            case["pypde_skipped"] = f"py-pde failed: {type(e).__name__}: {e}"
            out["cases"].append(case)
            continue
        for r in case["pdemet_runs"]:
            r["cells"] = r["scenario"]["organs"]["tissue"]["cells"][0]
        case["comparison"] = compare(case["pdemet_runs"], case["pypde_runs"], plan.levels)
        case["pypde_spatial"] = spatial_fit(case["pypde_runs"], "N")
        case["pdemet_p2_spatial"] = spatial_fit([r for r in case["pdemet_runs"] if r["label"].startswith("P2")],
                                                "cells")
        out["cases"].append(case)
    return out


def _shown(run: dict) -> dict:
    """Print one run's line (not through ``log``, which samples the machine's load per message)."""
    print(f"      {run['label']}: {run['time_s']:.3g} s, error {run['error']:.2e}", flush=True)
    return run


def _pypde_runs(plan: Plan, ref, K: int, log) -> tuple[list[dict], float]:
    rows, compile_s = [], 0.0
    for N, methods, rtols, rk4 in plan.pypde:
        log(f"  py-pde {N}³")
        g = PyPdeGrid(N, plan.diffusion, plan.t_end, ref, K)
        rows += [_shown(r) for r in g.scipy_runs(methods, rtols) + (g.rk4_runs() if rk4 else [])]
        compile_s += g.compile_s
    return rows, compile_s


def main(argv=None) -> dict:
    """``python -m benchmarks.workprecision [--quick] [--out DIR]``: this section alone, written to
    DIR/continuum.json and DIR/continuum.md (``pdemet bench`` runs it with the other sections)."""
    import argparse
    import json
    import time
    from pathlib import Path

    from benchmarks.continuum_report import continuum_markdown, continuum_target
    from pdemet.output.files import json_default

    p = argparse.ArgumentParser(prog="python -m benchmarks.workprecision")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", default="bench")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    sec = continuum_section(args.quick, lambda m: print(f"[{time.perf_counter() - t0:7.1f} s] {m}", flush=True))
    sec["target"] = continuum_target(sec)
    sec["wall_s"] = time.perf_counter() - t0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "continuum.json").write_text(json.dumps(sec, indent=2, default=json_default))
    md = "\n".join([f"Target: {sec['target']['target']}: {sec['target']['measured']} — "
                    f"{'met' if sec['target']['met'] else 'not met'}", *continuum_markdown(sec)]) + "\n"
    (out / "continuum.md").write_text(md)
    print(md)
    return sec


if __name__ == "__main__":
    main()
