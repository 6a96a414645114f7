"""The transport step's fast assembly is bitwise scipy's, and the step is bitwise the reference implementation."""

import numpy as np
import pytest
from scipy.sparse import coo_matrix, diags

from pdemet.solvers.edge_csr import EdgeCSR


def _edges(rng, n, degree):
    """Unique edges i < j of a random graph whose rows hold up to ~2·degree entries (std::sort partitions
    rows above 16 entries, so both of its code paths are exercised)."""
    i = np.concatenate([np.arange(n - 1), rng.integers(0, n, n * degree)])  # a path: every node has an edge
    j = np.concatenate([np.arange(1, n), rng.integers(0, n, n * degree)])
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    key = np.unique(lo[lo != hi] * n + hi[lo != hi])
    return key // n, key % n


@pytest.mark.parametrize("degree", [3, 12, 40])
def test_edge_csr_is_scipys_coo_to_csr_bit_for_bit(degree):
    rng = np.random.default_rng(degree)
    n = 300
    i, j = _edges(rng, n, degree)
    m = rng.uniform(0.5, 2.0, n)
    w = rng.uniform(0.0, 1.0, len(i)) * rng.uniform(1e-8, 1e3, len(i))
    w[rng.random(len(i)) < 0.2] = 0.0  # dropped off-diagonals (w = 0 gives -0.0 entries: dropped too)
    layouts = {  # the transport step's two layouts: the Picard Laplacian and the clone matrix
        "laplacian": ((np.concatenate([i, j, i, j]), np.concatenate([j, i, i, j])), np.concatenate([-w, -w, w, w])),
        "clones": ((np.concatenate([i, j, j, i]), np.concatenate([j, i, j, i])),
                   np.concatenate([-w, -w[::-1], w, w[::-1]])),
    }
    first = None
    for name, ((rows, cols), vals) in layouts.items():
        ref = (coo_matrix((vals, (rows, cols)), shape=(n, n)).tocsr() + diags(m)).tocsr()
        first = EdgeCSR(rows, cols, n, same_entries=first)  # the clone layout shares the Laplacian's pattern
        indptr, indices, data = first.assemble(vals, m)
        assert np.array_equal(indptr, ref.indptr) and np.array_equal(indices, ref.indices), name
        assert data.tobytes() == ref.data.tobytes(), name
        if name == "laplacian" and degree == 40:  # the order matters: summed in row order, some bits differ
            naive = np.bincount(np.concatenate([i, j]), weights=np.concatenate([w, w]), minlength=n) + m
            assert np.any(naive != ref.diagonal())
