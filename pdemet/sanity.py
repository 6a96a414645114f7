"""Warnings at start-up: a scenario that runs but cannot mean what its author intends.

Each check reads the base meshes (rank 0's arrays, in mm) and the organ's settings; none of them stops a
run (a researcher may mean it), each says what looks wrong and how to change it. Checked:

- the organ's extent against real organs in mm (a mouse's lung is ~10 mm across, a human liver ~200 mm):
  a mesh in micrometres or metres read as mm is 10³× off;
- a mesh of several separate pieces (cells cannot move between them);
- a site whose elements are far larger than the foci it must resolve: a focus of
  ``cluster_flux.focus_min_cells`` cells at
  the carrying capacity κ has radius r = (3n / 4πκ)^(1/3) (23 µm at κ = 10⁶ cells/mm³); without local
  refinement, or when the refinement levels allowed cannot reach the target size, a seeded cluster is smeared
  over an element (the census then finds no focus).
"""

from __future__ import annotations

import math

import numpy as np

from pdemet.meshes.geometry import mesh_edges, pieces

EXTENT_MM = (0.5, 500.0)  # mm: from a mouse lymph node (~1 mm) to a human liver (~200 mm), with a margin
ELEMENTS_PER_FOCUS = 0.25  # warn when the element edge exceeds 4 focus radii


def focus_radius(cells: float, kappa: float) -> float:
    """mm: radius of a ball of ``cells`` cells at density ``kappa`` (cells/mm³)."""
    return (3.0 * cells / (4.0 * math.pi * kappa)) ** (1.0 / 3.0)


def start_warnings(scenario, base_meshes: dict) -> list[str]:
    """One line per problem found (rank 0: ``base_meshes`` maps organ name to (points, tets))."""
    out = []
    for name, cfg in scenario.organs.items():
        points, tets = base_meshes[name]
        extent = float(np.max(points.max(axis=0) - points.min(axis=0)))
        if not EXTENT_MM[0] <= extent <= EXTENT_MM[1]:
            out.append(f"organ {name} is {extent:.4g} mm across, far from any mouse or human organ "
                       f"({EXTENT_MM[0]:g}-{EXTENT_MM[1]:g} mm): are its mesh's units mm? (re-import it with "
                       "`pdemet mesh import ... --units um` or `--scale`)")
        n_pieces = int(pieces(len(points), tets).max()) + 1 if len(tets) else 1
        if n_pieces > 1:
            out.append(f"organ {name}'s mesh has {n_pieces} separate pieces: cells never move between them (keep "
                       "one with `pdemet mesh import ... --keep-largest`, or make each piece its own organ)")
        if cfg.role == "site" and scenario.cluster_flux is not None and scenario.cluster_flux.enabled:
            out += _resolution(name, cfg, points, tets, scenario.cluster_flux.focus_min_cells)
    return out


def _resolution(name, cfg, points, tets, focus_cells: float) -> list[str]:
    edges = mesh_edges(tets)
    h = float(np.median(np.linalg.norm(points[edges[:, 1]] - points[edges[:, 0]], axis=1)))
    kappa = float(cfg.params.get("carrying_capacity", 1.0e6))
    r = focus_radius(focus_cells, kappa)
    reach = h / 2.0 ** cfg.adapt.max_levels if cfg.adapt.enabled else h
    if reach * ELEMENTS_PER_FOCUS > r:
        how = (f"refined at most {cfg.adapt.max_levels} levels they reach {reach:.3g} mm; raise "
               f"organs.{name}.adapt.max_levels or use a finer base mesh" if cfg.adapt.enabled else
               f"turn on [organs.{name}.adapt] (local refinement around foci) or refine the mesh")
        return [f"site {name}: elements of {h:.3g} mm (median edge) are far larger than a focus of {focus_cells:g} cells (radius "
                f"{r:.3g} mm): seeded cells are smeared over an element and foci go unresolved; {how}"]
    return []
