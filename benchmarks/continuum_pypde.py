"""py-pde's side of the continuum comparison: the box problem on its own cell-centred grid of [0, 4 mm]³.

A ``CartesianGrid`` of N³ cells with zero-derivative boundary conditions is py-pde's discretization of the
zero-flux box (second-order finite differences, the 7-point Laplacian). The right-hand side is numba-compiled
(one thread, like the serial pdemet runs); each grid (and D) is compiled once and that compilation is not
counted: a run is timed from the initial state to t_end. Solvers, each at several settings:

* ``scipy RK45`` / ``scipy DOP853``: py-pde's ScipySolver (solve_ivp with the numba right-hand side),
  rtol as given, atol = rtol × 10⁻² κ (up to 64³ cells);
* ``py-pde RK4``: py-pde's own numba Runge–Kutta (classical RK4) at a fixed dt, 0.9 × its stability limit:
  the whole time loop is compiled (its time error there is far below the grid's spatial error).

py-pde's implicit (backward Euler) and Crank–Nicolson solvers solve their implicit equation by fixed-point
iteration u ← uⁿ + dt·f(u) (pde/solvers/implicit.py), a contraction only while dt·12D/h² < 1 — a tighter
bound than RK4's stability limit 2.78·h²/(12D) — with one right-hand side per iteration, and they are first
and second order: they cannot beat the explicit solvers here and are not run. py-pde's 3-D Laplacian is
second order only (its spectral operators are 1-D/2-D). The error is the relative L² error of the grid
values (h³-weighted) against the reference at the cell centres.
"""

from __future__ import annotations

import math
import time

import numpy as np

from benchmarks.common import KAPPA
from benchmarks.continuum import BOX, Reference, grid_norm, initial_density, relative_error
from benchmarks.continuum_pdemet import REPEAT_BELOW_S


def rk4_stability_limit(diffusion: float, h: float) -> float:
    """Classic RK4's largest stable dt for D·(7-point Laplacian): 2.78 (its stability interval on the
    negative real axis) / (12 D/h², the operator's largest eigenvalue)."""
    return 2.78 / (12 * diffusion / h ** 2)


class PyPdeGrid:
    """The box problem at one N and D in py-pde: the equation, the initial state, compiled steppers."""

    def __init__(self, N: int, diffusion: float, t_end: float, ref: Reference, K: int = 4):
        import pde
        from pde.pdes.base import PDEBase

        from benchmarks.pypde import _logistic_rd

        pde.config["backend"]["numba"]["multithreading"] = "never"  # one core, like the pdemet runs
        self.N, self.diffusion, self.t_end, self.K = N, diffusion, t_end, K
        self.grid = pde.CartesianGrid([[0.0, BOX]] * 3, [N] * 3)
        self.h = BOX / N
        points = self.grid.cell_coords.reshape(-1, 3)
        u0 = initial_density(points, K).reshape(K, N, N, N)
        self.state0 = pde.FieldCollection([pde.ScalarField(self.grid, u0[i]) for i in range(K)])
        self.eq = _logistic_rd(PDEBase, diffusion)
        self.ref = ref.at(points)
        self.compile_s = 0.0

    def error(self, state) -> float:
        return relative_error(state.data.reshape(self.K, -1), self.ref, grid_norm(self.h))

    def _timed(self, advance) -> tuple[object, float, int]:
        """(final state, best wall time, attempts): best of 3 if a run takes < REPEAT_BELOW_S."""
        best, attempts = math.inf, 0
        while attempts < (3 if best < REPEAT_BELOW_S else 1):
            state = self.state0.copy()
            t0 = time.perf_counter()
            advance(state)
            best = min(best, time.perf_counter() - t0)
            attempts += 1
        return state, best, attempts

    def _row(self, solver: str, setting: dict, state, wall: float, attempts: int, **extra) -> dict:
        name = ", ".join(f"{k} {v:.3g}" for k, v in setting.items())
        return {"tool": "py-pde", "label": f"{solver} {self.N}³, {name}", "solver": solver, "N": self.N,
                "cells": self.N ** 3, **setting, "time_s": wall, "repeats": attempts, "error": self.error(state),
                **extra}

    def scipy_runs(self, methods=("RK45",), rtols=(1e-3, 1e-5)) -> list[dict]:
        from pde.solvers import ScipySolver

        if not methods:
            return []

        solver = ScipySolver(self.eq, backend="numba")
        state = self.state0.copy()
        t0 = time.perf_counter()
        stepper = solver.make_stepper(state, dt=None)
        stepper(state, 0.0, 1e-6)  # compiles the right-hand side
        self.compile_s += time.perf_counter() - t0
        rows = []
        for method in methods:
            for rtol in rtols:
                solver.solver_params.update(method=method, rtol=rtol, atol=rtol * 1e-2 * KAPPA)
                solver.info["steps"] = 0
                state, wall, n = self._timed(lambda s: stepper(s, 0.0, self.t_end))
                rows.append(self._row(f"scipy {method}", {"rtol": rtol}, state, wall, n,
                                      rhs_evaluations=solver.info["steps"] // n))
        return rows

    def rk4_runs(self, fractions=(0.9,)) -> list[dict]:
        """py-pde's compiled RK4 at dt = fraction × its stability limit (rounded to whole steps)."""
        from pde.solvers import RungeKuttaSolver

        rows = []
        for f in fractions:
            steps = math.ceil(self.t_end / (f * rk4_stability_limit(self.diffusion, self.h)))
            dt = self.t_end / steps
            rk = RungeKuttaSolver(self.eq, backend="numba")
            state = self.state0.copy()
            t0 = time.perf_counter()
            stepper = rk.make_stepper(state, dt=dt)
            stepper(state, 0.0, dt)  # compiles the time loop
            self.compile_s += time.perf_counter() - t0
            state, wall, n = self._timed(lambda s: stepper(s, 0.0, self.t_end))
            rows.append(self._row("py-pde RK4", {"dt": dt}, state, wall, n, steps=steps, rhs_evaluations=4 * steps))
        return rows
