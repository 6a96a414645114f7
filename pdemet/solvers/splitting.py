"""Strang splitting, the production solver (``solver = "imex"``): R(dt/2) ∘ L(dt) ∘ T(dt) ∘ R(dt/2).

R is the pointwise reaction step (:mod:`pdemet.solvers.reaction`, RK4 sub-steps at every dof), T the
pressure-driven transport (:mod:`pdemet.solvers.transport`, positivity-preserving upwind porous-medium
scheme; only with transport terms) and L the linear step of the operator terms and loads
(:mod:`pdemet.solvers.linear`, θ-scheme, θ = ½: Crank–Nicolson; second order overall without transport). For P1 elements the time derivative and the reactions use the lumped mass matrix,
so total cells are Σⱼ (∫φⱼ) uⱼ exactly and the splitting and Newton solvers discretize the same
semi-discrete system: their difference is pure time error.
"""

from __future__ import annotations

from pdemet.solvers.common import TermsByKind
from pdemet.solvers.linear import LinearStep
from pdemet.solvers.reaction import ReactionStep
from pdemet.solvers.transport import TransportStep


class SplittingSolver:
    def __init__(self, organ, terms, sim_cfg, nodes=None, gatherer=None):
        """``nodes``/``gatherer``: the organ's rank-0 node data and gatherer (needed by transport terms)."""
        self.organ, self.cfg = organ, sim_cfg
        by_kind = TermsByKind(organ, terms, sim_cfg)
        self.stats = {"linear_iterations": 0, "reaction_substeps": 0, "linear_s": 0.0, "reaction_s": 0.0}
        self.linear = LinearStep(by_kind, self.stats)
        self.has_operators = bool(by_kind.operators)
        self.has_loads = bool(by_kind.loads)
        self.reaction = ReactionStep(by_kind, self.stats)
        self.transport = None
        if by_kind.transports:
            self.stats.update(transport_iterations=0, transport_newton_steps=0, transport_s=0.0)
            self.transport = TransportStep(by_kind, self.stats, nodes, gatherer)

    @property
    def order(self) -> int:
        """Order in dt of the step: 2 for Strang with Crank–Nicolson; 1 with the linearly implicit
        transport step or θ ≠ ½. With ``transport_extrapolate`` R(dt/2)·T(dt)·R(dt/2) is of order 2 when the
        organ has no operator or load terms; with them T(dt) and L(dt) follow each other unsymmetrically (a
        first-order splitting, whatever T's order)."""
        if self.transport is not None and self.cfg.transport_extrapolate:
            return 1 if self.has_operators or self.has_loads else 2
        return 2 if self.symmetric else 1

    @property
    def symmetric(self) -> bool:
        """R(dt/2)·L(dt)·R(dt/2) with the (symmetric) Crank–Nicolson L: its error expansion has even powers of
        dt only (RK4's own error in R is O(dt⁴) globally), so Richardson extrapolation gains two orders."""
        return self.transport is None and self.cfg.theta == 0.5

    @property
    def extrapolable(self) -> bool:
        """Whether Richardson extrapolation of whole steps gains order: symmetric steps gain two; steps with the
        transport and no operator terms (R·T·R) gain one — their error expansion has every power of dt, and the
        extrapolated backward Euler of T is L-stable (a mode is multiplied by 2/(1 + z/2)² − 1/(1 + z) → 0 as
        z = dt·λ → ∞). With operator terms the first-order weights (2, −1) would multiply a stiff
        Crank–Nicolson mode by 2R(z/2)² − R(z) → 3: not extrapolated."""
        return self.symmetric or (self.transport is not None and not self.has_operators)

    def stiffness(self) -> float | None:
        """Bound on the linear step's largest rate λ (1/day; None: unknown): dt·λ bounds the stiffness."""
        return self.linear.stiffness()

    def release_caches(self) -> None:
        """Let go of what is kept between steps only for speed (the transport step's active regions); called
        before a re-adaptation, whose temporaries then take their place."""
        if self.transport is not None:
            self.transport.release()

    def step(self, t, dt) -> bool:
        return (self.reaction.step(t, 0.5 * dt)
                and (self.transport is None or self.transport.step(t, dt))
                and self.linear.step(t, dt)
                and self.reaction.step(t + 0.5 * dt, 0.5 * dt))
