"""Tetrahedral gmsh meshes of mouse organs, in millimetres.

Each organ of :data:`ORGANS` is a smooth OpenCASCADE solid of about the size of
the real adult-mouse organ (approximate; see each ``source``). :func:`make_mesh`
meshes it with linear tetrahedra and writes a gmsh ``.msh`` (format 4.1, ASCII)
with one physical volume (tag 1, named after the organ) and one physical
surface for the whole boundary (tag 2, ``"boundary"``).

This module needs only gmsh and numpy (no DOLFINx), so meshes can be made on
any machine; ``scripts/make_meshes.py`` regenerates the shipped ``meshes/``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import gmsh
import numpy as np

from pdemet.meshes.msh import MSH_OPTIONS, add_physical_groups, write_atomically
from pdemet.meshes.geometry import tet_volumes
from pdemet.meshes.session import gmsh_model, model_tets


Vec = tuple[float, float, float]


@dataclass(frozen=True)
class OrganShape:
    """An organ's idealised shape and where its size comes from."""

    name: str
    description: str
    dimensions_mm: str  # e.g. "15 x 8 x 3 mm flattened, curved ellipsoid"
    target_volume_mm3: float  # the volume the shape is sized to (documented target)
    source: str  # approximate, from which references
    default_size_mm: float  # target element size at refinement 1
    build: Callable[[], None]  # adds the organ as ONE solid to the current gmsh model via gmsh.model.occ


# ---------------------------------------------------------------------------
# OCC primitives


def _occ():
    return gmsh.model.occ


def _ellipsoid(center: Vec, axes: Vec, rotations: tuple[tuple[Vec, float], ...] = (), poles: str = "z") -> int:
    """An ellipsoid with semi-axes ``axes`` along x, y, z, then rotated (axis, angle) in order, then moved.

    ``poles`` ("x", "y" or "z") is the axis of the surface parametrisation's two singular points;
    keep them off the seams with other solids, where they make slivers.
    """
    occ = _occ()
    tag = occ.addSphere(0.0, 0.0, 0.0, 1.0)
    if poles != "z":
        occ.rotate([(3, tag)], 0.0, 0.0, 0.0, *((0, 1, 0) if poles == "x" else (1, 0, 0)), math.pi / 2)
    occ.dilate([(3, tag)], 0.0, 0.0, 0.0, *axes)
    for axis, angle in rotations:
        occ.rotate([(3, tag)], 0.0, 0.0, 0.0, *axis, angle)
    occ.translate([(3, tag)], *center)
    return tag


def _section(center: Vec, u: Vec, v: Vec, a: float, b: float, n: float = 2.0, points: int = 24) -> int:
    """A closed wire: the superellipse |s/a|^n + |t/b|^n = 1 in the plane spanned by unit vectors u, v."""
    occ = _occ()
    c, u, v = np.asarray(center, float), np.asarray(u, float), np.asarray(v, float)
    tags = []
    for k in range(points):
        t = 2.0 * math.pi * k / points
        ct, st = math.cos(t), math.sin(t)
        s = a * math.copysign(abs(ct) ** (2.0 / n), ct)
        r = b * math.copysign(abs(st) ** (2.0 / n), st)
        tags.append(occ.addPoint(*(c + s * u + r * v)))
    spline = occ.addSpline(tags + [tags[0]])  # same first/last point: periodic
    return occ.addWire([spline])


def _loft(wires: list[int]) -> int:
    """The smooth solid through the section wires, in order."""
    out = _occ().addThruSections(wires, makeSolid=True, makeRuled=False)
    return next(t for d, t in out if d == 3)


def _lobe_y(sections, n: float) -> int:
    """A lofted lobe along +y; ``sections`` are (y, cx, cz, half-width x, half-depth z)."""
    return _loft([_section((cx, y, cz), (1, 0, 0), (0, 0, 1), a, c, n) for y, cx, cz, a, c in sections])


def _fuse(tags: list[int]) -> None:
    """Boolean union of the solids into one."""
    if len(tags) > 1:
        _occ().fuse([(3, tags[0])], [(3, t) for t in tags[1:]])


# ---------------------------------------------------------------------------
# Organ geometries (x, y, z in mm)


def _build_fat_pad() -> None:
    """Flattened, slightly curved and asymmetric ellipsoid lofted along x (15 x 8 x 3 mm, thin in z)."""
    # (x, half-width in y, half-thickness in z); the centre line bows by ~1.2 mm in y.
    profile = [(-7.45, 0.5, 0.25), (-7.0, 1.6, 0.6), (-6.0, 2.6, 1.0), (-3.8, 3.6, 1.35), (-0.5, 4.0, 1.50),
               (3.0, 3.6, 1.40), (5.8, 2.7, 1.05), (6.9, 1.7, 0.65), (7.45, 0.6, 0.25)]
    wires = []
    for x, b, c in profile:
        y = 1.2 * (1.0 - (x / 7.5) ** 2) + 0.25 * math.sin(0.9 * x)  # bow plus a gentle wobble
        z = 0.15 * math.sin(0.6 * x)
        wires.append(_section((x, y, z), (0, 1, 0), (0, 0, 1), b, c, n=2.0))
    _loft(wires)


def _build_lung() -> None:
    """Left (x < 0) and larger right (x > 0) lobes, flat base on the diaphragm (y = 0), apex at +y, fused medially."""
    left = _lobe_y([(0.0, -3.1, 0.3, 2.8, 3.6), (2.5, -3.4, 0.0, 3.1, 4.1), (6.0, -3.3, -0.2, 3.0, 3.9),
                    (9.5, -2.8, -0.3, 2.4, 3.1), (12.0, -2.2, -0.3, 1.2, 1.5)], n=2.8)
    right = _lobe_y([(0.0, 3.0, 0.3, 3.7, 3.8), (2.5, 3.3, 0.0, 4.0, 4.2), (6.0, 3.2, -0.2, 3.9, 4.1),
                     (9.5, 2.7, -0.3, 3.0, 3.3), (12.3, 1.9, -0.3, 1.3, 1.6)], n=2.8)
    _fuse([left, right])


def _build_liver() -> None:
    """Four fused flattened lobes (x left-right, y cranio-caudal, z dorso-ventral), tilted into a dome."""
    z_axis, y_axis = (0.0, 0.0, 1.0), (0.0, 1.0, 0.0)
    _fuse([
        _ellipsoid((4.4, -0.6, 0.0), (6.4, 6.1, 3.5), ((z_axis, -0.25), (y_axis, -0.18))),  # left lateral lobe
        _ellipsoid((-0.4, 2.4, 0.5), (6.0, 5.0, 3.8), ((z_axis, 0.05),)),  # median lobe
        _ellipsoid((-5.2, -0.4, -0.1), (4.7, 5.8, 3.3), ((z_axis, 0.3), (y_axis, 0.18))),  # right lobe
        _ellipsoid((-0.8, -5.0, -0.8), (3.4, 2.6, 2.2), ((z_axis, 0.4),)),  # caudate lobe
    ])


def _build_bone() -> None:
    """Femur-like: a 1.5 mm shaft along z, distal condyles at z = 0, proximal head and trochanter at z ~ 15."""
    occ = _occ()
    shaft = occ.addCylinder(0.0, 0.0, 2.0, 0.0, 0.0, 11.6, 0.75)
    _fuse([
        shaft,
        _ellipsoid((0.0, 0.0, 1.9), (1.4, 1.15, 1.6), poles="y"),  # distal metaphysis
        _ellipsoid((0.62, 0.15, 0.95), (0.85, 1.05, 0.95), poles="y"),  # lateral condyle
        _ellipsoid((-0.62, 0.15, 0.95), (0.85, 1.05, 0.95), poles="y"),  # medial condyle
        _ellipsoid((0.35, 0.0, 13.8), (1.15, 0.95, 1.5), poles="y"),  # greater trochanter / neck
        _ellipsoid((-0.95, 0.0, 14.6), (0.85, 0.85, 0.85), poles="y"),  # femoral head
    ])


def _build_brain() -> None:
    """Two cerebral hemispheres, cerebellum/hindbrain and two olfactory bulbs, fused; x anterior, z dorsal."""
    y_axis = (0.0, 1.0, 0.0)
    _fuse([
        _ellipsoid((0.4, 1.7, 0.0), (4.8, 3.45, 3.2)),  # left hemisphere
        _ellipsoid((0.4, -1.7, 0.0), (4.8, 3.45, 3.2)),  # right hemisphere
        _ellipsoid((-4.1, 0.0, -0.3), (2.2, 3.8, 2.7), ((y_axis, 0.2),)),  # cerebellum + hindbrain
        _ellipsoid((5.4, 0.7, -0.5), (1.5, 0.95, 1.1), ((y_axis, 0.25),)),  # olfactory bulbs
        _ellipsoid((5.4, -0.7, -0.5), (1.5, 0.95, 1.1), ((y_axis, 0.25),)),
    ])


ORGANS: dict[str, OrganShape] = {
    s.name: s
    for s in [
        OrganShape(
            name="fat_pad",
            description="#4 inguinal mammary fat pad (primary tumour site): flattened, slightly curved, irregular ellipsoid",
            dimensions_mm="15 x 8 x 3 mm flattened, curved ellipsoid",
            target_volume_mm3=190.0,
            source=("approximate: adult female mouse #4 inguinal mammary gland whole mounts are ~1.5 cm long and "
                    "~0.8 cm wide (see e.g. Plante, Stewart & Laird 2011, J Vis Exp 53:2828, for the whole-mount "
                    "method); the ~3 mm thickness is an estimate"),
            default_size_mm=0.5,
            build=_build_fat_pad,
        ),
        OrganShape(
            name="lung",
            description="lungs: left lobe and a larger right lobe, fused at the medial base into one volume",
            dimensions_mm="14 x 12 x 8.5 mm (left lobe ~6 mm wide, right ~8 mm)",
            target_volume_mm3=1000.0,
            source=("approximate, inflated lung: mouse total lung capacity ~1 mL (e.g. Irvin & Bates 2003, Respir Res "
                    "4:4); lung tissue alone weighs only ~0.15-0.2 g (~0.7 % of body weight, Brown et al. 1997, "
                    "Toxicol Ind Health 13:407)"),
            default_size_mm=0.8,
            build=_build_lung,
        ),
        OrganShape(
            name="liver",
            description="liver: four fused, flattened lobes (left lateral, median, right, caudate) in one volume",
            dimensions_mm="21 x 15 x 8 mm",
            target_volume_mm3=1200.0,
            source=("approximate: mouse liver ~5.5 % of body weight (Brown et al. 1997, Toxicol Ind Health 13:407; "
                    "cf. the organ weights of Davies & Morris 1993, Pharm Res 10:1093), i.e. ~1.3 g or ~1200 mm^3 "
                    "for a 25 g mouse; the lobe layout is schematic"),
            default_size_mm=0.85,
            build=_build_liver,
        ),
        OrganShape(
            name="bone",
            description="femur-like bone: 1.5 mm shaft with wider proximal (head, trochanter) and distal (condyles) ends",
            dimensions_mm="15.5 mm long, shaft 1.5 mm diameter, ends ~3 mm wide",
            target_volume_mm3=40.0,
            source=("approximate: adult C57BL/6 femur ~15-16 mm long with a ~1.5 mm mid-shaft diameter "
                    "(typical micro-CT values in the mouse bone literature, e.g. Jepsen et al. 2015, "
                    "J Bone Miner Res 30:951); whole bone including marrow"),
            default_size_mm=0.3,
            build=_build_bone,
        ),
        OrganShape(
            name="brain",
            description="brain: rounded cerebrum with a fused cerebellum/hindbrain and olfactory bulbs",
            dimensions_mm="13 x 10 x 6 mm",
            target_volume_mm3=450.0,
            source=("approximate: mouse brain ~0.4-0.45 g, ~1.65 % of body weight (Brown et al. 1997, Toxicol Ind "
                    "Health 13:407; cf. Davies & Morris 1993, Pharm Res 10:1093); adult C57BL/6J MRI brain volumes "
                    "~0.4-0.5 cm^3 (e.g. Badea et al. 2007, NeuroImage 37:683); extent fits the Allen Mouse Brain "
                    "Common Coordinate Framework v3 template box (13.2 x 8.0 x 11.4 mm, AP x DV x LR)"),
            default_size_mm=0.6,
            build=_build_brain,
        ),
    ]
}


# ---------------------------------------------------------------------------
# Meshing


def organ_shape(organ: str) -> OrganShape:
    """The :class:`OrganShape` named ``organ``; ``ValueError`` listing the known organs otherwise."""
    try:
        return ORGANS[organ]
    except (KeyError, TypeError):
        raise ValueError(f"unknown organ {organ!r}; known organs: {', '.join(ORGANS)}") from None


def _keep_only_solid() -> tuple[int, list[int]]:
    """Drop construction leftovers (section points, curves); return the one volume tag and its boundary surfaces."""
    occ = _occ()
    occ.synchronize()
    vols = gmsh.model.getEntities(3)
    if len(vols) != 1:
        raise RuntimeError(f"the organ geometry has {len(vols)} volumes; it must be one connected solid")
    surfs = gmsh.model.getBoundary(vols, combined=False, oriented=False)
    curves = gmsh.model.getBoundary(surfs, combined=False, oriented=False)
    points = gmsh.model.getBoundary(curves, combined=False, oriented=False)
    keep = {(d, abs(t)) for d, t in [*surfs, *curves, *points]}
    extra = [e for dim in (2, 1, 0) for e in gmsh.model.getEntities(dim) if e not in keep]
    if extra:
        occ.remove(extra)
        occ.synchronize()
    return vols[0][1], sorted({abs(t) for _, t in surfs})


def make_mesh(organ: str, path, refinement: float = 1.0, seed: int = 0) -> dict:
    """Mesh ``organ`` with linear tetrahedra of size ``default_size_mm / refinement`` and write it to ``path``.

    The file is a gmsh ``.msh`` 4.1 (ASCII) holding only the physical groups:
    volume tag 1 (named ``organ``) and boundary surface tag 2 (``"boundary"``).
    ``seed`` is passed to gmsh as ``Mesh.RandomSeed`` (with the Delaunay mesher
    used here the mesh does not currently depend on it). Meshing is single-threaded,
    so the same inputs give the same file. Runs in a scratch gmsh model
    (:func:`pdemet.meshes.session.gmsh_model`): its own session, or the caller's,
    whose options and current model are restored afterwards.

    Returns ``{"organ", "path", "size_mm", "n_vertices", "n_tets", "volume_mm3",
    "bbox": [[xmin, ymin, zmin], [xmax, ymax, zmax]], "min_quality"}`` where the
    volume is summed over the tetrahedra and ``min_quality`` is gmsh's smallest
    signed inverse condition number (1 = regular tetrahedron, <= 0 = degenerate).
    """
    shape = organ_shape(organ)
    if not (isinstance(refinement, (int, float)) and math.isfinite(refinement) and refinement > 0):
        raise ValueError(f"refinement must be a positive number, got {refinement!r}")
    size = shape.default_size_mm / float(refinement)
    path = Path(path)

    options = {
        "General.NumThreads": 1, "Mesh.MaxNumThreads1D": 1, "Mesh.MaxNumThreads2D": 1,
        "Mesh.MaxNumThreads3D": 1, "Mesh.RandomSeed": int(seed),
        "Mesh.MeshSizeMax": size, "Mesh.MeshSizeMin": 0.25 * size, "Mesh.MeshSizeFactor": 1.0,
        "Mesh.MeshSizeFromPoints": 0, "Mesh.MeshSizeFromCurvature": 0, "Mesh.MeshSizeExtendFromBoundary": 1,
        "Mesh.Algorithm": 6, "Mesh.Algorithm3D": 1,  # Frontal-Delaunay 2D, Delaunay 3D
        "Mesh.ElementOrder": 1, "Mesh.Optimize": 1, "Mesh.OptimizeNetgen": 1,
        **MSH_OPTIONS,
    }
    with gmsh_model(f"pdemet-{organ}", options):
        shape.build()
        add_physical_groups(organ, *_keep_only_solid())
        gmsh.model.mesh.generate(3)

        x, tets = model_tets()
        tet_tags, _ = gmsh.model.mesh.getElementsByType(4)
        used = np.unique(tets)
        vols = tet_volumes(x, tets)
        quality = gmsh.model.mesh.getElementQualities(tet_tags, "minSICN")
        write_atomically(path)

    xu = x[used]
    return {
        "organ": organ,
        "path": str(path),
        "size_mm": size,
        "n_vertices": int(len(used)),
        "n_tets": int(len(tets)),
        "volume_mm3": float(np.abs(vols).sum()),
        "bbox": [xu.min(axis=0).round(6).tolist(), xu.max(axis=0).round(6).tolist()],
        "min_quality": float(quality.min()),
    }
