"""py-pde (numba finite differences) against pdemet's IMEX solver at equal error, on the box case.

On dolfinx's box tetrahedra the P1 stiffness matrix is h·(the 7-point Laplacian) and the lumped
mass is h³ at interior vertices, so away from the boundary pdemet and py-pde integrate the same
semi-discrete system; the fields are ~0 near the boundary (Gaussians 1.5 mm away), where the two
boundary stencils differ. The comparison is therefore between time integrators on one system.
"""

from __future__ import annotations

import math
import time

import numpy as np

from benchmarks.accuracy import imex_case, reference_state
from benchmarks.common import (D, D_FAST, KAPPA, RHO, T_END_FAST, TARGET_ERROR, central_vertex, clone_state,
                               initial_density, make_sim, rel_err)

BC = {"derivative": 0}  # zero flux, like pdemet's natural boundary condition


def pypde_sections(cases, K, t_end, dt_ref, fast_dts, full, log) -> dict:
    """``pypde`` at the default D on the largest box case and, when py-pde ran, ``pypde_fast`` at D_FAST.
    A failing py-pde run is recorded as ``skipped`` (the rest of the bench goes on)."""
    box_case = max((c for c in cases if c["case"].startswith("box")), key=lambda c: c["dofs_per_clone"])
    organ = box_case["organ"]
    log(f"py-pde on {box_case['case']}")
    ref, _ = reference_state(organ, K, dt_ref, t_end)
    try:
        out = {"pypde": pypde_compare(box_case, organ, K, t_end, ref, full=full)}
    except Exception as e:
        out = {"pypde": _failed(e)}
    if "skipped" not in out["pypde"]:
        log(f"py-pde on {box_case['case']}, D = {D_FAST} mm²/day")
        t_fast = min(T_END_FAST, t_end)
        fast = imex_case(f"{box_case['case']}, D {D_FAST}", organ, K, t_fast, fast_dts, dt_ref / 2, D_FAST)
        ref_fast, _ = reference_state(organ, K, dt_ref / 2, t_fast, D_FAST)
        try:
            out["pypde_fast"] = pypde_compare(fast, organ, K, t_fast, ref_fast, full=full, diffusion=D_FAST)
            out["pypde_fast"]["imex"] = fast["imex"]
        except Exception as e:
            out["pypde_fast"] = _failed(e)
    return out


def _failed(e: Exception) -> dict:
    return {"skipped": f"py-pde run failed: {type(e).__name__}: {e}"}


def pypde_compare(case: dict, organ: dict, K: int, t_end: float, ref: np.ndarray, full: bool,
                  target: float = TARGET_ERROR, diffusion: float = D) -> dict:
    """py-pde on the cell-centred grid whose centres are the box mesh's vertices (see the module docstring):
    scipy's RK45 (and, if full, DOP853 and py-pde's RK4) against ``case``'s IMEX time-to-solution."""
    try:
        import pde
        from pde.pdes.base import PDEBase
    except Exception as e:  # not installed, or a broken numba
        return {"skipped": f"py-pde not importable: {type(e).__name__}: {e}"}
    pde.config["backend"]["numba"]["multithreading"] = "never"  # one core, like the pdemet run it is compared to
    box, cells = np.asarray(organ["box"], float), np.asarray(organ["cells"])
    h = box / cells
    if not np.allclose(h, h[0]):
        return {"skipped": "the box cells must be cubes"}
    grid = pde.CartesianGrid([[-hh / 2, L + hh / 2] for hh, L in zip(h, box)], list(cells + 1))
    eq = _logistic_rd(PDEBase, diffusion)
    state0, to_dofs, init_diff = _initial_state(grid, organ, K, t_end, diffusion, h)
    runs, compile_s = _scipy_runs(eq, state0, t_end, ref, to_dofs, full)
    # What one unit of work costs on each side: a py-pde right-hand side (K fields: stencil + reaction)
    # against K MatMults with pdemet's stored FE matrix (a CG iteration does one per clone).
    # (solve_ivp's own vector work included: an upper bound on the stencil alone.)
    busiest = max((r for r in runs if r.get("rhs_evaluations")), key=lambda r: r["rhs_evaluations"], default=None)
    rhs_eval_s = busiest["time_s"] / busiest["rhs_evaluations"] if busiest else math.nan
    if full:
        runs.append(_rk4_run(eq, state0, t_end, ref, to_dofs, diffusion, h[0]))
    best = {name: _time_to_target([r for r in runs if r["solver"] == name], target)
            for name in sorted({r["solver"] for r in runs})}
    finite = {k: v for k, v in best.items() if math.isfinite(v["time_s"])}
    pdemet_tts = case["imex_time_to_solution"]["time_s"]
    out = {"case": case["case"], "dofs_per_clone": case["dofs_per_clone"], "K": K, "t_end": t_end,
           "diffusion": diffusion, "stiffness_dt_explicit_limit": rk4_stability_limit(diffusion, h[0]),
           "rhs_eval_s": rhs_eval_s, "K_matmult_s": K * case["matmult_s"],
           "target_error": target, "grid": [int(n) for n in grid.shape], "numba_threads": 1,
           "rhs_compile_s": compile_s, "initial_state_rel_diff": init_diff, "runs": runs, "time_to_solution": best,
           "pdemet_time_to_solution_s": pdemet_tts}
    if finite:
        name = min(finite, key=lambda k: finite[k]["time_s"])
        out["best_pypde_solver"] = name
        out["best_pypde_time_s"] = finite[name]["time_s"]
        out["speedup_vs_pypde"] = finite[name]["time_s"] / pdemet_tts
    out["smallest_pypde_error"] = min(r["error"] for r in runs)  # bounds the semi-discrete mismatch (boundary stencil)
    return out


def rk4_stability_limit(diffusion: float, h: float) -> float:
    """Classic RK4's largest stable dt for D·(7-point Laplacian): its stability interval on the negative
    real axis (2.78) over the operator's largest eigenvalue (12·D/h²)."""
    return 2.78 / (12 * diffusion / h ** 2)


def _logistic_rd(base, diffusion: float):
    """The py-pde equation at this diffusion (``base``: py-pde's PDEBase, imported by the caller)."""
    diff, rho, kappa, bc = diffusion, RHO, KAPPA, BC

    class LogisticRD(base):
        """∂uᵢ/∂t = D Δuᵢ + ρ uᵢ (1 − Σⱼuⱼ/κ), zero flux."""

        def evolution_rate(self, state, t=0):
            total = sum(f.data for f in state)
            out = state.copy()
            for i, f in enumerate(state):
                out[i].data[:] = diff * f.laplace(bc).data + rho * f.data * (1 - total / kappa)
            return out

        def make_evolution_rate(self, state, backend):
            lap = state.grid.make_operator(operator="laplace", bc=bc, backend=backend, dtype=state.dtype)
            n_fields = len(state)

            def rhs(data, t=0):
                out = np.empty_like(data)
                total = data[0].copy()
                for i in range(1, n_fields):
                    total += data[i]
                for i in range(n_fields):
                    out[i] = diff * lap(data[i], args={"t": t}) + rho * data[i] * (1.0 - total / kappa)
                return out

            return rhs

    return LogisticRD()


def _initial_state(grid, organ, K, t_end, diffusion, h):
    """pdemet's initial data on the grid; (py-pde state, grid data → mesh dof order (serial run),
    relative difference of the two initial states)."""
    import pde

    sim = make_sim(organ, K, "imex", 0.25, t_end, diffusion)
    o = sim.organs["tissue"]
    idx = np.rint(o.x[:, : o.n_owned] / h[:, None]).astype(int)
    u0 = initial_density(grid.cell_coords.reshape(-1, 3), central_vertex(o), K).reshape((K, *grid.shape))
    state0 = pde.FieldCollection([pde.ScalarField(grid, u0[i]) for i in range(K)])

    def to_dofs(data):
        return np.concatenate([data[i][idx[0], idx[1], idx[2]] for i in range(K)])

    return state0, to_dofs, rel_err(to_dofs(u0), clone_state(sim))


def _scipy_runs(eq, state0, t_end, ref, to_dofs, full) -> tuple[list[dict], float]:
    """scipy.integrate.solve_ivp through py-pde's ScipySolver (numba-compiled right-hand side, compiled
    once) at several tolerances; (runs, compilation time)."""
    from pde.solvers import ScipySolver

    solver = ScipySolver(eq, backend="numba")
    state = state0.copy()
    t0 = time.perf_counter()
    stepper = solver.make_stepper(state, dt=None)
    solver.solver_params.update(method="RK45", rtol=1e-3, atol=1e-3 * 1e-2 * KAPPA)
    stepper(state, 0.0, 1e-3)  # compiles the right-hand side
    compile_s = time.perf_counter() - t0
    rtols = (1e-3, 1e-4, 1e-5, 1e-6, 1e-7) if full else (1e-3, 1e-5)
    runs = []
    for method in ("RK45", "DOP853") if full else ("RK45",):
        for rtol in rtols:
            solver.solver_params.update(method=method, rtol=rtol, atol=rtol * 1e-2 * KAPPA)
            state = state0.copy()
            solver.info["steps"] = 0
            t0 = time.perf_counter()
            stepper(state, 0.0, t_end)
            wall = time.perf_counter() - t0
            runs.append({"solver": f"scipy {method}", "rtol": rtol, "time_s": wall,
                         "rhs_evaluations": solver.info["steps"], "error": rel_err(to_dofs(state.data), ref)})
    return runs, compile_s


def _rk4_run(eq, state0, t_end, ref, to_dofs, diffusion, h) -> dict:
    """py-pde's own numba explicit Runge–Kutta (classic RK4, fixed dt) near its stability limit, best of two."""
    from pde.solvers import RungeKuttaSolver

    steps = math.ceil(t_end / (0.9 * rk4_stability_limit(diffusion, h)))
    dt = t_end / steps
    rk = RungeKuttaSolver(eq, backend="numba")
    state = state0.copy()
    t0 = time.perf_counter()
    rk_stepper = rk.make_stepper(state, dt=dt)
    rk_compile = time.perf_counter() - t0
    wall = math.inf
    for _ in range(2):
        state = state0.copy()
        t0 = time.perf_counter()
        rk_stepper(state, 0.0, t_end)
        wall = min(wall, time.perf_counter() - t0)
    return {"solver": "py-pde runge-kutta (RK4, numba)", "dt": dt, "steps": steps, "time_s": wall,
            "error": rel_err(to_dofs(state.data), ref), "compile_s": rk_compile}


def _time_to_target(runs: list[dict], target: float) -> dict:
    """One py-pde solver's time to the target error: log–log interpolation between its runs (RK4 fixed
    dt: one run; for errors above the target, dt ∝ error^(1/4), cost ∝ 1/dt)."""
    rs = sorted(runs, key=lambda r: r["error"])
    if rs[0]["solver"].startswith("py-pde"):
        r = rs[0]
        scale = 1.0 if r["error"] <= target else (r["error"] / target) ** 0.25
        return {"time_s": r["time_s"] * scale, "how": "measured" if scale == 1.0 else "RK4 order-4 scaling"}
    ok = [r for r in rs if r["error"] <= target]
    bad = [r for r in rs if r["error"] > target]
    if ok and bad:
        a, b = ok[-1], bad[0]  # bracket the target: interpolate log time vs log error
        w = (math.log(target) - math.log(b["error"])) / (math.log(a["error"]) - math.log(b["error"]))
        return {"time_s": math.exp(math.log(b["time_s"]) + w * (math.log(a["time_s"]) - math.log(b["time_s"]))),
                "how": "interpolated"}
    if ok:
        return {"time_s": min(r["time_s"] for r in ok), "how": "loosest tolerance already below the target"}
    return {"time_s": math.nan, "how": "target not reached"}
