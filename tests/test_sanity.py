"""Start-up checks: meshes a run cannot use are refused in one line; scenarios that run but cannot mean what
their author intends (units, pieces, resolution of the foci) are warned about on stderr and in summary.json."""

import json

import numpy as np
import pytest

from pdemet.errors import UserError
from pdemet.meshes.importer import _write_msh
from pdemet.sanity import focus_radius
from pdemet.simulation import Simulation

from conftest import box_scenario, run_cli


def _cube(offset=(0.0, 0.0, 0.0), h=1.0):
    """A unit cube of 6 tetrahedra (Kuhn subdivision), scaled by h and moved by offset."""
    corners = np.array([[i, j, k] for k in (0, 1) for j in (0, 1) for i in (0, 1)], dtype=float) * h + offset
    tets = np.array([[0, 1, 3, 7], [0, 1, 5, 7], [0, 2, 3, 7], [0, 2, 6, 7], [0, 4, 5, 7], [0, 4, 6, 7]])
    vol = np.einsum("ij,ij->i", corners[tets[:, 1]] - corners[tets[:, 0]],
                    np.cross(corners[tets[:, 2]] - corners[tets[:, 0]], corners[tets[:, 3]] - corners[tets[:, 0]]))
    tets[vol < 0] = tets[vol < 0][:, [1, 0, 2, 3]]
    return corners, tets


def _scenario_with_mesh(tmp_path, points, tets):
    _write_msh(tmp_path / "organ.msh", points, tets, "tissue")
    data = box_scenario()
    organ = data["organs"]["tissue"]
    del organ["box"], organ["cells"]
    organ["mesh"] = "organ.msh"
    organ["initial"] = {"shape": "ball", "center": [0.5, 0.5, 0.5], "radius": 0.3, "density": 5.0e5}
    return data


def test_a_mesh_with_a_repeated_vertex_is_refused_in_one_line(tmp_path):
    x, tets = _cube()
    tets = np.vstack([tets, [[0, 1, 1, 7]]])  # DOLFINx aborted (heap corruption) on this
    data = _scenario_with_mesh(tmp_path, x, tets)
    with pytest.raises(UserError, match=r"1 of 7 tetrahedra are degenerate \(zero volume: flat or with a repeated"):
        Simulation.from_dict(data, base_dir=tmp_path)


def test_a_two_piece_mesh_runs_with_a_warning(tmp_path, write_toml):
    a, ta = _cube()
    b, tb = _cube(offset=(3.0, 0.0, 0.0))
    data = _scenario_with_mesh(tmp_path, np.vstack([a, b]), np.vstack([ta, tb + len(a)]))
    out = tmp_path / "run"
    r = run_cli("run", write_toml(data), "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    assert "pdemet: warning: organ tissue's mesh has 2 separate pieces" in r.stderr
    assert any("2 separate pieces" in w for w in json.loads((out / "summary.json").read_text())["warnings"])


@pytest.mark.parametrize("scale, message", [(1000.0, "3000 mm across"), (0.0001, "0.0003 mm across")])
def test_an_organ_in_the_wrong_units_is_warned_about(scale, message):
    data = box_scenario(box=[3.0 * scale, 3.0 * scale, 3.0 * scale], cells=[2, 2, 2])
    data["organs"]["tissue"]["initial"] = {"shape": "box", "center": [1.5 * scale] * 3, "extent": [scale] * 3,
                                           "density": 5.0e5}
    w = Simulation.from_dict(data).warnings
    assert len(w) == 1 and message in w[0] and "--units um" in w[0], w


def _with_site(**site):
    data = box_scenario()
    data["cluster_flux"] = {"shedding_rate": 0.01}
    data["organs"]["site"] = {"role": "site", "first_pass": True, "arrest_probability": 0.1, **site}
    return data


def test_a_site_far_coarser_than_its_foci_is_warned_about():
    r50 = focus_radius(50, 1.0e6)
    assert r50 == pytest.approx(0.02285, rel=1e-3)  # (3·50 / 4π·10⁶)^(1/3) mm
    coarse = Simulation.from_dict(_with_site(box=[20.0, 20.0, 20.0], cells=[4, 4, 4])).warnings  # 5 mm cubes
    assert len(coarse) == 1 and "site site: elements of 7.07 mm (median edge) are far larger than a focus of 50 cells" in coarse[0]
    assert "turn on [organs.site.adapt]" in coarse[0]
    capped = _with_site(box=[20.0, 20.0, 20.0], cells=[4, 4, 4], adapt={"enabled": True, "max_levels": 2})
    w = Simulation.from_dict(capped).warnings
    assert len(w) == 1 and "refined at most 2 levels they reach 1.77 mm" in w[0], w
    assert Simulation.from_dict(_with_site(box=[1.0, 1.0, 1.0], cells=[4, 4, 4],
                                           adapt={"enabled": True})).warnings == []


def test_a_set_up_that_cannot_fit_in_memory_is_refused_before_it_starts(tmp_path, write_toml):
    import resource
    import subprocess
    import sys

    from conftest import ROOT

    limit = 3 * 2**30  # `ulimit -v` of a batch job; the run would need ~9 GiB (2.5e6 dofs)
    path = write_toml(box_scenario(refine=3, cells=[20, 20, 10]))
    r = subprocess.run([sys.executable, "-m", "pdemet.cli", "run", str(path), "--out", str(tmp_path / "run"), "--quiet"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300,
                       preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)))
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "organs.tissue.refine: organ tissue would have ~2.48e+06 degrees of freedom" in r.stderr, r.stderr
    assert "lower refine" in r.stderr and "Traceback" not in r.stderr


def test_field_files_that_cannot_fit_on_disk_are_refused_before_the_run(tmp_path, monkeypatch):
    import collections

    from pdemet import resources

    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(resources.shutil, "disk_usage", lambda p: usage(10**6, 10**6 - 1000, 1000))
    with pytest.raises(UserError, match=r"--out: the field files need at least .* GiB \(75 nodes x 2 clones x 3 output"):
        Simulation.from_dict(box_scenario()).run(out=tmp_path / "run")
    assert not (tmp_path / "run" / "summary.json").exists()
