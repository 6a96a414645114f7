"""Time steppers for one organ's K-clone reaction–diffusion system.

``SplittingSolver`` (production, ``solver = "imex"``): Strang splitting
    R(dt/2) ∘ L(dt) ∘ R(dt/2)
with R the pointwise reactions integrated at every dof by classical RK4 sub-steps
(vectorized over dofs and clones) and L the linear operator terms (diffusion) and loads
treated by the θ-scheme (θ = ½: Crank–Nicolson, second order overall). The matrices
M + θ·dt·A and M − (1−θ)·dt·A are assembled once per distinct operator (clones with the
same diffusion coefficient share them) and per dt. The clones of one group are solved
together (``_block_cg``): Jacobi-CG iterations run side by side on the columns of a dense
block, so each iteration reads the matrix once for all of them (one MatMatMult) and makes
two reductions in all; each column follows PETSc's KSPCG/PCJacobi arithmetic, so the result
is that of one KSP solve per clone to round-off. ``linear_solver = "lu"`` keeps one reused
MUMPS-factored KSP per group.

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
import time as _time

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


class _Operator:
    """Linear-step data of one clone group and dt: M + θ·dt·A, M − (1−θ)·dt·A and their solver."""

    __slots__ = ("lhs", "rhs", "ksp", "dinv", "Bm", "Wm", "B", "b", "w")

    def destroy(self):
        for obj in (self.ksp, self.lhs, self.rhs, self.Bm, self.Wm, self.dinv, *(self.b or ()), *(self.w or ())):
            if obj is not None:
                obj.destroy()


def _columns(dense) -> list:
    """Sequential PETSc vectors sharing memory with the local columns of a dense matrix."""
    arr = dense.getDenseArray()  # (n_local, m), column-major: each column is contiguous
    return [PETSc.Vec().createWithArray(arr[:, c], comm=PETSc.COMM_SELF) for c in range(arr.shape[1])]


class _Block:
    """Dense work block (owned dofs × clones of one group) for the simultaneous CG solves."""

    def __init__(self, lhs, m):
        n_loc, n_glob = lhs.getLocalSize()[0], lhs.getSize()[0]

        def dense():
            D = PETSc.Mat().createDense([[n_loc, n_glob], [PETSc.DECIDE, m]], comm=lhs.getComm())
            D.setUp()
            D.assemble()
            return D

        self.m = m
        self.Xm, self.Pm = dense(), dense()  # the inputs of the MatMatMults
        self.x, self.p = _columns(self.Xm), _columns(self.Pm)
        self.X = self.Xm.getDenseArray()  # (n_local, m) view
        self.z = [PETSc.Vec().createSeq(n_loc, comm=PETSc.COMM_SELF) for _ in range(m)]


def _block_cg(lhs, blk, op, rtol, comm, max_it=10000, divtol=1e5):
    """Solve lhs·x_c = b_c for every clone column c of the block, x_c holding the initial guesses.

    Per column this is PETSc's KSPCG with PCJacobi, unpreconditioned residual norm, nonzero initial
    guess and KSPConvergedDefault (‖r‖ ≤ max(rtol·‖b‖, atol), divergence above 1e5·‖b‖, NaN and
    indefinite-matrix checks), with the same vector kernels on the local parts. What differs: one
    MatMatMult per iteration reads the matrix once for all columns, and the dot products of all
    columns are summed over ranks together (two reductions per iteration in all). A column stops
    when it has converged. Returns (ok, total iterations over the columns).
    """
    m = blk.m
    # The residual overwrites the right-hand side, which is not needed after r₀ = b − A·x₀.
    x, p, r, z, w, dinv = blk.x, blk.p, op.b, blk.z, op.w, op.dinv
    red = np.empty(2 * m)

    def reduce(values):
        if comm.size > 1:
            comm.Allreduce(MPI.IN_PLACE, values, op=MPI.SUM)
        return values

    # r = b − A x
    for c in range(m):
        x[c].copy(p[c])
    lhs.matMult(blk.Pm, op.Wm)
    for c in range(m):
        red[m + c] = r[c].dot(r[c])  # ‖b‖²
        r[c].axpy(-1.0, w[c])  # r ← b − A·x (in place of b)
        red[c] = r[c].dot(r[c])
    reduce(red)
    dp, bnorm = np.sqrt(red[:m]), np.sqrt(red[m:])
    if not np.all(np.isfinite(dp)):
        return False, 0
    rnorm0 = np.where(bnorm > 0.0, bnorm, dp)  # zero rhs with a nonzero guess: relative to ‖r₀‖
    ttol = np.maximum(rtol * rnorm0, 1e-300)
    active = [c for c in range(m) if dp[c] > ttol[c]]
    its = np.zeros(m, dtype=np.int64)
    if not active:
        return True, 0
    beta = np.zeros(m)
    for c in range(m):
        z[c].pointwiseMult(dinv, r[c])
        beta[c] = z[c].dot(r[c])
    reduce(beta)
    betaold, dpi, dpiold = np.ones(m), np.ones(m), np.ones(m)
    i = 0
    while True:
        if not np.all(np.isfinite(beta[active])):
            return False, int(its.sum())
        for c in [c for c in active if beta[c] == 0.0]:
            its[c] = i + 1
            active.remove(c)
        if not active:
            break
        for c in active:
            if i == 0:
                z[c].copy(p[c])  # p ← z
            else:
                p[c].aypx(beta[c] / betaold[c], z[c])  # p ← z + (β/β_old)·p
        dpiold[:] = dpi
        lhs.matMult(blk.Pm, op.Wm)  # w ← A·p for all columns: the matrix is read once
        dpi[:] = 0.0
        for c in active:
            dpi[c] = p[c].dot(w[c])
        reduce(dpi)
        betaold[:] = beta
        for c in active:
            if (not math.isfinite(dpi[c]) or dpi[c] == 0.0
                    or (i > 0 and math.copysign(1.0, dpi[c]) != math.copysign(1.0, dpiold[c]))):
                return False, int(its.sum())  # NaN or indefinite matrix
        red[:] = 0.0
        for c in active:
            a = beta[c] / dpi[c]
            x[c].axpy(a, p[c])  # x ← x + a·p
            r[c].axpy(-a, w[c])  # r ← r − a·w
            z[c].pointwiseMult(dinv, r[c])  # z ← D⁻¹·r
            red[c] = z[c].dot(r[c])
            red[m + c] = r[c].dot(r[c])
        reduce(red)
        beta[active] = red[:m][active]
        dp = np.sqrt(red[m:])
        i += 1
        for c in list(active):
            if not math.isfinite(dp[c]) or dp[c] >= divtol * rnorm0[c]:
                return False, int(its.sum() + i * len(active))
            if dp[c] <= ttol[c]:
                its[c] = i
                active.remove(c)
        if not active:
            break
        if i >= max_it:
            return False, int(its.sum() + i * len(active))
    return True, int(its.sum())


class SplittingSolver(_Base):
    def __init__(self, organ, terms, sim_cfg):
        super().__init__(organ, terms, sim_cfg)
        V = organ.V
        u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
        self.t_const = fem.Constant(organ.mesh, 0.0)
        ctx = ufl_context(organ, self.params, self.t_const)
        # Only the compiled forms are kept: M and A are assembled (deterministically) when the
        # operators of a new dt are built, then freed, so that an organ holds two matrices per group
        # and cached dt (M + θ·dt·A and M − (1−θ)·dt·A), not four.
        self.m_form = fem.form(u * v * mass_measure(organ))
        # Operator forms, one per group of clones with identical operator parameters.
        self.group_of: list[tuple] = []
        self.groups: dict[tuple, list[int]] = {}
        self.a_forms: dict[tuple, object] = {}  # None: no operator (e.g. D = 0), the linear step is the identity
        for i in range(organ.n_clones):
            key = tuple(op.key(i, ctx) for op in self.operators)
            self.group_of.append(key)
            self.groups.setdefault(key, []).append(i)
            if key not in self.a_forms:
                a = sum(op.form(u, v, i, ctx) for op in self.operators) if self.operators else None
                self.a_forms[key] = fem.form(a) if a is not None and not _is_zero(a) else None
        self.load_forms = [fem.form(sum(ld.form(v, i, ctx) for ld in self.loads)) if self.loads else None
                           for i in range(organ.n_clones)]
        self._cache: dict[tuple, _Operator] = {}  # (group key, dt) -> operators, least recently used first
        self._blocks: dict[tuple, _Block] = {}
        imap = V.dofmap.index_map
        self._rhs = PETSc.Vec().createMPI((imap.size_local, imap.size_global), comm=organ.comm)
        self._load = self._rhs.duplicate()
        self.np_ctx = Context(p=self.params, t=0.0, x=organ.x, ops=NumpyOps, n_clones=organ.n_clones,
                              organ=organ.name)
        self._rk: tuple | None = None  # RK4 work arrays, allocated on first use
        self.stats = {"linear_iterations": 0, "reaction_substeps": 0, "linear_s": 0.0, "reaction_s": 0.0}

    # -- linear step ----------------------------------------------------------------------------
    MAX_CACHED_DT = 3  # operators kept per clone group (e.g. dt, dt/2 after a rejection, a last short step)

    @staticmethod
    def _assemble(form):
        A = fem.petsc.assemble_matrix(form)
        A.assemble()
        return A

    def _operators(self, key, dt) -> _Operator:
        """Matrices M + θ·dt·A, M − (1−θ)·dt·A and their solver for this clone group and dt, built once
        and kept while dt is among the group's MAX_CACHED_DT most recently used."""
        ck = (key, dt)
        op = self._cache.pop(ck, None)
        if op is None:
            same = [k for k in self._cache if k[0] == key]
            while len(same) >= self.MAX_CACHED_DT:  # evict the least recently used dt of this group
                self._cache.pop(same.pop(0)).destroy()
            M = self._assemble(self.m_form)
            A = self._assemble(self.a_forms[key]) if self.a_forms[key] is not None else None
            op = _Operator()
            op.lhs = M.copy()
            op.rhs = M
            if A is not None:
                op.lhs.axpy(self.theta * dt, A, PETSc.Mat.Structure.SUBSET_NONZERO_PATTERN)
                op.rhs.axpy(-(1.0 - self.theta) * dt, A, PETSc.Mat.Structure.SUBSET_NONZERO_PATTERN)
                A.destroy()
            op.ksp = op.dinv = op.Bm = op.Wm = op.B = op.b = op.w = None
            if self.cfg.linear_solver == "lu":
                ksp = PETSc.KSP().create(self.organ.comm)
                ksp.setOperators(op.lhs)
                ksp.setType("preonly")
                ksp.getPC().setType("lu")
                ksp.getPC().setFactorSolverType("mumps")
                ksp.setUp()  # (preonly refuses a nonzero initial guess; the factorization is exact anyway)
                op.ksp = ksp
            else:
                # M + θ dt A is mass-dominated for realistic dt: Jacobi-CG converges in a few iterations.
                if key not in self._blocks:
                    self._blocks[key] = _Block(op.lhs, len(self.groups[key]))
                blk = self._blocks[key]
                diag = op.lhs.getDiagonal()
                d = diag.array_r.copy()
                diag.destroy()
                d[d == 0.0] = 1.0  # as PCJacobi
                op.dinv = PETSc.Vec().createWithArray(1.0 / d, comm=PETSc.COMM_SELF)
                op.Bm = op.rhs.matMult(blk.Xm)
                op.Wm = op.lhs.matMult(blk.Pm)
                op.b, op.w = _columns(op.Bm), _columns(op.Wm)
                op.B = op.Bm.getDenseArray()  # (n_local, m) view
        self._cache[ck] = op  # most recently used last
        return op

    def _assemble_load(self, i, t, dt):
        """∫ (θ g(t+dt) + (1−θ) g(t)) v dx · dt for clone i, into self._load."""
        self._load.set(0.0)  # (not localForm(): the vector has no ghosts, which crashed in parallel)
        for time, weight in ((t + dt, self.theta), (t, 1.0 - self.theta)):
            if weight == 0.0:
                continue
            self.t_const.value = time
            b = fem.petsc.assemble_vector(self.load_forms[i])
            b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
            self._load.axpy(weight * dt, b)
            b.destroy()

    def linear_step(self, t, dt):
        t0 = _time.perf_counter()
        try:
            if self.cfg.linear_solver == "lu":
                return self._linear_step_lu(t, dt)
            return self._linear_step_cg(t, dt)
        finally:
            self.stats["linear_s"] += _time.perf_counter() - t0

    def _linear_step_cg(self, t, dt):
        clones, n = self.organ.clones, self.organ.n_owned
        for key, members in self.groups.items():
            if self.a_forms[key] is None and all(self.load_forms[i] is None for i in members):
                continue  # M·x = M·x: the step is the identity (a CG solve would stop at iteration 0)
            op = self._operators(key, dt)
            blk = self._blocks[key]
            for c, i in enumerate(members):
                blk.X[:, c] = clones[i].x.array[:n]
            op.rhs.matMult(blk.Xm, op.Bm)  # b = (M − (1−θ)·dt·A)·x for all clones of the group
            for c, i in enumerate(members):
                if self.load_forms[i] is not None:
                    self._assemble_load(i, t, dt)
                    op.B[:, c] += self._load.array_r
            ok, its = _block_cg(op.lhs, blk, op, self.cfg.rtol, self.organ.comm)
            self.stats["linear_iterations"] += its
            if not ok:
                return False
            for c, i in enumerate(members):
                clones[i].x.array[:n] = blk.X[:, c]
                clones[i].x.scatter_forward()
        return True

    def _linear_step_lu(self, t, dt):
        for i, clone in enumerate(self.organ.clones):
            op = self._operators(self.group_of[i], dt)
            x = clone.x.petsc_vec
            op.rhs.mult(x, self._rhs)
            if self.load_forms[i] is not None:
                self._assemble_load(i, t, dt)
                self._rhs.axpy(1.0, self._load)
            op.ksp.solve(self._rhs, x)
            if op.ksp.getConvergedReason() < 0:
                return False
            self.stats["linear_iterations"] += op.ksp.getIterationNumber()
            clone.x.scatter_forward()
        return True

    # -- reaction step --------------------------------------------------------------------------
    def _rate(self, u, t, out):
        """Σ reaction rates at state u (K, n) and time t, into out (K, n)."""
        self.np_ctx.t = t
        for j, term in enumerate(self.reactions):
            rates = term.rate(list(u), self.np_ctx)
            for k in range(out.shape[0]):
                if j == 0:
                    out[k] = rates[k]
                else:
                    out[k] += rates[k]
        return out

    def reaction_step(self, t, dt):
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
