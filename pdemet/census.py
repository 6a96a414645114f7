"""Census of metastatic lesions: connected tumor regions of a site organ, their size and clonal make-up.

A lesion is a connected component (over mesh edges) of the nodes where the total density exceeds the
census threshold. Its cells are the lumped integral Σⱼ mⱼuⱼ over its nodes; its volume is the exact
volume where the P1 interpolant of the total exceeds half the lesion's peak density (the iso-surface of
its edge, converging with the mesh; cells/(κ·volume) is then its density relative to the carrying
capacity) and its support the exact volume above the detection threshold (one element larger at a sharp
edge, which the P1 interpolant smears over one element). A lesion of at least
``min_cells`` cells is a *focus* (a surviving single cell that grows to that size is one). The seeding
events whose arrest points lie in a lesion founded it: one founding cluster that carried several clones
makes a polyclonal focus "by one cluster", several founding events make it polyclonal "by merger".

Clonal patches: pressure-driven growth carries each founder cell's progeny outward as a patch (docs/model.md),
so a lesion's body (its nodes at or above half its peak, the region of its volume) falls into connected
regions where one clone dominates. Their number, counting only patches that hold at least
``PATCH_MIN_SHARE`` of the lesion's cells (so that one-node slivers where two patches meet do not count,
whatever the mesh), is the lesion's ``patches`` (3-D, where a microscope sees sections).
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

PATCH_MIN_SHARE = 0.01  # a clonal patch holds at least 1 % of its lesion's cells (a founder's progeny in a focus
                        # founded by up to ~50 cells: Aceto et al. 2014's largest clusters)


def volume_above(points: np.ndarray, tets: np.ndarray, values: np.ndarray, level: float) -> np.ndarray:
    """Volume (mm³) of each tetrahedron where the linear interpolant of ``values`` exceeds ``level``.

    With the vertex values sorted v₀ ≤ v₁ ≤ v₂ ≤ v₃, the fraction below t is (t − v₀)³/((v₁−v₀)(v₂−v₀)(v₃−v₀))
    for t ≤ v₁, 1 − (v₃ − t)³/((v₃−v₀)(v₃−v₁)(v₃−v₂)) for t ≥ v₂, and in between the difference of the two
    cubic pieces, written without dividing by v₁ − v₀ (so ties cost no accuracy):
    (a² + ab + b² − b³ (1/p + 1/q + δ/(pq))) / ((p+δ)(q+δ)), a = t−v₀, b = t−v₁, δ = v₁−v₀, p = v₂−v₁, q = v₃−v₁.
    """
    d = points[tets[:, 1:]] - points[tets[:, :1]]
    vol = np.abs(np.einsum("ij,ij->i", d[:, 0], np.cross(d[:, 1], d[:, 2]))) / 6.0
    v0, v1, v2, v3 = np.sort(values[tets], axis=1).T
    t = level
    below = np.where(v3 <= t, 1.0, 0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # each piece is used only where finite
        low = (t - v0) ** 3 / ((v1 - v0) * (v2 - v0) * (v3 - v0))
        high = 1.0 - (v3 - t) ** 3 / ((v3 - v0) * (v3 - v1) * (v3 - v2))
        a, b, dl, p, q = t - v0, t - v1, v1 - v0, v2 - v1, v3 - v1
        mid = (a * a + a * b + b * b - b ** 3 * (1.0 / p + 1.0 / q + dl / (p * q))) / ((p + dl) * (q + dl))
    below = np.where((v0 < t) & (t <= v1), low, below)
    below = np.where((v1 < t) & (t < v2), mid, below)
    below = np.where((v2 <= t) & (t < v3) & (v1 < t), high, below)
    below = np.where((v2 <= t) & (t < v3) & (v1 >= t), low, below)  # v₁ = v₂ = t: the first piece
    return vol * (1.0 - np.clip(below, 0.0, 1.0))


def find_foci(u: np.ndarray, weights: np.ndarray, points: np.ndarray, edges: np.ndarray, threshold: float,
              poly_fraction: float, *, tets: np.ndarray | None = None, capacity: float | None = None,
              min_cells: float = 0.0, founders: dict | None = None) -> list[dict]:
    """Lesions = connected components (over mesh edges) of the nodes where Σᵢuᵢ > threshold.

    u: (K, N) nodal densities (cells/mm³); weights: (N,) ∫φⱼ (mm³), so cells = Σⱼ wⱼuⱼ. With ``tets`` the
    volume is the exact volume above half the lesion's peak density and the support the volume above the
    threshold (else both are the nodes' ∫φⱼ), with ``capacity`` the relative
    density cells/(κ·volume) is given. ``founders``: {"points": (E, 3) arrest points, "cells": (E,) their
    cells, "polyclonal": (E,) whether each founding cluster carried ≥ 2 clones}.
    Returns lesions sorted by decreasing cell count, each with cells, volume, centroid, clone fractions,
    number of clones above ``poly_fraction``, Shannon and Gini–Simpson indices, the polyclonal flag (≥ 2
    clones above ``poly_fraction``), whether it is a focus (≥ ``min_cells``) and its founding events.
    """
    total = u.sum(axis=0)
    on = total > threshold
    idx = np.flatnonzero(on)
    if idx.size == 0:
        return []
    keep = on[edges[:, 0]] & on[edges[:, 1]]
    local = -np.ones(len(total), dtype=np.int64)
    local[idx] = np.arange(idx.size)
    e = local[edges[keep]]
    graph = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(idx.size, idx.size))
    n_comp, labels = connected_components(graph, directed=False)
    w = weights[idx]
    cells_k = np.zeros((n_comp, u.shape[0]))
    for k in range(u.shape[0]):
        cells_k[:, k] = np.bincount(labels, weights=w * u[k, idx], minlength=n_comp)
    cells = cells_k.sum(axis=1)
    node_label = np.full(len(total), -1, dtype=np.int64)
    node_label[idx] = labels
    peak = np.zeros(n_comp)
    np.maximum.at(peak, labels, total[idx])
    if tets is None:
        volume = np.bincount(labels, weights=w, minlength=n_comp)
    else:
        touched = np.flatnonzero(np.any(on[tets], axis=1))  # all on-vertices of a cell are one lesion
        cell_label = np.max(node_label[tets[touched]], axis=1)
        # the volume at half the lesion's own peak density: the iso-surface of a sharp edge, which the P1
        # interpolant smears over one element (the region above the detection threshold is one element too big)
        volume = np.bincount(cell_label, weights=volume_above(points, tets[touched], total, 0.5 * peak[cell_label]),
                             minlength=n_comp)
        support = np.bincount(cell_label, weights=volume_above(points, tets[touched], total, threshold),
                              minlength=n_comp)
    mass = w * total[idx]
    centroid = np.stack([np.bincount(labels, weights=mass * points[idx, d], minlength=n_comp) for d in range(3)],
                        axis=1) / np.maximum(cells, 1e-300)[:, None]
    events = _founding(founders, points, node_label, idx, n_comp)
    patches = _patches(u, weights, edges, node_label, peak, cells)
    foci = []
    for c in np.argsort(-cells, kind="stable"):
        p = cells_k[c] / cells[c] if cells[c] > 0 else np.zeros(u.shape[0])
        nz = p[p > 0]
        n_clones = int((p > poly_fraction).sum())
        foci.append({
            "cells": float(cells[c]), "volume_mm3": float(volume[c]), "centroid": centroid[c],
            "support_mm3": float(support[c]) if tets is not None else float(volume[c]),
            "density": float(cells[c] / (capacity * volume[c])) if capacity and volume[c] > 0 else float("nan"),
            "fractions": p, "n_clones": n_clones, "shannon": float(-(nz * np.log(nz)).sum()),
            "simpson": float(1.0 - (p ** 2).sum()), "polyclonal": int(n_clones >= 2),
            "focus": int(cells[c] >= min_cells), **{k: v[c] for k, v in events.items()},
            "patches": int(patches[c]),
        })
    return foci


def _patches(u, weights, edges, node_label, peak, cells) -> np.ndarray:
    """Clonal patches per lesion: connected sets (over mesh edges) of the lesion's nodes at or above half its
    peak that share their dominant clone, counted when they hold ≥ PATCH_MIN_SHARE of the lesion's cells."""
    total = u.sum(axis=0)
    body = node_label >= 0
    body[body] = total[body] >= 0.5 * peak[node_label[body]]
    dominant = np.argmax(u, axis=0)
    nodes = np.flatnonzero(body)
    out = np.zeros(len(peak), dtype=np.int64)
    if nodes.size == 0:
        return out
    a, b = edges[:, 0], edges[:, 1]
    keep = body[a] & body[b] & (dominant[a] == dominant[b])
    local = -np.ones(len(total), dtype=np.int64)
    local[nodes] = np.arange(nodes.size)
    graph = coo_matrix((np.ones(int(keep.sum())), (local[a[keep]], local[b[keep]])), shape=(nodes.size, nodes.size))
    n_patch, patch = connected_components(graph, directed=False)
    patch_cells = np.bincount(patch, weights=weights[nodes] * total[nodes], minlength=n_patch)
    lesion = np.zeros(n_patch, dtype=np.int64)
    lesion[patch] = node_label[nodes]  # a patch lies in one lesion (its edges join nodes of one component)
    counted = patch_cells >= PATCH_MIN_SHARE * cells[lesion]
    np.add.at(out, lesion[counted], 1)
    return out


def _founding(founders, points, node_label, idx, n_comp) -> dict:
    """Founding events per lesion: count, their cells, how many carried several clones."""
    out = {k: np.zeros(n_comp, dtype=np.int64) for k in ("founding_events", "founding_cells", "polyclonal_founders")}
    if not founders or not len(founders["points"]):
        return out
    _, nearest = cKDTree(points[idx]).query(founders["points"])  # the lesion node nearest each arrest point
    lesion = node_label[idx[nearest]]
    np.add.at(out["founding_events"], lesion, 1)
    np.add.at(out["founding_cells"], lesion, np.asarray(founders["cells"], dtype=np.int64))
    np.add.at(out["polyclonal_founders"], lesion, np.asarray(founders["polyclonal"], dtype=np.int64))
    return out


def census_rows(t: float, organ: str, foci: list[dict]) -> list[tuple]:
    """census.csv rows (columns: pdemet.output.layout.CENSUS_HEADER, then one clone fraction per clone)."""
    return [(t, organ, i + 1, f["cells"], f["volume_mm3"], f.get("support_mm3", f["volume_mm3"]),
             f.get("density", float("nan")), *map(float, f["centroid"]),
             f["n_clones"], f["shannon"], f["simpson"], f["polyclonal"], f.get("focus", 1),
             int(f.get("founding_events", 0)), int(f.get("founding_cells", 0)), int(f.get("polyclonal_founders", 0)),
             int(f.get("patches", 0)),
             *map(float, f["fractions"])) for i, f in enumerate(foci)]


def summarize(foci: list[dict]) -> dict:
    """Foci (lesions of at least min_cells), the polyclonal fraction among them, by one cluster and by merger."""
    real = [f for f in foci if f.get("focus", 1)]
    n = len(real)
    poly = [f for f in real if f["polyclonal"]]
    by_one = sum(1 for f in poly if f.get("founding_events", 0) == 1)
    by_merger = sum(1 for f in poly if f.get("founding_events", 0) >= 2)
    frac = (lambda k: k / n) if n else (lambda k: None)
    return {"foci": n, "lesions": len(foci), "polyclonal_fraction": frac(len(poly)),
            "polyclonal_by_one_cluster": frac(by_one), "polyclonal_by_merger": frac(by_merger)}
