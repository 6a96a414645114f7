"""The transport part of a splitting step: ∂uᵢ/∂t = ∇·(uᵢ ∇p(U)) for the ``Transport`` terms (pressure).

Summed over the clones this is the porous-medium equation ∂U/∂t = ∇·(D(U)∇U), D(U) = U p'(U). One step:

1. the total, linearly implicit with the diffusivity lagged (Picard iterations on it):
       (M + dt·L[D(Uᵏ)]) Uᵏ⁺¹ = M Uⁿ,
   M the lumped mass, L the P1 stiffness matrix of ∫ D ∇φⱼ·∇φₖ made an M-matrix by algebraic upwinding
   (Kuzmin, J Comput Phys 228:2517, 2009: positive off-diagonal entries are dropped, rows still sum to
   zero). Hence Uⁿ⁺¹ ≥ 0, cells conserved, a discrete maximum principle (U ≤ max Uⁿ): no clipping.
2. each clone, carried by the total's fluxes gⱼₖ = Wⱼₖ (Uₖ − Uⱼ) (W = −offdiag L ≥ 0) with the upwind
   clone fraction, implicitly:  T uᵢⁿ⁺¹ = M uᵢⁿ,
       Tⱼⱼ = mⱼ + dt Σₖ Wⱼₖ (Uⱼ − Uₖ)₊/Uⱼ,   Tⱼₖ = −dt Wⱼₖ (Uₖ − Uⱼ)₊/Uₖ.
   T is an M-matrix with column sums mₖ: every clone stays ≥ 0, keeps its cells, and Σᵢ uᵢⁿ⁺¹ = Uⁿ⁺¹.

Only the tumor moves: the systems are solved on the active region (the nodes of cells where D > 0), which
is small next to the organ, on rank 0 from the node arrays in the mesh's original order (like the cluster
flux), so the step is the same to the bit on any number of MPI ranks. P1 elements only (nodal scheme).
"""

from __future__ import annotations

import time as _time

import numpy as np
from scipy.sparse import coo_matrix, diags

from pdemet.backend import PETSc
from pdemet.solvers.common import TermsByKind
from pdemet.terms import Context, NumpyOps


def edge_stiffness(points: np.ndarray, tets: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
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


class TransportStep:
    def __init__(self, terms: TermsByKind, stats: dict, nodes, gatherer):
        """``nodes``/``gatherer``: the organ's OrganNodes and FieldGatherer (rank-0 node arrays)."""
        organ = self.organ = terms.organ
        if organ.degree != 1:
            raise ValueError("the pressure (transport) terms need element_degree = 1")
        self.terms, self.cfg, self.stats, self.g = terms.transports, terms.cfg, stats, gatherer
        self.rank0 = organ.comm.rank == 0
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

    def _advance(self, u: np.ndarray, dt: float):
        """(ok, active nodes, new clone values (len(active), K)) from the node arrays u (K, N)."""
        U0 = u.sum(axis=0)
        # The active region: cells with a node above 1e-9 κ. (The inverse of an M-matrix is positive, so
        # every solve leaves astronomically small values one layer further out; counting those as tumor
        # would grow the region by a layer a step for nothing: with m ≥ 1 they do not move.)
        hot = U0 > ACTIVE * self.organ.capacity
        cells = np.flatnonzero(hot[self.tets].view(np.uint32).ravel())  # cells with a hot node (4 flags as one word)
        if cells.size == 0:
            return True, np.zeros(0, dtype=np.int64), np.zeros((0, u.shape[0]))
        touched = np.zeros(len(U0), dtype=bool)
        touched[self.tets[cells]] = True
        nodes = np.flatnonzero(touched)
        local = np.full(len(U0), -1, dtype=np.int64)
        local[nodes] = np.arange(nodes.size)
        m = self.m[nodes]
        Uk = U0[nodes]
        edges, cell_edges, k_edge = self._geometry(cells)
        i, j = local[edges[:, 0]], local[edges[:, 1]]
        for _ in range(max(1, self.cfg.transport_iterations)):
            U_full = U0.copy()
            U_full[nodes] = Uk
            w = self._weights(U_full, cells, cell_edges, k_edge, len(edges))
            S = self._laplacian(i, j, dt * w, nodes.size) + diags(m)
            new, ok = self._cg(S, m * U0[nodes], Uk)
            if not ok:
                return False, None, None
            change = float(np.max(np.abs(new - Uk)))
            Uk = new
            self.stats["picard_iterations"] += 1
            if change <= self.cfg.transport_tol * self.organ.capacity:
                break
        T = self._clone_matrix(i, j, dt * w, Uk, m)
        out = np.empty((nodes.size, u.shape[0]))
        for c in range(u.shape[0]):
            guess = np.divide(u[c, nodes] * Uk, U0[nodes], out=np.zeros(nodes.size), where=U0[nodes] > 0)
            out[:, c], ok = self._gmres(T, m * u[c, nodes], guess)
            if not ok:
                return False, None, None
        return True, nodes, out

    def _geometry(self, cells: np.ndarray):
        """Edges of the active cells (node pairs, lexicographic), each cell's 6 edge ids among them, and
        ∫_K ∇φⱼ·∇φₖ per cell edge. The mesh's edge numbering (OrganNodes) gives the active edges in order without
        sorting; the per-cell integrals are computed the first time a cell is active and kept (the mesh is fixed)."""
        if not hasattr(self, "_row"):
            self._row = np.full(len(self.tets), -1, dtype=np.int32)  # of each cell in _k_edge, −1 until active
            self._k_edge = np.zeros((0, 6))                           # only the cells ever active (memory)
        new = cells[self._row[cells] < 0]
        if len(new):
            self._row[new] = np.arange(len(self._k_edge), len(self._k_edge) + len(new))
            self._k_edge = np.concatenate([self._k_edge, edge_stiffness(self.points, self.tets[new])])
        numbers = self.cell_edges[cells]
        used = np.zeros(len(self.edges), dtype=bool)
        used[numbers] = True
        position = np.cumsum(used) - 1  # of each used edge among the used ones: the rank np.unique would give
        return self.edges[used], position[numbers], self._k_edge[self._row[cells]]

    def _weights(self, U: np.ndarray, cells: np.ndarray, cell_edges, k_edge, n_edges):
        """Upwinded weights Wⱼₖ = max(−Lⱼₖ, 0) of the active cells' edges."""
        D = sum(term.diffusivity(U, self.ctx) for term in self.terms)
        e = k_edge * D[self.tets[cells]].mean(axis=1)[:, None]  # mean_K(D)·∫_K ∇φⱼ·∇φₖ (exact, P1 D)
        L = np.bincount(cell_edges.ravel(), weights=e.ravel(), minlength=n_edges)
        return np.maximum(-L, 0.0)

    @staticmethod
    def _laplacian(i, j, w, n):
        """Graph Laplacian Σ wⱼₖ (eⱼ − eₖ)(eⱼ − eₖ)ᵀ of the weighted edges, CSR."""
        rows = np.concatenate([i, j, i, j])
        cols = np.concatenate([j, i, i, j])
        vals = np.concatenate([-w, -w, w, w])
        return coo_matrix((vals, (rows, cols)), shape=(n, n)).tocsr()

    @staticmethod
    def _clone_matrix(i, j, w, U, m):
        """T = M + upwind transport with the total's fluxes (w already multiplied by dt)."""
        flow = w * (U[j] - U[i])                              # > 0: from j into i
        into_i, into_j = flow > 0, flow < 0
        Ui, Uj = np.where(U[i] > 0, U[i], 1.0), np.where(U[j] > 0, U[j], 1.0)
        f_ji = np.where(into_i, flow / Uj, 0.0)               # coefficient of u_j in row i
        f_ij = np.where(into_j, -flow / Ui, 0.0)              # coefficient of u_i in row j
        n = len(U)
        rows = np.concatenate([i, j, j, i])
        cols = np.concatenate([j, i, j, i])
        vals = np.concatenate([-f_ji, -f_ij, f_ji, f_ij])     # off-diagonal inflows; diagonal outflows
        return (coo_matrix((vals, (rows, cols)), shape=(n, n)) + diags(m)).tocsr()

    def _cg(self, A, b, x0):
        return self._solve(A, b, x0, "cg", "icc")

    def _gmres(self, A, b, x0):
        return self._solve(A, b, x0, "gmres", "ilu")

    def _solve(self, A, b, x0, kind, pc):
        """A sequential PETSc solve (rank 0): CG with incomplete Cholesky for the symmetric total, GMRES with
        ILU(0) for the clones (both M-matrices, where incomplete factorizations do well)."""
        A = A.tocsr()
        A.sum_duplicates()  # PETSc's CSR wants one, sorted, entry per column
        A.sort_indices()
        M = PETSc.Mat().createAIJ(size=A.shape, csr=(A.indptr.astype(PETSc.IntType), A.indices.astype(PETSc.IntType),
                                                    A.data), comm=PETSc.COMM_SELF)
        ksp = PETSc.KSP().create(PETSc.COMM_SELF)
        ksp.setOperators(M)
        ksp.setType(kind)
        ksp.getPC().setType(pc)
        ksp.setTolerances(rtol=self.cfg.rtol, atol=0.0, max_it=10000)
        ksp.setInitialGuessNonzero(True)
        x = PETSc.Vec().createWithArray(np.array(x0, dtype=float), comm=PETSc.COMM_SELF)
        rhs = PETSc.Vec().createWithArray(np.asarray(b, dtype=float), comm=PETSc.COMM_SELF)
        ksp.solve(rhs, x)
        self.stats["transport_iterations"] += ksp.getIterationNumber()
        ok = ksp.getConvergedReason() > 0
        out = x.getArray().copy()
        for obj in (ksp, M, x, rhs):
            obj.destroy()
        return out, ok
