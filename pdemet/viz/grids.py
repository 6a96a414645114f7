"""PyVista data of an organ of a run: its grid, surface and bounds (derived once, kept in ``organ.cache``),
the grid carrying one step's clone densities, and the tumor surface cut from it.

The organ's mesh and fields come from :class:`pdemet.output.rundir.OrganFields`; nothing here reads files.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyvista as pv

from pdemet.output import layout
from pdemet.output.rundir import OrganFields
from pdemet.viz.colors import mix_colors, u8

# Tumor surfaces are drawn where total density > THRESHOLD_FRAC * carrying capacity.
THRESHOLD_FRAC = 0.01


def mesh(organ: OrganFields, k: int = 0) -> pv.UnstructuredGrid:
    """Tetrahedral grid (mm) of step ``k``'s mesh, without data; cached per mesh (an adapted organ's mesh
    changes between steps; its outline, which the overviews draw from step 0, does not)."""
    key = ("grid", organ.part(k))
    if key not in organ.cache:
        pts, tets = organ.points_tets(k)
        organ.cache[key] = pv.UnstructuredGrid({pv.CellType.TETRA: tets}, pts)
    return organ.cache[key]


def surface(organ: OrganFields) -> pv.PolyData:
    """Triangulated outer surface of the organ; cached."""
    if "surface" not in organ.cache:
        organ.cache["surface"] = mesh(organ).extract_surface(algorithm="dataset_surface").triangulate()
    return organ.cache["surface"]


def bounds(organ: OrganFields) -> np.ndarray:
    """The organ's bounding box as a (3, 2) array of (min, max) per axis, in mm."""
    return np.asarray(mesh(organ).bounds).reshape(3, 2)


def step_grid(organ: OrganFields, k: int, clones: Sequence[str]) -> pv.UnstructuredGrid:
    """Mesh carrying the clone arrays and ``total`` of step ``k``."""
    g = mesh(organ, k).copy(deep=False)
    data = organ.fields(k)
    dens = []
    for c in clones:
        arr = data.get(c, np.zeros(g.n_points))
        g.point_data[c] = arr
        dens.append(arr)
    g.point_data[layout.TOTAL] = data[layout.TOTAL] if layout.TOTAL in data else np.sum(dens, axis=0)
    return g


def densities(data: pv.DataSet, clones: Sequence[str]) -> np.ndarray:
    """(K, n) clone densities of a grid, surface or slice that carries the clone point arrays."""
    return np.stack([np.asarray(data.point_data[c]) for c in clones])


def tumor_surface(grid: pv.UnstructuredGrid, clones, colors, threshold: float) -> pv.PolyData | None:
    """Closed surface of the region total > threshold, colored by clone mix (``rgb`` uint8 point array)."""
    total = np.asarray(grid.point_data[layout.TOTAL])
    if grid.n_points == 0 or not np.any(total > threshold):
        return None
    vol = grid.clip_scalar(scalars=layout.TOTAL, value=threshold, invert=False)
    if vol.n_cells == 0:
        return None
    surf = vol.extract_surface(algorithm="dataset_surface").triangulate()
    if surf.n_points == 0:
        return None
    surf.point_data["rgb"] = u8(mix_colors(densities(surf, clones), colors))
    return surf.compute_normals(auto_orient_normals=False, split_vertices=False)
