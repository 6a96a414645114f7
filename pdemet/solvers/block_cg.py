"""Block Jacobi-CG: the CG solves of all clones of a group side by side, one matrix read per iteration.

Clones with the same operator share M + θ·dt·A; their CG iterations run on the columns of a dense
block, so each iteration reads the sparse matrix once for all of them (one MatMatMult) and makes two
reductions in all. Each column follows PETSc's KSPCG/PCJacobi arithmetic, so the result is that of one
KSP solve per clone to round-off. PETSc's own multi-right-hand-side ``KSPMatSolve`` batches only for
HPDDM, which the PyPI PETSc lacks; hence this loop.
"""

from __future__ import annotations

import math

import numpy as np

from pdemet.backend import MPI, PETSc


class GroupOperator:
    """Linear-step data of one clone group and dt: M + θ·dt·A, M − (1−θ)·dt·A and their solver."""

    __slots__ = ("lhs", "rhs", "ksp", "dinv", "Bm", "Wm", "B", "b", "w")

    def destroy(self):
        for obj in (self.ksp, self.lhs, self.rhs, self.Bm, self.Wm, self.dinv, *(self.b or ()), *(self.w or ())):
            if obj is not None:
                obj.destroy()


def columns(dense) -> list:
    """Sequential PETSc vectors sharing memory with the local columns of a dense matrix."""
    arr = dense.getDenseArray()  # (n_local, m), column-major: each column is contiguous
    return [PETSc.Vec().createWithArray(arr[:, c], comm=PETSc.COMM_SELF) for c in range(arr.shape[1])]


class Block:
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
        self.x, self.p = columns(self.Xm), columns(self.Pm)
        self.X = self.Xm.getDenseArray()  # (n_local, m) view
        self.z = [PETSc.Vec().createSeq(n_loc, comm=PETSc.COMM_SELF) for _ in range(m)]


def block_cg(lhs, blk, op, rtol, comm, max_it=10000, divtol=1e5):
    """Solve lhs·x_c = b_c for every clone column c of the block, x_c holding the initial guesses.

    Per column this is PETSc's KSPCG with PCJacobi, unpreconditioned residual norm, nonzero initial
    guess and KSPConvergedDefault (‖r‖ ≤ max(rtol·‖b‖, atol), divergence above 1e5·‖b‖, NaN and
    indefinite-matrix checks), with the same vector kernels on the local parts. What differs: one
    MatMatMult per iteration reads the matrix once for all columns, and the dot products of all
    columns are summed over ranks together (two reductions per iteration in all). A column stops
    when it has converged. Returns (ok, total iterations over the columns).

    One function of ~90 lines on purpose: it is PETSc's KSPSolve_CG loop, statement for statement, with
    a column index added; split into pieces it could no longer be checked against PETSc's source.
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
