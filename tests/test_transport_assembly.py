"""The transport step's fast assembly is bitwise scipy's; its regions are let go in time."""

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
    layouts = {  # the transport step's two layouts: the Newton Jacobian's and the clone matrix's
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


@pytest.mark.parametrize("doubling", [False, True])
def test_no_more_than_the_kept_regions_are_alive_at_once(monkeypatch, doubling):
    """A new active region is built after the regions beyond the cache are let go, so at most ``keep`` of them
    (index arrays, CSR layouts, PETSc factorizations: ~1.2 KiB per node each) are alive at once; their
    indices are int32."""
    import weakref

    import pdemet.solvers.transport as T
    from benchmarks.adaptive import focus_scenario
    from pdemet.simulation import Simulation

    made, alive_before, steps, dtypes = [], [], set(), set()
    init = T.Region.__init__

    def probe(self, step, cells):
        alive_before.append((sum(r() is not None for r in made), step.keep, id(step) in steps))
        steps.add(id(step))
        init(self, step, cells)
        made.append(weakref.ref(self))
        dtypes.update(a.dtype for a in (self.i, self.jacobian.pos, self.jacobian.slot, self.clone.pos))

    monkeypatch.setattr(T.Region, "__init__", probe)
    scenario = focus_scenario(0.04)
    scenario["simulation"]["t_end"] = 2.0
    if doubling:
        scenario["simulation"]["time_rtol"] = 1e-3
    Simulation.from_dict(scenario).run()
    assert sum(again for *_, again in alive_before) >= 2, alive_before  # rebuilt on the same step's cache
    assert all(alive < keep for alive, keep, _ in alive_before), alive_before
    assert {k for _, k, _ in alive_before} == ({3} if doubling else {1})
    assert dtypes == {np.dtype(np.int32)}
