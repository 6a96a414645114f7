"""The census: exact volumes above the threshold, foci by size, and the founding events of each focus."""

import numpy as np
import pytest

from pdemet.census import find_foci, summarize, volume_above
from pdemet.meshes.geometry import mesh_edges


def test_volume_above_a_level_is_exact_for_a_linear_field():
    rng = np.random.default_rng(1)
    pts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], float)
    tet = np.array([[0, 1, 2, 3]])
    for values, level in [(rng.random(4), 0.5), (np.array([0.2, 0.2, 0.8, 0.9]), 0.5),
                          (np.array([0.0, 0.0, 0.0, 1.0]), 1e-3), (np.array([1.0, 1.0, 1.0, 1.0]), 0.5)]:
        x = rng.dirichlet(np.ones(4), 400_000)
        mc = (x @ values > level).mean() / 6
        exact = volume_above(pts, tet, values, level)[0]
        assert exact == pytest.approx(mc, abs=4 * np.sqrt(mc * (1 / 6 - mc) / 4e5) + 1e-12), (values, level)
    # f = x on the unit tetrahedron: the volume where x > a is (1 − a)³/6
    assert volume_above(pts, tet, pts[:, 0], 0.3)[0] == pytest.approx(0.7 ** 3 / 6, rel=1e-6)


def _two_balls():
    """A structured box with two balls of tumor (one red, one red+blue) of known size."""
    import pyvista as pv

    g = pv.ImageData(dimensions=(41, 21, 21), spacing=(0.01,) * 3).triangulate()
    pts, tets = np.asarray(g.points, float), g.cells.reshape(-1, 5)[:, 1:].astype(np.int64)
    w = np.bincount(tets.ravel(), weights=np.repeat(np.abs(np.einsum(
        "ij,ij->i", *(lambda d: (d[:, 0], np.cross(d[:, 1], d[:, 2])))(pts[tets[:, 1:]] - pts[tets[:, :1]]))) / 24, 4),
        minlength=len(pts))
    kappa = 1e6
    r1, r2 = np.linalg.norm(pts - [0.1, 0.1, 0.1], axis=1), np.linalg.norm(pts - [0.3, 0.1, 0.1], axis=1)
    ball1, ball2 = (r1 <= 0.06) * 0.8 * kappa, (r2 <= 0.05) * 0.8 * kappa
    u = np.stack([ball1 + 0.5 * ball2, 0.5 * ball2])
    return pts, tets, w, u, kappa


def test_foci_have_their_density_size_and_founders():
    pts, tets, w, u, kappa = _two_balls()
    founders = {"points": np.array([[0.1, 0.1, 0.1], [0.3, 0.1, 0.1], [0.31, 0.1, 0.1]]), "cells": np.array([1, 5, 3]),
                "polyclonal": np.array([False, True, False])}
    foci = find_foci(u, w, pts, mesh_edges(tets), 1e-3 * kappa, 0.05, tets=tets, capacity=kappa, min_cells=600,
                     founders=founders)
    assert len(foci) == 2
    big, small = foci
    v1, v2 = 4 / 3 * np.pi * 0.06 ** 3, 4 / 3 * np.pi * 0.05 ** 3
    print(f"volumes {big['volume_mm3']:.3e}/{v1:.3e}, {small['volume_mm3']:.3e}/{v2:.3e}; densities "
          f"{big['density']:.3f}, {small['density']:.3f}")
    # the discrete balls (h = 10 µm) hold the cells of balls of their radius to ~15 %, at 0.8 κ inside
    assert big["cells"] == pytest.approx(0.8 * kappa * v1, rel=0.15) and big["polyclonal"] == 0
    assert small["polyclonal"] == 1 and np.allclose(small["fractions"], [0.5, 0.5])
    # the half-peak volume is the ball's; the support (above the threshold) one element larger
    assert big["volume_mm3"] == pytest.approx(v1, rel=0.1) and small["volume_mm3"] == pytest.approx(v2, rel=0.1)
    assert big["density"] == pytest.approx(0.8, rel=0.05) and small["density"] == pytest.approx(0.8, rel=0.05)
    assert big["support_mm3"] > 1.15 * big["volume_mm3"]
    assert (big["founding_events"], small["founding_events"]) == (1, 2)
    assert (big["founding_cells"], small["founding_cells"]) == (1, 8) and small["polyclonal_founders"] == 1
    assert big["focus"] == 1 and small["focus"] == 0  # ~419 cells < min_cells
    s = summarize(foci)
    assert s == {"foci": 1, "lesions": 2, "polyclonal_fraction": 0.0, "polyclonal_by_one_cluster": 0.0,
                 "polyclonal_by_merger": 0.0}
    s = summarize(find_foci(u, w, pts, mesh_edges(tets), 1e-3 * kappa, 0.05, tets=tets, capacity=kappa,
                            founders=founders))
    assert s["foci"] == 2 and s["polyclonal_fraction"] == 0.5 and s["polyclonal_by_merger"] == 0.5


def test_clonal_patches_are_connected_regions_of_one_dominant_clone():
    """A ball cut into four slabs of alternating clones holds four patches (two per clone); a one-node speck of a
    third clone is below 1 % of its cells and does not count; an evenly mixed ball is one patch."""
    pts, tets, w, _, kappa = _two_balls()
    r = np.linalg.norm(pts - [0.2, 0.1, 0.1], axis=1)
    ball = (r <= 0.09) * 0.9 * kappa
    slab = np.clip(((pts[:, 0] - 0.11) / 0.045).astype(int), 0, 3)  # four slabs across the ball
    u = np.zeros((3, len(pts)))
    u[0] = ball * (slab % 2 == 0)
    u[1] = ball * (slab % 2 == 1)
    speck = np.argmin(np.linalg.norm(pts - [0.2, 0.1, 0.1], axis=1))
    u[2, speck], u[:2, speck] = ball[speck], 0.0
    (focus,) = find_foci(u, w, pts, mesh_edges(tets), 1e-3 * kappa, 0.05, tets=tets, capacity=kappa)
    assert focus["patches"] == 4 and focus["n_clones"] == 2
    mixed = np.stack([0.5 * ball, 0.5 * ball, 0 * ball])
    assert find_foci(mixed, w, pts, mesh_edges(tets), 1e-3 * kappa, 0.05)[0]["patches"] == 1
