"""The gmsh organ meshes: the generator (pdemet.meshes) and the shipped meshes/*.msh."""

from pathlib import Path

import meshio
import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pdemet.meshes import ORGANS, make_mesh

ROOT = Path(__file__).resolve().parents[1]
MESH_DIR = ROOT / "meshes"
TOLERANCE = 0.15  # meshes must be within 15 % of the documented target volume (docs/meshes.md)


def volume_range(organ):
    target = ORGANS[organ].target_volume_mm3
    return (1 - TOLERANCE) * target, (1 + TOLERANCE) * target


def tet_volumes(points, tets):
    p0 = points[tets[:, 0]]
    return np.einsum("ij,ij->i", points[tets[:, 1]] - p0, np.cross(points[tets[:, 2]] - p0, points[tets[:, 3]] - p0)) / 6


def test_organs_are_documented():
    assert set(ORGANS) == {"fat_pad", "lung", "liver", "bone", "brain"}
    for name, shape in ORGANS.items():
        assert shape.name == name and shape.description and shape.dimensions_mm and shape.source
        assert shape.default_size_mm > 0 and shape.target_volume_mm3 > 0 and callable(shape.build)


def test_unknown_organ_lists_the_known_ones(tmp_path):
    with pytest.raises(ValueError, match="known organs: fat_pad, lung, liver, bone, brain"):
        make_mesh("kidney", tmp_path / "kidney.msh")


def test_make_mesh_coarse(tmp_path):
    path = tmp_path / "sub" / "fat_pad.msh"
    report = make_mesh("fat_pad", path, refinement=0.5)
    assert path.is_file()
    lo, hi = volume_range("fat_pad")
    assert lo <= report["volume_mm3"] <= hi
    assert report["size_mm"] == pytest.approx(2 * ORGANS["fat_pad"].default_size_mm)
    assert report["min_quality"] > 0.1

    # The report matches the file.
    m = meshio.read(path)
    tets = m.cells_dict["tetra"]
    assert report["n_tets"] == len(tets)
    assert report["n_vertices"] == len(np.unique(tets)) == len(m.points)
    assert report["volume_mm3"] == pytest.approx(tet_volumes(m.points, tets).sum(), rel=1e-9)
    np.testing.assert_allclose(report["bbox"], [m.points.min(axis=0), m.points.max(axis=0)], atol=1e-5)
    assert {n: tuple(v) for n, v in m.field_data.items()} == {"fat_pad": (1, 3), "boundary": (2, 2)}

    # Same inputs, same file; a second call in the same process works.
    again = make_mesh("fat_pad", tmp_path / "again.msh", refinement=0.5)
    assert (tmp_path / "again.msh").read_bytes() == path.read_bytes()
    assert {k: v for k, v in again.items() if k != "path"} == {k: v for k, v in report.items() if k != "path"}


@pytest.mark.parametrize("organ", sorted(ORGANS))
def test_shipped_mesh(organ):
    path = MESH_DIR / f"{organ}.msh"
    assert path.is_file(), f"{path} missing: run `python scripts/make_meshes.py`"
    m = meshio.read(path)
    solid = {c.type for c in m.cells if c.dim == 3}
    assert solid == {"tetra"}
    assert {c.type for c in m.cells} <= {"tetra", "triangle"}
    tets = m.cells_dict["tetra"]
    vols = tet_volumes(m.points, tets)
    assert vols.min() > 0
    lo, hi = volume_range(organ)
    assert lo <= vols.sum() <= hi, f"{organ}: {vols.sum():.1f} mm^3 not in [{lo:.0f}, {hi:.0f}]"
    assert 1500 <= len(m.points) <= 6000
    assert len(np.unique(tets)) == len(m.points)  # no stray vertices

    # Every triangle is a boundary facet: each boundary facet belongs to exactly one tet.
    faces = np.sort(np.concatenate([tets[:, [1, 2, 3]], tets[:, [0, 2, 3]], tets[:, [0, 1, 3]], tets[:, [0, 1, 2]]]), axis=1)
    uniq, inverse, counts = np.unique(faces, axis=0, return_inverse=True, return_counts=True)
    assert counts.max() <= 2
    boundary = {tuple(f) for f in uniq[counts == 1]}
    tris = {tuple(f) for f in np.sort(m.cells_dict["triangle"], axis=1)}
    assert tris == boundary

    # One connected piece: tets joined through shared faces.
    owner = np.tile(np.arange(len(tets)), 4)
    order = np.argsort(inverse.ravel(), kind="stable")
    shared = counts[inverse.ravel()[order]] == 2
    pairs = owner[order][shared].reshape(-1, 2)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(tets), len(tets)))
    assert connected_components(graph, directed=False)[0] == 1
