"""Census of metastatic foci: connected tumor regions of a site organ and their clonal make-up."""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def find_foci(u: np.ndarray, weights: np.ndarray, points: np.ndarray, edges: np.ndarray, threshold: float,
              poly_fraction: float) -> list[dict]:
    """Foci = connected components (over mesh edges) of the nodes where Σᵢuᵢ > threshold.

    u: (K, N) nodal densities (cells/mm³); weights: (N,) ∫φⱼ (mm³), so cells = Σⱼ wⱼuⱼ.
    Returns foci sorted by decreasing cell count, each with cells, volume, centroid,
    clone fractions, number of clones above ``poly_fraction``, Shannon and Gini–Simpson
    indices and the polyclonal flag (≥ 2 clones above ``poly_fraction``).
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
    volume = np.bincount(labels, weights=w, minlength=n_comp)
    mass = w * total[idx]
    centroid = np.stack([np.bincount(labels, weights=mass * points[idx, d], minlength=n_comp) for d in range(3)],
                        axis=1) / np.maximum(cells, 1e-300)[:, None]
    foci = []
    for c in np.argsort(-cells, kind="stable"):
        p = cells_k[c] / cells[c] if cells[c] > 0 else np.zeros(u.shape[0])
        nz = p[p > 0]
        n_clones = int((p > poly_fraction).sum())
        foci.append({
            "cells": float(cells[c]), "volume_mm3": float(volume[c]), "centroid": centroid[c],
            "fractions": p, "n_clones": n_clones, "shannon": float(-(nz * np.log(nz)).sum()),
            "simpson": float(1.0 - (p ** 2).sum()), "polyclonal": int(n_clones >= 2),
        })
    return foci


def census_rows(t: float, organ: str, foci: list[dict]) -> list[tuple]:
    return [(t, organ, i + 1, f["cells"], f["volume_mm3"], *map(float, f["centroid"]), f["n_clones"], f["shannon"],
             f["simpson"], f["polyclonal"], *map(float, f["fractions"])) for i, f in enumerate(foci)]
