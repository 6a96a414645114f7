"""IMEX vs the monolithic Newton/MUMPS reference at equal accuracy (``solvers``), and the
memory-bandwidth bound of the IMEX step (``bandwidth``)."""

from __future__ import annotations

import math

from benchmarks.accuracy import imex_points, reference_state, time_to_solution
from benchmarks.common import T_END, TARGET_ERROR, make_sim, power_fit, rel_err, timed_run


def solver_cases(box_sizes, lung_refines, lung, K, t_end, dts, newton_dts, dt_ref, log) -> list[dict]:
    """Every case, box sizes then lung refinements (none without a lung mesh), each (size, Newton mode);
    cases that do not run Newton fully take its model from the geometry's cases before them, and the
    largest of each geometry also runs at CG rtol 1e-8."""
    cases = []
    for geometry, sizes in (("box", box_sizes), ("lung", lung_refines if lung else [])):
        done = []
        for size, mode in sizes:
            organ = ({"box": [4.0, 4.0, 4.0], "cells": [size] * 3} if geometry == "box"
                     else {"mesh": str(lung), "refine": size})
            name = f"box {size}³" if geometry == "box" else f"lung refine {size}"
            log(f"IMEX vs Newton: {name} (Newton: {mode})")
            model = newton_model_from(done, geometry) if mode != "full" else None
            largest = size == sizes[-1][0]
            c = compare_solvers(name, organ, K, t_end, dts, newton_dts, mode, model, dt_ref,
                                rtol_check=1e-8 if largest else None)
            done.append(c)
            cases.append(c)
    return cases


def compare_solvers(name: str, organ: dict, K: int = 4, t_end: float = T_END, imex_dts=(0.25, 0.125, 0.0625),
                    newton_dts=(0.25, 0.125), newton_mode: str = "full", newton_model: dict | None = None,
                    dt_ref: float = 1 / 128, target: float = TARGET_ERROR, bandwidth_dt: float = 0.25,
                    rtol_check: float | None = None) -> dict:
    """One case of the IMEX-vs-Newton comparison (see the package docstring).

    newton_mode: "full" (error curve at newton_dts), "one" (only the first newton_dt; its order from
    newton_model) or "model" (not run: step time extrapolated from newton_model, its error curve too).
    """
    ref, ref_check = reference_state(organ, K, dt_ref, t_end)
    imex_pts, mm, dofs = imex_points(organ, K, t_end, imex_dts, ref, bandwidth_dt)
    # the same at a looser CG tolerance (the default rtol = 1e-12 is far below the time error)
    rtol_row = _looser_rtol(organ, K, t_end, bandwidth_dt, rtol_check, ref, mm) if rtol_check else None
    measured = []
    if newton_mode in ("full", "one"):
        measured = newton_points(organ, K, t_end, newton_dts if newton_mode == "full" else newton_dts[:1], ref)
    newton_tts, newton_pts, newton_note = _newton_time_to_solution(newton_mode, measured, newton_model, dofs,
                                                                   target, t_end)
    res = {"case": name, "organ": organ, "dofs_per_clone": dofs, "K": K, "t_end": t_end, "target_error": target,
           "reference": {"dt": [dt_ref / 2, dt_ref], "richardson_check_rel_diff": ref_check},
           "imex": imex_pts, "newton": newton_pts, "matmult_s": mm, "bandwidth_dt": bandwidth_dt}
    if rtol_row is not None:
        res["imex_looser_rtol"] = rtol_row
    imex_tts = time_to_solution(imex_pts, target, t_end)
    dt_eq = newton_pts[0]["dt"]  # per step at equal dt: the first Newton dt
    imex_at = next(p for p in imex_pts if p["dt"] == dt_eq)
    step_bw = next(p["step_s"] for p in imex_pts if p["dt"] == bandwidth_dt)
    res.update({"newton_note": newton_note, "imex_time_to_solution": imex_tts,
                "newton_time_to_solution": newton_tts, "per_step_dt": dt_eq,
                "speedup_per_step": newton_pts[0]["step_s"] / imex_at["step_s"],
                "speedup_equal_accuracy": newton_tts["time_s"] / imex_tts["time_s"],
                "step_over_K_matmult": step_bw / (K * mm)})
    return res


def _looser_rtol(organ, K, t_end, dt, rtol, ref, matmult_s) -> dict:
    """The IMEX run at dt with CG tolerance rtol: its error, step time and CG iterations."""
    sim = make_sim(organ, K, "imex", dt, t_end)
    sim.cfg.rtol = rtol
    st = {}
    u, step_s, n = timed_run(sim, t_end, st)
    return {"rtol": rtol, "dt": dt, "error": rel_err(u, ref), "step_s": step_s,
            "cg_iterations_per_clone_solve": st["linear_iterations"] / K,
            "step_over_K_matmult": step_s / (K * matmult_s)}


def newton_points(organ, K, t_end, dts, ref) -> list[dict]:
    """Newton runs at each dt: error, step time, steps and Newton iterations per step."""
    pts = []
    for dt in dts:
        sim = make_sim(organ, K, "newton", dt, t_end)
        u, step_s, n = timed_run(sim, t_end)
        pts.append({"dt": dt, "error": rel_err(u, ref), "step_s": step_s, "steps": n,
                    "newton_iterations_per_step": sim.solvers["tissue"].stats["newton_iterations"] / n})
    return pts


def _newton_time_to_solution(mode, measured, model, dofs, target, t_end) -> tuple[dict, list[dict], str]:
    """Newton's time-to-solution, its points (measured, or extrapolated in mode "model") and how they were had."""
    if mode == "full":
        return time_to_solution(measured, target, t_end), measured, "measured"
    if mode == "one":
        return (time_to_solution(measured, target, t_end, order=model["order"]), measured,
                f"one dt measured; error order {model['order']:.2f} from {model['from']}")
    # Not run: the step time from the power law in dofs of the measured cases, the error curve of
    # the largest measured case (the time error hardly depends on the mesh, see the measured cases).
    step = math.exp(model["step_exponent"] * math.log(dofs) + model["step_log_coeff"])
    pts = [{"dt": p["dt"], "error": p["error"], "step_s": step} for p in model["points"]]
    tts = time_to_solution(pts, target, t_end, order=model["order"])
    return (tts, [{"dt": p["dt"], "step_s": step, "extrapolated": True} for p in model["points"]],
            f"not run ({model['why']}); step time extrapolated as dofs^{model['step_exponent']:.2f} "
            f"from {model['from']}")


def newton_ran(case: dict) -> bool:
    """Whether Newton was run on the case (at every dt or at one), not extrapolated."""
    return case["newton_note"] == "measured" or case["newton_note"].startswith("one dt")


def newton_model_from(cases: list[dict], which: str) -> dict:
    """Power law of Newton's step time in dofs (cases of one geometry that ran it) and its error curve."""
    measured = [c for c in cases if newton_ran(c)]
    if len(measured) >= 2:
        q, d = power_fit([c["dofs_per_clone"] for c in measured], [c["newton"][0]["step_s"] for c in measured])
    else:
        q = 2.0  # sparse direct solvers in 3D: flops ∝ n²
        c0 = measured[0]
        d = math.log(c0["newton"][0]["step_s"]) - q * math.log(c0["dofs_per_clone"])
    full = [c for c in measured if len(c["newton"]) >= 2]
    order = full[-1]["newton_time_to_solution"]["order"] if full else 2.0
    largest = measured[-1]
    return {"step_exponent": q, "step_log_coeff": d, "order": order, "points": largest["newton"],
            "from": f"{which}: " + ", ".join(f"{c['dofs_per_clone']} dofs" for c in measured),
            "why": "MUMPS needs more memory and time than this machine has at this size"}


def bandwidth_rows(cases: list[dict], K: int) -> list[dict]:
    """Each case's IMEX step time over K MatMults with the step's matrix, at the bandwidth dt and by dt."""
    return [{"case": c["case"], "dofs_per_clone": c["dofs_per_clone"], "K": K, "dt": c["bandwidth_dt"],
             "step_s": next(p["step_s"] for p in c["imex"] if p["dt"] == c["bandwidth_dt"]),
             "matmult_s": c["matmult_s"], "step_over_K_matmult": c["step_over_K_matmult"],
             "by_dt": {str(p["dt"]): p["step_s"] / (K * c["matmult_s"]) for p in c["imex"]},
             **({"looser_rtol": c["imex_looser_rtol"]} if "imex_looser_rtol" in c else {})}
            for c in cases]
