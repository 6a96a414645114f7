"""Matrices on the edges of a node graph, assembled straight into CSR with the bits scipy would give.

The transport step (:mod:`pdemet.solvers.transport`) builds its M-matrices (a Newton Jacobian per Newton step and the
clone matrix per step) on the same edges (i, j) of its active region. It first wrote each as a COO matrix
and let scipy turn it into CSR: ``(coo_matrix((vals, (rows, cols))).tocsr() + diags(m))``. scipy does that
in three passes — a stable bucket sort of the entries by row (``coo_tocsr``), an *unstable* ``std::sort`` of
each row by column (``csr_sort_indices``; it compares columns only, so where the duplicates of an entry end up
depends on the column pattern alone, never on the values) and a left-to-right sum of the duplicates
(``csr_sum_duplicates``) — then adds the diagonal (``csr_plus_csr``, one addition per entry) and drops every
entry that adds up to exactly zero. Floating-point sums depend on their order, and the incomplete
factorizations (ICC, ILU(0)) on the pattern, so a faster assembly must keep both.

``EdgeCSR`` replays scipy once per COO layout: it sends the entries' *positions* through the same scipy
routines (without the summation) and records, for every entry of the summed pattern, which COO values are
added into it in which order. A new matrix on that layout is then a gather and one ``np.bincount`` (a
left-to-right sum as well) — bitwise the matrix scipy builds (tests/test_transport_assembly.py), at a
fraction of the cost.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix


def index_dtype(n: int):
    """int32 for indices below 2³¹ (half the memory of numpy's default int64; the transport step's active region
    holds several arrays of them), int64 beyond."""
    return np.int32 if n < 2**31 - 1 else np.int64


class EdgeCSR:
    """The CSR assembly of ``coo_matrix((vals, (rows, cols)), (n, n)).tocsr() + diags(diag)`` with ``diag`` > 0,
    replayed for new values on the same (rows, cols)."""

    def __init__(self, rows: np.ndarray, cols: np.ndarray, n: int, same_entries: EdgeCSR | None = None):
        """``same_entries``: a layout of the same (row, col) pairs in another order (the transport step's two
        matrices): the sorted pattern is the same, only the order of the duplicates differs."""
        probe = coo_matrix((np.arange(len(rows), dtype=np.float64), (rows, cols)), shape=(n, n))
        probe.has_canonical_format = True  # tocsr then skips the summation: the values stay the COO positions
        probe = probe.tocsr()
        probe.sort_indices()  # scipy's std::sort of every row: the order in which duplicates are summed
        idx = index_dtype(len(rows))
        self.pos = probe.data.astype(idx)  # COO positions in summation order …
        indptr, col = probe.indptr, probe.indices
        del probe  # its float copy of the positions
        self.n = n
        if same_entries is not None:
            self.slot, self.row, self.col, self.diag = (same_entries.slot, same_entries.row, same_entries.col,
                                                        same_entries.diag)
            return
        row = np.repeat(np.arange(n, dtype=col.dtype), np.diff(indptr))
        first = np.ones(len(col), dtype=bool)
        first[1:] = (row[1:] != row[:-1]) | (col[1:] != col[:-1])
        self.slot = np.cumsum(first, dtype=idx) - 1  # … and the entry of the summed pattern each one is added to
        self.row, self.col = row[first], col[first]
        self.diag = np.flatnonzero(self.row == self.col).astype(idx)
        if not np.array_equal(self.row[self.diag], np.arange(n)):
            raise ValueError("every row needs a diagonal entry in the COO layout")

    def assemble(self, vals: np.ndarray, diag: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(indptr, indices, data) of the matrix with COO values ``vals`` plus ``diag`` on the diagonal."""
        # bincount adds the weights one by one in their order (from +0.0, which changes no sum but −0.0,
        # and a −0.0 entry is dropped below as scipy drops it): csr_sum_duplicates' left-to-right sums
        data = np.bincount(self.slot, weights=vals[self.pos], minlength=len(self.row))
        data[self.diag] += diag
        keep = data != 0  # csr_plus_csr keeps only nonzero results (-0.0 == 0 too)
        if keep.all():
            rows, indices = self.row, self.col
        else:
            rows, indices, data = self.row[keep], self.col[keep], data[keep]
        indptr = np.zeros(self.n + 1, dtype=indices.dtype)
        np.cumsum(np.bincount(rows, minlength=self.n), out=indptr[1:])
        return indptr, indices, data
