"""Reliability: kill/resume gives the uninterrupted result, Ctrl-C stops cleanly, fuzzed scenarios fail in one line."""

import copy
import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pdemet.scenario import ScenarioError, dump_toml, parse_scenario
from pdemet.output.vtkhdf import read_vtkhdf

from conftest import ROOT, VENV_BIN, box_scenario, run_cli

QUICK = ROOT / "pdemet" / "scenarios" / "quick.toml"
TABLES = ("timeseries.csv", "census.csv")


def _cmd(*args, mpi=0):
    cmd = [sys.executable, "-m", "pdemet.cli", *map(str, args)]
    return [str(VENV_BIN / "mpiexec"), "-n", str(mpi), *cmd] if mpi else cmd


def _compare_runs(a, b):
    from pdemet.output.seeding import same_log

    assert same_log(a / "seeding.h5", b / "seeding.h5")
    for name in TABLES:
        assert (a / name).read_text() == (b / name).read_text(), name
    worst = 0.0
    for f in sorted((a / "fields").glob("*.vtkhdf")):
        x, y = read_vtkhdf(f), read_vtkhdf(b / "fields" / f.name)
        assert np.array_equal(x["times"], y["times"])
        for sx, sy in zip(x["steps"], y["steps"]):  # adapted organs have a mesh per step
            assert np.array_equal(sx["points"], sy["points"]) and np.array_equal(sx["tets"], sy["tets"])
            for key in sx["arrays"]:
                worst = max(worst, float(np.max(np.abs(sx["arrays"][key] - sy["arrays"][key]), initial=0.0)))
    return worst


@pytest.mark.parametrize("ranks", [1, 2])
def test_sigkill_and_resume_reproduce_the_uninterrupted_run(tmp_path, ranks):
    ref = tmp_path / "ref"
    r = run_cli("run", QUICK, "--out", ref, "--quiet", mpi=ranks if ranks > 1 else 0)
    assert r.returncode == 0, r.stderr
    rng = np.random.default_rng(ranks)
    cycles, finished_before_kill = 0, False
    run = tmp_path / "killed"
    proc = subprocess.Popen(_cmd("run", QUICK, "--out", run, "--quiet", "--checkpoint-every", "0.5",
                                 mpi=ranks if ranks > 1 else 0), cwd=ROOT, start_new_session=True)
    while True:
        time.sleep(float(rng.uniform(1.5, 3.5)))
        if proc.poll() is not None:
            break
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        cycles += 1
        summary = run / "summary.json"
        if summary.exists() and json.loads(summary.read_text())["status"] == "completed":
            finished_before_kill = True  # killed after it finished (--resume would now say it is complete)
            break
        if not (run / "checkpoint.npz").exists():  # killed before the first checkpoint: start again
            proc = subprocess.Popen(_cmd("run", QUICK, "--out", run, "--quiet", "--overwrite", "--checkpoint-every",
                                         "0.5", mpi=ranks if ranks > 1 else 0), cwd=ROOT, start_new_session=True)
            continue
        proc = subprocess.Popen(_cmd("run", "--resume", run, "--quiet", "--checkpoint-every", "0.5",
                                     mpi=ranks if ranks > 1 else 0), cwd=ROOT, start_new_session=True)
    assert proc.returncode == 0 or finished_before_kill
    worst = _compare_runs(ref, run)
    print(f"{ranks} rank(s): {cycles} SIGKILL/resume cycles, max field difference {worst:.3e}")
    assert worst <= 1e-12


def test_resume_after_every_checkpoint(tmp_path):
    """Deterministic version: stop (Ctrl-C) at several times, resume each time."""
    ref = tmp_path / "ref"
    assert run_cli("run", QUICK, "--out", ref, "--quiet").returncode == 0
    run = tmp_path / "run"
    proc = subprocess.Popen(_cmd("run", QUICK, "--out", run, "--quiet", "--checkpoint-every", "1"), cwd=ROOT,
                            stderr=subprocess.PIPE, text=True)
    # stop it after its first checkpoint (a fixed delay may fall before the run starts on a busy machine)
    deadline = time.monotonic() + 120
    while not (run / "checkpoint.npz").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 130:
        assert "interrupted (SIGINT) at t =" in err and "Traceback" not in err
        summary = (run / "summary.json").read_text()
        assert '"status": "interrupted"' in summary
        r = run_cli("run", "--resume", run, "--quiet")
        assert r.returncode == 0, r.stderr
    else:  # finished before the signal arrived
        assert proc.returncode == 0
    assert _compare_runs(ref, run) <= 1e-12


def test_ctrl_c_while_a_run_is_set_up_is_one_line(monkeypatch, capsys, tmp_path):
    """Ctrl-C before the run's own handler is in place (reading the scenario, loading meshes): one line, exit 130,
    no traceback and no run directory."""
    import pdemet.scenario
    from pdemet import cli

    def interrupted(path):
        raise KeyboardInterrupt

    monkeypatch.setattr(pdemet.scenario, "scenario_from_toml", interrupted)
    assert cli.main(["run", str(QUICK), "--out", str(tmp_path / "run"), "--quiet"]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "interrupted (SIGINT) during `run`" in err
    assert not (tmp_path / "run").exists()


def test_failed_run_stops_cleanly_with_last_good_state(tmp_path, write_toml):
    data = box_scenario(growth_rate=50.0, initial={"shape": "box", "center": [1, 1, 0.5], "extent": [3, 3, 2],
                                                   "density": 1.0e5})
    data["simulation"].update(dt=0.5, dt_min=0.01, max_change=0.01)
    out = tmp_path / "out"
    r = run_cli("run", write_toml(data), "--out", out, "--quiet")
    assert r.returncode == 3, r.stderr
    assert r.stderr.count("\n") == 1 and "step rejected" in r.stderr and "Traceback" not in r.stderr
    assert '"status": "failed"' in (out / "summary.json").read_text()
    assert (out / "checkpoint.npz").exists()
    assert "nan" not in (out / "timeseries.csv").read_text().lower()


# ---------------------------------------------------------------------------------------- fuzzing
BASE = box_scenario()
BASE["cluster_flux"] = {"shedding_rate": 0.01, "sizes": {"max_size": 10}}
BASE["organs"]["site"] = {"role": "site", "box": [1.0, 1.0, 1.0], "cells": [2, 2, 2], "first_pass": True,
                          "arrest_probability": 0.1}


def _paths(d, prefix=()):
    for k, v in d.items():
        yield prefix + (k,)
        if isinstance(v, dict):
            yield from _paths(v, prefix + (k,))


PATHS = list(_paths(BASE))
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 100), st.floats(allow_nan=True, allow_infinity=True),
                   st.text(max_size=8), st.lists(st.floats(-1, 10), max_size=4), st.just({}),
                   st.sampled_from(["primary", "site", "ball", "sectors", "imex", "newton", "stochastic",
                                    "#ff0000", "meshes/lung.msh", "nonexistent.msh"]))


def _mutate(data, path, value, rename):
    data = copy.deepcopy(data)
    node = data
    for p in path[:-1]:
        node = node[p]
    if rename:
        node[path[-1] + "x"] = node.pop(path[-1])
    elif value is None:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from(PATHS), VALUES, st.booleans()), min_size=1, max_size=3))
def test_fuzzed_scenarios_validate_or_fail_in_one_line(mutations):
    data = BASE
    for path, value, rename in mutations:
        try:
            data = _mutate(data, path, value, rename)
        except (KeyError, TypeError, AttributeError):
            continue  # an earlier mutation removed or replaced this path
    try:
        scenario = parse_scenario(data, ROOT)
    except ScenarioError as e:
        assert "\n" not in str(e) and str(e)
        return
    assert scenario.n_clones >= 1


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(PATHS), VALUES)
def test_fuzzed_runs_never_traceback_or_leave_partial_output(tmp_path_factory, path, value):
    data = _mutate(BASE, path, value, False)
    if isinstance(data.get("simulation"), dict) and "t_end" in data["simulation"]:
        data["simulation"]["t_end"] = 0.2  # keep the runs short
    tmp = tmp_path_factory.mktemp("fuzz")
    try:
        text = dump_toml(data)
    except TypeError:
        return
    scenario = tmp / "s.toml"
    scenario.write_text(text)
    out = tmp / "out"
    r = run_cli("run", scenario, "--out", out, "--quiet")
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode in (0, 2, 3), r.stderr
    if r.returncode == 2:
        assert r.stderr.count("\n") == 1
        assert not out.exists() or not any(out.iterdir())
    else:
        assert (out / "summary.json").exists()


def test_vtkhdf_truncate_keeps_the_steps_up_to_the_checkpoint(tmp_path):
    """Resuming drops field steps written after the checkpoint; the file is replaced in one rename."""
    from pdemet.output.vtkhdf import VTKHDFWriter

    pts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], float)
    path = tmp_path / "organ.vtkhdf"
    tets = np.array([[0, 1, 2, 3]])
    w = VTKHDFWriter(path, ["a"])
    for k, t in enumerate((0.0, 0.5, 1.0)):
        w.write_step(t, {"a": np.full(4, float(k))}, pts, tets)
    w.truncate(0.5)
    data = read_vtkhdf(path)
    assert list(data["times"]) == [0.0, 0.5]
    assert np.array_equal(data["arrays"]["a"], [[0.0] * 4, [1.0] * 4])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["organ.vtkhdf"]  # no temporary left behind
    w.write_step(1.5, {"a": np.full(4, 7.0)}, pts, tets)  # appending goes on after a truncation
    assert list(read_vtkhdf(path)["times"]) == [0.0, 0.5, 1.5]


def test_p2_runs_fail_cleanly_without_checkpoints(tmp_path, write_toml):
    """P2 fields cannot be checkpointed: --checkpoint-every is refused up front in one line, and a P2 run
    that fails still writes its summary (the final checkpoint is skipped instead of masking the failure)."""
    data = box_scenario(element_degree=2)
    out = tmp_path / "ckpt"
    r = run_cli("run", write_toml(data), "--out", out, "--quiet", "--checkpoint-every", "0.5")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "organs.tissue.element_degree" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()
    data = box_scenario(element_degree=2, growth_rate=50.0,
                        initial={"shape": "box", "center": [1, 1, 0.5], "extent": [3, 3, 2], "density": 1.0e5})
    data["simulation"].update(dt=0.5, dt_min=0.01, max_change=0.01)
    out = tmp_path / "failed"
    r = run_cli("run", write_toml(data, "failing.toml"), "--out", out, "--quiet")
    assert r.returncode == 3 and "step rejected" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert '"status": "failed"' in (out / "summary.json").read_text()
    assert not (out / "checkpoint.npz").exists()


def test_atomic_writes_get_the_mode_of_a_plainly_created_file(tmp_path):
    """Tables and summaries go through a temporary file; they must not stay private (mkstemp's 0600)."""
    from pdemet.output.files import atomic_write_text, write_csv

    atomic_write_text(tmp_path / "summary.json", "{}")
    write_csv(tmp_path / "table.csv", ["a"], [[1.0]])
    (tmp_path / "plain.txt").write_text("x")
    plain = (tmp_path / "plain.txt").stat().st_mode & 0o777
    for name in ("summary.json", "table.csv"):
        assert (tmp_path / name).stat().st_mode & 0o777 == plain, name


def test_resume_refuses_a_completed_run_and_an_edited_scenario(tmp_path, write_toml):
    from conftest import box_scenario
    from pdemet.errors import UserError
    from pdemet.simulation import Simulation

    run = tmp_path / "run"
    assert run_cli("run", write_toml(box_scenario()), "--out", run, "--quiet", "--checkpoint-every", "0.5").returncode == 0
    r = run_cli("run", "--resume", run, "--quiet")
    assert r.returncode == 2 and "is a completed run" in r.stderr and r.stderr.count("\n") == 1
    text = (run / "scenario.toml").read_text()
    assert "growth_rate = [0.3, 0.3]" in text
    (run / "scenario.toml").write_text(text.replace("growth_rate = [0.3, 0.3]", "growth_rate = [0.5, 0.3]"))
    with pytest.raises(UserError, match="changed since the checkpoint was written"):
        Simulation.from_toml(run / "scenario.toml").run(out=run, resume=True)


def _plugin(tmp_path, body: str):
    path = tmp_path / "plugin_term.py"
    path.write_text("import numpy as np\nfrom pdemet.terms import Reaction, register\n\n"
                    "@register\nclass Faulty(Reaction):\n    name = 'faulty'\n    params = {}\n\n"
                    "    def rate(self, u, ctx):\n" + body)
    data = box_scenario(terms=["diffusion", "logistic", "faulty"])
    data["simulation"]["plugins"] = [str(path)]
    return data


@pytest.mark.parametrize("body, code, message", [
    ("        return [0.0 * ui for ui in u] + [u[0]]\n", 2, "terms.faulty: rate() returned 3 arrays for 2 clones"),
    ("        if ctx.t > 0.3:\n            raise KeyError('dose')\n        return [0.0 * ui for ui in u]\n", 1,
     "KeyError: 'dose' (unexpected; `pdemet --debug run ...` shows the traceback)"),
    ("        return [np.full_like(ui, np.nan) if ctx.t > 0.3 else 0.0 * ui for ui in u]\n", 3, "step rejected"),
])
def test_faulty_plugin_terms_end_the_run_as_failed_in_one_line(tmp_path, write_toml, body, code, message):
    out = tmp_path / "run"
    r = run_cli("run", write_toml(_plugin(tmp_path, body)), "--out", out, "--quiet")
    assert r.returncode == code and message in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["t"] < 1.0
    assert "nan" not in (out / "timeseries.csv").read_text().lower()


def test_resume_before_the_first_checkpoint_starts_again(tmp_path, write_toml):
    run = tmp_path / "run"
    run.mkdir()
    path = write_toml(box_scenario())
    (run / "scenario.toml").write_text(path.read_text())  # what a run killed at once leaves
    r = run_cli("run", "--resume", run, "--quiet")
    assert r.returncode == 0 and "starting its run again from t = 0" in r.stderr, r.stderr
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"


def test_a_killed_writers_half_copies_are_never_read_and_resume_removes_them(tmp_path, write_toml):
    """A SIGKILL while a field file is copied aside leaves `.NAME.XXXX.vtkhdf` (truncated) in fields/: the
    reader must not take it for an organ (CI once rendered such a copy), and --resume deletes it."""
    from pdemet.output.rundir import load_run

    run = tmp_path / "run"
    assert run_cli("run", write_toml(box_scenario()), "--out", run, "--quiet", "--checkpoint-every", "0.5").returncode == 0
    summary = json.loads((run / "summary.json").read_text())
    field = next((run / "fields").glob("*.vtkhdf"))
    half = run / "fields" / f".{field.stem}.en5qc4_a.vtkhdf"
    half.write_bytes(field.read_bytes()[: field.stat().st_size // 2])
    aside = run / ".summary.x1y2z3.json"
    aside.write_text("{")
    mine = run / ".notes"
    mine.write_text("the user's own hidden file")
    assert list(load_run(run).organs) == [p.stem for p in sorted((run / "fields").glob("[!.]*.vtkhdf"))]
    # make the run resumable again (as if killed after its last checkpoint) and resume it
    (run / "summary.json").write_text(json.dumps({**summary, "status": "interrupted"}))
    r = run_cli("run", "--resume", run, "--quiet")
    assert r.returncode == 0, r.stderr
    assert not half.exists() and not aside.exists() and mine.exists()
