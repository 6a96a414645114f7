"""The reference solver (``solver = "newton"``): the same semi-discrete equations as the splitting solver,
as one monolithic nonlinear system on the K-component space, θ-scheme in time, Newton (PETSc SNES) with
a direct solver (MUMPS). Slow, and free of splitting error: the yardstick for the production solver."""

from __future__ import annotations

import numpy as np

from pdemet.backend import fem, ufl
from pdemet.solvers.common import TermsByKind, mass_measure, ufl_context


class NewtonSolver(TermsByKind):
    """Monolithic θ-scheme on the K-component space, Newton's method with MUMPS."""

    def __init__(self, organ, terms, sim_cfg, nodes=None, gatherer=None):
        super().__init__(organ, terms, sim_cfg)
        K = organ.n_clones
        self.VK = fem.functionspace(organ.mesh, ("Lagrange", organ.degree, (K,)))
        # The blocked space interleaves the scalar space's dofs: component i of dof j sits at j*K + i.
        xk = self.VK.tabulate_dof_coordinates()
        if not np.allclose(xk, organ.x.T):
            raise RuntimeError("blocked and scalar spaces have different dof layouts")
        self.U, self.U0 = fem.Function(self.VK), fem.Function(self.VK)
        self.dt = fem.Constant(organ.mesh, 1.0)
        self.t_new, self.t_old = fem.Constant(organ.mesh, 0.0), fem.Constant(organ.mesh, 0.0)
        v = ufl.TestFunction(self.VK)
        dxm = mass_measure(organ)
        th = self.theta

        def spatial(U, t_const):
            ctx = ufl_context(organ, self.params, t_const)
            u = [U[i] for i in range(K)]
            form = 0
            for i in range(K):
                for op in self.operators:
                    form += op.form(u[i], v[i], i, ctx)
                for ld in self.loads:
                    form -= ld.form(v[i], i, ctx)
            for term in self.transports:
                form += term.form(u, [v[i] for i in range(K)], ctx)
            if self.reactions:
                rates = [0] * K
                for term in self.reactions:
                    rates = [a + b for a, b in zip(rates, term.rate(u, ctx))]
                form -= sum(rates[i] * v[i] for i in range(K)) * dxm
            return form

        F = ufl.inner(self.U - self.U0, v) / self.dt * dxm + th * spatial(self.U, self.t_new)
        if th < 1.0:
            F += (1.0 - th) * spatial(self.U0, self.t_old)
        F = apart_from_vertex_rule(F)
        opts = {"snes_type": "newtonls", "snes_linesearch_type": "none", "snes_rtol": 1e-13,
                "snes_atol": 1e-11 * organ.capacity * max(organ.volume, 1e-30), "snes_stol": 0.0,
                "snes_max_it": 30, "ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps",
                "snes_error_if_not_converged": False}
        self.problem = fem.petsc.NonlinearProblem(F, self.U, petsc_options_prefix=f"pdemet_newton_{organ.name}_",
                                                  petsc_options=opts)
        self.stats = {"newton_iterations": 0}

    @property
    def order(self) -> int:
        """2 for the trapezoidal rule (θ = ½), else 1."""
        return 2 if self.symmetric else 1

    @property
    def symmetric(self) -> bool:
        return self.theta == 0.5

    @property
    def extrapolable(self) -> bool:
        return self.symmetric

    def stiffness(self) -> None:
        """Not bounded for the monolithic Jacobian: error-controlled Newton steps are not extrapolated."""
        return None

    def release_caches(self) -> None:
        """Nothing is kept between steps beyond the solver itself."""

    def step(self, t, dt) -> bool:
        K = self.organ.n_clones
        for arr in (self.U0.x.array, self.U.x.array):
            view = arr.reshape(-1, K)
            for i, clone in enumerate(self.organ.clones):
                view[:, i] = clone.x.array
        self.dt.value, self.t_new.value, self.t_old.value = dt, t + dt, t
        self.problem.solve()
        snes = self.problem.solver
        if snes.getConvergedReason() <= 0:
            return False
        self.stats["newton_iterations"] += snes.getIterationNumber()
        self.U.x.scatter_forward()
        view = self.U.x.array.reshape(-1, K)
        for i, clone in enumerate(self.organ.clones):
            clone.x.array[:] = view[:, i]
        return bool(np.all(np.isfinite(view)))


def apart_from_vertex_rule(form):
    """``form`` with every default-rule cell integral given its estimated quadrature degree, at least 2.

    UFL/FFCx (0.11) integrate a vertex-rule integral (the lumped mass, degree 1) and a default-rule integral of
    the same degree with ONE rule, silently: measured, ∫u² dx(vertex) + ∫u² dx(degree 1) assembles as twice the
    second. In the Newton form the pressure term's Jacobian (p linear in U for m = 1) has degree 1 and was
    integrated at the vertices, so Newton converged linearly, then not at all. A degree ≥ 2 keeps the groups
    apart; the Jacobian (``ufl.derivative``) keeps each integral's metadata."""
    from ufl.algorithms import estimate_total_polynomial_degree

    integrals = []
    for itg in form.integrals():
        md = dict(itg.metadata())
        if itg.integral_type() == "cell" and "quadrature_rule" not in md and "quadrature_degree" not in md:
            md["quadrature_degree"] = max(2, estimate_total_polynomial_degree(itg.integrand()))
        integrals.append(itg.reconstruct(metadata=md))
    return ufl.Form(integrals)

