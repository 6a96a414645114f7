"""Run-directory integrity: one writer per directory, a failure on any rank reaches every rank, SIGTERM
stops like Ctrl-C, and a failure mid-run keeps the last checkpoint so that --resume finishes the run."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from pdemet.errors import UserError
from pdemet.output.lock import RunLock
from pdemet.output.vtkhdf import read_vtkhdf

from conftest import ROOT, box_scenario, run_cli


def _plugin(tmp_path, body: str, t_end=1.0):
    """A scenario with a plugin term whose rate() runs ``body`` first (then returns zero rates)."""
    path = tmp_path / "plugin_term.py"
    path.write_text("import os\nimport numpy as np\nfrom mpi4py import MPI\nfrom pdemet.terms import Reaction, register\n\n"
                    "@register\nclass Faulty(Reaction):\n    name = 'faulty'\n    params = {}\n\n"
                    "    def rate(self, u, ctx):\n" + body + "        return [0.0 * ui for ui in u]\n")
    data = box_scenario(terms=["diffusion", "logistic", "faulty"])
    data["simulation"].update(plugins=[str(path)], t_end=t_end)
    return data


def test_a_second_writer_is_refused_in_one_line(tmp_path, write_toml):
    from pdemet.simulation import Simulation

    out = tmp_path / "run"
    holder = RunLock(out).acquire()  # as a run in progress holds it
    try:
        with pytest.raises(UserError, match="is being written by another pdemet run"):
            Simulation.from_toml(write_toml(box_scenario())).run(out=out)
        r = run_cli("run", write_toml(box_scenario()), "--out", out, "--overwrite", "--quiet")
        assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
        assert f"pid {__import__('os').getpid()}" in r.stderr and "Traceback" not in r.stderr
    finally:
        holder.release()
    r = run_cli("run", write_toml(box_scenario()), "--out", out, "--overwrite", "--quiet")
    assert r.returncode == 0, r.stderr  # released: the next run takes the directory
    assert json.loads((out / "summary.json").read_text())["status"] == "completed"


def test_resume_while_the_run_goes_on_is_refused(tmp_path, write_toml):
    data = box_scenario()
    data["simulation"].update(t_end=1.0e5, dt=0.05, output_every=1000.0)  # never ends by itself
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "pdemet.cli", "run", str(write_toml(data)), "--out", str(out),
                             "--quiet", "--checkpoint-every", "0.5"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / "checkpoint.npz").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert proc.poll() is None, "the run ended before the test could resume it"
        r = run_cli("run", "--resume", out, "--quiet")
        assert r.returncode == 2 and "is being written by another pdemet run" in r.stderr, r.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    # SIGTERM (a batch system's time limit) stops like Ctrl-C: interrupted, resumable, exit 128 + 15
    assert proc.returncode == 143 and "interrupted (SIGTERM)" in err and "--resume" in err, err
    assert err.count("\n") == 1 and "PETSc" not in err
    assert json.loads((out / "summary.json").read_text())["status"] == "interrupted"


@pytest.mark.parametrize("rank", [0, 1])
def test_a_failure_on_one_rank_stops_every_rank(tmp_path, write_toml, rank):
    """Rank ``rank`` alone meets a full disk mid-run; the other rank must not wait for it forever."""
    body = (f"        if MPI.COMM_WORLD.rank == {rank} and ctx.t > 0.3:\n"
            "            raise OSError(28, 'No space left on device')\n")
    out = tmp_path / "run"
    t0 = time.monotonic()
    r = run_cli("run", write_toml(_plugin(tmp_path, body)), "--out", out, "--quiet", mpi=2, timeout=300)
    elapsed = time.monotonic() - t0
    assert r.returncode != 0 and elapsed < 120, (r.returncode, elapsed)
    assert f"rank {rank} of 2: OSError: [Errno 28] No space left on device" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and r.stderr.count("pdemet: error") == 1, r.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "failed" and f"rank {rank}: OSError" in summary["error"]


def test_a_failure_on_every_rank_is_reported_once(tmp_path, write_toml):
    body = "        if ctx.t > 0.3:\n            raise KeyError('dose')\n"
    out = tmp_path / "run"
    r = run_cli("run", write_toml(_plugin(tmp_path, body)), "--out", out, "--quiet", mpi=2, timeout=300)
    assert r.returncode == 1 and r.stderr.count("KeyError: 'dose'") == 1, r.stderr
    assert json.loads((out / "summary.json").read_text())["status"] == "failed"


def test_a_failure_mid_run_keeps_the_last_checkpoint_and_resume_finishes(tmp_path, write_toml):
    body = "        if os.environ.get('PDEMET_TEST_FAIL') and ctx.t > 0.6:\n            raise MemoryError()\n"
    path = write_toml(_plugin(tmp_path, body))
    ref, out = tmp_path / "ref", tmp_path / "run"
    assert run_cli("run", path, "--out", ref, "--quiet").returncode == 0
    env_run = subprocess.run([sys.executable, "-m", "pdemet.cli", "run", str(path), "--out", str(out), "--quiet",
                              "--checkpoint-every", "0.25"], cwd=ROOT, capture_output=True, text=True,
                             env={**__import__("os").environ, "PDEMET_TEST_FAIL": "1"}, timeout=300)
    assert env_run.returncode == 1 and "MemoryError" in env_run.stderr, env_run.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "failed" and 0.5 <= summary["t"] < 1.0
    r = run_cli("run", "--resume", out, "--quiet")
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "summary.json").read_text())["status"] == "completed"
    assert (out / "timeseries.csv").read_text() == (ref / "timeseries.csv").read_text()
    a, b = read_vtkhdf(out / "fields" / "tissue.vtkhdf"), read_vtkhdf(ref / "fields" / "tissue.vtkhdf")
    assert list(a["times"]) == list(b["times"])
    for sa, sb in zip(a["steps"], b["steps"]):
        assert all(np.array_equal(sa["arrays"][k], sb["arrays"][k]) for k in sb["arrays"])


def _rewrite(path, change):
    """Rewrite a checkpoint with ``change(arrays)`` applied and a digest that matches the new contents."""
    from pdemet.output import checkpoint

    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays.pop(checkpoint.DIGEST)
    change(arrays)
    arrays[checkpoint.DIGEST] = np.frombuffer(checkpoint._digest(arrays).encode(), dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _flip_middle_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


CORRUPTIONS = {
    "empty": (lambda p: p.write_bytes(b""), "is damaged"),
    "truncated": (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "is damaged"),
    "one byte flipped": (_flip_middle_byte, "is damaged"),
    "a field edited": (lambda p: _rewrite_keep_digest(p), "do not match their recorded SHA-256"),
    "a field of the wrong size": (lambda p: _rewrite(p, lambda a: a.update({"tissue/0": a["tissue/0"][:-1]})),
                                  "has the wrong size"),
    "a NaN field": (lambda p: _rewrite(p, lambda a: a["tissue/1"].__setitem__(0, np.nan)), "non-finite"),
    "a clone missing": (lambda p: _rewrite(p, lambda a: a.pop("tissue/1")), "is missing"),
    "state not JSON": (lambda p: _rewrite(p, lambda a: a.update(meta=np.frombuffer(b"{oops", dtype=np.uint8))),
                       "is damaged"),
    "a state missing": (lambda p: _rewrite(p, lambda a: a.update(meta=np.frombuffer(
        json.dumps({"simulation": {}}).encode(), dtype=np.uint8))), "does not hold the state of"),
}


def _rewrite_keep_digest(path):
    """A plausible edit (a density changed) that keeps the old digest: only the digest can tell."""
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["tissue/0"] = arrays["tissue/0"] * 1.01
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def test_a_damaged_or_foreign_checkpoint_is_refused_in_one_line(tmp_path, write_toml):
    body = "        if os.environ.get('PDEMET_TEST_FAIL') and ctx.t > 0.6:\n            raise MemoryError()\n"
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "pdemet.cli", "run", str(write_toml(_plugin(tmp_path, body))), "--out",
                        str(out), "--quiet", "--checkpoint-every", "0.25"], cwd=ROOT, capture_output=True, text=True,
                       env={**__import__("os").environ, "PDEMET_TEST_FAIL": "1"}, timeout=300)
    assert r.returncode == 1, r.stderr
    ckpt = out / "checkpoint.npz"
    good = ckpt.read_bytes()
    for name, (damage, message) in CORRUPTIONS.items():
        damage(ckpt)
        r = run_cli("run", "--resume", out, "--quiet")
        assert r.returncode == 2 and message in r.stderr, (name, r.stderr)
        assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, (name, r.stderr)
        assert json.loads((out / "summary.json").read_text())["status"] == "failed", name  # nothing touched
        ckpt.write_bytes(good)
    r = run_cli("run", "--resume", out, "--quiet")
    assert r.returncode == 0, r.stderr


def test_resume_finds_a_plugin_given_by_a_relative_path(tmp_path, write_toml):
    body = "        if os.environ.get('PDEMET_TEST_FAIL') and ctx.t > 0.6:\n            raise MemoryError()\n"
    data = _plugin(tmp_path, body)
    data["simulation"]["plugins"] = ["plugin_term.py"]  # next to the scenario
    out = tmp_path / "runs" / "run"
    r = subprocess.run([sys.executable, "-m", "pdemet.cli", "run", str(write_toml(data)), "--out", str(out), "--quiet",
                        "--checkpoint-every", "0.25"], cwd=ROOT, capture_output=True, text=True,
                       env={**__import__("os").environ, "PDEMET_TEST_FAIL": "1"}, timeout=300)
    assert r.returncode == 1, r.stderr
    assert str(tmp_path / "plugin_term.py") in (out / "scenario.toml").read_text()
    r = run_cli("run", "--resume", out, "--quiet", cwd=tmp_path / "runs")  # another working directory
    assert r.returncode == 0, r.stderr


def test_a_run_without_fields_writes_the_same_tables_and_render_says_why(tmp_path, write_toml):
    """``simulation.write_fields = false`` (ensembles): the same tables, no VTKHDF, the tables still readable,
    and a render refused in one line that names the key."""
    from pdemet.output.rundir import load_run

    data = box_scenario()
    off = box_scenario()
    off["simulation"]["write_fields"] = False
    for name, scenario in (("with", data), ("without", off)):
        r = run_cli("run", write_toml(scenario, f"{name}.toml"), "--out", tmp_path / name, "--quiet")
        assert r.returncode == 0, r.stderr
    assert (tmp_path / "with" / "timeseries.csv").read_text() == (tmp_path / "without" / "timeseries.csv").read_text()
    assert list((tmp_path / "with" / "fields").glob("*.vtkhdf"))
    assert not (tmp_path / "without" / "fields").exists()
    run = load_run(tmp_path / "without", fields=False)
    assert run.organs == {} and np.array_equal(run.times, load_run(tmp_path / "with").times)
    r = run_cli("render", tmp_path / "without")
    assert r.returncode != 0 and r.stderr.count("\n") == 1 and "write_fields = false" in r.stderr, r.stderr
