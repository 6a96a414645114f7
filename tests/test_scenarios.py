"""Bad scenarios stop with one line naming the key and what was expected (exit 2, no traceback)."""

import pytest

from pdemet.scenario import ScenarioError, dump_toml, parse_scenario

from conftest import box_scenario, run_cli


def mutate(path, value):
    data = box_scenario()
    node = data
    *parents, last = path
    for p in parents:
        node = node[p]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return data


DELETE = object()

CASES = [
    (("organs", "tissue", "difusion"), 0.1, "organs.tissue.difusion: unknown key", "did you mean 'diffusion'"),
    (("organs", "tissue", "diffusion"), "fast", "organs.tissue.diffusion: got a string 'fast'", "mm²/day"),
    (("organs", "tissue", "diffusion"), -1.0, "organs.tissue.diffusion: got -1.0", "non-negative"),
    (("organs", "tissue", "growth_rate"), [0.1, 0.2, 0.3], "organs.tissue.growth_rate: got 3 values", "one per clone"),
    (("organs", "tissue", "carrying_capacity"), 0.0, "organs.tissue.carrying_capacity: got 0.0", "positive"),
    (("organs", "tissue", "carrying_capacity"), float("nan"), "organs.tissue.carrying_capacity: got nan", "finite"),
    (("organs", "tissue", "role"), "metastasis", "organs.tissue.role: got 'metastasis'", "'primary', 'site'"),
    (("organs", "tissue", "role"), DELETE, "organs.tissue.role: missing", "required"),
    (("organs", "tissue", "cells"), [4, 4], "organs.tissue.cells", "list of 3 numbers"),
    (("organs", "tissue", "mesh"), "meshes/nothing.msh", "organs.tissue", "both mesh and box"),
    (("simulation", "t_end"), "10 days", "simulation.t_end: got a string", "days"),
    (("simulation", "solver"), "rk4", "simulation.solver: got 'rk4'", "'imex', 'newton'"),
    (("simulation", "transport_extrapolate"), "yes", "simulation.transport_extrapolate: got a string 'yes'",
     "true or false"),
    (("clones", "colors"), ["red", "#00ff00"], "clones.colors: got 2 colors for 2 clones", None),
    (("clones", "names"), ["a", "a"], "clones.names: got duplicate names", None),
    (("organs", "tissue", "terms"), ["diffusion", "logistc"], "organs.tissue.terms: unknown term 'logistc'",
     "did you mean 'logistic'"),
]


@pytest.mark.parametrize("path, value, start, contains", CASES)
def test_bad_scenario_messages(path, value, start, contains):
    data = mutate(path, value)
    if path[-1] == "colors":
        data["clones"]["colors"] = ["red", "#00ff00"]
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    msg = str(err.value)
    assert "\n" not in msg
    if path[-1] == "colors":
        assert msg.startswith("clones.colors[0]: got 'red'"), msg
        return
    assert msg.startswith(start), msg
    if contains:
        assert contains in msg, msg


def test_missing_mesh_file_is_one_line_from_the_cli(tmp_path, write_toml):
    data = box_scenario()
    organ = data["organs"]["tissue"]
    del organ["box"], organ["cells"]
    organ["mesh"] = "meshes/no_such_organ.msh"
    r = run_cli("run", write_toml(data), "--out", tmp_path / "out", "--quiet")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("pdemet: error: organs.tissue.mesh: file 'meshes/no_such_organ.msh' not found")
    assert not (tmp_path / "out").exists()


def test_a_copied_scenario_does_not_fall_back_to_the_checkouts_meshes(tmp_path):
    """mesh = "meshes/lung.msh" in a scenario outside the checkout means tmp/meshes/lung.msh, nothing else."""
    from conftest import ROOT

    data = box_scenario()
    organ = data["organs"]["tissue"]
    del organ["box"], organ["cells"]
    organ["mesh"] = "meshes/lung.msh"
    assert (ROOT / "meshes" / "lung.msh").is_file()
    path = tmp_path / "copied.toml"
    path.write_text(dump_toml(data))
    r = run_cli("run", path, "--out", tmp_path / "out", "--quiet")  # cwd: the checkout
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert f"no {tmp_path / 'meshes' / 'lung.msh'} (paths are relative to the scenario file)" in r.stderr


@pytest.mark.parametrize("text, expected", [
    ("[simulation\nt_end = 1", "TOML syntax error"),
    ("[simulation]\nt_end = 1\ndt = 0.1\noutput_every = 1\n[clones]\nnames = ['a']\n", "organs: missing"),
])
def test_cli_reports_syntax_and_structure_errors(tmp_path, text, expected):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    r = run_cli("run", path, "--out", tmp_path / "out", "--quiet")
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1
    assert expected in r.stderr, r.stderr


def test_no_primary_and_existing_output(tmp_path, write_toml):
    data = box_scenario(role="site")
    r = run_cli("run", write_toml(data), "--out", tmp_path / "o", "--quiet")
    assert r.returncode == 2 and "expected exactly one" in r.stderr
    out = tmp_path / "full"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    r = run_cli("run", write_toml(box_scenario(), "ok.toml"), "--out", out, "--quiet")
    assert r.returncode == 2 and "--overwrite" in r.stderr
    assert (out / "keep.txt").read_text() == "precious"


def test_unwritable_output_directory_is_one_line(tmp_path, write_toml):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    for out in (blocker, blocker / "sub", "/proc/pdemet-out"):
        r = run_cli("run", write_toml(box_scenario()), "--out", out, "--quiet")
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
        assert "--out" in r.stderr
    assert blocker.read_text() == "not a directory"


def test_overwrite_replaces_a_run_but_never_a_users_folder(tmp_path, write_toml):
    path = write_toml(box_scenario())
    folder = tmp_path / "thesis"
    (folder / "chapter1").mkdir(parents=True)
    (folder / "notes.txt").write_text("precious")
    r = run_cli("run", path, "--out", folder, "--quiet", "--overwrite")
    assert r.returncode == 2 and "not a pdemet run directory" in r.stderr and r.stderr.count("\n") == 1
    assert (folder / "notes.txt").read_text() == "precious" and (folder / "chapter1").is_dir()
    run = tmp_path / "run"
    assert run_cli("run", path, "--out", run, "--quiet").returncode == 0
    (run / "my_analysis.py").write_text("# mine")
    assert run_cli("run", path, "--out", run, "--quiet", "--overwrite").returncode == 0
    assert (run / "my_analysis.py").read_text() == "# mine" and (run / "summary.json").is_file()


def test_an_error_inside_the_run_is_recorded_as_failed(tmp_path):
    """A plugin term that raises mid-run: summary.json says failed with the error, never "completed"."""
    from pdemet.simulation import Simulation

    plugin = tmp_path / "bad_term.py"
    plugin.write_text(
        "from pdemet.terms import Reaction, register\n\n"
        "@register\nclass Bad(Reaction):\n    name = 'bad_after_half_a_day'\n    params = {}\n\n"
        "    def rate(self, u, ctx):\n"
        "        if ctx.t > 0.5:\n            raise KeyError('no such drug')\n"
        "        return [0.0 * ui for ui in u]\n")
    data = box_scenario(terms=["diffusion", "logistic", "bad_after_half_a_day"])
    data["simulation"]["plugins"] = [str(plugin)]
    sim = Simulation.from_dict(data)
    with pytest.raises(KeyError):
        sim.run(out=tmp_path / "run")
    import json

    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["error"] == "KeyError: 'no such drug'"
    assert summary["t"] < 1.0


def test_summary_records_each_mesh_file_and_its_hash(tmp_path):
    import hashlib
    import json

    from conftest import ROOT
    from pdemet.simulation import Simulation

    data = box_scenario()
    tissue = data["organs"]["tissue"]
    del tissue["box"], tissue["cells"]
    tissue["mesh"] = str(ROOT / "meshes" / "lung.msh")
    data["simulation"].update(t_end=0.2, output_every=0.2)
    Simulation.from_dict(data).run(out=tmp_path / "run")
    meshes = json.loads((tmp_path / "run" / "summary.json").read_text())["meshes"]
    assert meshes["tissue"]["path"] == str(ROOT / "meshes" / "lung.msh")
    assert meshes["tissue"]["sha256"] == hashlib.sha256((ROOT / "meshes" / "lung.msh").read_bytes()).hexdigest()


def test_misspelled_section_and_surface_mesh_are_named(tmp_path, write_toml):
    data = box_scenario()
    data["simulaton"] = data.pop("simulation")
    with pytest.raises(ScenarioError, match=r"simulation: missing; this key is required \(is it 'simulaton'\?\)"):
        parse_scenario(data, tmp_path)
    stl = tmp_path / "kidney.stl"
    stl.write_text("solid k\nendsolid k\n")
    data = box_scenario()
    tissue = data["organs"]["tissue"]
    del tissue["box"], tissue["cells"]
    tissue["mesh"] = str(stl)
    r = run_cli("run", write_toml(data), "--out", tmp_path / "o", "--quiet")
    assert r.returncode == 2 and f"pdemet mesh import {stl} --organ tissue" in r.stderr and r.stderr.count("\n") == 1
