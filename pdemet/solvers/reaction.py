"""The reaction part of a splitting step: pointwise rates at every dof, RK4 sub-steps."""

from __future__ import annotations

import math
import time as _time

import numpy as np

from pdemet.backend import MPI
from pdemet.errors import fail
from pdemet.solvers.common import TermsByKind
from pdemet.terms import Context, NumpyOps


class ReactionStep:
    """Integrates du/dt = f(u, x, t) at every dof over a step with classical RK4 sub-steps (vectorized
    over dofs and clones); for P1 this is exactly the mass-lumped reaction."""

    def __init__(self, terms: TermsByKind, stats: dict):
        organ = terms.organ
        self.organ, self.reactions, self.stats = organ, terms.reactions, stats
        self.np_ctx = Context(p=terms.params, t=0.0, x=organ.x, ops=NumpyOps, n_clones=organ.n_clones,
                              organ=organ.name)
        self._rk: tuple | None = None  # RK4 work arrays, allocated on first use

    def _rate(self, u, t, out):
        """Σ reaction rates at state u (K, n) and time t, into out (K, n)."""
        self.np_ctx.t = t
        for j, term in enumerate(self.reactions):
            rates = term.rate(list(u), self.np_ctx)
            if len(rates) != out.shape[0]:
                fail(f"terms.{term.name}", f"rate() returned {len(rates)} arrays for {out.shape[0]} clones; "
                     "return one rate per clone")
            for k in range(out.shape[0]):
                if j == 0:
                    out[k] = rates[k]
                else:
                    out[k] += rates[k]
        return out

    def step(self, t, dt) -> bool:
        """Integrate du/dt = f(u, x, t) at every dof over [t, t+dt] with RK4 sub-steps."""
        if not self.reactions:
            return True
        t_start = _time.perf_counter()
        u = self.organ.densities()
        if self._rk is None or self._rk[0].shape != u.shape:
            self._rk = tuple(np.empty_like(u) for _ in range(3))
        acc, k, tmp = self._rk
        f0 = self._rate(u, t, acc)
        # Sub-steps so that the rate changes the densities by at most ~5 % of κ (or of the value) per sub-step.
        if u.size:
            np.abs(u, out=tmp)
            tmp += 1e-3 * self.organ.capacity
            np.divide(np.abs(f0, out=k), tmp, out=k)
            local = float(np.max(k))
        else:
            local = 0.0
        stiff = self.organ.comm.allreduce(local, op=MPI.MAX)
        if not math.isfinite(stiff):  # NaN/inf rates: a failed step, for the step control to reject
            self.stats["reaction_s"] += _time.perf_counter() - t_start
            return False
        n = max(1, int(math.ceil(dt * stiff / 0.05)))
        n = min(n, 10000)
        h = dt / n
        # Classical RK4, u ← u + (h/6)·(k1 + 2·k2 + 2·k3 + k4) with stages at u + ½h·k1, u + ½h·k2,
        # u + h·k3, evaluated in place in that floating-point order with three work arrays:
        # acc = k1, then k1 + 2·k2, (k1 + 2·k2) + 2·k3, … (2·k is exact).
        for j in range(n):
            tj = t + j * h
            if j:
                self._rate(u, tj, acc)  # k1 (for j = 0 it is f0, already in acc)
            np.multiply(acc, 0.5 * h, out=tmp)
            tmp += u
            self._rate(tmp, tj + 0.5 * h, k)  # k2
            np.multiply(k, 0.5 * h, out=tmp)
            tmp += u
            k *= 2
            acc += k
            self._rate(tmp, tj + 0.5 * h, k)  # k3
            np.multiply(k, h, out=tmp)
            tmp += u
            k *= 2
            acc += k
            self._rate(tmp, tj + h, k)  # k4
            acc += k
            acc *= h / 6.0
            u += acc
        self.stats["reaction_substeps"] += n
        self.organ.set_densities(u)
        ok = bool(np.all(np.isfinite(u)))
        self.stats["reaction_s"] += _time.perf_counter() - t_start
        return ok
