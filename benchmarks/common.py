"""The benchmark scenario and its measurements: smooth initial data, timed runs, errors, power-law fits."""

from __future__ import annotations

import math
import time

import numpy as np

T_END = 2.0           # days simulated in the accuracy comparisons
TARGET_ERROR = 1e-4   # relative l2 time error at t_end for the equal-accuracy comparisons
D, RHO = 0.01, 0.25   # mm²/day, 1/day (the scenario defaults)
# A diffusion-dominated variant for the py-pde comparison: an invasive clone (D = 0.1 mm²/day is at the top of
# the glioma range fitted by Swanson et al. 2000, Cell Prolif 33:317) on the same grid, explicit steps ≈ 0.02 d.
D_FAST, T_END_FAST = 0.1, 0.5
KAPPA = 1.0e6         # cells/mm³
AMPLITUDE = 0.4       # × κ: peak initial density of each clone's Gaussian
# (width σ, distance of the clone centres from the organ's central vertex), mm. On the 4 mm box the
# fields stay ≲ 1 cell/mm³ at the faces until t_end, where FE and finite-difference boundary rows differ.
GAUSSIANS = {"box": (0.25, 0.3), "mesh": (1.0, 1.0)}


def bench_scenario(organ: dict, K: int, solver: str, dt: float, t_end: float, diffusion: float = D,
             n_organs: int = 1) -> dict:
    """One organ "tissue" (primary), plus n_organs − 1 identical sites (no cluster flux)."""
    organs = {}
    for j in range(n_organs):
        organs["tissue" if j == 0 else f"site{j}"] = dict(
            organ, role="primary" if j == 0 else "site", diffusion=diffusion, growth_rate=RHO,
            carrying_capacity=KAPPA, initial={"shape": "none"})
    return {"simulation": {"t_end": t_end, "dt": dt, "output_every": t_end, "solver": solver, "adaptive": False},
            "clones": {"names": [f"c{i}" for i in range(K)]}, "organs": organs}


def central_vertex(organ) -> np.ndarray:
    """The vertex closest to the organ's centroid (inside the mesh even for a non-convex organ),
    the same on every rank and for any number of ranks."""
    c = organ.centroid()
    x = organ.x[:, : organ.n_owned].T
    best = (math.inf, ())
    if len(x):
        d = np.sum((x - c) ** 2, axis=1)
        k = int(np.argmin(d))
        best = (float(d[k]), tuple(np.round(x[k], 12)))
    return np.asarray(min(organ.comm.allgather(best))[1])


def initial_density(points: np.ndarray, centre, K: int, kind: str = "box") -> np.ndarray:
    """(K, n) smooth initial densities at points (n, 3): one Gaussian per clone, the K centres on a
    circle around the central vertex (sharp data make Crank–Nicolson undershoot)."""
    sigma, offset = GAUSSIANS[kind]
    ang = 2 * np.pi * np.arange(K) / K
    centres = np.asarray(centre)[None, :] + offset * np.stack([np.cos(ang), np.sin(ang), np.zeros(K)], axis=1)
    out = np.empty((K, len(points)))
    for i, ci in enumerate(centres):
        r2 = np.sum((points - ci) ** 2, axis=1)
        out[i] = AMPLITUDE * KAPPA * np.exp(-r2 / (2 * sigma ** 2))
    return out


def make_sim(organ: dict, K: int, solver: str, dt: float, t_end: float, diffusion: float = D, n_organs: int = 1,
             **simulation):
    """A simulation with smooth initial data (sharp data make Crank–Nicolson undershoot); ``simulation``:
    further [simulation] keys (e.g. adaptive = True, time_rtol = 1e-4 for error-controlled steps)."""
    from pdemet.simulation import Simulation

    scenario = bench_scenario(organ, K, solver, dt, t_end, diffusion, n_organs)
    scenario["simulation"].update(simulation)
    sim = Simulation.from_dict(scenario)
    kind = "box" if "box" in organ else "mesh"
    for o in sim.organs.values():
        o.set_densities(initial_density(o.x.T, central_vertex(o), K, kind))
    return sim


def clone_state(sim) -> np.ndarray:
    """All clones' owned dof values, concatenated (serial runs: the dof order of the mesh)."""
    o = sim.organs["tissue"]
    return np.concatenate([c.x.array[: o.n_owned] for c in o.clones])


def dofs_per_clone(sim) -> int:
    return sim.organs["tissue"].V.dofmap.index_map.size_global


def timed_run(sim, t_end: float, stats: dict | None = None) -> tuple[np.ndarray, float, int]:
    """Advance to t_end; return (state, mean wall time per step excluding the first step, steps).
    ``stats``, if given, receives the solver's counters per timed step."""
    sim.advance(t_end)  # the first step includes JIT compilation, assembly and factorizations
    before = dict(sim.solvers["tissue"].stats)
    n, t0 = 0, time.perf_counter()
    while sim.t < t_end - 1e-12:
        sim.advance(t_end)
        n += 1
    per_step = (time.perf_counter() - t0) / n if n else math.nan
    if stats is not None:
        stats.update({k: (v - before[k]) / max(n, 1) for k, v in sim.solvers["tissue"].stats.items()})
    return clone_state(sim), per_step, n + 1


def rel_err(u, ref) -> float:
    return float(np.linalg.norm(u - ref) / np.linalg.norm(ref))


def matmult_time(sim, dt: float, repeats: int = 40) -> float:
    """Wall time of one MatMult with the IMEX step's matrix M + θ·dt·A (best of three batches)."""
    solver = sim.solvers["tissue"]
    op = solver.linear.operators(solver.linear.group_of[0], dt)
    x, y = op.lhs.createVecRight(), op.lhs.createVecLeft()
    x.set(1.0)
    op.lhs.mult(x, y)
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(repeats):
            op.lhs.mult(x, y)
        best = min(best, (time.perf_counter() - t0) / repeats)
    x.destroy(), y.destroy()
    return best


def power_fit(x, y) -> tuple[float, float]:
    """Least-squares fit log y = p·log x + c; returns (p, c)."""
    p, c = np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)
    return float(p), float(c)
