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
                "adaptive", "pressure", "targets", "bench_wall_s"):
        assert key in data, key
    assert data["quick"] is True
    assert returned["targets"] == data["targets"]
    # 6 of the solvers/py-pde/parallel/growth sections, 1 continuum, 3 adaptive, 1 pressure
    assert len(data["targets"]) == 11 and all(isinstance(t["met"], bool) for t in data["targets"])


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


def test_adaptive_meshes(bench_results):
    """The adaptive section: cost rows grow with the element size halved, 1 and 2 ranks agree, the uniform mesh
    gives the same focus within the stated tolerance, the shares and the extrapolations are finite."""
    _, _, data = bench_results
    a = data["adaptive"]
    rows = a["cost"]["rows"]
    assert len(rows) >= 2 and rows[1]["dofs"] > 2 * rows[0]["dofs"]
    for r in rows:
        assert _positive(r["step_s"]) and _positive(r["peak_rss_mib"]) and len(r["foci"]) == 1
    for key in ("step_dofs_exponent", "adapt_dofs_exponent", "memory_bytes_per_dof"):
        assert _finite(a["cost"][key]), key
    assert 0 < a["share"]["adapt_share"] < 1 and 0 <= a["share"]["transfer_share"] < a["share"]["adapt_share"]
    u = a["uniform"]
    assert u["uniform"]["dofs"] > u["adaptive"]["dofs"] and u["same_census"], u["census_rel_diff"]
    assert _positive(u["extrapolated"]["time_ratio"]) and _positive(u["extrapolated"]["memory_gib"])
    assert _positive(a["memory"]["gib"])
    for r in a["ranks"]:
        g = r["agreement"]
        assert g["same_lesions"] and g["census_max_rel_diff"] < 1e-8 and g["cells_max_rel_diff"] < 1e-10
        assert g["foci_last"] == g["foci_last_2"] and sum(g["foci_last"].values()) > 0
        assert _positive(r["speedup"]) and 0 < r["serial_fraction"] < 1 and 1 <= r["amdahl_bound"] <= 2
    assert _positive(a["stream"]["one_gb_s"]) and len(a["stream"]["two_gb_s_each"]) == 2


def test_pressure_section(bench_results):
    """IMEX variants and Newton with the pressure term: error curves against each solver's own reference,
    orders (first order shipped, second extrapolated, Newton second), time at both targets, the ratios."""
    _, _, data = bench_results
    sec = data["pressure"]
    assert sec["cases"] and sec["targets"] == [1e-3, 1e-4]
    for c in sec["cases"]:
        assert set(c["imex"]) == set(sec["imex_variants"]) and c["newton"]["points"]
        for r in [*c["imex"].values(), c["newton"]]:
            for p in r.get("points", []):
                assert _positive(p["step_s"]) and (_positive(p["error"]) or p.get("extrapolated"))
            for p in r.get("runs", []):
                assert _positive(p["error"]) and _positive(p["time_s"]) and p["steps"]["accepted"] > 0
            for t in ("0.001", "0.0001"):
                assert _positive(r["at"][t]["time_s"]) and r["at"][t].get("steps", 1) >= 1
        assert 0.8 < c["imex"]["imex"]["at"]["0.0001"]["order"] < 1.2
        assert 1.7 < c["imex"]["imex extrapolated"]["at"]["0.0001"]["order"] < 2.3
        assert all(_positive(v) for s in c["speedup"].values() for v in s.values())
    assert any(t["target"].startswith("≥ 20× faster than Newton with the pressure term") for t in data["targets"])
