"""The linear part of a splitting step: operator terms (diffusion) and loads by the θ-scheme."""

from __future__ import annotations

import time as _time

import numpy as np

from pdemet.backend import MPI, PETSc, fem, ufl
from pdemet.solvers.block_cg import Block, GroupOperator, block_cg, columns
from pdemet.solvers.common import TermsByKind, is_zero, mass_measure, ufl_context


class LinearStep:
    """θ-scheme step of the operator (diffusion) and load terms: (M + θ·dt·A)·uⁿ⁺¹ = (M − (1−θ)·dt·A)·uⁿ + loads.

    The matrices are assembled once per distinct operator (clones with the same diffusion coefficient share
    them) and per dt; the clones of one group are solved together (:func:`~pdemet.solvers.block_cg.block_cg`),
    or with one reused MUMPS-factored KSP per group (``linear_solver = "lu"``).
    """

    def __init__(self, terms: TermsByKind, stats: dict):
        organ = terms.organ
        self.organ, self.cfg, self.theta, self.stats = organ, terms.cfg, terms.theta, stats
        V = organ.V
        u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
        self.t_const = fem.Constant(organ.mesh, 0.0)
        ctx = ufl_context(organ, terms.params, self.t_const)
        # Only the compiled forms are kept: M and A are assembled (deterministically) when the
        # operators of a new dt are built, then freed, so that an organ holds two matrices per group
        # and cached dt (M + θ·dt·A and M − (1−θ)·dt·A), not four.
        self.m_form = fem.form(u * v * mass_measure(organ))
        # Operator forms, one per group of clones with identical operator parameters.
        self.group_of: list[tuple] = []
        self.groups: dict[tuple, list[int]] = {}
        self.a_forms: dict[tuple, object] = {}  # None: no operator (e.g. D = 0), the linear step is the identity
        for i in range(organ.n_clones):
            key = tuple(op.key(i, ctx) for op in terms.operators)
            self.group_of.append(key)
            self.groups.setdefault(key, []).append(i)
            if key not in self.a_forms:
                a = sum(op.form(u, v, i, ctx) for op in terms.operators) if terms.operators else None
                self.a_forms[key] = fem.form(a) if a is not None and not is_zero(a) else None
        self.load_forms = [fem.form(sum(ld.form(v, i, ctx) for ld in terms.loads)) if terms.loads else None
                           for i in range(organ.n_clones)]
        self._cache: dict[tuple, GroupOperator] = {}  # (group key, dt) -> operators, least recently used first
        # Under error control dt changes every step: M and each group's A are then assembled once and kept,
        # and the operators of a new dt are two matrix copies and AXPYs (the same values as assembling anew).
        self._base: dict | None = {} if terms.cfg.error_control else None
        self._blocks: dict[tuple, Block] = {}
        imap = V.dofmap.index_map
        self._rhs = PETSc.Vec().createMPI((imap.size_local, imap.size_global), comm=organ.comm)
        self._load = self._rhs.duplicate()

    MAX_CACHED_DT = 3  # operators kept per clone group (e.g. dt, dt/2 after a rejection, a last short step)
    # (one more under error control, where every step uses dt and dt/2: the pair of the usual dt and, around
    # an output time, most of the pair of the step shortened to land on it)

    @staticmethod
    def _assemble(form):
        A = fem.petsc.assemble_matrix(form)
        A.assemble()
        return A

    def _pattern(self, M, A):
        """How A's nonzeros sit among M's, for MatAXPY. Fixed-dt runs: SUBSET (as always: their results stay
        bitwise the same). Kept matrices (error control): SAME when the sparsity patterns are identical
        (checked once; P1/P2 cell forms on one mesh), 8× faster than SUBSET's row-by-row insertion."""
        subset = PETSc.Mat.Structure.SUBSET_NONZERO_PATTERN
        if self._base is None:
            return subset
        key = ("same pattern", A.handle)
        if key not in self._base:
            (mi, mj, _), (ai, aj, _) = M.getValuesCSR(), A.getValuesCSR()
            same = int(len(mi) == len(ai) and len(mj) == len(aj) and (mi == ai).all() and (mj == aj).all())
            self._base[key] = self.organ.comm.allreduce(same, op=MPI.MIN) == 1
        return PETSc.Mat.Structure.SAME_NONZERO_PATTERN if self._base[key] else subset

    def _base_matrices(self, key):
        """M and the group's A (None: no operator), freshly assembled, or the kept ones under error control."""
        if self._base is None:
            M = self._assemble(self.m_form)
            return M, self._assemble(self.a_forms[key]) if self.a_forms[key] is not None else None
        if "M" not in self._base:
            self._base["M"] = self._assemble(self.m_form)
        if key not in self._base:
            self._base[key] = self._assemble(self.a_forms[key]) if self.a_forms[key] is not None else None
        return self._base["M"], self._base[key]

    LANCZOS_ITERATIONS, LANCZOS_MARGIN = 40, 1.02  # Ritz values ≤ λ_max; 40 iterations: within 10⁻⁵ (box 48³)

    def stiffness(self) -> float | None:
        """The largest eigenvalue λ_max of M⁻¹A over the clone groups (1/day), with a margin: the smaller of the
        Gershgorin bound maxᵢ Σⱼ|Aᵢⱼ|/mᵢ (up to 2·λ_max; 1.29·λ_max on box meshes) and 1.02 × the largest Ritz
        value of 40 Lanczos steps (PETSc CG on M^(−½)AM^(−½), KSPComputeExtremeSingularValues). P1 only, with
        its lumped (diagonal) mass; None for P2. Error control only (it reads the kept matrices); collective."""
        if self.organ.degree != 1:
            return None
        if "stiffness" not in self._base:
            bound = 0.0
            for key in self.groups:
                M, A = self._base_matrices(key)
                if A is not None:
                    bound = max(bound, self._largest_rate(M, A))
            self._base["stiffness"] = bound
        return self._base["stiffness"]

    def _largest_rate(self, M, A) -> float:
        m = M.getDiagonal()
        indptr, _, values = A.getValuesCSR()
        rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        row_sums = np.bincount(rows, weights=np.abs(values), minlength=len(indptr) - 1)
        gershgorin = self.organ.comm.allreduce(float(np.max(row_sums / m.array_r, initial=0.0)), op=MPI.MAX)
        scale = m.copy()
        scale.sqrtabs()
        scale.reciprocal()
        S = A.copy()
        S.diagonalScale(scale, scale)  # M^(−½)·A·M^(−½): symmetric, the eigenvalues of M⁻¹A
        ksp = PETSc.KSP().create(self.organ.comm)
        ksp.setOperators(S)
        ksp.setType("cg")
        ksp.getPC().setType("none")
        ksp.setComputeSingularValues(True)
        ksp.setTolerances(rtol=1e-30, atol=0.0, max_it=self.LANCZOS_ITERATIONS)
        b, x = S.createVecLeft(), S.createVecRight()
        x.set(0.0)
        xyz = self.organ.x[:, : self.organ.n_owned]  # a start vector of the dof coordinates: any partition
        b.array[:] = np.sin(997.0 * xyz[0] + 1999.0 * xyz[1] + 2999.0 * xyz[2])
        ksp.solve(b, x)
        ritz = ksp.computeExtremeSingularValues()[0]
        for obj in (ksp, S, b, x, m, scale):
            obj.destroy()
        return min(gershgorin, self.LANCZOS_MARGIN * ritz)

    def prepare(self, dt) -> None:
        """Build now what the first step of length dt would: its operators (assembly of M and A included)
        and, under error control, the kept M and A and the stiffness bound. Benchmarks time steps without
        this one-time work; runs need not call it."""
        for key in self.groups:
            if self.a_forms[key] is not None or any(self.load_forms[i] is not None for i in self.groups[key]):
                self.operators(key, dt)
        if self._base is not None:
            self.stiffness()

    def operators(self, key, dt) -> GroupOperator:
        """Matrices M + θ·dt·A, M − (1−θ)·dt·A and their solver for this clone group and dt, built once
        and kept while dt is among the group's MAX_CACHED_DT most recently used."""
        ck = (key, dt)
        op = self._cache.pop(ck, None)
        if op is None:
            same = [k for k in self._cache if k[0] == key]
            keep = self.MAX_CACHED_DT + (self._base is not None)
            while len(same) >= keep:  # evict the least recently used dt of this group
                self._cache.pop(same.pop(0)).destroy()
            M, A = self._base_matrices(key)
            op = GroupOperator()
            op.lhs = M.copy()
            op.rhs = M if self._base is None else M.copy()
            if A is not None:
                pattern = self._pattern(M, A)
                op.lhs.axpy(self.theta * dt, A, pattern)
                op.rhs.axpy(-(1.0 - self.theta) * dt, A, pattern)
                if self._base is None:
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
                    self._blocks[key] = Block(op.lhs, len(self.groups[key]))
                blk = self._blocks[key]
                diag = op.lhs.getDiagonal()
                d = diag.array_r.copy()
                diag.destroy()
                d[d == 0.0] = 1.0  # as PCJacobi
                op.dinv = PETSc.Vec().createWithArray(1.0 / d, comm=PETSc.COMM_SELF)
                op.Bm = op.rhs.matMult(blk.Xm)
                op.Wm = op.lhs.matMult(blk.Pm)
                op.b, op.w = columns(op.Bm), columns(op.Wm)
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

    def step(self, t, dt) -> bool:
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
            op = self.operators(key, dt)
            blk = self._blocks[key]
            for c, i in enumerate(members):
                blk.X[:, c] = clones[i].x.array[:n]
            op.rhs.matMult(blk.Xm, op.Bm)  # b = (M − (1−θ)·dt·A)·x for all clones of the group
            for c, i in enumerate(members):
                if self.load_forms[i] is not None:
                    self._assemble_load(i, t, dt)
                    op.B[:, c] += self._load.array_r
            ok, its = block_cg(op.lhs, blk, op, self.cfg.rtol, self.organ.comm)
            self.stats["linear_iterations"] += its
            if not ok:
                return False
            for c, i in enumerate(members):
                clones[i].x.array[:n] = blk.X[:, c]
                clones[i].x.scatter_forward()
        return True

    def _linear_step_lu(self, t, dt):
        for i, clone in enumerate(self.organ.clones):
            op = self.operators(self.group_of[i], dt)
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
