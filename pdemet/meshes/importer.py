"""Import an organ mesh made elsewhere (segmentation, CAD, another mesher) as a pdemet gmsh mesh.

:func:`import_mesh` reads any mesh meshio reads (``.vtu``, ``.vtk``, ``.msh``,
``.mesh``, ``.inp``, ``.stl``, ``.obj``, ``.ply``, ...), checks it, converts it to
millimetres and writes a gmsh ``.msh`` 4.1 (ASCII) with one physical volume
(tag 1, named after the organ) and one physical boundary surface (tag 2,
``"boundary"``), the layout of :func:`pdemet.meshes.make_mesh`. A closed
surface (triangles only, e.g. an STL from a segmentation) is filled with
tetrahedra by gmsh first. Anything pdemet cannot use is refused with a one-line
:class:`MeshError`. The steps: read and sort the cells (:mod:`pdemet.meshes.readers`),
fill a surface (:mod:`pdemet.meshes.surface`), check the tetrahedra (here), write
the file (:mod:`pdemet.meshes.msh`) and read it back with DOLFINx (here).

:func:`make_organ_mesh` meshes one of pdemet's built-in organ shapes
(:data:`pdemet.meshes.ORGANS`) at a given element size.

Only numpy, scipy, meshio and gmsh are needed; DOLFINx is imported lazily to
verify the written file and that step is skipped where it is not installed.
"""

from __future__ import annotations

import contextlib
import math
import re
from pathlib import Path

import numpy as np

from pdemet.errors import MeshError, first_line
from pdemet.meshes.geometry import (boundary_faces, compact, pieces, degenerate, tet_quality,
                                   tet_volumes)
from pdemet.meshes.msh import MSH_OPTIONS, add_physical_groups, write_atomically
from pdemet.meshes.readers import read_cells, read_tets
from pdemet.meshes.session import gmsh_model
from pdemet.meshes.surface import drop_repeated_triangles, fill_surface

UNITS: dict[str, float] = {"um": 1e-3, "mm": 1.0, "cm": 10.0, "m": 1000.0}  # factor to millimetres
QUALITY_MEASURE = "radius ratio 3*r_in/R_circ (1 = regular tetrahedron, 0 = flat)"



def import_mesh(path, organ: str, units: str = "mm", out: Path | str | None = None, *,
                size: float | None = None, fix_orientation: bool = False, verify: bool = True,
                file_format: str | None = None, seed: int = 0, overwrite: bool = False, scale: float = 1.0,
                keep_largest: bool = False) -> dict:
    """Check and convert the mesh in ``path`` to a pdemet organ mesh (gmsh ``.msh`` 4.1, mm); return a report.

    ``units`` are those of the file's coordinates (``um``, ``mm``, ``cm`` or ``m``), and ``scale`` an extra
    factor applied after them (e.g. an atlas in voxel units, or a human organ shrunk to mouse size);
    ``out`` defaults to ``meshes/<organ>.msh``. A closed triangulated surface
    is filled with tetrahedra (gmsh, random seed ``seed``), keeping its
    triangles, or, with ``size`` (mm), remeshed with elements of about that
    size first (for fine or poor segmentation surfaces); a volume mesh keeps
    its tetrahedra (higher-order ones reduced to their corners) and drops its
    lower-dimensional cells and unused points. ``fix_orientation`` swaps two
    vertices of each tetrahedron with a negative signed volume instead of
    refusing the mesh. ``verify`` reads the written file back with DOLFINx
    (skipped where DOLFINx is not installed) and checks its volume.
    ``file_format`` is a meshio format name for unusual suffixes. An existing ``out`` is replaced only with
    ``overwrite`` (the default ``meshes/<organ>.msh`` may be a shipped mesh). ``keep_largest`` keeps the
    piece with the most triangles or tetrahedra of a file of several (both lungs, both hemispheres) and drops
    the others (reported in ``dropped_pieces``); without it such a file is refused.

    Raises :class:`MeshError` (one line) for an unreadable or 2D file, no
    tetrahedra or closed surface, other 3D cell types, inverted or flat
    tetrahedra, several disconnected pieces, or unknown units.
    """
    organ, path = _organ_name(organ), Path(path)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0:
        raise MeshError(f"scale: got {scale!r}, expected a positive factor (applied after the units)")
    scale = _unit_factor(units) * float(scale)
    out = _out_path(out, organ)
    if out.exists() and not overwrite:
        raise MeshError(f"the output {out} exists; pass --overwrite to replace it, or choose another --out")
    size = None if size is None else _element_size(size)
    name = path.name

    cells = read_cells(path, file_format)
    if size is not None and len(cells.tets):
        raise MeshError(f"{name} is a volume mesh: its tetrahedra are kept, so an element size applies only to "
                        "surfaces; remesh the volume in its mesher, or import without a size")
    points = cells.points * scale
    tetrahedralized = len(cells.tets) == 0
    elements, dropped, repaired = (cells.tris if tetrahedralized else cells.tets), 0, 0
    if tetrahedralized:
        elements, repaired = drop_repeated_triangles(elements)
    if keep_largest and len(elements):
        labels = pieces(len(points), elements)  # 0: the piece with the most elements
        dropped = int(labels.max())
        elements = elements[labels == 0]
    if tetrahedralized:  # a surface: fill it
        points, tets, enclosed = fill_surface(points, elements, name, seed=seed, size=size)
    else:
        tets, enclosed = elements, None
    points, tets = compact(points, tets)
    n_fixed = _check_tetrahedra(points, tets, name, fix_orientation)
    _check_one_piece(points, tets, name)

    report = {"organ": organ, "source": str(path), "units": units, "scale_to_mm": scale,
              "input_cells": cells.summary, "tetrahedralized": tetrahedralized, "surface_remeshed_mm": size,
              "surface_volume_mm3": enclosed, "fixed_orientation": n_fixed, "dropped_pieces": dropped,
              "dropped_triangles": repaired,
              "dropped_points": 0 if tetrahedralized else len(cells.points) - len(points)}
    if cells.higher_order:
        report["note"] = "higher-order tetrahedra reduced to linear ones (their corner vertices)"
    report.update(summarize(points, tets))
    report["warnings"] = _warnings(report)
    with _writing(out):
        _write_msh(out, points, tets, organ)
    report["path"] = str(out)
    report["dolfinx_volume_mm3"] = _read_back(out, report) if verify else None
    return report


def make_organ_mesh(organ: str, size: float | None = None, out: Path | str | None = None, *,
                    seed: int = 0, verify: bool = False) -> dict:
    """Mesh pdemet's built-in ``organ`` shape with element size ``size`` mm (default: the organ's own).

    Calls :func:`pdemet.meshes.make_mesh` with ``refinement = default_size / size``
    and writes ``out`` (default ``meshes/<organ>.msh``) atomically. Returns
    make_mesh's report plus the keys of :func:`summarize` (so
    :func:`format_report` prints it). ``MeshError`` for an unknown organ or a bad size.
    """
    from pdemet.meshes import shapes

    try:
        shape = shapes.organ_shape(organ)
    except ValueError as e:
        raise MeshError(str(e)) from None
    refinement = 1.0 if size is None else shape.default_size_mm / _element_size(size)
    out = _out_path(out, organ)
    with _writing(out):
        report = dict(shapes.make_mesh(organ, out, refinement=refinement, seed=seed))  # written atomically
    x, tets = read_tets(out)
    report.update(summarize(x, tets))
    report["warnings"] = _warnings(report)
    report["dolfinx_volume_mm3"] = verify_dolfinx(out, report["volume_mm3"]) if verify else None
    return report


# ---------------------------------------------------------------------------
# The steps of import_mesh


def _check_tetrahedra(points: np.ndarray, tets: np.ndarray, name: str, fix_orientation: bool) -> int:
    """Refuse degenerate tetrahedra, and inverted ones unless ``fix_orientation``: then swap two vertices
    of each, in ``tets``. Returns how many were fixed."""
    vol = tet_volumes(points, tets)
    flat = degenerate(points, tets)
    if flat.any():
        raise MeshError(f"{int(flat.sum())} of {len(tets)} tetrahedra in {name} are degenerate (zero volume: flat "
                        "or with repeated vertices); remesh the organ")
    inverted = vol < 0
    n_inv = int(inverted.sum())
    if n_inv and not fix_orientation:
        if n_inv == len(tets):
            raise MeshError(f"all {n_inv} tetrahedra in {name} are inverted (negative signed volume): the file "
                            "uses the opposite vertex order; import with --fix-orientation (fix_orientation=True) to "
                            "swap two vertices of each")
        raise MeshError(f"{n_inv} of {len(tets)} tetrahedra in {name} are inverted (negative signed volume); "
                        "if only their vertex order is wrong, import with --fix-orientation (fix_orientation=True) "
                        "to swap two vertices of each; if the mesh is tangled, remesh the organ")
    if n_inv:
        tets[inverted] = tets[inverted][:, [1, 0, 2, 3]]
    return n_inv


def _check_one_piece(points: np.ndarray, tets: np.ndarray, name: str) -> None:
    """Refuse a volume of several disconnected pieces."""
    labels = pieces(len(points), tets)
    n_pieces = int(labels.max()) + 1
    if n_pieces > 1:
        sizes = np.bincount(labels)
        shown = ", ".join(str(int(s)) for s in sizes[:5]) + (", ..." if n_pieces > 5 else "")
        raise MeshError(f"{name} has {n_pieces} separate pieces ({shown} tetrahedra); pdemet needs one connected "
                        "volume per organ: import with --keep-largest (keep_largest=True) to keep the largest piece, or "
                        "import each piece as its own organ")


@contextlib.contextmanager
def _writing(out: Path):
    """An OSError while writing ``out`` as a one-line ``MeshError``."""
    try:
        yield
    except OSError as e:
        raise MeshError(f"cannot write {out}: {e.strerror or first_line(e)}") from None


def _write_msh(path: Path, x: np.ndarray, tets: np.ndarray, organ: str) -> None:
    """Write the tetrahedra and their boundary triangles as a pdemet ``.msh``, atomically."""
    faces = boundary_faces(tets)
    with gmsh_model(f"pdemet-{organ}", MSH_OPTIONS) as gmsh:
        surf = gmsh.model.addDiscreteEntity(2)
        vol = gmsh.model.addDiscreteEntity(3, -1, [surf])
        gmsh.model.mesh.addNodes(3, vol, np.arange(1, len(x) + 1), x.ravel())
        gmsh.model.mesh.addElementsByType(vol, 4, np.arange(1, len(tets) + 1), (tets + 1).ravel())
        gmsh.model.mesh.addElementsByType(surf, 2, np.arange(len(tets) + 1, len(tets) + len(faces) + 1),
                                          (faces + 1).ravel())
        add_physical_groups(organ, vol, [surf])
        write_atomically(path)


def _read_back(out: Path, report: dict) -> float | None:
    """The volume DOLFINx reads in ``out`` (:func:`verify_dolfinx`); None, with a warning added to ``report``,
    where DOLFINx is not installed."""
    try:
        return verify_dolfinx(out, report["volume_mm3"])
    except ImportError:
        report["warnings"].append("DOLFINx is not installed: the written file was not read back")
        return None


# ---------------------------------------------------------------------------
# Arguments


def _organ_name(organ) -> str:
    if not isinstance(organ, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", organ):
        raise MeshError(f"organ name {organ!r} must be a word of letters, digits, '_' or '-' (it names the "
                        "physical group and the default file meshes/<organ>.msh)")
    return organ


def _unit_factor(units) -> float:
    key = units.strip().lower() if isinstance(units, str) else units
    if key not in UNITS:
        raise MeshError(f"unknown units {units!r}; use one of {', '.join(UNITS)} (the mesh coordinates' unit)")
    return UNITS[key]


def _element_size(size) -> float:
    """A positive element size in mm, or a one-line MeshError."""
    try:
        h = float(size)
    except (TypeError, ValueError):
        h = math.nan
    if not (math.isfinite(h) and h > 0):
        raise MeshError(f"element size must be a positive number of mm, got {size!r}")
    return h


def _out_path(out, organ: str) -> Path:
    out = Path(out) if out is not None else Path("meshes") / f"{organ}.msh"
    if out.suffix.lower() != ".msh":
        raise MeshError(f"the output {out} must be a gmsh .msh file (pdemet scenarios read .msh meshes)")
    if out.is_dir():
        raise MeshError(f"the output {out} is a directory; give a .msh file name")
    return out


# ---------------------------------------------------------------------------
# Reports and their check with DOLFINx


def summarize(x: np.ndarray, tets: np.ndarray) -> dict:
    """Counts, volume (mm^3), bounding box and element quality of a tetrahedral mesh in mm."""
    vol = tet_volumes(x, tets)
    q = tet_quality(x, tets)
    return {
        "n_points": int(len(x)),
        "n_tets": int(len(tets)),
        "volume_mm3": float(vol.sum()),
        "bbox_min": x.min(axis=0).tolist(),
        "bbox_max": x.max(axis=0).tolist(),
        "quality_min": float(q.min()),
        "quality_median": float(np.median(q)),
        "quality_measure": QUALITY_MEASURE,
    }


def _warnings(report: dict) -> list[str]:
    """What in a report (of :func:`summarize` and the import's keys) deserves a second look."""
    out = []
    extent = max(b - a for a, b in zip(report["bbox_min"], report["bbox_max"]))
    if extent > 200.0:
        out.append(f"the mesh is {extent:.4g} mm across, large for a mouse organ: are the units right?")
    elif extent < 1.0:
        out.append(f"the mesh is {extent:.4g} mm across, small for a mouse organ: are the units right?")
    if report["quality_min"] < 0.05:
        out.append(f"some tetrahedra are very flat (quality {report['quality_min']:.3g}): results may be less "
                   "accurate; consider remeshing")
    if report.get("tetrahedralized") and report["surface_remeshed_mm"] is None and report["n_tets"] > 1_000_000:
        out.append(f"{report['n_tets']} tetrahedra: slow to simulate; give an element size (--size) to "
                   "remesh the surface coarser")
    return out


def format_report(report: dict) -> str:
    """The report of :func:`import_mesh` or :func:`make_organ_mesh` as a few readable lines."""
    lo, hi = report["bbox_min"], report["bbox_max"]
    ext = [b - a for a, b in zip(lo, hi)]
    fmt = lambda v: "(" + ", ".join(f"{c:.4g}" for c in v) + ")"  # noqa: E731
    lines = [f"organ {report.get('organ', '?')} -> {report['path']}"]
    if "source" in report:
        how = "tetrahedra kept"
        if report.get("tetrahedralized"):
            how = (f"surface remeshed at {report['surface_remeshed_mm']:g} mm and filled with tetrahedra"
                   if report.get("surface_remeshed_mm") else "surface filled with tetrahedra")
            how += f"; it encloses {report['surface_volume_mm3']:.6g} mm^3"
        lines.append(f"  from      {report['source']} ({report['input_cells']}; units {report['units']}, "
                     f"x{report['scale_to_mm']:g} to mm; {how})")
    elif "size_mm" in report:
        lines.append(f"  built-in shape, element size {report['size_mm']:.4g} mm")
    lines += [
        f"  mesh      {report['n_points']} points, {report['n_tets']} tetrahedra",
        f"  volume    {report['volume_mm3']:.6g} mm^3",
        f"  bbox      {fmt(lo)} .. {fmt(hi)} mm (extent {ext[0]:.4g} x {ext[1]:.4g} x {ext[2]:.4g} mm)",
        f"  quality   min {report['quality_min']:.3f}, median {report['quality_median']:.3f} "
        f"(radius ratio, 1 = regular)",
    ]
    if report.get("dropped_triangles"):
        lines.append(f"  dropped   {report['dropped_triangles']} repeated or zero-area surface triangles")
    if report.get("dropped_pieces"):
        lines.append(f"  dropped   {report['dropped_pieces']} smaller separate piece(s) (--keep-largest)")
    if report.get("fixed_orientation"):
        lines.append(f"  fixed     {report['fixed_orientation']} inverted tetrahedra (two vertices swapped)")
    if report.get("dropped_points"):
        lines.append(f"  dropped   {report['dropped_points']} points used by no tetrahedron")
    if report.get("note"):
        lines.append(f"  note      {report['note']}")
    if report.get("dolfinx_volume_mm3") is not None:
        lines.append(f"  DOLFINx   reads it: volume {report['dolfinx_volume_mm3']:.6g} mm^3")
    for w in report.get("warnings", []):
        lines.append(f"  warning   {w}")
    return "\n".join(lines)


def verify_dolfinx(path, expected_volume: float | None = None, rtol: float = 1e-9) -> float:
    """Read ``path`` with DOLFINx (as pdemet does) and return its volume; ``MeshError`` if unreadable or off.

    Raises ``ImportError`` when DOLFINx is not installed. Does what
    ``gmshio.read_from_msh(path, MPI.COMM_SELF, 0, gdim=3)`` does (gmsh merge, then
    ``model_to_mesh``) without gmsh's terminal output; the whole mesh is read on
    this process.
    """
    from pdemet.backend import MPI, fem, gmshio, ufl  # imports dolfinx_solver before dolfinx

    try:  # what gmshio.read_from_msh does, in a gmsh session that prints nothing
        with gmsh_model("pdemet-verify") as gmsh:
            gmsh.merge(str(path))
            data = gmshio.model_to_mesh(gmsh.model, MPI.COMM_SELF, 0, gdim=3)
    except Exception as e:
        raise MeshError(f"DOLFINx cannot read the written {path}: {first_line(e)}") from None
    m = data.mesh
    if m.topology.dim != 3:
        raise MeshError(f"DOLFINx reads {path} as a {m.topology.dim}D mesh, expected 3D")
    volume = float(fem.assemble_scalar(fem.form(1.0 * ufl.dx(domain=m))))
    if expected_volume is not None and not math.isclose(volume, expected_volume, rel_tol=rtol):
        raise MeshError(f"DOLFINx reads {path} with volume {volume:.12g} mm^3, expected {expected_volume:.12g}")
    return volume
