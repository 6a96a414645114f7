"""Closed triangulated surfaces (e.g. an STL from a segmentation): checks, orientation, enclosed volume,
and filling them with tetrahedra by gmsh.

:func:`fill_surface` does it all and refuses, with a one-line :class:`MeshError`,
a surface with holes, non-manifold edges, several pieces, no consistent
orientation, or one gmsh cannot fill exactly (self-intersecting).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pdemet.errors import MeshError, first_line
from pdemet.meshes.geometry import compact, pieces, tet_volumes
from pdemet.meshes.session import gmsh_model, model_tets


def fill_surface(points: np.ndarray, tris: np.ndarray, name: str, *, seed: int = 0,
                 size: float | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Points, tetrahedra and enclosed volume (mm^3) of the closed surface ``tris`` filled with tetrahedra.

    The surface (its unused points dropped) must be one closed, manifold,
    orientable piece; it is turned outward and filled by :func:`tetrahedralize`
    (``seed``, ``size`` as there), and the tetrahedra must fill the volume it encloses.
    """
    points, tris = compact(points, tris)
    check_closed(points, tris, name)
    tris = orient_surface(tris, name)
    enclosed = enclosed_volume(points, tris)
    if enclosed < 0:  # inward: turn outward
        tris, enclosed = tris[:, [1, 0, 2]], -enclosed
    points, tets = tetrahedralize(points, tris, seed=seed, size=size)
    filled = float(np.abs(tet_volumes(points, tets)).sum())
    # a remeshed curved surface encloses a little less than the original; its own triangles exactly as much
    if size is not None and not math.isclose(filled, enclosed, rel_tol=0.05):
        raise MeshError(f"the surface of {name} remeshed at {size:g} mm encloses {filled:.6g} of its "
                        f"{enclosed:.6g} mm^3 ({abs(filled / enclosed - 1):.1%} off): {size:g} mm is too coarse "
                        "for its shape (curvature, thin parts); use a smaller --size")
    if size is None and not math.isclose(filled, enclosed, rel_tol=1e-6):
        raise MeshError(f"the tetrahedra gmsh made fill {filled:.6g} mm^3 of the {enclosed:.6g} mm^3 inside "
                        f"the surface of {name}; the surface may intersect itself: repair it (e.g. in MeshLab "
                        "or meshfix)")
    return points, tets, enclosed


def drop_repeated_triangles(tris: np.ndarray) -> tuple[np.ndarray, int]:
    """The triangles without the ones that repeat another (the same three vertices: an overlapping facet
    pair, a common defect of exported segmentations) or a vertex of their own (zero area); how many dropped."""
    keep = (tris[:, 0] != tris[:, 1]) & (tris[:, 1] != tris[:, 2]) & (tris[:, 0] != tris[:, 2])
    _, first = np.unique(np.sort(tris, axis=1), axis=0, return_index=True)
    unique = np.zeros(len(tris), dtype=bool)
    unique[first] = True
    keep &= unique
    return tris[keep], int((~keep).sum())


def check_closed(points: np.ndarray, tris: np.ndarray, name: str) -> None:
    """A surface to fill must be one closed, manifold piece."""
    edges = np.sort(np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    open_edges, nonmanifold = int((counts == 1).sum()), int((counts > 2).sum())
    if open_edges:
        raise MeshError(f"{name} is a surface with holes ({open_edges} open edges): a surface must be closed "
                        "(watertight) to be filled with tetrahedra; close it (e.g. in MeshLab or meshfix)")
    if nonmanifold:
        raise MeshError(f"{name} is a non-manifold surface ({nonmanifold} edges shared by more than two "
                        "triangles); repair it (e.g. in MeshLab or meshfix)")
    labels = pieces(len(points), tris)
    n = int(labels.max()) + 1
    if n > 1:
        raise MeshError(f"{name} is a surface of {n} separate pieces; pdemet needs one closed surface per organ: "
                        "import with --keep-largest (keep_largest=True) to keep the largest, or keep the organ's "
                        "outer surface only")


def orient_surface(tris: np.ndarray, name: str) -> np.ndarray:
    """The triangles of a closed, manifold, connected surface, reordered to one consistent orientation."""
    n = len(tris)
    a = tris.ravel()
    b = tris[:, [1, 2, 0]].ravel()
    owner = np.repeat(np.arange(n), 3)
    key = np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1)
    order = np.lexsort((key[:, 1], key[:, 0]))  # each undirected edge twice, next to each other
    i, j = owner[order[0::2]], owner[order[1::2]]
    same = (a < b)[order[0::2]] == (a < b)[order[1::2]]  # same direction: one of the two must be flipped
    # nodes t (as is) and t + n (flipped); an edge joins the states that agree
    rows = np.concatenate([i, i + n])
    cols = np.concatenate([np.where(same, j + n, j), np.where(same, j, j + n)])
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(2 * n, 2 * n))
    _, labels = connected_components(graph, directed=False)
    if np.any(labels[:n] == labels[n:]):
        raise MeshError(f"{name} is a non-orientable surface; repair it (e.g. in MeshLab or meshfix)")
    flip = labels[n:] == labels[0]
    out = tris.copy()
    out[flip] = out[flip][:, [1, 0, 2]]
    return out


def enclosed_volume(points: np.ndarray, tris: np.ndarray) -> float:
    """Signed volume enclosed by a closed, consistently oriented triangulated surface (divergence theorem)."""
    p = points[tris]
    return float(np.einsum("ij,ij->i", p[:, 0], np.cross(p[:, 1], p[:, 2])).sum()) / 6.0


# Feature angles tried in turn when a surface is remeshed. 40 degrees keeps the sharp edges of a designed
# surface; a segmentation's marching-cubes staircase has ~45-90 degree steps everywhere, which 40 degrees cuts
# into patches gmsh cannot parametrize ("Wrong topology of boundary mesh"), so the next try detects no
# features and lets gmsh split the surface only where it must to parametrize it.
FEATURE_ANGLES_DEG = (40.0, 180.0)


def tetrahedralize(points: np.ndarray, tris: np.ndarray, seed: int = 0,
                   size: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fill the closed triangulated surface with tetrahedra (gmsh Delaunay).

    Without ``size`` the surface triangles are kept as they are (the interior
    grades from their sizes); with ``size`` (mm) the surface is first remeshed
    with triangles of about that size (gmsh ``classifySurfaces`` + ``createGeometry``,
    at each of :data:`FEATURE_ANGLES_DEG` until one works).
    """
    if size is None:
        return _tetrahedralize(points, tris, seed, None, None)
    failures = []
    for angle in FEATURE_ANGLES_DEG:
        try:
            return _tetrahedralize(points, tris, seed, size, angle)
        except _GmshFailed as e:
            failures.append(e)
    if any(e.step == "fill" for e in failures):  # remeshed, then the new surface crossed itself
        raise MeshError(f"the surface remeshed at {size:g} mm intersects itself ({failures[-1].reason}): it has "
                        f"parts thinner than {size:g} mm (a fissure, a fold); use a smaller --size, or none to "
                        "keep the surface's own triangles") from None
    raise MeshError(f"gmsh could not remesh the surface at {size:g} mm ({failures[-1].reason}); import it "
                    "without --size to keep its own triangles, or smooth it (e.g. in MeshLab)") from None


class _GmshFailed(Exception):
    def __init__(self, step: str, reason: str):
        super().__init__(reason)
        self.step, self.reason = step, reason


def _tetrahedralize(points, tris, seed, size, feature_angle):
    """One try of :func:`tetrahedralize`; :class:`_GmshFailed` says which step gmsh failed in."""
    options = {"General.NumThreads": 1, "Mesh.MaxNumThreads2D": 1, "Mesh.MaxNumThreads3D": 1,
               "Mesh.RandomSeed": int(seed), "Mesh.Algorithm": 6, "Mesh.Algorithm3D": 1,
               "Mesh.Optimize": 1, "Mesh.ElementOrder": 1}
    if size is not None:
        options |= {"Mesh.MeshSizeMax": size, "Mesh.MeshSizeMin": 0.0, "Mesh.MeshSizeFromPoints": 0,
                    "Mesh.MeshSizeFromCurvature": 0, "Mesh.MeshSizeExtendFromBoundary": 1}
    with gmsh_model("pdemet-tetrahedralize", options) as gmsh:
        surf = gmsh.model.addDiscreteEntity(2)
        gmsh.model.mesh.addNodes(2, surf, np.arange(1, len(points) + 1), points.ravel())
        gmsh.model.mesh.addElementsByType(surf, 2, [], (tris + 1).ravel())
        surfaces = [surf]
        if size is not None:
            try:  # patches split at edges sharper than the feature angle, each re-parametrised
                gmsh.model.mesh.classifySurfaces(math.radians(feature_angle), True, True, math.pi)
                gmsh.model.mesh.createGeometry()
                surfaces = [t for _, t in gmsh.model.getEntities(2)]
                gmsh.model.mesh.generate(2)
            except Exception as e:
                raise _GmshFailed("remesh", first_line(e)) from None
        try:
            loop = gmsh.model.geo.addSurfaceLoop(surfaces)
            gmsh.model.geo.addVolume([loop])
            gmsh.model.geo.synchronize()
            gmsh.model.mesh.generate(3)
        except Exception as e:
            if size is not None:
                raise _GmshFailed("fill", first_line(e)) from None
            raise MeshError(f"gmsh could not fill the surface with tetrahedra ({first_line(e)}); the surface must "
                            "be closed, without self-intersections; repair it (e.g. in MeshLab or meshfix)") from None
        x, tets = model_tets()
    if len(tets) == 0:
        raise MeshError("gmsh made no tetrahedra inside the surface; the surface must be closed and not "
                        "self-intersecting; repair it (e.g. in MeshLab or meshfix)")
    return x, tets
