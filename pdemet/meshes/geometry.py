"""Geometry of tetrahedral meshes, in numpy: volumes, quality, boundary faces and nodes, edges, pieces.

Arrays: ``x`` (N, 3) node coordinates in mm, ``tets`` (M, 4) node indices.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def tet_volumes(x: np.ndarray, tets: np.ndarray) -> np.ndarray:
    """Signed volumes of the tetrahedra ``tets`` (n, 4) with vertex coordinates ``x`` (m, 3)."""
    p0 = x[tets[:, 0]]
    return np.einsum("ij,ij->i", x[tets[:, 1]] - p0, np.cross(x[tets[:, 2]] - p0, x[tets[:, 3]] - p0)) / 6.0


_EDGES = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
_FACES = ((0, 2, 1), (0, 1, 3), (0, 3, 2), (1, 2, 3))  # outward for a positively oriented tetrahedron


def tet_quality(x: np.ndarray, tets: np.ndarray) -> np.ndarray:
    """Normalised radius ratio ``3 r_in / R_circ`` of each tetrahedron: 1 regular, -> 0 flat (sign of the volume)."""
    p = x[tets]  # (n, 4, 3)
    vol = tet_volumes(x, tets)
    area = np.zeros(len(tets))
    for i, j, k in _FACES:
        area += 0.5 * np.linalg.norm(np.cross(p[:, j] - p[:, i], p[:, k] - p[:, i]), axis=1)
    l2 = {e: np.einsum("ij,ij->i", p[:, e[1]] - p[:, e[0]], p[:, e[1]] - p[:, e[0]]) for e in _EDGES}
    # products of opposite edge lengths; R = sqrt((aA+bB+cC)(aA+bB-cC)(aA-bB+cC)(-aA+bB+cC)) / (24 V)
    a = np.sqrt(l2[(0, 1)] * l2[(2, 3)])
    b = np.sqrt(l2[(0, 2)] * l2[(1, 3)])
    c = np.sqrt(l2[(0, 3)] * l2[(1, 2)])
    prod = np.clip((a + b + c) * (a + b - c) * (a - b + c) * (-a + b + c), 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        r_in = 3.0 * np.abs(vol) / area
        r_circ = np.sqrt(prod) / (24.0 * np.abs(vol))
        q = np.where((np.abs(vol) > 0) & (area > 0), 3.0 * r_in / r_circ, 0.0)
    return np.sign(vol) * np.clip(np.nan_to_num(q), 0.0, 1.0)


def shape_measure(x: np.ndarray, tets: np.ndarray, vol: np.ndarray) -> np.ndarray:
    """|V| scaled by the cube of the rms edge length (1 for a regular tetrahedron)."""
    p = x[tets]
    l2 = sum(np.einsum("ij,ij->i", p[:, j] - p[:, i], p[:, j] - p[:, i]) for i, j in _EDGES) / 6.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.nan_to_num(6.0 * math.sqrt(2.0) * np.abs(vol) / l2 ** 1.5)


DEGENERATE = 1e-8  # shape measure below this: a flat (zero-volume) tetrahedron, or one with a repeated vertex


def degenerate(x: np.ndarray, tets: np.ndarray) -> np.ndarray:
    """Mask of the tetrahedra with zero volume (flat, or a vertex repeated): no finite element can use them."""
    repeated = np.zeros(len(tets), dtype=bool)
    for i, j in _EDGES:
        repeated |= tets[:, i] == tets[:, j]
    return repeated | (shape_measure(x, tets, tet_volumes(x, tets)) < DEGENERATE)


def boundary_faces(tets: np.ndarray) -> np.ndarray:
    """Triangles (k, 3) on the boundary (faces of exactly one tetrahedron), outward for positive tetrahedra."""
    faces = np.concatenate([tets[:, list(f)] for f in _FACES])
    key = np.sort(faces, axis=1)
    _, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    return faces[counts[inverse.ravel()] == 1]


def pieces(n_points: int, cells: np.ndarray) -> np.ndarray:
    """Label of the connected piece of every cell (cells sharing a vertex are connected), 0 = largest."""
    k = cells.shape[1]
    rows = np.repeat(cells[:, 0], k - 1)
    cols = cells[:, 1:].ravel()
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n_points, n_points))
    _, labels = connected_components(graph, directed=False)
    cell_label = labels[cells[:, 0]]
    uniq, inv, counts = np.unique(cell_label, return_inverse=True, return_counts=True)
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[np.argsort(-counts, kind="stable")] = np.arange(len(uniq))
    return rank[inv.ravel()]


def compact(points: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop the points no cell uses; renumber the cells."""
    used, inverse = np.unique(cells, return_inverse=True)
    return points[used], inverse.reshape(cells.shape)


def mesh_edges(tets: np.ndarray) -> np.ndarray:
    """Unique undirected edges (E, 2; int32) of a tetrahedral mesh, in lexicographic order."""
    return edge_numbering(tets)[0]


def edge_numbering(tets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The unique edges (E, 2; int32) in lexicographic order (as np.unique(axis=0) gives) and the edge number of
    each cell's six edges (M, 6; int32), in the order (0,1), (0,2), (0,3), (1,2), (1,3), (2,3). (int32: they are
    indices only, and a node array's worth of memory per ~2 edges.)

    np.unique(keys, return_inverse=True) with fewer temporaries (2.5× less memory for 1.7·10⁶ cells)."""
    if not len(tets):
        return np.zeros((0, 2), dtype=np.int32), np.zeros((0, 6), dtype=np.int32)
    keys = np.empty((len(tets), 6), dtype=np.int64)  # lo·2³² + hi of each cell edge
    for j, (a, b) in enumerate(zip(*np.triu_indices(4, 1))):
        np.minimum(tets[:, a], tets[:, b], out=keys[:, j])
        keys[:, j] <<= 32
        keys[:, j] |= np.maximum(tets[:, a], tets[:, b])
    keys = keys.ravel()
    order = np.argsort(keys)
    keys = keys[order]
    first = np.empty(len(keys), dtype=bool)  # the first of each run of equal keys
    first[0] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    uniq = keys[first]
    del keys
    rank = np.cumsum(first, dtype=np.int32)
    rank -= 1
    ids = np.empty(len(rank), dtype=np.int32)
    ids[order] = rank
    edges = np.empty((len(uniq), 2), dtype=np.int32)
    edges[:, 0], edges[:, 1] = uniq >> 32, uniq & np.int64(0xFFFFFFFF)
    return edges, ids.reshape(-1, 6)


def boundary_nodes(tets: np.ndarray) -> np.ndarray:
    """Sorted indices of the nodes on the boundary (vertices of faces that belong to one tetrahedron)."""
    faces = np.sort(tets[:, [[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]]].reshape(-1, 3), axis=1)
    uniq, counts = np.unique(faces, axis=0, return_counts=True)
    return np.unique(uniq[counts == 1])


def boundary_distance(points: np.ndarray, tets: np.ndarray) -> np.ndarray:
    """Distance (mm) from every node to the nearest boundary node."""
    from scipy.spatial import cKDTree

    return cKDTree(points[boundary_nodes(tets)]).query(points)[0]
