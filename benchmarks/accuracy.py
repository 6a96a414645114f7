"""Time error and time-to-solution: the Richardson reference, IMEX error curves, the cost of a target error."""

from __future__ import annotations

import json
import math

from benchmarks.common import D, TARGET_ERROR, dofs_per_clone, make_sim, matmult_time, power_fit, rel_err, timed_run

_REFERENCES: dict = {}  # one reference per (organ, K, dt_ref, t_end, diffusion): the py-pde sections reuse them


def reference_state(organ, K, dt_ref, t_end, diffusion=D):
    """Richardson extrapolation (4·u(dt/2) − u(dt))/3 of two fine IMEX runs: 4th-order accurate in dt.
    Returns (reference, relative difference of the two runs)."""
    key = json.dumps([organ, K, dt_ref, t_end, diffusion], sort_keys=True)
    if key not in _REFERENCES:
        fine, _, _ = timed_run(make_sim(organ, K, "imex", dt_ref / 2, t_end, diffusion), t_end)
        coarse, _, _ = timed_run(make_sim(organ, K, "imex", dt_ref, t_end, diffusion), t_end)
        _REFERENCES[key] = (4 * fine - coarse) / 3, rel_err(coarse, fine)
    return _REFERENCES[key]


def imex_points(organ, K, t_end, dts, ref, matmult_dt, diffusion=D) -> tuple[list[dict], float, int]:
    """IMEX runs at each dt: (error/step-time points, MatMult time with the matrix of matmult_dt, dofs)."""
    pts, mm = [], math.nan
    for dt in dts:
        sim = make_sim(organ, K, "imex", dt, t_end, diffusion)
        st: dict = {}
        u, step_s, n = timed_run(sim, t_end, st)
        pts.append({"dt": dt, "error": rel_err(u, ref), "step_s": step_s, "steps": n,
                    "cg_iterations_per_clone_solve": st["linear_iterations"] / K,
                    "linear_s_per_step": st["linear_s"], "reaction_s_per_step": st["reaction_s"]})
        if dt == matmult_dt:
            mm = matmult_time(sim, dt)
    return pts, mm, dofs_per_clone(sim)


def imex_case(name, organ, K, t_end, dts, dt_ref, diffusion, target=TARGET_ERROR) -> dict:
    """IMEX time-to-solution alone (no Newton), for the py-pde comparison at another diffusion."""
    ref, _ = reference_state(organ, K, dt_ref, t_end, diffusion)
    pts, mm, dofs = imex_points(organ, K, t_end, dts, ref, dts[0], diffusion)
    return {"case": name, "organ": organ, "dofs_per_clone": dofs, "K": K, "t_end": t_end,
            "diffusion": diffusion, "imex": pts, "matmult_s": mm,
            "imex_time_to_solution": time_to_solution(pts, target, t_end)}


def time_to_solution(points: list[dict], target: float, t_end: float, order: float | None = None) -> dict:
    """Wall time to reach a relative error ≤ target, from measured {dt, error, step_s} points.

    error(dt) = C·dt^p is fitted (p given by ``order`` when there is a single point); the step time is
    interpolated in log–log between the measured dts. dt is never taken above the largest dt measured
    (larger steps may be rejected), and the number of steps is an integer.
    """
    dts = [p["dt"] for p in points]
    errs = [p["error"] for p in points]
    if len(points) >= 2:
        p, c = power_fit(dts, errs)
    else:
        p = order
        c = math.log(errs[0]) - p * math.log(dts[0])
    dt_star = math.exp((math.log(target) - c) / p)
    capped = dt_star > max(dts)
    dt_star = min(dt_star, max(dts))
    steps = math.ceil(t_end / dt_star - 1e-9)
    dt_used = t_end / steps
    if len(points) >= 2:
        q, d = power_fit(dts, [pt["step_s"] for pt in points])
        step_s = math.exp(q * math.log(dt_used) + d)
    else:
        step_s = points[0]["step_s"]
    return {"order": p, "dt": dt_used, "steps": steps, "step_s": step_s, "time_s": steps * step_s,
            "error_at_dt": math.exp(c + p * math.log(dt_used)), "capped_at_largest_measured_dt": capped}
