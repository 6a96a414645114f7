"""`pdemet bench --quick` runs end to end and writes complete, finite results (no timing assertions)."""

import json
import math

import pytest


def _positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


@pytest.fixture(scope="module")
def bench_results(tmp_path_factory):
    from benchmarks import run as bench

    out = tmp_path_factory.mktemp("bench")
    returned = bench.main(out, quick=True)
    data = json.loads((out / "bench.json").read_text())
    return out, returned, data


def test_files_and_sections(bench_results):
    out, returned, data = bench_results
    assert (out / "bench.md").read_text().startswith("# pdemet bench")
    for key in ("machine", "solvers", "bandwidth", "pypde", "continuum", "parallel", "growth", "whole_run",
                "targets", "bench_wall_s"):
        assert key in data, key
    assert data["quick"] is True
    assert returned["targets"] == data["targets"]
    assert len(data["targets"]) == 7 and all(isinstance(t["met"], bool) for t in data["targets"])


def test_solver_comparison(bench_results):
    _, _, data = bench_results
    names = [c["case"] for c in data["solvers"]]
    assert any(n.startswith("box") for n in names) and any(n.startswith("lung") for n in names)
    for c in data["solvers"]:
        assert c["K"] == 4
        for key in ("dofs_per_clone", "speedup_per_step", "speedup_equal_accuracy", "step_over_K_matmult",
                    "matmult_s"):
            assert _positive(c[key]), (c["case"], key, c[key])
        for solver in ("imex_time_to_solution", "newton_time_to_solution"):
            for key in ("time_s", "dt", "step_s", "steps"):
                assert _positive(c[solver][key]), (c["case"], solver, key)
        for p in c["imex"]:
            assert _positive(p["error"]) and _positive(p["step_s"]) and p["error"] < 1e-2
    for b in data["bandwidth"]:
        assert _positive(b["step_over_K_matmult"])


def test_pypde_parallel_growth_whole_run(bench_results):
    _, _, data = bench_results
    pp = data["pypde"]
    if "skipped" in pp:
        assert isinstance(pp["skipped"], str) and pp["skipped"]
    else:
        assert _positive(pp["speedup_vs_pypde"]) and _positive(pp["pdemet_time_to_solution_s"])
        assert all(_positive(r["time_s"]) and _positive(r["error"]) for r in pp["runs"])
    par = data["parallel"]
    for key in ("step_s_1_rank", "step_s_2_ranks", "speedup"):
        assert _positive(par[key]), key
    assert _finite(par["max_rel_diff"]) and 0 <= par["max_rel_diff"] < 1e-8
    g = data["growth"]
    assert len(g["vs_dofs"]) >= 3 and [r["K"] for r in g["vs_clones"]] == [1, 4, 8, 16]
    for r in g["vs_dofs"] + g["vs_clones"]:
        assert _positive(r["step_s"]) and _positive(r["peak_rss_mib"]) and _positive(r["dofs_per_clone"])
    for key in ("dofs_exponent", "clones_exponent", "memory_dofs_exponent", "memory_clones_exponent"):
        assert _finite(g[key]), key
    assert _positive(g["memory_4clones_5organs_1e6dofs_gib"])
    w = data["whole_run"]
    assert _positive(w["wall_s"]) and w["steps"]["accepted"] > 0
    assert set(w["timers_s"]) >= {"solve", "coupling", "output"}
    assert all(_finite(v) and v >= 0 for v in w["timers_s"].values())


def test_continuum_comparison(bench_results):
    """Both diffusivities: a converged reference, scored runs of both tools, fronts and ratios at the levels."""
    _, _, data = bench_results
    sec = data["continuum"]
    assert [c["diffusion"] for c in sec["cases"]] == [0.01, 0.1]
    for c in sec["cases"]:
        ref = c["reference"]
        assert 0 <= ref["change_dt_halved"] < 1e-6 and 0 <= ref["change_N_finer"] < 1e-2
        for r in c["pdemet_runs"]:
            assert _positive(r["time_s"]) and 0 < r["error"] < 1
        if "pypde_skipped" in c:
            continue
        assert all(_positive(r["time_s"]) and 0 < r["error"] < 1 for r in c["pypde_runs"])
        comp = c["comparison"]
        assert comp["pdemet_front"] and comp["pypde_front"]
        for row in comp["levels"]:
            assert row["measured"] and _positive(row["ratio"])
    target = next(t for t in data["targets"] if "continuum" in t["target"])
    assert isinstance(target["met"], bool) and target["measured"]


def test_error_controlled_steps_section(bench_results):
    """Both diffusivities: every run's error and time, the controller's norm, the ratio at the target."""
    _, _, data = bench_results
    sec = data["time_error"]
    assert [row["diffusion"] for row in sec["by_diffusion"]] == [0.01, 0.1]
    for row in sec["by_diffusion"]:
        assert len(row["controlled"]) == len(sec["tolerances"]) and len(row["fixed"]) >= 2
        for r in row["fixed"] + row["controlled"]:
            assert _positive(r["error"]) and _positive(r["time_s"]) and r["steps"]["accepted"] > 0
        assert all(_finite(r["error_over_tolerance"]) for r in row["controlled"])
        assert _positive(row["speedup"]) and _positive(row["at_smallest_fixed_error"]["speedup"]), row
    c = sec["by_diffusion"][0]["cg_rtol_1e-8"]
    assert _positive(c["time_ratio_vs_1e-12"]) and 0 <= c["cells_rel_diff_vs_1e-12"] < 1e-6

