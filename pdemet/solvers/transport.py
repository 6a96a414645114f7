"""The transport part of a splitting step: ∂uᵢ/∂t = ∇·(uᵢ ∇p(U)) for the ``Transport`` terms (pressure).

Summed over the clones this is the porous-medium equation ∂U/∂t = ∇·(D(U)∇U) = ΔΦ(U), D(U) = U p'(U),
Φ(U) = ∫₀ᵁ D (the Kirchhoff transform). One step:

1. the total, backward Euler in the Kirchhoff form, solved by Newton's method:
       F(U) = M (U − Uⁿ) + dt·K Φ(U) = 0,
   M the lumped mass, K the P1 stiffness matrix ∫ ∇φⱼ·∇φₖ made an M-matrix by algebraic upwinding (Kuzmin,
   J Comput Phys 228:2517, 2009: positive off-diagonal entries are dropped, rows still sum to zero). F is an
   M-function, so the solution is unique, ≥ 0, conserves cells and obeys a discrete maximum principle
   (U ≤ max Uⁿ): no clipping. The Jacobian M + dt·K·diag(D(U)) is a nonsingular M-matrix (column sums mₖ);
   each Newton step is damped (backtracking on ‖F‖₁, iterates kept in [min(Uⁿ, 0), max Uⁿ]) until ‖F‖₁ is
   at most ``transport_tol`` × the region's cells Σ mⱼUⁿⱼ, in at most ``transport_iterations`` steps;
   otherwise (or when a step cannot lower ‖F‖₁) the step fails and is retried at dt/2. (A Picard iteration
   on the lagged diffusivity, used before, does not converge for the stiff law D = D_p(U/κ)³⁰ at
   dt·D_p/h² ~ 10³–10⁴: its iterates oscillate by 20–60 % of κ, and whichever iterate it stopped at was the
   step — large foci locked at U = κ on fine meshes: docs/convergence.md.)
2. each clone, carried by the total's edge fluxes gⱼₖ = dt Wⱼₖ (Φ(Uₖ) − Φ(Uⱼ)) (W = −offdiag K ≥ 0)
   with the upwind clone fraction, implicitly:  T uᵢⁿ⁺¹ = M uᵢⁿ,
       Tⱼⱼ = mⱼ + Σₖ (−gⱼₖ)₊/Uⱼ,   Tⱼₖ = −(gⱼₖ)₊/Uₖ.
   T is an M-matrix with column sums mₖ: every clone stays ≥ 0, keeps its cells, and Σᵢ uᵢⁿ⁺¹ = Uⁿ⁺¹ (to
   the residual of step 1).

Only the tumor moves: the systems are solved on the active region (the nodes of cells where D > 0), which
is small next to the organ, on rank 0 from the node arrays in the mesh's original order (like the cluster
flux), so the step is the same to the bit on any number of MPI ranks. P1 elements only (nodal scheme).

Cost: while the active region does not change (between front advances), its edges, their weights, the CSR
layouts of both matrices (:mod:`pdemet.solvers.edge_csr`: built without scipy's COO conversion, with scipy's
bits) and the PETSc solvers are kept; the clone matrix is factorized once for all clones. The Newton
steps' linear solves are inexact (GMRES to ``NEWTON_RTOL``): Newton then converges linearly at that rate
near the solution, at a fifth of the Krylov iterations of exact solves (measured on a lung focus at 6 µm).
"""

from __future__ import annotations

import time as _time

import numpy as np

from pdemet.backend import PETSc
from pdemet.solvers.common import TermsByKind
from pdemet.solvers.edge_csr import EdgeCSR, index_dtype
from pdemet.terms import Context, NumpyOps


def edge_stiffness(points: np.ndarray, tets: np.ndarray, chunk: int = 1 << 14) -> np.ndarray:
    """∫_K ∇φⱼ·∇φₖ dx of each cell's six edges (M, 6), (0,1), (0,2), (0,3), (1,2), (1,3), (2,3), P1. Computed
    ``chunk`` cells at a time (each cell alone: the same numbers), so that the temporaries (~700 B per cell) stay
    small."""
    out = np.empty((len(tets), 6))
    a, b = np.triu_indices(4, 1)
    for s in range(0, len(tets), chunk):
        p = points[tets[s:s + chunk]]
        J = p[:, 1:] - p[:, :1]
        inv = np.linalg.inv(J)                              # columns: gradients of λ₁..λ₃
        grads = np.concatenate([-inv.sum(axis=2, keepdims=True), inv], axis=2).transpose(0, 2, 1)
        vol = np.abs(np.linalg.det(J)) / 6.0
        out[s:s + chunk] = vol[:, None] * np.einsum("cei,cei->ce", grads[:, a], grads[:, b])
    return out


ACTIVE = 1e-9  # fraction of κ above which a node makes its cells part of the moving region
NEWTON_RTOL = 1e-4  # relative residual of the Newton steps' linear solves (inexact Newton)
MIN_DAMPING = 1.0 / 1024  # the smallest fraction of a Newton step the backtracking tries


class Region:
    """The active region of one step — its cells, nodes and edges — and everything built on it that the next
    steps reuse while it does not change: the edges' weights, the CSR layouts of the two matrices and the Krylov
    solvers."""

    def __init__(self, step: "TransportStep", cells: np.ndarray):
        self.cells = cells
        tets = step.tets[cells]
        touched = np.zeros(len(step.m), dtype=bool)
        touched[tets] = True
        self.nodes = np.flatnonzero(touched)
        local = np.full(len(step.m), -1, dtype=index_dtype(len(step.m)))  # int32: the region's arrays are large
        local[self.nodes] = np.arange(self.nodes.size)
        del tets
        self.m = step.m[self.nodes]
        edges, cell_edges, k_edge = step._geometry(cells)
        # Wⱼₖ = max(−Kⱼₖ, 0): the geometric weights of the region's edges, fixed while it is (Kirchhoff form)
        self.w = np.maximum(-np.bincount(cell_edges.ravel(), weights=k_edge.ravel(), minlength=len(edges)), 0.0)
        del cell_edges, k_edge
        self.i, self.j = local[edges[:, 0]], local[edges[:, 1]]
        i, j, n = self.i, self.j, self.nodes.size
        # the COO layouts the matrices were first written in (their summation order is kept: see edge_csr)
        self.jacobian = EdgeCSR(np.concatenate([i, j, i, j]), np.concatenate([j, i, i, j]), n)
        self.clone = EdgeCSR(np.concatenate([i, j, j, i]), np.concatenate([j, i, j, i]), n,
                             same_entries=self.jacobian)
        self.ctx = Context(p=step.ctx.p, t=0.0, x=step.points[self.nodes].T, ops=NumpyOps,
                           n_clones=step.ctx.n_clones, organ=step.ctx.organ)
        self.newton = Krylov("gmres", "ilu", NEWTON_RTOL, n)
        self.gmres = Krylov("gmres", "ilu", step.cfg.rtol, n)

    def destroy(self) -> None:
        self.newton.destroy()
        self.gmres.destroy()


class Krylov:
    """A sequential PETSc solver (rank 0), kept for every solve on a region: GMRES with ILU(0) for the Newton
    steps of the total and for the clones (both M-matrices, where incomplete factorizations do well). A new
    operator is factorized afresh; its right-hand sides reuse the factorization."""

    def __init__(self, kind: str, pc: str, rtol: float, n: int):
        self.ksp = PETSc.KSP().create(PETSc.COMM_SELF)
        self.ksp.setType(kind)
        self.ksp.getPC().setType(pc)
        self.ksp.setTolerances(rtol=rtol, atol=0.0, max_it=10000)
        self.ksp.setInitialGuessNonzero(True)
        self.n, self.A = n, None
        self.x = PETSc.Vec().createSeq(n, comm=PETSc.COMM_SELF)
        self.b = PETSc.Vec().createSeq(n, comm=PETSc.COMM_SELF)

    def set_operator(self, csr) -> None:
        indptr, indices, data = csr
        A = PETSc.Mat().createAIJ(size=(self.n, self.n), csr=(indptr.astype(PETSc.IntType, copy=False),
                                                              indices.astype(PETSc.IntType, copy=False), data),
                                  comm=PETSc.COMM_SELF)
        self.ksp.setOperators(A)  # a new Mat: PETSc builds the preconditioner anew at the next solve
        if self.A is not None:
            self.A.destroy()
        self.A = A

    def release_operator(self) -> None:
        """Let go of the matrix and its factorization (each step brings new ones): the clone matrix and the
        Newton Jacobian are then never alive at once."""
        if self.A is not None:
            self.ksp.reset()
            self.A.destroy()
            self.A = None

    def solve(self, b: np.ndarray, x0: np.ndarray) -> tuple[np.ndarray, int, bool]:
        """(solution, iterations, converged) from the initial guess x0."""
        assert self.A is not None, "set_operator before solve (the operator is released after each step's solves)"
        self.b.array[:] = b
        self.x.array[:] = x0
        self.ksp.solve(self.b, self.x)
        return self.x.array.copy(), self.ksp.getIterationNumber(), self.ksp.getConvergedReason() > 0

    def destroy(self) -> None:
        for obj in (self.ksp, self.A, self.x, self.b):
            if obj is not None:
                obj.destroy()


class TransportStep:
    def __init__(self, terms: TermsByKind, stats: dict, nodes, gatherer):
        """``nodes``/``gatherer``: the organ's OrganNodes and FieldGatherer (rank-0 node arrays)."""
        organ = self.organ = terms.organ
        if organ.degree != 1:
            raise ValueError("the pressure (transport) terms need element_degree = 1")
        self.terms, self.cfg, self.stats, self.g = terms.transports, terms.cfg, stats, gatherer
        self.rank0 = organ.comm.rank == 0
        # the latest region first; an extrapolated step or a step-doubling attempt (and its retry after a
        # rejection) visits two or three
        self.regions: list[Region] = []
        self.keep = 3 if self.cfg.transport_extrapolate or self.cfg.time_rtol > 0 else 1
        if self.cfg.transport_extrapolate:
            stats.setdefault("transport_fallbacks", 0)
        if self.rank0:
            self.m, self.tets, self.points = nodes.weights, nodes.tets, nodes.points
            self.edges, self.cell_edges = nodes.edges, nodes.cell_edges
            self.ctx = Context(p=terms.params, t=0.0, x=nodes.points.T, ops=NumpyOps, n_clones=organ.n_clones,
                               organ=organ.name)

    def step(self, t, dt) -> bool:
        t0 = _time.perf_counter()
        u = [self.g.gather(c) for c in self.organ.clones]
        result = None
        if self.rank0:
            result = self._advance(np.array(u), dt)
        ok, nodes, values = self.organ.comm.bcast(result if self.rank0 else None, root=0)
        if ok and len(nodes):
            self.g.set_at_nodes(nodes, values)
        self.stats["transport_s"] += _time.perf_counter() - t0
        return ok

    def release(self) -> None:
        """Let go of the cached regions and per-cell integrals (rebuilt when next needed)."""
        while self.regions:
            self.regions.pop().destroy()
        self.__dict__.pop("_k_edge", None)
        self.__dict__.pop("_row", None)

    def _active(self, U0: np.ndarray) -> Region | None:
        """The region of the cells with a node above 1e-9 κ (None if there are none), reused while unchanged.
        (The inverse of an M-matrix is positive, so every solve leaves astronomically small values one layer
        further out; counting those as tumor would grow the region by a layer a step for nothing: with m ≥ 1
        they do not move.)"""
        above = U0 > ACTIVE * self.organ.capacity
        cells = np.flatnonzero(above[self.tets].view(np.uint32).ravel())  # cells with a node above (4 flags as one word)
        if cells.size == 0:
            return None
        hit = next((r for r in self.regions if np.array_equal(cells, r.cells)), None)
        if hit is not None:
            return hit
        # the oldest go before the new one is built (no name left bound to them): never keep + 1 regions
        # (~1.2 KiB per node each with their PETSc factorizations) at once
        while len(self.regions) >= self.keep:
            self.regions.pop().destroy()
        self.regions.insert(0, Region(self, cells))
        return self.regions[0]

    def _advance(self, u: np.ndarray, dt: float):
        """(ok, changed nodes, their new clone values (len(nodes), K)) from the node arrays u (K, N): one
        step, or with ``transport_extrapolate`` the Richardson extrapolation 2·u(dt/2∘dt/2) − u(dt).

        Backward Euler's error expansion has all powers of dt, so the extrapolation cancels the first and the
        step is of second order (measured ≈ 2 on the Barenblatt and porous-Fisher problems: docs/model.md).
        Its amplification of a diffusion mode, 2/(1 + z/2)² − 1/(1 + z) (z = dt·λ), tends to 0 for stiff modes:
        unlike extrapolated Crank–Nicolson it is L-stable, at any dt. Both states keep every clone's cells and
        the weights sum to one, so the extrapolation keeps them too; it is not positive: at steep fronts it
        undershoots slightly (≈ 10⁻⁴ κ at dt 0.2 on the porous-Fisher front, O(dt²)). Beyond
        ``negative_tolerance``·κ the step keeps u(dt/2∘dt/2) (counted in ``transport_fallbacks``); smaller
        undershoots are clipped by the step control with every clone's cells kept, as for all solvers."""
        if not self.cfg.transport_extrapolate:
            return self._advance_once(u, dt)
        one, half = u.copy(), u.copy()
        for state, steps in ((one, [dt]), (half, [0.5 * dt, 0.5 * dt])):
            for h in steps:
                ok, nodes, values = self._advance_once(state, h)
                if not ok:
                    return False, None, None
                state[:, nodes] = values.T
        x = 2.0 * half - one
        changed = np.flatnonzero(np.any(x != u, axis=0))
        if x[:, changed].min(initial=0.0) < -self.cfg.negative_tolerance * self.organ.capacity:
            self.stats["transport_fallbacks"] += 1
            x = half
            changed = np.flatnonzero(np.any(x != u, axis=0))
        return True, changed, x[:, changed].T

    def _advance_once(self, u: np.ndarray, dt: float):
        """One backward Euler step (the module docstring) from the node arrays u (K, N): (ok, active nodes,
        their new clone values (len(active), K))."""
        U0 = u.sum(axis=0)
        r = self._active(U0)
        if r is None:
            return True, np.zeros(0, dtype=np.int64), np.zeros((0, u.shape[0]))
        nodes = r.nodes
        U0r = U0[nodes]
        ok, U, flow = self._total(r, U0r, dt)
        if not ok:
            return False, None, None
        r.gmres.set_operator(self.clone_matrix(r, flow, U))
        try:
            out = np.empty((nodes.size, u.shape[0]))
            for c in range(u.shape[0]):
                uc = u[c, nodes]
                guess = np.divide(uc * U, U0r, out=np.zeros(nodes.size), where=U0r > 0)
                out[:, c], its, ok = r.gmres.solve(r.m * uc, guess)
                self.stats["transport_iterations"] += its
                if not ok:
                    return False, None, None
        finally:
            r.gmres.release_operator()
        return True, nodes, out

    def _total(self, r: Region, Un: np.ndarray, dt: float):
        """(converged, U, edge fluxes): the total's backward Euler step F(U) = 0 (module docstring) by damped
        Newton from Uⁿ. The fluxes (cells moved over the step from j into i of each edge (i, j)) carry the
        clones."""
        m, i, j, w = r.m, r.i, r.j, dt * r.w

        def residual(U):
            phi = sum(term.potential(U, r.ctx) for term in self.terms)
            flow = w * (phi[j] - phi[i])
            return m * (U - Un) - np.bincount(i, flow, len(U)) + np.bincount(j, flow, len(U)), flow

        tol = self.cfg.transport_tol * float(np.dot(m, Un))
        # the solution lies in [0, max Uⁿ] (maximum principle): so do the iterates; a node that starts below 0
        # (an undershoot another sub-step left) keeps its value, which is its solution when nothing flows in
        low, top = np.minimum(Un, 0.0), float(Un.max(initial=0.0))
        U = Un
        F, flow = residual(U)
        norm = float(np.abs(F).sum())
        try:
            for it in range(self.cfg.transport_iterations + 1):
                if norm <= tol or it == self.cfg.transport_iterations:
                    break
                D = sum(term.diffusivity(U, r.ctx) for term in self.terms)
                wi, wj = w * D[i], w * D[j]  # ∂F/∂U: column k of K scaled by D(Uₖ)
                r.newton.set_operator(r.jacobian.assemble(np.concatenate([-wj, -wi, wi, wj]), m))
                dU, its, ok = r.newton.solve(-F, np.zeros_like(U))
                self.stats["transport_iterations"] += its
                self.stats["transport_newton_steps"] += 1
                if not ok:
                    break
                damping = 1.0
                while True:  # backtracking: the full step first, then halves while ‖F‖₁ does not decrease
                    trial = np.clip(U + damping * dU, low, top)
                    F_t, flow_t = residual(trial)
                    norm_t = float(np.abs(F_t).sum())
                    if norm_t < norm or damping <= MIN_DAMPING:
                        break
                    damping *= 0.5
                if not norm_t < norm:  # stalled (or not finite): fail now, the step is retried at dt/2
                    break
                U, F, flow, norm = trial, F_t, flow_t, norm_t
        finally:
            r.newton.release_operator()
        return norm <= tol, U, flow

    def _geometry(self, cells: np.ndarray):
        """Edges of the active cells (node pairs, lexicographic), each cell's 6 edge ids among them, and
        ∫_K ∇φⱼ·∇φₖ per cell edge. The mesh's edge numbering (OrganNodes) gives the active edges in order without
        sorting; the per-cell integrals are computed the first time a cell is active and kept (the mesh is fixed).
        They are stored compactly, for the cells ever active only: a sparse np.empty over all cells is not cheaper
        where transparent huge pages are on (numpy asks for them above 4 MiB; one active cell then makes a whole
        2 MiB page resident)."""
        if not hasattr(self, "_row"):
            self._row = np.full(len(self.tets), -1, dtype=np.int32)  # of each cell in _k_edge, −1 until active
            self._k_edge = np.zeros((0, 6))
        new = cells[self._row[cells] < 0]
        if len(new):
            self._row[new] = np.arange(len(self._k_edge), len(self._k_edge) + len(new))
            self._k_edge = np.concatenate([self._k_edge, edge_stiffness(self.points, self.tets[new])])
        numbers = self.cell_edges[cells]
        used = np.zeros(len(self.edges), dtype=bool)
        used[numbers] = True
        position = np.cumsum(used, dtype=np.int32) - 1  # of each used edge among the used ones: the rank np.unique gives
        return self.edges[used], position[numbers], self._k_edge[self._row[cells]]

    @staticmethod
    def clone_matrix(r: Region, flow: np.ndarray, U: np.ndarray):
        """T = M + upwind transport with the total's edge fluxes (cells over the step, > 0: from j into i), CSR."""
        i, j = r.i, r.j
        into_i, into_j = flow > 0, flow < 0
        Ui, Uj = np.where(U[i] > 0, U[i], 1.0), np.where(U[j] > 0, U[j], 1.0)
        f_ji = np.where(into_i, flow / Uj, 0.0)               # coefficient of u_j in row i
        f_ij = np.where(into_j, -flow / Ui, 0.0)              # coefficient of u_i in row j
        # off-diagonal inflows; diagonal outflows
        return r.clone.assemble(np.concatenate([-f_ji, -f_ij, f_ji, f_ij]), r.m)
