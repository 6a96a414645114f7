"""Error-controlled time steps: step doubling with Richardson extrapolation (``simulation.time_rtol > 0``).

Each attempt from t with dt advances every organ twice from the same saved state: u₁ = one step of dt,
u₂ = two steps of dt/2 (the organ's own solver: Strang splitting or Newton). If the solver's step is of
order p, u₂ − u₁ = (2ᵖ − 1)·C·dtᵖ⁺¹ + …, so

    e = (u₂ − u₁)/(2ᵖ − 1)

estimates the local error of u₂ (Hairer, Nørsett & Wanner, Solving ODEs I, 2nd ed., §II.4, "Richardson
extrapolation"). The error is measured in PETSc's weighted ∞-norm (``TSErrorWeightedNorm`` with
``NORM_INFINITY``; HNW I eq. (4.10)):

    err = maxᵢ |eᵢ| / (atol + rtol·max(|u⁰ᵢ|, |u₂ᵢ|))

over every organ, clone and dof, so the user's bound holds at every node, also at the fronts of
transport organs (there the density changes fastest: that is where the accuracy was asked for). The
step is accepted if err ≤ 1 (:meth:`pdemet.solvers.step_control.StepControl.judge` picks the next dt).

The accepted state is u₂, or, where the step is symmetric (Strang splitting with Crank–Nicolson, θ = ½, no
transport term; P1, see below; not the Newton reference, whose stiffness is not bounded) or extrapolable (see
below), the extrapolated

    (2ᵖ·u₂ − u₁)/(2ᵖ − 1):

a symmetric method's error expansion has only even powers of dt (HNW I §II.8), so this cancels the
leading two terms and the step is of order p + 2 = 4 ("local extrapolation": the estimate e is that of
the lower-order u₂, hence conservative). Organs with the transport step and no operator terms (R·T·R, the
shipped scenarios) are extrapolated too, with their order p: 2u₂ − u₁ for p = 1 cancels one term, order 2
(with ``transport_extrapolate`` p = 2: (4u₂ − u₁)/3; ``SplittingSolver.extrapolable``; the extrapolated
backward Euler is L-stable, so no stiffness limit). Both u₁ and u₂ keep every clone's cells under the linear and
transport parts, and the weights 2ᵖ/(2ᵖ − 1) and −1/(2ᵖ − 1) sum to one, so the extrapolated state keeps
them too. It is not positivity-preserving: where it would fall below −negative_tolerance·κ (a sharp
front), that organ takes u₂ for the step; smaller undershoots are clipped conservatively as always.

Nor is it A-stable: a diffusion mode of rate λ is multiplied per step by R(z) = (1 − z/2)/(1 + z/2),
z = dt·λ, in u₁ and by R(z/2)² in u₂, so by (4R(z/2)² − R(z))/3 in the extrapolated state, which tends to
5/3 for stiff modes (|·| ≤ 1 only for z ≤ 25.86; cf. Zlatev, Faragó & Havasi, J Comput Appl Math
235:507, 2010: active Richardson extrapolation of the trapezoidal rule is not A-stable). It is used only
while dt·λ_max ≤ Z_MAX, λ_max bounded from above for the linear step's M⁻¹A (P1; Gershgorin and
Lanczos, see :meth:`pdemet.solvers.linear.LinearStep.stiffness`); larger steps keep u₂.
"""

from __future__ import annotations

import math

import numpy as np

from pdemet.backend import MPI

ATOL_OF_CAPACITY = 1e-3  # default atol = time_rtol × this × κ: the census threshold, where tumor starts
Z_MAX = 25.0  # largest dt·λ_max at which the extrapolated Crank–Nicolson step damps every mode (25.86)


class StepDoubling:
    """One error-controlled attempt for all organs together (collective: every rank gets the same answer)."""

    def __init__(self, cfg, organs: dict, solvers: dict, comm):
        """``organs``/``solvers``: the simulation's dicts (re-meshing replaces their entries, not the dicts)."""
        self.cfg, self.organs, self.solvers, self.comm = cfg, organs, solvers, comm
        # Counted over accepted steps, per organ: extrapolated, u₂ kept because the extrapolation undershot,
        # u₂ kept because dt was too stiff for it.
        # "limiting": accepted steps per organ in which that organ had the largest error (what sets dt).
        self.stats = {"extrapolated": 0, "undershoot_fallbacks": 0, "stiffness_limited": 0, "last_error": 0.0,
                      "max_accepted_error": 0.0, "limiting": {}}
        self._pending = (0, 0, 0, None)  # the attempt's counts and worst organ, added when it is accepted

    def atol(self, name: str) -> float:
        """cells/mm³: ``time_atol`` or time_rtol × 10⁻³ κ of the organ."""
        if self.cfg.time_atol is not None:
            return self.cfg.time_atol
        return self.cfg.time_rtol * ATOL_OF_CAPACITY * self.organs[name].capacity

    def order(self, name: str) -> int:
        return self.solvers[name].order

    def extrapolates(self, name: str) -> bool:
        """Whether the organ's steps are extrapolated at all (``time_extrapolate``, a symmetric step, or a
        transport step without operator terms, whose stiffness is bounded)."""
        solver = self.solvers[name]
        return self.cfg.time_extrapolate and solver.extrapolable and solver.stiffness() is not None

    def stable(self, name: str, dt: float) -> bool:
        """Whether the extrapolated step of length dt damps every diffusion mode of the organ."""
        return dt * self.solvers[name].stiffness() <= Z_MAX

    def _steps(self, t: float, dt: float) -> bool:
        ok = all([s.step(t, dt) for s in self.solvers.values()])  # a list: every solver steps (collectives)
        return self.comm.allreduce(int(ok), op=MPI.MIN) == 1

    def attempt(self, t: float, dt: float, before: dict) -> tuple[bool, float, int]:
        """Advance all organs from ``before`` (their densities at t) to t + dt by step doubling and leave
        the state to accept in them. Returns (solvers converged, weighted error norm, the order p of the
        organ where the norm is largest)."""
        if not self._steps(t, dt):
            return False, math.inf, 1
        one = {n: o.densities() for n, o in self.organs.items()}
        for n, o in self.organs.items():
            o.set_densities(before[n])
        if not (self._steps(t, 0.5 * dt) and self._steps(t + 0.5 * dt, 0.5 * dt)):
            return False, math.inf, 1
        names = list(self.organs)
        # One reduction for all organs: their error norms and whether their extrapolation undershoots.
        local = np.zeros(2 * len(names))
        candidates, stiff = {}, 0
        for j, n in enumerate(names):
            organ = self.organs[n]
            u2 = organ.densities()
            q = 2.0 ** self.order(n) - 1.0
            local[j] = self._norm(u2, one[n], before[n], q, self.atol(n), organ.n_owned)
            if self.extrapolates(n) and not self.stable(n, dt):
                stiff += 1
            elif self.extrapolates(n):
                x = u2 + (u2 - one[n]) / q  # = (2ᵖ·u₂ − u₁)/(2ᵖ − 1)
                candidates[n] = x
                local[len(names) + j] = float(x.size > 0 and x.min() < -self.cfg.negative_tolerance * organ.capacity)
        self.comm.Allreduce(MPI.IN_PLACE, local, op=MPI.MAX)
        errs, undershoots = local[: len(names)], local[len(names):]
        extrapolated = fallbacks = 0
        for j, n in enumerate(names):
            if n in candidates and not undershoots[j]:
                self.organs[n].set_densities(candidates[n])
                extrapolated += 1
            elif n in candidates:
                fallbacks += 1
        worst = names[int(np.argmax(errs))]
        err = float(np.max(errs))
        self._pending = (extrapolated, fallbacks, stiff, worst)
        self.stats["last_error"] = err
        return True, err, self.order(worst)

    def _norm(self, u2, u1, u0, q, atol, n_owned) -> float:
        """maxᵢ |(u₂ − u₁)ᵢ/q| / (atol + rtol·max(|u⁰ᵢ|, |u₂ᵢ|)) over this rank's owned dofs (inf if not finite)."""
        a, b, c = u2[:, :n_owned], u1[:, :n_owned], u0[:, :n_owned]
        if a.size == 0:
            return 0.0
        scale = atol + self.cfg.time_rtol * np.maximum(np.abs(c), np.abs(a))
        err = float(np.max(np.abs(a - b) / q / scale))
        return err if math.isfinite(err) else math.inf

    def accepted(self, err: float) -> None:
        self.stats["max_accepted_error"] = max(self.stats["max_accepted_error"], err)
        self.stats["extrapolated"] += self._pending[0]
        self.stats["undershoot_fallbacks"] += self._pending[1]
        self.stats["stiffness_limited"] += self._pending[2]
        limiting = self.stats["limiting"]
        limiting[self._pending[3]] = limiting.get(self._pending[3], 0) + 1

    def state(self) -> dict:
        return {**self.stats, "limiting": dict(self.stats["limiting"])}

    def set_state(self, state: dict) -> None:
        self.stats = {**state, "limiting": dict(state["limiting"])}
