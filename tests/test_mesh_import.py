"""Importing organ meshes: exact volumes and units, one-line refusals, surface filling, DOLFINx reads the result."""

import math
import os

import meshio
import numpy as np
import pytest

from pdemet.errors import MeshError
from pdemet.meshes.geometry import boundary_faces, tet_quality, tet_volumes
from pdemet.meshes.importer import format_report, import_mesh, make_organ_mesh

from conftest import run_cli


def box_mesh(lengths=(2.0, 3.0, 4.0), n=(2, 3, 2)):
    """Tetrahedra of the box [0, L]: each of n[0] x n[1] x n[2] hexahedra split into 6 (Kuhn), positively oriented."""
    axes = [np.linspace(0.0, L, k + 1) for L, k in zip(lengths, n)]
    x = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    idx = np.arange(len(x)).reshape([k + 1 for k in n])
    tets = []
    for i in range(n[0]):
        for j in range(n[1]):
            for k in range(n[2]):
                v = [idx[i + a, j + b, k + c] for c in (0, 1) for b in (0, 1) for a in (0, 1)]
                for p, q in ((1, 3), (3, 2), (2, 6), (6, 4), (4, 5), (5, 1)):  # around the diagonal v0-v7
                    tets.append([v[0], v[p], v[q], v[7]])
    tets = np.array(tets)
    neg = tet_volumes(x, tets) < 0
    tets[neg] = tets[neg][:, [1, 0, 2, 3]]
    return x, tets


def write(path, points, cells, **kw):
    meshio.write(path, meshio.Mesh(points, cells), **kw)
    return path


def refused(path, match, **kw):
    """import_mesh refuses ``path`` with a one-line MeshError matching ``match``; returns the message."""
    with pytest.raises(MeshError, match=match) as info:
        import_mesh(path, "organ", out=path.parent / "out.msh", verify=False, **kw)
    msg = str(info.value)
    assert "\n" not in msg and len(msg) < 400, msg
    assert not (path.parent / "out.msh").exists()
    return msg


@pytest.mark.parametrize("units, factor", [("um", 1000.0), ("mm", 1.0), ("cm", 0.1), ("m", 0.001)])
def test_box_round_trip_in_every_unit(tmp_path, units, factor):
    """A 2 x 3 x 4 mm box given in µm, mm, cm or m: 24 mm^3 and the bbox in mm, to rounding."""
    x, tets = box_mesh()
    src = write(tmp_path / "box.vtu", x * factor, [("tetra", tets)])
    out = tmp_path / "meshes" / "box.msh"
    r = import_mesh(src, "box", units=units, out=out, verify=False)
    assert r["path"] == str(out) and out.is_file()
    assert math.isclose(r["volume_mm3"], 24.0, rel_tol=1e-12)
    assert np.allclose(r["bbox_min"], [0, 0, 0], atol=1e-12) and np.allclose(r["bbox_max"], [2, 3, 4], rtol=1e-12)
    assert (r["n_points"], r["n_tets"]) == (len(x), len(tets))
    assert 0 < r["quality_min"] <= r["quality_median"] <= 1
    assert r["warnings"] == [] and not r["tetrahedralized"]

    # the file: gmsh 4.1 ASCII, tetrahedra in physical volume 1 named after the organ, in mm
    text = out.read_text()
    assert text.startswith("$MeshFormat\n4.1 0 8\n")
    assert '3 1 "box"' in text and '2 2 "boundary"' in text
    m = meshio.read(out)
    t = np.concatenate([c.data for c in m.cells if c.type == "tetra"])
    assert math.isclose(tet_volumes(m.points, t).sum(), 24.0, rel_tol=1e-12)
    phys = np.concatenate([d for c, d in zip(m.cells, m.cell_data["gmsh:physical"]) if c.type == "tetra"])
    assert set(phys) == {1}
    assert "volume    24 mm^3" in format_report(r)


def test_drops_other_cells_unused_points_and_high_order(tmp_path):
    """Boundary triangles and stray points go; tetra10 keeps its corners."""
    x, tets = box_mesh(n=(1, 1, 1))
    pts = np.vstack([x, [[9.0, 9.0, 9.0]]])
    src = write(tmp_path / "a.vtu", pts, [("tetra", tets), ("triangle", boundary_faces(tets))])
    r = import_mesh(src, "a", out=tmp_path / "a.msh", verify=False)
    assert r["dropped_points"] == 1 and r["n_points"] == 8 and math.isclose(r["volume_mm3"], 24.0, rel_tol=1e-12)

    # tetra10: midpoints of the edges appended
    edges = [(0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3)]  # VTK/meshio tetra10 order
    mids, t10 = [], []
    for t in tets:
        row = list(t)
        for a, b in edges:
            mids.append(0.5 * (x[t[a]] + x[t[b]]))
            row.append(len(x) + len(mids) - 1)
        t10.append(row)
    src = write(tmp_path / "q.vtu", np.vstack([x, mids]), [("tetra10", np.array(t10))])
    r = import_mesh(src, "q", out=tmp_path / "q.msh", verify=False)
    assert r["n_points"] == 8 and "higher-order" in r["note"] and math.isclose(r["volume_mm3"], 24.0, rel_tol=1e-12)


def test_refuses_2d_meshes(tmp_path):
    tris = np.array([[0, 1, 2], [1, 3, 2]])
    flat = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], float)
    refused(write(tmp_path / "flat2.mesh", flat, [("triangle", tris)]), r"2D mesh \(points have 2 coordinates\)")
    refused(write(tmp_path / "flat3.vtu", np.c_[flat, np.zeros(4)], [("triangle", tris)]), r"is a 2D mesh")


def test_refuses_inverted_and_degenerate_tetrahedra(tmp_path):
    x, tets = box_mesh()
    one = tets.copy()
    one[5] = one[5][[1, 0, 2, 3]]
    src = write(tmp_path / "one.vtu", x, [("tetra", one)])
    msg = refused(src, r"^1 of 72 tetrahedra in one.vtu are inverted")
    assert "fix-orientation" in msg
    r = import_mesh(src, "one", out=tmp_path / "one.msh", verify=False, fix_orientation=True)
    assert r["fixed_orientation"] == 1 and math.isclose(r["volume_mm3"], 24.0, rel_tol=1e-12)

    refused(write(tmp_path / "all.vtu", x, [("tetra", tets[:, [1, 0, 2, 3]])]),
            r"all 72 tetrahedra .* inverted .* opposite vertex order")
    flat = np.vstack([tets, [[0, 1, 2, 2]]])
    refused(write(tmp_path / "flat.vtu", x, [("tetra", flat)]), r"1 of 73 tetrahedra .* degenerate")


def test_refuses_files_that_are_not_meshes(tmp_path):
    (tmp_path / "text.vtu").write_text("this is not a mesh\nat all\n")
    refused(tmp_path / "text.vtu", r"cannot read .*text.vtu.*not a mesh")
    (tmp_path / "noise.msh").write_bytes(np.random.default_rng(1).bytes(4096))
    refused(tmp_path / "noise.msh", r"cannot read .*noise.msh")
    (tmp_path / "noise.stl").write_bytes(np.random.default_rng(2).bytes(4096))
    refused(tmp_path / "noise.stl", r"cannot read .*noise.stl")
    (tmp_path / "data.xyz").write_text("1 2 3\n")
    refused(tmp_path / "data.xyz", r"cannot read .*data.xyz")
    refused(tmp_path / "missing.vtu", r"no such file")


def test_refuses_other_cell_types_units_and_names(tmp_path):
    cube = np.array([[i, j, k] for k in (0, 1) for j in (0, 1) for i in (0, 1)], float)
    hexa = np.array([[0, 1, 3, 2, 4, 5, 7, 6]])
    msg = refused(write(tmp_path / "hex.vtu", cube, [("hexahedron", hexa)]), r"no tetrahedra \(1 hexahedron\)")
    assert "tetrahedra" in msg.split(";")[1]
    x, tets = box_mesh(n=(1, 1, 1))
    refused(write(tmp_path / "mix.vtu", np.vstack([x, cube + 5]), [("tetra", tets), ("hexahedron", hexa + 8)]),
            r"mixes tetrahedra with other 3D cells")
    refused(write(tmp_path / "lines.vtu", x, [("line", np.array([[0, 1]]))]), r"no tetrahedra and no closed surface")
    src = write(tmp_path / "box.vtu", x, [("tetra", tets)])
    refused(src, r"unknown units 'inch'", units="inch")
    refused(src, r"is a volume mesh: .* element size applies only to surfaces", size=0.5)
    refused(src, r"element size must be a positive number", size=-1)
    with pytest.raises(MeshError, match="organ name"):
        import_mesh(src, "../x", out=tmp_path / "x.msh", verify=False)
    with pytest.raises(MeshError, match="must be a gmsh .msh file"):
        import_mesh(src, "box", out=tmp_path / "x.vtu", verify=False)
    assert issubclass(MeshError, ValueError)


def test_refuses_several_pieces(tmp_path):
    x, tets = box_mesh()
    two = write(tmp_path / "two.vtu", np.vstack([x, x + [5.0, 0, 0]]), [("tetra", np.vstack([tets, tets + len(x)]))])
    refused(two, r"2 separate pieces \(72, 72 tetrahedra\)")
    faces = boundary_faces(tets)
    refused(write(tmp_path / "two.stl", np.vstack([x, x + [5.0, 0, 0]]), [("triangle", np.vstack([faces, faces + len(x)]))]),
            r"surface of 2 separate pieces.*--keep-largest")


def test_keep_largest_keeps_one_piece_of_two(tmp_path):
    """Both lungs in one file: --keep-largest keeps the larger (by elements), as a volume or as a surface."""
    big, tb = box_mesh()                                   # 2 x 3 x 4 mm, 72 tetrahedra
    small, ts = box_mesh(lengths=(1.0, 1.0, 1.0), n=(1, 1, 1))  # 6 tetrahedra
    x = np.vstack([big, small + [5.0, 0, 0]])
    two = write(tmp_path / "two.vtu", x, [("tetra", np.vstack([ts + len(big), tb]))])
    report = import_mesh(two, "lung", out=tmp_path / "lung.msh", verify=False, keep_largest=True)
    assert report["n_tets"] == 72 and report["dropped_pieces"] == 1
    assert report["volume_mm3"] == pytest.approx(24.0, rel=1e-12)
    faces = np.vstack([boundary_faces(ts) + len(big), boundary_faces(tb)])
    surf = write(tmp_path / "two.stl", x, [("triangle", faces)])
    report = import_mesh(surf, "lung", out=tmp_path / "lung2.msh", verify=False, keep_largest=True)
    assert report["dropped_pieces"] == 1 and report["volume_mm3"] == pytest.approx(24.0, rel=1e-9)
    r = run_cli("mesh", "import", two, "--organ", "lung", "--out", tmp_path / "lung3.msh", "--keep-largest")
    assert r.returncode == 0 and "lung3.msh" in r.stdout, r.stderr


def test_fills_closed_surfaces(tmp_path):
    """An STL sphere (gmsh surface mesh) and a box surface (any triangle orientation) are filled with tetrahedra."""
    import gmsh

    gmsh.initialize(readConfigFiles=False, interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.occ.addSphere(0, 0, 0, 0.2)  # radius 2 mm, given in cm
        gmsh.model.occ.synchronize()
        gmsh.option.setNumber("Mesh.MeshSizeMax", 0.025)
        gmsh.model.mesh.generate(2)
        gmsh.write(str(tmp_path / "sphere.stl"))
    finally:
        gmsh.finalize()
    r = import_mesh(tmp_path / "sphere.stl", "ball", units="cm", out=tmp_path / "ball.msh", verify=False)
    exact = 4.0 / 3.0 * math.pi * 2.0 ** 3
    print(f"sphere: {r['n_tets']} tets, volume {r['volume_mm3']:.4f} vs {exact:.4f} mm^3, quality min "
          f"{r['quality_min']:.3f} median {r['quality_median']:.3f}")
    assert r["tetrahedralized"] and abs(r["volume_mm3"] / exact - 1) < 0.02
    assert r["quality_min"] > 0.01 and np.allclose(r["bbox_max"], 2.0, atol=0.02)
    coarse = import_mesh(tmp_path / "sphere.stl", "ball", units="cm", size=0.4, out=tmp_path / "c.msh", verify=False)
    assert coarse["surface_remeshed_mm"] == 0.4 and coarse["n_tets"] < r["n_tets"] / 2
    assert abs(coarse["volume_mm3"] / exact - 1) < 0.02 and coarse["quality_median"] > 0.5

    x, tets = box_mesh(n=(1, 1, 1))
    faces = boundary_faces(tets)  # 12 triangles
    faces[::3] = faces[::3][:, [1, 0, 2]]  # orientation no longer consistent
    r = import_mesh(write(tmp_path / "box.stl", x, [("triangle", faces)]), "box", out=tmp_path / "b.msh", verify=False)
    assert math.isclose(r["volume_mm3"], 24.0, rel_tol=1e-9)

    refused(write(tmp_path / "open.stl", x, [("triangle", faces[1:])]), r"surface with holes \(3 open edges\)")


def test_written_mesh_loads_in_dolfinx(tmp_path):
    try:
        import dolfinx_solver  # noqa: F401  (PyPI wheel: before dolfinx)
    except ImportError:
        pass
    pytest.importorskip("dolfinx")
    import dolfinx
    import ufl
    from dolfinx.io import gmsh as gio
    from mpi4py import MPI

    x, tets = box_mesh()
    src = write(tmp_path / "box.vtu", x * 0.1, [("tetra", tets)])
    out = tmp_path / "box.msh"
    r = import_mesh(src, "box", units="cm", out=out)  # verify=True reads it back
    assert math.isclose(r["dolfinx_volume_mm3"], 24.0, rel_tol=1e-12)
    md = gio.read_from_msh(str(out), MPI.COMM_WORLD, 0, gdim=3)
    vol = dolfinx.fem.assemble_scalar(dolfinx.fem.form(1.0 * ufl.dx(domain=md.mesh)))
    vol = md.mesh.comm.allreduce(vol, op=MPI.SUM)
    assert math.isclose(vol, r["volume_mm3"], rel_tol=1e-12)
    assert md.mesh.topology.cell_type == dolfinx.mesh.CellType.tetrahedron
    assert set(np.unique(md.cell_tags.values)) == {1}


def test_make_organ_mesh(tmp_path):
    out = tmp_path / "fp.msh"
    r = make_organ_mesh("fat_pad", 1.0, out)
    assert r["path"] == str(out) and out.is_file() and r["size_mm"] == 1.0
    assert r["n_tets"] > 100 and 100 < r["volume_mm3"] < 300 and r["quality_min"] > 0.05
    assert "built-in shape, element size 1 mm" in format_report(r)
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # no temporary file left
    with pytest.raises(MeshError, match="unknown organ 'kidney'"):
        make_organ_mesh("kidney", None, tmp_path / "k.msh")
    with pytest.raises(MeshError, match="positive number"):
        make_organ_mesh("bone", 0.0, tmp_path / "b.msh")


def test_quality_of_a_regular_tetrahedron_is_one():
    x = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], float)
    assert np.allclose(tet_quality(x, np.array([[1, 0, 2, 3]])), 1.0)  # positive volume
    assert np.allclose(tet_quality(x, np.array([[0, 1, 2, 3]])), -1.0)  # inverted: the volume's sign


def test_an_existing_mesh_is_replaced_only_with_overwrite(tmp_path):
    from conftest import run_cli

    x, tets = box_mesh()
    src = write(tmp_path / "box.vtu", x, [("tetra", tets)])
    out = tmp_path / "lung.msh"
    out.write_text("the shipped mesh")
    r = run_cli("mesh", "import", src, "--organ", "lung", "--out", out)
    assert r.returncode == 2 and "exists; pass --overwrite" in r.stderr and r.stderr.count("\n") == 1
    assert out.read_text() == "the shipped mesh"
    assert run_cli("mesh", "import", src, "--organ", "lung", "--out", out, "--overwrite").returncode == 0
    assert out.read_text() != "the shipped mesh"


def test_scale_multiplies_after_the_units(tmp_path):
    x, tets = box_mesh()
    src = write(tmp_path / "box.vtu", x * 10.0, [("tetra", tets)])  # 10 "voxels" per mm
    r = import_mesh(src, "box", units="mm", scale=0.1, out=tmp_path / "b.msh", verify=False)
    assert math.isclose(r["volume_mm3"], 24.0, rel_tol=1e-12)
    with pytest.raises(MeshError, match="scale: got -1.0, expected a positive factor"):
        import_mesh(src, "box", scale=-1.0, out=tmp_path / "c.msh", verify=False)


def _segmentation_like_surface():
    """The 2 x 3 x 4 mm box surface as a segmentation exports it: one triangle split at a point 1 nm off the
    middle of an edge (two slivers, and their neighbour split the same way) and one facet written twice."""
    x, tets = box_mesh(n=(4, 6, 8))
    f = boundary_faces(tets)
    a, b, c = f[0]
    k = next(i for i, t in enumerate(f) if i and {a, b} <= set(t))
    m = len(x)
    normal = np.cross(x[b] - x[a], x[c] - x[a])
    x = np.vstack([x, 0.5 * (x[a] + x[b]) + 1e-9 * normal / np.linalg.norm(normal)])
    split = []
    for t in (f[0], f[k]):
        for p in range(3):
            u, v, w = t[p], t[(p + 1) % 3], t[(p + 2) % 3]
            if {u, v} == {a, b}:
                split += [[u, m, w], [m, v, w]]
    tris = np.vstack([np.delete(f, [0, k], axis=0), split, f[5:6]])  # f[5] twice: an overlapping facet pair
    return x, tris


@pytest.mark.parametrize("size", [None, 0.5])
def test_a_segmentation_like_surface_imports_in_mm_and_um(tmp_path, size):
    x, tris = _segmentation_like_surface()
    mm = write(tmp_path / "seg.stl", x, [("triangle", tris)])
    report = import_mesh(mm, "kidney", out=tmp_path / "kidney.msh", size=size, verify=False)
    assert report["dropped_triangles"] == 1 and report["volume_mm3"] == pytest.approx(24.0, rel=1e-9)
    um = write(tmp_path / "seg_um.stl", x * 1000.0, [("triangle", tris)])  # the same surface in micrometres
    report = import_mesh(um, "kidney", units="um", out=tmp_path / "kidney_um.msh", size=size, verify=False)
    assert report["volume_mm3"] == pytest.approx(24.0, rel=1e-9) and not report["warnings"]


def _marching_cubes_lobe(voxel=0.4):
    """A lobe segmented on 0.4 mm voxels and exported by marching cubes (VTK's contour of the binary mask):
    its surface is a staircase of ~45-90 degree steps, as a real segmentation's (mm)."""
    import pyvista

    n = (int(18 / voxel), int(12 / voxel), int(10 / voxel))
    grid = pyvista.ImageData(dimensions=n, spacing=(voxel,) * 3, origin=(-9.0, -6.0, -5.0))
    x = grid.points
    f = (x[:, 0] / 8) ** 2 + (x[:, 1] / 5) ** 2 + (x[:, 2] / 4) ** 2 - 1
    for c, r, s in (((4, 2, 2), 2.0, 0.5), ((-3, -3, 1), 1.5, -0.4), ((0, 4, -2), 2.5, 0.3)):
        f += s * np.exp(-np.sum((x - np.array(c, float)) ** 2, axis=1) / r ** 2)
    grid["mask"] = (f < 0).astype(float)
    surface = grid.contour([0.5], scalars="mask").triangulate().clean()
    return np.asarray(surface.points, float), surface.faces.reshape(-1, 4)[:, 1:]


@pytest.mark.parametrize("size", [0.6, 1.2])
def test_a_marching_cubes_surface_remeshes(tmp_path, size):
    """gmsh's 40-degree feature split fails on a voxel staircase ("Wrong topology of boundary mesh for
    parametrization", as on a real human liver); the import then remeshes it without feature edges."""
    from pdemet.meshes.surface import _GmshFailed, _tetrahedralize, enclosed_volume

    x, tris = _marching_cubes_lobe()
    with pytest.raises(_GmshFailed, match="topology"):
        _tetrahedralize(x, tris, 0, size, 40.0)
    path = write(tmp_path / "lobe.stl", x, [("triangle", tris)])
    report = import_mesh(path, "lung", out=tmp_path / "lung.msh", size=size, verify=True)
    enclosed = abs(enclosed_volume(x, tris))
    assert report["surface_volume_mm3"] == pytest.approx(enclosed, rel=1e-9)
    assert report["volume_mm3"] == pytest.approx(enclosed, rel=0.03)  # the remeshed surface cuts the steps
    assert report["dolfinx_volume_mm3"] == pytest.approx(report["volume_mm3"], rel=1e-9)
    assert report["quality_min"] > 0.05 and report["n_tets"] > 20


def test_a_remeshing_too_coarse_for_the_surface_is_refused(tmp_path):
    x, tris = _marching_cubes_lobe()
    path = write(tmp_path / "lobe.stl", x, [("triangle", tris)])
    with pytest.raises(MeshError, match=r"remeshed at 2.5 mm encloses .* too coarse for its shape .*; use "
                                        r"a smaller --size"):
        import_mesh(path, "lung", out=tmp_path / "lung.msh", size=2.5, verify=False)


def test_a_fissure_thinner_than_the_size_is_refused_in_one_line(tmp_path):
    """Fissures one voxel (0.25 mm) wide: remeshed at 1 mm the surface crosses itself (gmsh: "Invalid boundary
    mesh (overlapping facets)", as on a real phantom brain); the message names the thin parts and the fix."""
    import pyvista

    voxel = 0.25
    grid = pyvista.ImageData(dimensions=(72, 48, 40), spacing=(voxel,) * 3, origin=(-9.0, -6.0, -5.0))
    x = grid.points
    inside = (x[:, 0] / 8) ** 2 + (x[:, 1] / 5) ** 2 + (x[:, 2] / 4) ** 2 < 1
    fissures = np.any([(np.abs(x[:, 0] - k) < 0.2) & (x[:, 2] > -2.5) for k in (-4, 0, 4)], axis=0)
    grid["mask"] = (inside & ~fissures).astype(float)
    surface = grid.contour([0.5], scalars="mask").triangulate().clean()
    path = write(tmp_path / "fissured.stl", np.asarray(surface.points, float),
                 [("triangle", surface.faces.reshape(-1, 4)[:, 1:])])
    with pytest.raises(MeshError, match=r"remeshed at 1 mm intersects itself .*thinner than 1 mm .*smaller "
                                        r"--size, or none"):
        import_mesh(path, "brain", out=tmp_path / "brain.msh", size=1.0, verify=False)
    report = import_mesh(path, "brain", out=tmp_path / "brain.msh", size=0.6, verify=False)
    assert report["n_tets"] > 1000
