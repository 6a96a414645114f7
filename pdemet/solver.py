"""Time steppers for one organ's K-clone reaction–diffusion system.

``SplittingSolver`` (production, ``solver = "imex"``): Strang splitting
    R(dt/2) ∘ L(dt) ∘ R(dt/2)
with R the pointwise reactions integrated at every dof by classical RK4 sub-steps
(vectorized over dofs and clones) and L the linear operator terms (diffusion) and loads
treated by the θ-scheme (θ = ½: Crank–Nicolson, second order overall). The matrices
M + θ·dt·A and M − (1−θ)·dt·A are assembled once per distinct operator (clones with the
same diffusion coefficient share them) and per dt; the Krylov solver and its
preconditioner are reused every step.

``NewtonSolver`` (reference, ``solver = "newton"``): the same semi-discrete equations
as one monolithic nonlinear system on the K-component space, θ-scheme in time, solved
by Newton (PETSc SNES) with a direct solver.

For P1 elements both use the lumped mass matrix (vertex quadrature) for the time
derivative and reactions: the pointwise reaction step is then exactly the mass-lumped
reaction, total cells are Σⱼ (∫φⱼ) uⱼ exactly, and the two solvers discretize the same
semi-discrete system, so their difference is pure time error.
"""

from __future__ import annotations

import math

import numpy as np

from pdemet.backend import MPI, PETSc, fem, ufl
from pdemet.terms import Context, NumpyOps


class UflOps:
    """Math functions for reaction terms evaluated as UFL expressions."""

    exp = staticmethod(ufl.exp)
    log = staticmethod(ufl.ln)
    sqrt = staticmethod(ufl.sqrt)
    sin = staticmethod(ufl.sin)
    cos = staticmethod(ufl.cos)
    tanh = staticmethod(ufl.tanh)
    maximum = staticmethod(ufl.max_value)
    minimum = staticmethod(ufl.min_value)
    pi = math.pi
    ufl = ufl


def mass_measure(organ):
    if organ.degree == 1:  # lumped mass: nodal quadrature
        return ufl.dx(domain=organ.mesh, metadata={"quadrature_rule": "vertex", "quadrature_degree": 1})
    return ufl.dx(domain=organ.mesh)


def ufl_context(organ, terms_params, t):
    ctx = Context(p=terms_params, t=t, x=ufl.SpatialCoordinate(organ.mesh), ops=UflOps, n_clones=organ.n_clones,
                  organ=organ.name)
    ctx.dx = ufl.dx(domain=organ.mesh)
    ctx.ds = ufl.ds(domain=organ.mesh)
    ctx.n = ufl.FacetNormal(organ.mesh)
    return ctx


def _is_zero(form) -> bool:
    return all(isinstance(i.integrand(), ufl.constantvalue.Zero) for i in form.integrals())


class _Base:
    def __init__(self, organ, terms, sim_cfg):
        self.organ = organ
        self.params = organ.cfg.params
        self.operators = [t for t in terms if t.kind == "operator"]
        self.reactions = [t for t in terms if t.kind == "reaction"]
        self.loads = [t for t in terms if t.kind == "load"]
        self.theta = sim_cfg.theta
        self.cfg = sim_cfg


class SplittingSolver(_Base):
    def __init__(self, organ, terms, sim_cfg):
        super().__init__(organ, terms, sim_cfg)
        V = organ.V
        u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
        self.t_const = fem.Constant(organ.mesh, 0.0)
        ctx = ufl_context(organ, self.params, self.t_const)
        self.M = fem.petsc.assemble_matrix(fem.form(u * v * mass_measure(organ)))
        self.M.assemble()
        # Operator matrices, one per group of clones with identical operator parameters.
        self.group_of: list[tuple] = []
        self.A: dict[tuple, PETSc.Mat] = {}
        for i in range(organ.n_clones):
            key = tuple(op.key(i, ctx) for op in self.operators)
            self.group_of.append(key)
            if key not in self.A:
                a = sum(op.form(u, v, i, ctx) for op in self.operators) if self.operators else None
                A = None
                if a is not None and not _is_zero(a):  # e.g. D = 0: no matrix, the linear step is the identity
                    A = fem.petsc.assemble_matrix(fem.form(a))
                    A.assemble()
                self.A[key] = A
        self.load_forms = [fem.form(sum(ld.form(v, i, ctx) for ld in self.loads)) if self.loads else None
                           for i in range(organ.n_clones)]
        self._cache: dict[tuple, tuple] = {}
        self._rhs = self.M.createVecLeft()
        self._load = self.M.createVecLeft()
        self.np_ctx = Context(p=self.params, t=0.0, x=organ.x, ops=NumpyOps, n_clones=organ.n_clones,
                              organ=organ.name)
        self.stats = {"linear_iterations": 0, "reaction_substeps": 0}

    # -- linear step ----------------------------------------------------------------------------
    def _operators(self, key, dt):
        """(KSP for M + θ·dt·A, matrix M − (1−θ)·dt·A) for this clone group and dt, built once."""
        ck = (key, dt)
        if ck not in self._cache:
            if len(self._cache) > 8 * len(self.A):  # dt changed many times: keep memory bounded
                for ksp, lhs, rhs in self._cache.values():
                    ksp.destroy(), lhs.destroy(), rhs.destroy()
                self._cache.clear()
            A = self.A[key]
            lhs = self.M.copy()
            rhs = self.M.copy()
            if A is not None:
                lhs.axpy(self.theta * dt, A, PETSc.Mat.Structure.SUBSET_NONZERO_PATTERN)
                rhs.axpy(-(1.0 - self.theta) * dt, A, PETSc.Mat.Structure.SUBSET_NONZERO_PATTERN)
            ksp = PETSc.KSP().create(self.organ.comm)
            ksp.setOperators(lhs)
            if self.cfg.linear_solver == "lu":
                ksp.setType("preonly")
                ksp.getPC().setType("lu")
                ksp.getPC().setFactorSolverType("mumps")
            else:
                # M + θ dt A is mass-dominated for realistic dt: Jacobi-CG converges in a few iterations.
                ksp.setType("cg")
                ksp.getPC().setType("jacobi")
                ksp.setTolerances(rtol=self.cfg.rtol, atol=1e-300, max_it=10000)
                ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
            ksp.setInitialGuessNonzero(True)
            ksp.setUp()
            self._cache[ck] = (ksp, lhs, rhs)
        return self._cache[ck]

    def _assemble_load(self, i, t, dt):
        """∫ (θ g(t+dt) + (1−θ) g(t)) v dx · dt for clone i, into self._load."""
        with self._load.localForm() as loc:
            loc.set(0.0)
        for time, weight in ((t + dt, self.theta), (t, 1.0 - self.theta)):
            if weight == 0.0:
                continue
            self.t_const.value = time
            b = fem.petsc.assemble_vector(self.load_forms[i])
            b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
            self._load.axpy(weight * dt, b)
            b.destroy()

    def linear_step(self, t, dt):
        for i, clone in enumerate(self.organ.clones):
            ksp, lhs, rhs_mat = self._operators(self.group_of[i], dt)
            x = clone.x.petsc_vec
            rhs_mat.mult(x, self._rhs)
            if self.load_forms[i] is not None:
                self._assemble_load(i, t, dt)
                self._rhs.axpy(1.0, self._load)
            ksp.solve(self._rhs, x)
            if ksp.getConvergedReason() < 0:
                return False
            self.stats["linear_iterations"] += ksp.getIterationNumber()
            clone.x.scatter_forward()
        return True

    # -- reaction step --------------------------------------------------------------------------
    def _rate(self, u, t):
        self.np_ctx.t = t
        total = np.zeros_like(u)
        for term in self.reactions:
            total += np.asarray(term.rate(list(u), self.np_ctx))
        return total

    def reaction_step(self, t, dt):
        """Integrate du/dt = f(u, x, t) at every dof over [t, t+dt] with RK4 sub-steps."""
        if not self.reactions:
            return True
        u = self.organ.densities()
        f0 = self._rate(u, t)
        # Sub-steps so that the rate changes the densities by at most ~5 % of κ (or of the value) per sub-step.
        scale = np.abs(u) + 1e-3 * self.organ.capacity
        local = float(np.max(np.abs(f0) / scale)) if u.size else 0.0
        stiff = self.organ.comm.allreduce(local, op=MPI.MAX)
        n = max(1, int(math.ceil(dt * stiff / 0.05)))
        n = min(n, 10000)
        h = dt / n
        for k in range(n):
            tk = t + k * h
            k1 = f0 if k == 0 else self._rate(u, tk)
            k2 = self._rate(u + 0.5 * h * k1, tk + 0.5 * h)
            k3 = self._rate(u + 0.5 * h * k2, tk + 0.5 * h)
            k4 = self._rate(u + h * k3, tk + h)
            u = u + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
        self.stats["reaction_substeps"] += n
        self.organ.set_densities(u)
        return bool(np.all(np.isfinite(u)))

    def step(self, t, dt) -> bool:
        return (self.reaction_step(t, 0.5 * dt) and self.linear_step(t, dt)
                and self.reaction_step(t + 0.5 * dt, 0.5 * dt))


class NewtonSolver(_Base):
    """Monolithic θ-scheme on the K-component space, Newton's method with MUMPS."""

    def __init__(self, organ, terms, sim_cfg):
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
            if self.reactions:
                rates = [0] * K
                for term in self.reactions:
                    rates = [a + b for a, b in zip(rates, term.rate(u, ctx))]
                form -= sum(rates[i] * v[i] for i in range(K)) * dxm
            return form

        F = ufl.inner(self.U - self.U0, v) / self.dt * dxm + th * spatial(self.U, self.t_new)
        if th < 1.0:
            F += (1.0 - th) * spatial(self.U0, self.t_old)
        opts = {"snes_type": "newtonls", "snes_linesearch_type": "none", "snes_rtol": 1e-13,
                "snes_atol": 1e-11 * organ.capacity * max(organ.volume, 1e-30), "snes_stol": 0.0,
                "snes_max_it": 30, "ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps",
                "snes_error_if_not_converged": False}
        self.problem = fem.petsc.NonlinearProblem(F, self.U, petsc_options_prefix=f"pdemet_newton_{organ.name}_",
                                                  petsc_options=opts)
        self.stats = {"newton_iterations": 0}

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


SOLVERS = {"imex": SplittingSolver, "newton": NewtonSolver}
