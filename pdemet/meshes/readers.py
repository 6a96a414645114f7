"""Reading any mesh file meshio reads, and sorting its cells into what pdemet can use.

:func:`read_cells` gives the points and the linear tetrahedra and triangles of a
file, or refuses it with a one-line :class:`MeshError` when it holds nothing
pdemet can make an organ of (no points, 2D, other 3D cell types, no
tetrahedra and no surface).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pdemet.errors import MeshError, first_line
from pdemet.meshes.geometry import compact

_OTHER_3D = ("hexahedron", "wedge", "pyramid", "polyhedron")  # meshio cell-type prefixes


@dataclass(frozen=True)
class Cells:
    """What a mesh file holds for pdemet: points (n, 3), linear tetrahedra (m, 4) and triangles (k, 3) as
    0-based point indices (quadrilaterals split in two), and ``counts``: how many cells of each meshio type."""

    points: np.ndarray
    tets: np.ndarray
    tris: np.ndarray
    counts: dict[str, int]

    @property
    def summary(self) -> str:
        """The cell counts, e.g. ``"72 tetra, 52 triangle"``."""
        return ", ".join(f"{n} {k}" for k, n in self.counts.items()) or "no cells"

    @property
    def higher_order(self) -> bool:
        """Whether the tetrahedra were higher-order ones (``tetra10`` ...), reduced to their corners."""
        return any(k != "tetra" and k.startswith("tetra") for k in self.counts)


def read_mesh(path: Path, file_format: str | None):
    """The ``meshio.Mesh`` in ``path``; a one-line ``MeshError`` (with meshio's reason) if it cannot be read."""
    import meshio

    if not path.exists():
        raise MeshError(f"no such file: {path}")
    if not path.is_file():
        raise MeshError(f"{path} is not a file")
    # meshio prints its readers' errors and then calls sys.exit(1): capture both.
    said = io.StringIO()
    reason = None
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
            warnings.simplefilter("ignore")
            return meshio.read(path, file_format=file_format)
    except MemoryError:
        reason = "out of memory"
    except SystemExit:
        reason = next((ln.strip() for ln in said.getvalue().splitlines() if ln.strip()), "")
        reason = reason[len("Error: "):] if reason.startswith("Error: ") else reason
    except Exception as e:  # meshio raises ReadError, KeyError, ValueError, ParseError, ... for bad files
        reason = first_line(e)
    what = f"as {file_format}" if file_format else f"as a mesh (format from the suffix {path.suffix!r})"
    raise MeshError(f"cannot read {path} {what}{': ' + reason if reason else ''}; not a mesh or a corrupt file? "
                    "give a mesh file meshio reads (.vtu, .vtk, .msh, .mesh, .inp, .stl, .obj, ...)")


def split_cells(mesh) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Linear tetrahedra (n, 4), triangles (m, 3) and a count of all non-empty cell blocks, by meshio type."""
    tets, tris, others = [], [], {}
    for block in mesh.cells:
        kind, data = block.type, np.asarray(block.data)
        if len(data) == 0:
            continue
        if kind.startswith("tetra") and data.ndim == 2 and data.shape[1] >= 4:
            tets.append(data[:, :4])  # tetra10 etc.: the corner vertices come first
        elif kind.startswith("triangle") and data.ndim == 2 and data.shape[1] >= 3:
            tris.append(data[:, :3])
        elif kind.startswith("quad") and data.ndim == 2 and data.shape[1] >= 4:
            tris.extend([data[:, [0, 1, 2]], data[:, [0, 2, 3]]])
        others[kind] = others.get(kind, 0) + len(data)
    cat = lambda parts, k: np.concatenate(parts).astype(np.int64) if parts else np.zeros((0, k), np.int64)  # noqa: E731
    return cat(tets, 4), cat(tris, 3), others


def read_cells(path: Path, file_format: str | None = None) -> Cells:
    """The points and cells of the mesh file ``path``: tetrahedra, or a 3D triangulated surface to fill.

    ``MeshError`` (one line) if unreadable, without points, 2D, with NaN
    coordinates, with other 3D cell types, or with neither tetrahedra nor a 3D surface.
    """
    mesh = read_mesh(path, file_format)
    points = _points(mesh, path.name)
    tets, tris, counts = split_cells(mesh)
    cells = Cells(points, tets, tris, counts)
    _check_cell_types(cells, path.name)
    return cells


def read_tets(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Points (n, 3) and linear tetrahedra of a tetrahedral mesh file, without the points no tetrahedron uses."""
    mesh = read_mesh(path, None)
    tets, _, _ = split_cells(mesh)
    return compact(np.asarray(mesh.points, dtype=float)[:, :3], tets)


def _points(mesh, name: str) -> np.ndarray:
    """The mesh's points as (n, 3) floats; ``MeshError`` if there are none, they are 2D or not finite."""
    points = np.asarray(mesh.points, dtype=float)
    if points.ndim != 2 or len(points) == 0:
        raise MeshError(f"{name} has no points: not a mesh")
    if points.shape[1] < 3:
        raise MeshError(f"{name} is a {points.shape[1]}D mesh (points have {points.shape[1]} coordinates); "
                        "pdemet needs a 3D tetrahedral volume mesh of the organ")
    points = points[:, :3]
    if not np.isfinite(points).all():
        raise MeshError(f"{name} has {int((~np.isfinite(points)).any(axis=1).sum())} points with NaN or infinite "
                        "coordinates")
    return points


def _check_cell_types(cells: Cells, name: str) -> None:
    """Tetrahedra only, or (no tetrahedra) triangles not all in one plane z = const."""
    other3d = {k: n for k, n in cells.counts.items() if k.startswith(_OTHER_3D)}
    if other3d:
        others = ", ".join(f"{n} {k}" for k, n in other3d.items())
        if len(cells.tets):
            raise MeshError(f"{name} mixes tetrahedra with other 3D cells ({others}); pdemet needs tetrahedra only: "
                            "split those cells into tetrahedra or remesh the volume with tetrahedra (e.g. gmsh)")
        raise MeshError(f"{name} has no tetrahedra ({others}); pdemet needs a tetrahedral mesh: convert it, e.g. "
                        "split each hexahedron into 5 or 6 tetrahedra or remesh the volume with tetrahedra in gmsh")
    points = cells.points
    if len(cells.tets) == 0 and (len(cells.tris) == 0 or np.ptp(points[:, 2]) == 0.0):
        if len(cells.tris):
            raise MeshError(f"{name} is a 2D mesh ({cells.summary}, all points at z = {points[0, 2]:.6g}); pdemet "
                            "needs a 3D tetrahedral volume mesh of the organ")
        raise MeshError(f"{name} has no tetrahedra and no closed surface ({cells.summary}); pdemet needs a 3D "
                        "tetrahedral mesh or a closed triangulated surface")
