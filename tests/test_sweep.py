"""Sweeps: grid × seeds, resume, MPI groups vs a process pool, validation, Latin hypercube."""

import csv
import subprocess
import sys

import pytest

from pdemet.scenario import ScenarioError
from pdemet.sweep import load_sweep, main_sweep, run_sweep

from conftest import ROOT, VENV_BIN

QUICK = (ROOT / "pdemet" / "scenarios" / "quick.toml").as_posix()
# 2.5 days: founders that arrive before the sites' re-adaptation at day 2 are placed there and grow
SMALL = """
[overrides]
"simulation.t_end" = 2.5
"simulation.output_every" = 2.5
"""
GRID = f"""
base = "{QUICK}"
design = "grid"
seeds = [1, 2]
[parameters]
"cluster_flux.shedding_rate" = [1e-3, 2e-3]
"organs.lung.growth_rate" = {{ range = [0.1, 0.3], n = 2 }}
""" + SMALL


def _write(path, text):
    path.write_text(text)
    return path


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def grid_sweep(tmp_path_factory):
    """The 2 × 2 grid × 2 seeds sweep, run once with a process pool (no MPI)."""
    d = tmp_path_factory.mktemp("grid")
    sweep = _write(d / "sweep.toml", GRID)
    counts = run_sweep(sweep, d / "out", workers=2, progress=False)
    return sweep, d / "out", counts


def test_grid_sweep_writes_tables_and_plots(grid_sweep):
    _, out, counts = grid_sweep
    assert counts["members"] == 8 and counts["completed"] == 8 and counts["failed"] == counts["skipped"] == 0
    rows = _rows(out / "sweep.csv")
    assert len(rows) == 8
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    assert rows[0]["id"] == "p000_s001" and rows[-1]["id"] == "p003_s002"
    assert {(r["cluster_flux.shedding_rate"], r["organs.lung.growth_rate"]) for r in rows} == \
        {(a, b) for a in ("0.001", "0.002") for b in ("0.1", "0.3")}
    assert {r["seed"] for r in rows} == {"1", "2"} and {r["status"] for r in rows} == {"completed"}
    for r in rows:
        assert float(r["cells_lung"]) > 0 and int(r["foci_lung"]) > 0
        sites = sum(float(r[f"cells_{o}"]) for o in ("lung", "liver", "bone", "brain"))
        assert float(r["cells_sites"]) == pytest.approx(sites, rel=1e-12)
    assert "wall_time_s" not in rows[0] and len(_rows(out / "sweep_timing.csv")) == 8
    # the seed changes the stochastic outcome; the grid value reaches the members
    assert rows[0]["foci_sites"] != rows[1]["foci_sites"] or rows[0]["cells_lung"] != rows[1]["cells_lung"]
    assert rows[0]["cells_lung"] != rows[2]["cells_lung"]  # lung growth rate 0.1 vs 0.3, same seed
    summary = _rows(out / "sweep_summary.csv")
    assert len(summary) == 4 and {s["completed"] for s in summary} == {"2"}
    s0 = summary[0]
    mean = (float(rows[0]["cells_lung"]) + float(rows[1]["cells_lung"])) / 2
    assert float(s0["cells_lung_mean"]) == pytest.approx(mean, rel=1e-12)
    # 95 % CI half-width with 2 seeds: t(0.975, 1) · s / √2 = 12.706 · s / √2
    assert float(s0["cells_lung_ci95"]) == pytest.approx(12.7062 * float(s0["cells_lung_std"]) / 2 ** 0.5, rel=1e-4)
    assert (out / "sweep_cluster_flux_shedding_rate.png").stat().st_size > 1000
    assert (out / "sweep_organs_lung_growth_rate.png").is_file()
    assert "t_end = 2.5" in (out / "members" / "p000_s001" / "scenario.toml").read_text()


def test_two_mpi_ranks_give_the_same_sweep_csv(grid_sweep, tmp_path):
    sweep, out, _ = grid_sweep
    cmd = [str(VENV_BIN / "mpiexec"), "-n", "2", sys.executable, "-m", "pdemet.cli", "sweep", str(sweep),
           "--out", str(tmp_path / "mpi"), "--ranks-per-member", "1", "--quiet"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "8 run (8 completed, 0 failed)" in r.stdout
    assert (tmp_path / "mpi" / "sweep.csv").read_bytes() == (out / "sweep.csv").read_bytes()
    assert (tmp_path / "mpi" / "sweep_summary.csv").read_bytes() == (out / "sweep_summary.csv").read_bytes()


def test_resume_reruns_only_missing_or_changed_members(grid_sweep):
    import shutil

    sweep, out, _ = grid_sweep
    before = (out / "sweep.csv").read_bytes()
    mtimes = {p.parent.name: p.stat().st_mtime_ns for p in (out / "members").glob("*/summary.json")}
    shutil.rmtree(out / "members" / "p001_s002")
    with open(out / "members" / "p002_s001" / "scenario.toml", "a") as f:
        f.write("# edited: no longer the member's scenario\n")
    counts = run_sweep(sweep, out, workers=2, progress=False)
    assert (counts["ran"], counts["completed"], counts["skipped"], counts["failed"]) == (2, 2, 6, 0)
    after = {p.parent.name: p.stat().st_mtime_ns for p in (out / "members").glob("*/summary.json")}
    assert {k for k in mtimes if after[k] != mtimes[k]} == {"p001_s002", "p002_s001"}
    assert (out / "sweep.csv").read_bytes() == before
    timing = {r["id"]: r["ran"] for r in _rows(out / "sweep_timing.csv")}
    assert {k for k, v in timing.items() if v == "1"} == {"p001_s002", "p002_s001"}


def test_a_member_that_wrote_fields_serves_a_request_without_them(tmp_path):
    """A run that wrote more serves a request for less: a completed member with fields is kept when the sweep
    is asked again without fields (its tables are the same), but not the other way round."""
    def sweep(fields: bool):
        return _write(tmp_path / f"fields_{fields}.toml", f"""
base = "{QUICK}"
seeds = [3]
[parameters]
[overrides]
simulation = {{ t_end = 0.5, output_every = 0.5, adaptive = false, write_fields = {str(fields).lower()} }}
""")
    out = tmp_path / "out"
    assert run_sweep(sweep(True), out, workers=1, progress=False)["ran"] == 1
    counts = run_sweep(sweep(False), out, workers=1, progress=False)
    assert (counts["ran"], counts["skipped"]) == (0, 1)
    assert (out / "members" / "p000_s003" / "fields").is_dir()
    out2 = tmp_path / "out2"
    assert run_sweep(sweep(False), out2, workers=1, progress=False)["ran"] == 1
    counts = run_sweep(sweep(True), out2, workers=1, progress=False)
    assert (counts["ran"], counts["skipped"]) == (1, 0)
    assert (out2 / "members" / "p000_s003" / "fields").is_dir()


def test_failing_member_does_not_stop_the_others_and_is_rerun(tmp_path, capsys):
    text = f"""
base = "{QUICK}"
seeds = [3]
[parameters]
"organs.fat_pad.growth_rate" = [0.25, 1.0e4]
[overrides]
simulation = {{ t_end = 2.5, output_every = 2.5, adaptive = false }}
"""
    sweep = _write(tmp_path / "fail.toml", text)
    assert main_sweep(sweep, tmp_path / "out", workers=1, progress=False) == 3
    rows = {r["id"]: r for r in _rows(tmp_path / "out" / "sweep.csv")}
    assert rows["p000_s003"]["status"] == "completed" and float(rows["p000_s003"]["cells_lung"]) > 0
    assert rows["p001_s003"]["status"] == "failed" and rows["p001_s003"]["cells_lung"] == ""
    assert rows["p001_s003"]["error"].startswith("StepFailure: step rejected") and "\n" not in rows["p001_s003"]["error"]
    assert "member p001_s003 failed" in capsys.readouterr().err
    counts = run_sweep(sweep, tmp_path / "out", workers=1, progress=False)
    assert (counts["ran"], counts["skipped"], counts["failed"]) == (1, 1, 1)


@pytest.mark.parametrize("params, message", [
    ('"organs.lung.growth_rat" = [0.1]', 'parameters."organs.lung.growth_rat": no key \'organs.lung.growth_rat\' '
                                         "in the base scenario (did you mean 'organs.lung.growth_rate'?)"),
    ('"organs.lung" = [0.1]', 'parameters."organs.lung": \'organs.lung\' names a table'),
    ('"organs.lung.growth_rate" = []', "got an empty list"),
    ('"organs.lung.growth_rate" = { range = [0.3, 0.1], n = 3 }', "expected lo < hi"),
    ('"organs.lung.growth_rate" = { range = [0.1, 0.3] }', ".n: got None, expected an integer"),
    ('"simulation.dt" = [0.1, 10.0]', "member p001_s007 (simulation.dt = 10.0, seed 7): simulation.dt: got 10.0"),
])
def test_bad_sweep_file_fails_with_one_line(tmp_path, params, message):
    sweep = _write(tmp_path / "bad.toml", f'base = "{QUICK}"\n[parameters]\n{params}\n')
    with pytest.raises(ScenarioError) as e:
        run_sweep(sweep, tmp_path / "out", progress=False)
    assert message in str(e.value) and "\n" not in str(e.value)
    assert not (tmp_path / "out").exists()  # nothing ran, nothing written


def test_unknown_top_level_key_and_cli_message(tmp_path):
    sweep = _write(tmp_path / "bad.toml", GRID.replace('design = "grid"', 'desing = "grid"'))
    with pytest.raises(ScenarioError, match=r"^desing: unknown key in the sweep file.*did you mean 'design'"):
        load_sweep(sweep)
    r = subprocess.run([sys.executable, "-m", "pdemet.cli", "sweep", str(sweep), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "desing" in r.stderr


def test_out_dir_of_something_else_is_refused(tmp_path):
    sweep = _write(tmp_path / "sweep.toml", GRID)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(ScenarioError, match="holds no sweep.toml"):
        run_sweep(sweep, tmp_path / "out", progress=False)


def test_latin_hypercube_points_are_inside_the_ranges(tmp_path):
    text = f"""
base = "{QUICK}"
design = "latin_hypercube"
samples = 3
seed = 5
seeds = 2
[parameters]
"cluster_flux.shedding_rate" = {{ range = [1e-4, 1e-2], log = true }}
"organs.lung.growth_rate" = {{ range = [0.1, 0.3] }}
"cluster_flux.sizes.max_size" = {{ range = [10, 50] }}
"simulation.theta" = {{ range = [0.5, 1.0] }}
""" + SMALL
    sweep = load_sweep(_write(tmp_path / "lhs.toml", text))
    assert len(sweep.points) == 3 and len(sweep.members) == 6
    assert [m.id for m in sweep.members][:2] == ["p000_s000", "p000_s001"]
    for p in sweep.points:
        assert 1e-4 <= p["cluster_flux.shedding_rate"] <= 1e-2
        assert 0.1 <= p["organs.lung.growth_rate"] <= 0.3
        assert 0.5 <= p["simulation.theta"] <= 1.0
        assert isinstance(p["cluster_flux.sizes.max_size"], int) and 10 <= p["cluster_flux.sizes.max_size"] <= 50
    # Latin hypercube: one point per third of each range
    strata = sorted(int((p["organs.lung.growth_rate"] - 0.1) / 0.2 * 3) for p in sweep.points)
    assert strata == [0, 1, 2]
    assert load_sweep(tmp_path / "lhs.toml").points == sweep.points  # seeded: reproducible
    assert sweep.members[0].data["simulation"]["t_end"] == 2.5



def _pool_workers(pid: int) -> set[int]:
    """The multiprocessing workers whose parent is ``pid`` (from /proc)."""
    from pathlib import Path

    kids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmd = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and b"spawn_main" in cmd:  # not the resource tracker
            kids.add(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    from pathlib import Path

    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_killing_the_sweep_kills_its_workers(tmp_path):
    import signal
    import time

    sweep = _write(tmp_path / "long.toml", f'base = "{QUICK}"\nseeds = [1, 2]\n'
                   '[parameters]\n"cluster_flux.shedding_rate" = [1e-3]\n')  # 21 days each: minutes
    proc = subprocess.Popen([sys.executable, "-m", "pdemet.cli", "sweep", str(sweep), "--out", str(tmp_path / "out"),
                             "--workers", "2", "--quiet"], cwd=ROOT)
    deadline, workers = time.monotonic() + 120, set()
    while time.monotonic() < deadline and proc.poll() is None:
        workers = _pool_workers(proc.pid)
        if len(workers) == 2 and any((tmp_path / "out" / "members").glob("*/fields")):  # members running
            break
        time.sleep(0.2)
    assert len(workers) == 2, "the pool workers did not start"
    proc.send_signal(signal.SIGKILL)  # what an out-of-memory killer or `kill -9` does: no cleanup at all
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(map(_alive, workers)):
        time.sleep(0.1)
    assert not [p for p in workers if _alive(p)], "pool workers outlived their sweep"


def test_seed_ensemble_without_parameters_sets_optional_keys(tmp_path):
    """A sweep with no parameters is a seed ensemble (one point); an override may set an optional key that the
    resolved scenario leaves out (here the primary's segregation), and the member runs with it."""
    sweep = _write(tmp_path / "ens.toml", f'base = "{QUICK}"\nseeds = [3, 4]\n[parameters]\n[overrides]\n'
                   '"organs.fat_pad.initial.segregation" = 0.5\n"simulation.t_end" = 0.5\n'
                   '"simulation.output_every" = 0.5\n')
    counts = run_sweep(sweep, tmp_path / "out", workers=1, progress=False)
    assert (counts["members"], counts["completed"]) == (2, 2)
    text = (tmp_path / "out" / "members" / "p000_s003" / "scenario.toml").read_text()
    assert "segregation = 0.5" in text
    lhs = _write(tmp_path / "lhs.toml", f'base = "{QUICK}"\ndesign = "latin_hypercube"\nsamples = 2\n[parameters]\n')
    with pytest.raises(ScenarioError, match="a latin_hypercube needs ranges"):
        load_sweep(lhs)
