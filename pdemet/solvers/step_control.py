"""Step control for all organs together: accept or reject a candidate state, clip small undershoots,
halve dt on rejection and grow it back after successes; with ``time_rtol > 0``, choose dt from the
estimated time error (:meth:`StepControl.judge`). Collective: every rank takes the same decision."""

from __future__ import annotations

import math

import numpy as np

from pdemet.backend import MPI
from pdemet.errors import StepFailure


class StepControl:
    GROW_AFTER = 4  # accepted steps at a reduced dt before it is doubled again
    # The error controller is PETSc's TSAdapt "basic" (src/ts/adapt/impls/basic/adaptbasic.c) with its defaults.
    SAFETY, REJECT_SAFETY, CLIP = 0.9, 0.5, (0.1, 10.0)
    # dt is kept when the controller would grow it by less than this factor, so the linear step's matrices
    # for dt and dt/2 are reused (Radau5's quot1 = 1, quot2 = 1.2: Hairer & Wanner, ODEs II, §IV.8).
    KEEP = 1.2

    def __init__(self, cfg, organs: dict, comm, fronts: set[str] = frozenset()):
        """``fronts``: organs with transport terms, whose sharp fronts pass a node in one step by design
        (their accuracy is the transport scheme's; ``max_change`` does not apply to them)."""
        self.cfg, self.organs, self.comm, self.fronts = cfg, organs, comm, set(fronts)
        self.dt = cfg.dt
        self.steps = {"accepted": 0, "rejected": 0}
        self.successes = 0  # accepted steps since dt was last reduced
        self.clipped_cells = 0.0
        # Error control: accepted steps left during which dt may not grow (after a rejection), and whether
        # the last attempt was rejected (a second rejection in a row shortens dt more).
        self.hold, self.last_rejected = 0, False

    def check(self, before: dict) -> str | None:
        """Why the candidate state is unacceptable (None if it is fine)."""
        bad = 0
        for name, organ in self.organs.items():
            u = organ.densities()
            kappa = organ.capacity
            if not np.all(np.isfinite(u)):
                bad |= 1
            elif u.size and u.min() < -self.cfg.negative_tolerance * kappa:
                bad |= 2
            elif name not in self.fronts and u.size and np.max(np.abs(u - before[name])) > self.cfg.max_change * kappa:
                bad |= 4
        bad = self.comm.allreduce(bad, op=MPI.BOR)
        if bad & 1:
            return "non-finite density"
        if bad & 2:
            return "negative density"
        if bad & 4:
            return "change too large"
        return None

    def reject(self, t: float, dt: float, reason: str) -> None:
        """Halve dt, or raise StepFailure when that is not allowed or too small."""
        self.steps["rejected"] += 1
        if not self.cfg.adaptive or dt / 2 < self.cfg.dt_min:
            raise StepFailure(f"step rejected at t = {t:.6g} days ({reason}) with dt = {dt:.3g} days; "
                              f"reduce simulation.dt or check the parameters")
        self.dt = dt / 2
        self.successes = 0
        # Under error control the halved dt is kept for GROW_AFTER steps (a safety net failed: the error
        # estimate did not see it coming, so the controller must not grow straight back into it).
        self.hold, self.last_rejected = self.GROW_AFTER, True

    def judge(self, t: float, dt: float, err: float, order: int) -> bool:
        """Accept (err ≤ 1) or reject a step of length dt whose weighted error norm is ``err``, and set
        the next dt: dt·clip(safety·err^(−1/(p+1)), 0.1, 10), safety 0.9, halved again after two
        rejections in a row (PETSc TSAdapt basic; Hairer, Nørsett & Wanner I §II.4), not above dt just
        after a rejection (HNW I §II.4, after Shampine & Watts), never above the scenario's dt. A step
        rejected at dt_min raises StepFailure."""
        accept = err <= 1.0
        safety = self.SAFETY * (self.REJECT_SAFETY if not accept and self.last_rejected else 1.0)
        fac = safety * err ** (-1.0 / (order + 1)) if err > 0 else math.inf
        if self.hold:
            fac = min(fac, 1.0)
        # The growth limit is relative to the controller's dt, not to a step shortened to land on an output
        # time (dt·err^(−1/(p+1)) estimates the best step whatever dt was tried).
        new = min(dt * max(fac, self.CLIP[0]), self.CLIP[1] * max(dt, self.dt), self.cfg.dt)
        if not accept:
            self.steps["rejected"] += 1
            if dt <= self.cfg.dt_min * (1 + 1e-12) or new < self.cfg.dt_min:
                raise StepFailure(f"step rejected at t = {t:.6g} days: time error {err:.3g} × the tolerance "
                                  f"with dt = {dt:.3g} days (dt_min = {self.cfg.dt_min:g}); raise "
                                  f"simulation.time_rtol or time_atol, or lower dt_min")
            self.dt, self.hold, self.last_rejected = new, 1, True
            return False
        if 1.0 <= new / self.dt <= self.KEEP:
            new = self.dt
        self.dt, self.last_rejected = max(new, self.cfg.dt_min), False
        self.hold = max(self.hold - 1, 0)
        return True

    def accept(self) -> None:
        self.steps["accepted"] += 1

    def grow(self) -> None:
        """After an accepted step: double a reduced dt once GROW_AFTER steps in a row were accepted
        (fixed-dt runs; under error control :meth:`judge` sets dt)."""
        if self.cfg.adaptive and self.dt < self.cfg.dt and not self.cfg.error_control:
            self.successes += 1
            if self.successes >= self.GROW_AFTER:
                self.dt, self.successes = min(2 * self.dt, self.cfg.dt), 0

    def clip(self) -> None:
        """Remove small negative undershoots without changing any clone's number of cells.

        P1 stiffness matrices of unstructured meshes have positive off-diagonal entries at obtuse
        angles, so sharp fronts and freshly seeded clusters undershoot slightly below zero. Those
        values (above -negative_tolerance·κ, else the step was rejected) are set to zero and the
        clone's field is rescaled to its previous total: positivity with exact conservation.
        The cells moved this way are counted in ``clipped_cells``.
        """
        for organ in self.organs.values():
            negative = self.comm.allreduce(int(any(np.any(c.x.array < 0) for c in organ.clones)), op=MPI.MAX)
            if not negative:
                continue
            n = organ.n_owned
            sums = np.empty((len(organ.clones), 3))  # cells before, after, moved; one reduction for all clones
            for i, c in enumerate(organ.clones):
                a = c.x.array
                sums[i, 0] = organ.weights @ a[:n]
                sums[i, 2] = -(organ.weights @ np.minimum(a[:n], 0.0))
                np.maximum(a, 0.0, out=a)
                sums[i, 1] = organ.weights @ a[:n]
            sums = self.comm.allreduce(sums, op=MPI.SUM)
            for c, (before, after, moved) in zip(organ.clones, sums):
                if after > 0 and before > 0:
                    c.x.array[:] *= before / after
                self.clipped_cells += float(moved)

    def state(self) -> dict:
        state = {"dt": self.dt, "successes": self.successes, "steps": dict(self.steps),
                 "clipped_cells": self.clipped_cells}
        if self.cfg.error_control:
            state.update(hold=self.hold, last_rejected=self.last_rejected)
        return state

    def set_state(self, state: dict) -> None:
        self.dt, self.successes = state["dt"], state["successes"]
        self.steps, self.clipped_cells = dict(state["steps"]), state["clipped_cells"]
        self.hold, self.last_rejected = state.get("hold", 0), state.get("last_rejected", False)
