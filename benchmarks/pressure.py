"""IMEX vs the Newton reference with the pressure term (``pressure``): time-to-solution at equal accuracy.

Problem: the IMEX-vs-Newton problem of ``newton`` (K = 4 Gaussians on the 4 mm box and on the lung mesh,
ρ = 0.25/day, κ = 10⁶, t_end) with the shipped terms ``pressure`` + ``pressure_growth`` instead of diffusion +
logistic: D_p = 0.08 mm²/day, m = 1 (the primary's law in default.toml), mesh adaptation off (a fixed mesh: the
comparison is in time).

The two solvers discretize space differently (the splitting step's transport is the upwinded M-matrix scheme,
Newton's the Galerkin form), so they converge to different semi-discrete solutions and each solver's time
error is measured against **its own** fine-dt reference on the same mesh: Richardson extrapolation
(2ᵖ·u(h/2) − u(h))/(2ᵖ − 1) of two fine runs, p = 2 (IMEX with the extrapolated transport step; Newton,
θ = ½). The relative l2 error of all clone dofs at t_end is fitted as C·dtᵖ per solver; time-to-solution at
a target is ⌈t_end/dt*⌉ × the step time at dt* (``accuracy.time_to_solution``). Step times are **CPU seconds
of this process** (``time.process_time``; everything is single-threaded) without the first step: the machine is
shared, and CPU time is what the run would take alone. Wall times are in bench.json.

Error-controlled rows (``time_rtol``, step doubling; whole steps of organs with the transport and no operator
terms are Richardson-extrapolated to order 2): one run per tolerance from t = 0 with the largest fixed dt as
first and largest step, CPU seconds of the whole run, the time at a target interpolated log–log between the
runs around it (``time_error.time_at``; NaN if no run reached it).

Fixed-dt IMEX rows: the shipped first-order step (``imex``), the Richardson-extrapolated transport
(``transport_extrapolate``, second order) and the same with the clones' linear solves at rtol 10⁻⁸ (the time
error is ≫ 10⁻⁸). (Before the transport's Newton solve, these rows had "1 Picard" variants: the linearly
implicit step; docs/performance.md's table is from then.) All IMEX rows
converge to the same semi-discrete solution and share one reference. Newton runs with SNES rtol 10⁻⁶ (its default 10⁻¹³ is far below the target; the
effect on its error is measured at one dt). Newton "full": its error curve is measured; "one": its step time is
measured at one dt and its error curve taken from the geometry's full case (the time error hardly depends on
the mesh: the IMEX curves of all sizes are in the table); "model": not run, its step time extrapolated as
dofs^q fitted on the box's measured cases (sparse LU in 3D: q ≈ 1.5–2).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from benchmarks.accuracy import time_to_solution
from benchmarks.common import (bench_scenario, central_vertex, clone_state, dofs_per_clone, initial_density,
                               power_fit, rel_err)
from benchmarks.time_error import time_at

D_P, M_EXP = 0.08, 1.0  # mm²/day, –: the pressure law of the primary in default.toml
TARGETS = (1e-3, 1e-4)
IMEX_VARIANTS = {  # fixed dt: error curves in dt
    "imex": {}, "imex extrapolated": {"transport_extrapolate": True},
    "imex extrapolated, rtol 1e-8": {"transport_extrapolate": True, "rtol": 1e-8}}
CONTROLLED_VARIANTS = {  # error-controlled steps (time_rtol sweep; whole steps extrapolated: order 2)
    "imex error control": {},
    "imex error control, rtol 1e-8": {"rtol": 1e-8}}
NEWTON_SNES_RTOL = 1e-6


@dataclass(frozen=True)
class PressureSizes:
    t_end: float                 # days
    dts: tuple                   # second-order IMEX (extrapolated transport)
    first_order_dts: tuple       # the shipped first-order IMEX step
    dt_ref: float                # IMEX reference: runs at dt_ref and dt_ref/2
    newton_dts: tuple
    newton_dt_ref: float
    tolerances: tuple            # time_rtol of the error-controlled runs (their largest dt: max(dts))
    box: tuple                   # (cells per side, Newton mode)
    lung: tuple                  # (refinements, Newton mode)


QUICK = PressureSizes(t_end=0.5, dts=(0.25, 0.125), first_order_dts=(0.25, 0.125, 0.0625), dt_ref=1 / 16,
                      newton_dts=(0.25, 0.125), newton_dt_ref=1 / 32, tolerances=(1e-2, 1e-3, 1e-4), box=((6, "full"),),
                      lung=())
FULL = PressureSizes(t_end=2.0, dts=(0.5, 0.25, 0.125, 0.0625), first_order_dts=(0.25, 0.125, 0.0625, 0.03125, 0.015625),
                     dt_ref=1 / 64, newton_dts=(0.5, 0.25, 0.125), newton_dt_ref=1 / 16,
                     tolerances=(1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5),
                     box=((12, "full"), (16, "one"), (24, "model")), lung=((0, "full"), (1, "model")))


def make_pressure_sim(organ: dict, K: int, solver: str, dt: float, t_end: float, **simulation):
    """The benchmark organ with the pressure terms, smooth Gaussian clones, no adaptation."""
    from pdemet.simulation import Simulation

    data = bench_scenario(organ, K, solver, dt, t_end)
    o = data["organs"]["tissue"]
    o.pop("diffusion")
    o.update(terms=["pressure", "pressure_growth"], pressure_diffusivity=D_P, pressure_exponent=M_EXP,
             adapt={"enabled": False})
    data["simulation"].update(simulation)
    sim = Simulation.from_dict(data)
    org = sim.organs["tissue"]
    org.set_densities(initial_density(org.x.T, central_vertex(org), K, "box" if "box" in organ else "mesh"))
    return sim


def run(organ, K, solver, dt, t_end, snes_rtol=None, max_steps=None, **simulation) -> dict:
    """One fixed-dt run: final state, CPU and wall seconds per step without the first, steps, counters.
    ``max_steps`` stops after that many steps (a step time only: no state)."""
    sim = make_pressure_sim(organ, K, solver, dt, t_end, **simulation)
    if snes_rtol is not None:
        sim.solvers["tissue"].problem.solver.setTolerances(rtol=snes_rtol)
    sim.advance(t_end)  # the first step: form compilation, symbolic factorization
    n, c0, w0 = 0, time.process_time(), time.perf_counter()
    while sim.t < t_end - 1e-12 and (max_steps is None or n < max_steps):
        sim.advance(t_end)
        n += 1
    cpu, wall = (time.process_time() - c0) / max(n, 1), (time.perf_counter() - w0) / max(n, 1)
    stats = sim.solvers["tissue"].stats
    return {"state": clone_state(sim) if max_steps is None else None, "step_s": cpu, "wall_step_s": wall,
            "steps": n + 1, "dofs": dofs_per_clone(sim), "rejected": sim.steps["rejected"],
            "clipped_cells": sim.clipped_cells, **({"newton_iterations_per_step": stats["newton_iterations"] / (n + 1)}
                                                  if solver == "newton" else {})}


def reference(organ, K, solver, dt_ref, t_end, **simulation) -> tuple[np.ndarray, float]:
    """(4u(dt_ref/2) − u(dt_ref))/3 of two second-order runs, and the two runs' relative difference."""
    fine = run(organ, K, solver, dt_ref / 2, t_end, **simulation)["state"]
    coarse = run(organ, K, solver, dt_ref, t_end, **simulation)["state"]
    return (4 * fine - coarse) / 3, rel_err(coarse, fine)


def curve(organ, K, solver, dts, t_end, ref, **kw) -> list[dict]:
    pts = []
    for dt in dts:
        r = run(organ, K, solver, dt, t_end, **kw)
        pts.append({"dt": dt, "error": rel_err(r.pop("state"), ref), **r})
    return pts


def at_targets(points: list[dict], t_end: float, order: float | None = None) -> dict:
    return {f"{t:g}": time_to_solution(points, t, t_end, order=order) for t in TARGETS}


def controlled(organ, K, tolerances, dt, t_end, ref, **keys) -> dict:
    """Error-controlled runs from t = 0 (largest step dt), one per tolerance: error, CPU seconds of the whole
    run, steps; the time at each target interpolated log–log between the runs around it (time_error.time_at)."""
    runs = []
    for tol in tolerances:
        sim = make_pressure_sim(organ, K, "imex", dt, t_end, adaptive=True, time_rtol=tol, **keys)
        c0, w0 = time.process_time(), time.perf_counter()
        while sim.t < t_end - 1e-12:
            sim.advance(t_end)
        runs.append({"time_rtol": tol, "error": rel_err(clone_state(sim), ref), "time_s": time.process_time() - c0,
                     "wall_s": time.perf_counter() - w0, "steps": dict(sim.steps),
                     "extrapolated": sim.doubling.stats["extrapolated"],
                     "undershoot_fallbacks": sim.doubling.stats["undershoot_fallbacks"]})
    return {"runs": runs, "at": {f"{t:g}": {"time_s": time_at(runs, t), "every_run_below": all(r["error"] <= t
                                                                                                for r in runs)}
                                 for t in TARGETS}}


def pressure_case(name, organ, K, t_end, sizes, newton_mode, newton_from=None, step_model=None) -> dict:
    """One geometry and size: every IMEX variant's curve and Newton's (measured, one dt, or modelled)."""
    imex_ref, imex_check = reference(organ, K, "imex", sizes.dt_ref, t_end, transport_extrapolate=True)
    case = {"case": name, "organ": organ, "K": K, "t_end": t_end, "newton_mode": newton_mode, "imex": {},
            "imex_reference": {"dt": [sizes.dt_ref / 2, sizes.dt_ref], "richardson_check_rel_diff": imex_check}}
    for variant, keys in IMEX_VARIANTS.items():
        dts = sizes.first_order_dts if not keys.get("transport_extrapolate") else sizes.dts
        pts = curve(organ, K, "imex", dts, t_end, imex_ref, **keys)
        case["imex"][variant] = {"points": pts, "at": at_targets(pts, t_end)}
    case["dofs_per_clone"] = pts[0]["dofs"]
    for variant, keys in CONTROLLED_VARIANTS.items():
        case["imex"][variant] = controlled(organ, K, sizes.tolerances, max(sizes.dts), t_end, imex_ref, **keys)
    if newton_mode == "full":
        nref, ncheck = reference(organ, K, "newton", sizes.newton_dt_ref, t_end)
        pts = curve(organ, K, "newton", sizes.newton_dts, t_end, nref, snes_rtol=NEWTON_SNES_RTOL)
        tight = run(organ, K, "newton", sizes.newton_dts[1], t_end)
        case["newton"] = {"points": pts, "at": at_targets(pts, t_end), "note": "measured",
                          "reference": {"dt": [sizes.newton_dt_ref / 2, sizes.newton_dt_ref],
                                        "richardson_check_rel_diff": ncheck},
                          "snes_rtol_effect": {"dt": sizes.newton_dts[1], "snes_rtol": NEWTON_SNES_RTOL,
                                               "error": pts[1]["error"], "error_snes_rtol_1e-13":
                                               rel_err(tight["state"], nref), "step_s_snes_rtol_1e-13":
                                               tight["step_s"]}}
    else:
        if newton_mode == "one":
            step = run(organ, K, "newton", sizes.newton_dts[0], t_end, snes_rtol=NEWTON_SNES_RTOL, max_steps=2)["step_s"]
            note = f"step time measured at dt {sizes.newton_dts[0]:g}; error curve of {newton_from['case']}"
        else:
            step = math.exp(step_model["q"] * math.log(case["dofs_per_clone"]) + step_model["c"][name.split()[0]])
            note = (f"not run: step time extrapolated as dofs^{step_model['q']:.2f} from "
                    f"{step_model['from'][name.split()[0]]}; error curve of {newton_from['case']}")
        pts = [{**p, "step_s": step, "extrapolated": newton_mode == "model"} for p in newton_from["newton"]["points"]]
        case["newton"] = {"points": pts, "at": at_targets(pts, t_end), "note": note}
    case["speedup"] = {t: {v: case["newton"]["at"][t]["time_s"] / case["imex"][v]["at"][t]["time_s"]
                           for v in case["imex"]} for t in case["newton"]["at"]}
    reached = [v for v in case["imex"] if math.isfinite(case["speedup"]["0.0001"][v])]
    case["best_imex"] = max(reached, key=lambda v: case["speedup"]["0.0001"][v])
    return case


def pressure_section(sizes, K, lung, log) -> dict:
    """Box sizes then lung refinements, each (size, Newton mode): "full" first, then "one"/"model"."""
    cases, measured = [], {}
    for geometry, specs in (("box", sizes.box), ("lung", sizes.lung if lung else ())):
        full = None
        for size, mode in specs:
            organ = ({"box": [4.0, 4.0, 4.0], "cells": [size] * 3} if geometry == "box"
                     else {"mesh": str(lung), "refine": size})
            name = f"{geometry} {size}³" if geometry == "box" else f"lung refine {size}"
            log(f"pressure: IMEX vs Newton, {name} (Newton: {mode})")
            c = pressure_case(name, organ, K, sizes.t_end, sizes, mode, full, _step_model(measured))
            full = c if mode == "full" else full
            if mode != "model":
                measured.setdefault(geometry, []).append((c["dofs_per_clone"], c["newton"]["points"][0]["step_s"]))
            cases.append(c)
    return {"cases": cases, "targets": list(TARGETS), "imex_variants": {**IMEX_VARIANTS, **CONTROLLED_VARIANTS},
            "tolerances": list(sizes.tolerances),
            "newton_snes_rtol": NEWTON_SNES_RTOL, "D_p": D_P, "m": M_EXP, "t_end": sizes.t_end}


def _step_model(measured: dict) -> dict | None:
    """Newton's step time ∝ dofs^q: q fitted on the box's measured cases (2 without two), each geometry's
    coefficient from its largest measured case."""
    if not measured:
        return None
    box = measured.get("box", [])
    q = power_fit(*zip(*box))[0] if len(box) >= 2 else 2.0
    return {"q": q, "c": {g: math.log(pts[-1][1]) - q * math.log(pts[-1][0]) for g, pts in measured.items()},
            "from": {g: ", ".join(f"{d} dofs" for d, _ in pts) + f" (q from the box: {len(box)} sizes)"
                     for g, pts in measured.items()}}


def pressure_target(sec: dict) -> dict:
    """The issue's target row: the smallest speed-up of the best IMEX variant at 1e-4 over all cases."""
    worst = min(sec["cases"], key=lambda c: c["speedup"]["0.0001"][c["best_imex"]])
    ran = [c for c in sec["cases"] if c["newton_mode"] != "model"]
    s = worst["speedup"]["0.0001"][worst["best_imex"]]
    shipped = min(c["speedup"]["0.0001"]["imex"] for c in sec["cases"])
    measured = min(c["speedup"]["0.0001"][c["best_imex"]] for c in ran) if ran else math.nan
    return {"target": "≥ 20× faster than Newton with the pressure term (at 1e-4)",
            "measured": f"{s:.1f}× ({worst['case']}, {worst['best_imex']}; {measured:.1f}× where Newton ran; "
                        f"shipped first-order step ≥ {shipped:.1f}×)", "met": bool(s >= 20)}


def report_lines(sec: dict) -> list[str]:
    L = ["", f"## IMEX vs Newton with the pressure term (K = 4, D_p = {sec['D_p']:g} mm²/day, m = {sec['m']:g}, "
         f"t_end = {sec['t_end']:g} d)", "",
         "Each solver's time error against its own fine-dt reference (upwind vs Galerkin space: different "
         "semi-discrete solutions); CPU seconds of this process, first step excluded; all ratios from this run.", "",
         "| case | dofs/clone | solver | order | s/step (dt) | 1e-3: dt / steps / s | 1e-4: dt / steps / s | "
         "Newton ÷ this at 1e-3 / 1e-4 |", "|---|---|---|---|---|---|---|---|"]
    for c in sec["cases"]:
        rows = [(v, c["imex"][v], c["speedup"]["0.001"][v], c["speedup"]["0.0001"][v]) for v in c["imex"]]
        for label, r, s3, s4 in [*rows, ("newton", c["newton"], None, None)]:
            a3, a4 = r["at"]["0.001"], r["at"]["0.0001"]
            if "runs" in r:  # error-controlled: the time interpolated between the runs around the target
                b3, b4 = ("‡" if a["every_run_below"] else "" for a in (a3, a4))
                L.append(f"| {c['case']} | {c['dofs_per_clone']} | {label} | – | – | – / – / {a3['time_s']:.3g}{b3} | "
                         f"– / – / {a4['time_s']:.3g}{b4} | {s3:.1f}× / {s4:.1f}× |")
                continue
            p0 = r["points"][0]
            cap3, cap4 = ("†" if a["capped_at_largest_measured_dt"] else "" for a in (a3, a4))
            L.append(f"| {c['case']} | {c['dofs_per_clone']} | {label} | {a4['order']:.2f} | {p0['step_s']:.3g} "
                     f"({p0['dt']:g}) | {a3['dt']:.3g}{cap3} / {a3['steps']} / {a3['time_s']:.3g} | {a4['dt']:.3g}{cap4} / "
                     f"{a4['steps']} / {a4['time_s']:.3g} | "
                     + (f"{s3:.1f}× / {s4:.1f}× |" if s3 is not None else f"{c['newton']['note']} |"))
    L += ["", "† dt capped at the largest dt measured (the error there is already below the target). ‡ every "
          "error-controlled run is below the target: the cheapest one's time (an upper bound).", "",
          "Error curves (relative l2 time error at t_end by dt):", ""]
    for c in sec["cases"]:
        for label, r in [*c["imex"].items(), ("newton", c["newton"])]:
            if "runs" in r:
                L.append(f"* {c['case']}, {label} (time_rtol: error, CPU s, accepted/rejected steps): " + ", ".join(
                    f"{x['time_rtol']:g}: {x['error']:.2e}, {x['time_s']:.3g} s, {x['steps']['accepted']}/"
                    f"{x['steps']['rejected']}" for x in r["runs"]))
            elif r["points"] and "error" in r["points"][0] and not r["points"][0].get("extrapolated"):
                L.append(f"* {c['case']}, {label}: " + ", ".join(f"{p['dt']:g}: {p['error']:.2e}" for p in r["points"]))
        e = c["newton"].get("snes_rtol_effect")
        if e:
            L.append(f"* {c['case']}, Newton at dt {e['dt']:g}: error {e['error']:.3e} with SNES rtol "
                     f"{e['snes_rtol']:g}, {e['error_snes_rtol_1e-13']:.3e} with 1e-13 ({e['step_s_snes_rtol_1e-13']:.3g} "
                     f"s/step)")
    return L
