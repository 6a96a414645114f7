"""Adaptive resolution: each organ with ``[organs.NAME.adapt]`` on is refined locally where there is tumor.

Rank 0 keeps the organ's refinement (a set of split edges of the base mesh, :mod:`pdemet.meshes.adapt`) and
decides where the mesh must be fine: around every tumor node (``where = "tumor"``, sites: foci and their
founder cells) or around the edge of the tumor (``"front"``, the primary), out to ``padding`` mm, and
around the points where clusters are about to seed. Refinement only adds cells (the tumor of a site does
not move away), so the fields move to the new mesh exactly: a new vertex is the midpoint of an edge of
the old mesh and takes the mean of its ends, which is the old P1 field itself. The lumped cell totals
change by O(h²) under refinement; the values of the vertices whose lumped mass changed are scaled, clone
by clone, so that every clone keeps its cells to round-off.
"""

from __future__ import annotations

import numpy as np

from pdemet.meshes.adapt import Refinement, Targets


def lumped_masses(points: np.ndarray, tets: np.ndarray, chunk: int = 1 << 18) -> np.ndarray:
    """∫φⱼ dx of every vertex of a P1 mesh: a quarter of the volume of each cell around it. (The volumes are
    computed ``chunk`` cells at a time, each row alone, so the temporaries stay small; one bincount sums them.)"""
    vol = np.empty(len(tets))
    for s in range(0, len(tets), chunk):
        t = tets[s:s + chunk]
        d = points[t[:, 1:]] - points[t[:, :1]]
        vol[s:s + chunk] = np.abs(np.einsum("ij,ij->i", d[:, 0], np.cross(d[:, 1], d[:, 2]))) / 6.0
    return np.bincount(tets.ravel(), weights=np.repeat(vol / 4.0, 4), minlength=len(points))


class OrganRefinement:
    """Rank 0's refinement of one organ: where it must be fine, the current mesh, field transfer."""

    def __init__(self, cfg, base_points: np.ndarray, base_tets: np.ndarray):
        self.cfg = cfg
        self.refinement = Refinement(base_points, base_tets)
        self.points, self.tets, _, self.ids = self.refinement.mesh()
        self.next_time = 0.0

    def tumor_targets(self, total: np.ndarray, nodes, capacity: float) -> Targets:
        """Fine zones around the tumor nodes (or only those at its edge, for ``where = "front"``); ``nodes``:
        the organ's OrganNodes (its edges are used for the front)."""
        tumor = total > self.cfg.threshold * capacity
        if self.cfg.where == "front":
            a, b = nodes.edges[:, 0], nodes.edges[:, 1]
            mixed = tumor[a] != tumor[b]
            at_edge = np.zeros(len(total), dtype=bool)
            at_edge[a[mixed]] = at_edge[b[mixed]] = True
            tumor &= at_edge
        return _decimated(self.points[tumor], self.cfg.fine_zone)

    def refine(self, targets: Targets) -> bool:
        """Refine for the targets; True if the mesh changed (then points/tets/ids are the new mesh)."""
        cfg = self.cfg
        if not self.refinement.refine(targets, cfg.size, cfg.grading, max_levels=cfg.max_levels):
            return False
        self.points, self.tets, _, self.ids = self.refinement.mesh()
        return True

    def transfer(self, old: dict, values: np.ndarray) -> np.ndarray:
        """Node values (K, N) on the current mesh from ``values`` on the previous mesh ``old``
        (its points, tets, stable vertex ids and, optionally, lumped masses)."""
        v = np.zeros((values.shape[0], len(self.refinement.pts[0])))
        v[:, old["ids"]] = values
        have = np.zeros(v.shape[1], dtype=bool)
        have[old["ids"]] = True
        for ids, a, b in self.refinement.midpoint_generations():
            new = ~have[ids]
            v[:, ids[new]] = 0.5 * (v[:, a[new]] + v[:, b[new]])
            have[ids[new]] = True
        out = v[:, self.ids]
        m_old = old["masses"] if old.get("masses") is not None else lumped_masses(old["points"], old["tets"])
        keep_cells(out, values, lumped_masses(self.points, self.tets), m_old, self.ids, old["ids"])
        return out

    def mesh_state(self) -> dict:
        return {"points": self.points, "tets": self.tets, "ids": self.ids}

    def state(self) -> dict:
        return {**self.refinement.state(), "next_time": self.next_time}

    def set_state(self, state: dict) -> None:
        self.refinement.set_state(state)
        self.points, self.tets, _, self.ids = self.refinement.mesh()
        self.next_time = float(state["next_time"])


def _decimated(points: np.ndarray, radius: float) -> Targets:
    """Fine zones of this radius around all the points, as one target per occupied voxel of side radius/2:
    the voxel's centroid, its zone grown by the farthest of its points (the same zones, far fewer targets)."""
    if not len(points):
        return Targets.empty()
    side = 0.5 * radius
    keys, inverse = np.unique(np.floor(points / side).astype(np.int64), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    count = np.bincount(inverse)
    centers = np.stack([np.bincount(inverse, weights=points[:, k]) for k in range(3)], axis=1) / count[:, None]
    spread = np.zeros(len(keys))
    np.maximum.at(spread, inverse, np.linalg.norm(points - centers[inverse], axis=1))
    return Targets(centers, radius + spread)


def keep_cells(new, old, m_new, m_old, new_ids, old_ids) -> None:
    """Scale each clone's values at the vertices whose lumped mass changed so that its cells are kept."""
    mass_old = np.zeros(int(max(new_ids.max(), old_ids.max())) + 1)
    mass_old[old_ids] = m_old
    changed = ~np.isclose(m_new, mass_old[new_ids], rtol=1e-12, atol=0.0)
    for i in range(new.shape[0]):
        want, have = old[i] @ m_old, new[i] @ m_new
        part = new[i, changed] @ m_new[changed]
        if part > 0 and want != have:
            new[i, changed] *= 1.0 + (want - have) / part
