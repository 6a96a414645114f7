"""pdemet's side of the continuum comparison: each run is a scenario dict, timed and scored against the reference.

A run builds the :class:`~pdemet.simulation.Simulation` (mesh, function space, compiled forms: FFCx's JIT
compilation happens here and is not counted), sets the Gaussians at the dofs (nodal interpolation, for P1
and P2 alike), then times ``advance`` to t_end — every step, including the first one's matrix assembly. The
error is :func:`benchmarks.continuum.relative_error` in the L² norm of the element space (the consistent
mass matrix of P1 or P2), against the reference at the dof coordinates.
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks.common import bench_scenario
from benchmarks.continuum import BOX, Reference, initial_density, relative_error

REPEAT_BELOW_S = 1.0  # runs shorter than this are repeated (best of 3), on both sides of the comparison


def scenario(cells: int, degree: int, dt: float, diffusion: float, t_end: float, K: int = 4,
             **simulation) -> dict:
    """The box problem on a box mesh of cells³ cubes (6 tetrahedra each), P``degree``, fixed dt; any
    ``[simulation]`` key may be overridden (e.g. ``rtol`` of the CG solves, ``adaptive``)."""
    organ = {"box": [BOX] * 3, "cells": [cells] * 3, "element_degree": degree}
    scen = bench_scenario(organ, K, "imex", dt, t_end, diffusion)
    scen["simulation"].update(simulation)
    return scen


def label(scen: dict) -> str:
    """E.g. "P2 box 24³, dt 0.25", "P1 box 16³ graded to 0.0625 mm, dt 0.25", "P1 box 48³, time_rtol 0.001,
    dt ≤ 0.5" (the CG rtol is the same in every run of the section and is not repeated)."""
    o, s = scen["organs"]["tissue"], scen["simulation"]
    mesh = f"P{o.get('element_degree', 1)} box {o['cells'][0]}³"
    if o.get("adapt", {}).get("enabled"):
        mesh += f" graded to {o['adapt']['size']:.3g} mm"
    if s.get("time_rtol"):
        return f"{mesh}, time_rtol {s['time_rtol']:g}, dt ≤ {s['dt']:g}"
    return f"{mesh}, dt {s['dt']:g}"


def _mass_norm(organ):
    """e ↦ eᵀMe with the consistent mass matrix of the organ's space (serial run: owned dofs)."""
    import scipy.sparse

    from pdemet.backend import fem, ufl

    u, v = ufl.TrialFunction(organ.V), ufl.TestFunction(organ.V)
    A = fem.petsc.assemble_matrix(fem.form(u * v * ufl.dx))
    A.assemble()
    indptr, indices, data = A.getValuesCSR()
    M = scipy.sparse.csr_matrix((data, indices, indptr), shape=A.getSize())
    A.destroy()
    return lambda e: float(e @ (M @ e))


def run(scen: dict, ref: Reference) -> dict:
    """Time one scenario to its t_end (best of 3 if it takes < REPEAT_BELOW_S) and score it."""
    from pdemet.simulation import Simulation

    t_end, K = scen["simulation"]["t_end"], len(scen["clones"]["names"])
    best, attempts = np.inf, 0
    while attempts < (3 if best < REPEAT_BELOW_S else 1):
        sim = Simulation.from_dict(scen)  # mesh, space, forms (JIT) — not timed
        organ = sim.organs["tissue"]
        n = organ.n_owned
        points = organ.x[:, :n].T
        organ.set_densities(initial_density(organ.x.T, K))
        t0 = time.perf_counter()
        while sim.t < t_end - 1e-12:
            sim.advance(t_end)
        best = min(best, time.perf_counter() - t0)
        attempts += 1
    u = np.stack([c.x.array[:n] for c in organ.clones])
    stats = sim.solvers["tissue"].stats
    return {"tool": "pdemet", "label": label(scen), "scenario": scen, "dofs_per_clone": int(n),
            "time_s": float(best), "repeats": attempts, "steps": dict(sim.steps),
            "cg_iterations_per_step_and_clone": stats["linear_iterations"] / max(sim.steps["accepted"], 1) / K,
            "error": relative_error(u, ref.at(points), _mass_norm(organ))}
