"""The cheaper re-adaptation computes what the straightforward code computed, to the bit: the refinement
against the reference Rivara loop (every edge recomputed every pass), the edge numbering against np.unique,
the mesh from rank 0's arrays against DOLFINx's create_mesh, the gatherer built from the refinement's arrays
against the gathered one (1 and 2 ranks), and the old organ is let go before the new mesh is made."""

import subprocess
import sys
import weakref

import numpy as np

from pdemet.meshes import adapt as A
from pdemet.meshes.geometry import edge_numbering

from conftest import ROOT, VENV_BIN


def _lung():
    from pdemet.backend import MPI
    from pdemet.meshes.msh import read_quietly

    m = read_quietly(str(ROOT / "meshes" / "lung.msh"), MPI.COMM_SELF).mesh
    return m.geometry.x[:, :3].copy(), m.geometry.dofmaps[0].astype(np.int64).copy()


class _Reference(A.Refinement):
    """The refinement as first written: Rivara's loop recomputes every hit cell's edges each pass, centroids
    are kept per leaf, the canonical order is a 4-key lexsort."""

    def __init__(self, points, tets):
        super().__init__(points, tets)
        self.centroid = self.pts[0][self.cells].mean(axis=1)

    def refine(self, targets, size, grading=1.0, ratio=1.4, max_levels=12):
        before = len(self.pts[0])
        if not len(targets):
            return False
        base_h = A.cell_sizes(self.pts[0], self.base_tets)
        base_c = self.pts[0][self.base_tets].mean(axis=1)
        reach = (base_h.max() / ratio - size) / grading
        candidate = np.isfinite(targets.distance(base_c, beyond=reach + base_h.max()))
        recent = candidate.copy()
        for level in range(max_levels):
            coarse_leaf = self.h > ratio * size
            near = np.flatnonzero(coarse_leaf & (candidate if level == 0 else recent)[self.base])
            h = self.h[near]
            d = A._binned_distance(targets, self.centroid[near], (h / ratio - size) / grading)
            mark = np.zeros(len(self.cells), dtype=bool)
            mark[near] = h > ratio * (size + grading * np.maximum(d - 0.5 * h, 0.0))
            if not np.any(mark):
                break
            a, b = A._edge_ends(self.cells[mark])
            recent[:] = False
            self.split(a, b, recent)
        return len(self.pts[0]) > before

    def split(self, a, b, dirty_out=None):
        a, b = np.asarray(a, dtype=np.int64).ravel(), np.asarray(b, dtype=np.int64).ravel()
        pending = np.unique(A.Midpoints.key(a, b))
        pending = pending[self.mids.find(pending >> np.int64(32), pending & np.int64(0xFFFFFFFF)) < 0]
        if not len(pending):
            return
        x = self.pts[0]
        while True:
            at_end = np.zeros(len(x), dtype=bool)
            at_end[pending >> np.int64(32)] = at_end[pending & np.int64(0xFFFFFFFF)] = True
            hit = np.flatnonzero(np.any(at_end[self.cells], axis=1))
            ca, cb = A._edge_ends(self.cells[hit])
            k = A.Midpoints.key(ca, cb)
            pos = np.minimum(np.searchsorted(pending, k), len(pending) - 1)
            is_pending = pending[pos] == k
            length = np.linalg.norm(x[ca] - x[cb], axis=2)
            r = np.arange(len(hit))
            top = np.argmax(length, axis=1)
            best = np.max(np.where(is_pending, length, 0.0), axis=1)
            need = np.any(is_pending, axis=1) & ~is_pending[r, top] & (best < A.SLIVER_RATIO * length[r, top])
            if not np.any(need):
                break
            pending = np.union1d(pending, A.Midpoints.key(ca[r, top][need], cb[r, top][need]))
        self.mids.split(pending >> np.int64(32), pending & np.int64(0xFFFFFFFF), self.pts)
        cut = hit[np.any(is_pending, axis=1)]
        if dirty_out is not None:
            dirty_out[self.base[cut]] = True
        cells, base = A._bisected(self.cells[cut], self.mids, self.pts[0])
        keep = np.ones(len(self.cells), dtype=bool)
        keep[cut] = False
        self.centroid = np.concatenate([self.centroid[keep], self.pts[0][cells].mean(axis=1)])
        self._replace(cut, cells, self.base[cut][base])

    def mesh(self):
        used = np.zeros(len(self.pts[0]), dtype=bool)
        used[self.cells.ravel()] = True
        used[: self.n_base] = True
        new_id = np.cumsum(used) - 1
        cells = new_id[self.cells]
        order = np.lexsort(np.sort(cells, axis=1).T[::-1])
        return self.pts[0][used], cells[order], self.base[order], np.flatnonzero(used)


def test_refinement_is_the_reference_refinement_to_the_bit():
    """Growing targets, re-refined five times (as a run re-adapts): the same meshes, bit for bit."""
    X, C = _lung()
    rng = np.random.default_rng(3)
    centers = X[C[rng.choice(len(C), 6, replace=False)]].mean(axis=1)
    fast, ref = A.Refinement(X, C), _Reference(X, C)
    for step in range(5):
        targets = A.Targets(centers + 0.01 * step, np.full(len(centers), 0.02 + 0.02 * step))
        assert fast.refine(targets, size=0.015) == ref.refine(targets, size=0.015)
        for a, b in zip(fast.mesh(), ref.mesh()):
            assert a.dtype == b.dtype and np.array_equal(a, b)
    print(f"{len(fast.mesh()[1])} cells after 5 refinements, identical to the reference")


def test_edge_numbering_is_that_of_np_unique():
    X, C = _lung()
    edges, cell_edges = edge_numbering(C)
    a, b = np.triu_indices(4, 1)
    lo, hi = np.minimum(C[:, a], C[:, b]), np.maximum(C[:, a], C[:, b])
    _, inverse = np.unique((lo.astype(np.int64) << 32 | hi).ravel(), return_inverse=True)
    pairs = np.sort(C[:, np.stack([a, b], axis=1)], axis=2).reshape(-1, 2)
    assert np.array_equal(edges, np.unique(pairs, axis=0)) and np.array_equal(cell_edges.ravel(), inverse)
    assert np.array_equal(edges[cell_edges[:, 0]], np.sort(C[:, :2], axis=1))


def test_transport_geometry_is_that_of_np_unique():
    """The active cells' edges and their numbering among them, by the mesh's edge numbering (no sort)."""
    from pdemet.solvers.transport import TransportStep, edge_stiffness

    X, C = _lung()
    step = TransportStep.__new__(TransportStep)
    step.points, step.tets = X, C
    step.edges, step.cell_edges = edge_numbering(C)
    rng = np.random.default_rng(0)
    for n in (1, 50, len(C) // 3):
        cells = np.sort(rng.choice(len(C), n, replace=False))
        edges, ids, k = step._geometry(cells)
        a, b = np.triu_indices(4, 1)
        t = C[cells]
        uniq, inv = np.unique((np.minimum(t[:, a], t[:, b]).astype(np.int64) << 32 | np.maximum(t[:, a], t[:, b])).ravel(),
                              return_inverse=True)
        assert np.array_equal(edges, np.stack([uniq >> 32, uniq & 0xFFFFFFFF], axis=1))
        assert np.array_equal(ids, inv.reshape(-1, 6))
        assert np.array_equal(k, edge_stiffness(X, t))


_MESH_SCRIPT = """
import numpy as np
from pdemet.backend import MPI, mesh as dmesh
import basix.ufl
from pdemet.adaptive import OrganRefinement
from pdemet.meshes.adapt import Targets
from pdemet.nodes import FieldGatherer
from pdemet.organ import Organ, mesh_from_arrays
from pdemet.scenario import parse_scenario
comm = MPI.COMM_WORLD
sc = parse_scenario({{"simulation": {{"t_end": 1.0, "dt": 0.5, "output_every": 1.0}}, "clones": {{"names": ["a"]}},
                      "organs": {{"box": {{"role": "primary", "box": [1.0, 1.0, 1.0], "cells": [3, 3, 3],
                                  "terms": ["pressure"]}}}}}}, ".")
cfg = sc.organs["box"]
base = dmesh.create_box(MPI.COMM_SELF, [[0, 0, 0], [1, 1, 1]], [3, 3, 3], dmesh.CellType.tetrahedron)
ref = OrganRefinement(cfg.adapt, base.geometry.x.copy(), base.geometry.dofmaps[0].astype(np.int64))
ref.refine(Targets(np.array([[0.3, 0.4, 0.5]]), np.array([0.2])))
points, tets = (ref.points, ref.tets) if comm.rank == 0 else (np.zeros((0, 3)), np.zeros((0, 4), dtype=np.int64))
fast = mesh_from_arrays(comm, points, tets)
element = basix.ufl.element("Lagrange", "tetrahedron", 1, shape=(3,))
plain = dmesh.create_mesh(comm, tets, element, points)
same = all(np.array_equal(a, b) for a, b in (
    (fast.geometry.x, plain.geometry.x), (fast.geometry.dofmaps[0], plain.geometry.dofmaps[0]),
    (fast.geometry.input_global_indices, plain.geometry.input_global_indices),
    (fast.topology.original_cell_index, plain.topology.original_cell_index)))
organ = Organ(cfg, ["a"], comm, mesh=fast)
g1, g2 = FieldGatherer(organ, (ref.points, ref.tets) if comm.rank == 0 else ()), FieldGatherer(organ)
if comm.rank == 0:
    same &= all(np.array_equal(getattr(g1, k), getattr(g2, k)) for k in ("points", "tets", "uniq", "_gather_pos"))
same = comm.allreduce(int(same), op=MPI.MIN)
if comm.rank == 0:
    print("SAME" if same else "DIFFERENT", len(ref.points))
"""


def test_mesh_and_gatherer_from_arrays_on_one_and_two_ranks():
    for ranks in (1, 2):
        cmd = [str(VENV_BIN / "mpiexec"), "-n", str(ranks), sys.executable, "-c", _MESH_SCRIPT.format()]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
        assert r.returncode == 0, r.stderr[-2000:]
        assert r.stdout.split()[0] == "SAME", (ranks, r.stdout)


def test_the_old_mesh_is_let_go_before_the_new_one_is_made(monkeypatch):
    """Two meshes of an organ are never held at once: when the new mesh is made, the old organ, its mesh,
    fields and solver are gone (no garbage collection needed)."""
    import pdemet.readaptation as R
    from pdemet.simulation import Simulation

    from test_adapt import _site_scenario

    sim = Simulation.from_dict(_site_scenario())
    seen = []
    make = R.mesh_from_arrays

    def probe(comm, points, tets):
        seen.append([r() is None for r in refs])
        return make(comm, points, tets)

    monkeypatch.setattr(R, "mesh_from_arrays", probe)
    while len(seen) < 2 and sim.t < sim.cfg.t_end - 1e-9:
        o = sim.organs["lung"]
        refs = [weakref.ref(x) for x in (o, o.mesh, o.V, o.clones[0], sim.solvers["lung"])]
        del o
        sim.advance(sim.cfg.t_end)
    assert seen and all(all(s) for s in seen), seen


def test_lumped_masses_in_chunks_are_those_of_one_pass():
    from pdemet.adaptive import lumped_masses

    X, C = _lung()
    d = X[C[:, 1:]] - X[C[:, :1]]
    vol = np.abs(np.einsum("ij,ij->i", d[:, 0], np.cross(d[:, 1], d[:, 2]))) / 6.0
    one_pass = np.bincount(C.ravel(), weights=np.repeat(vol / 4.0, 4), minlength=len(X))
    assert np.array_equal(lumped_masses(X, C, chunk=1000), one_pass) and np.array_equal(lumped_masses(X, C), one_pass)
