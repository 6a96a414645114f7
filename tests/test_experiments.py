"""The experiments of Cheung et al. 2016 as simulations (scripts/experiment_*.py, --quick, one mouse per arm)."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT


def _run(tmp_path, runs, name, *extra) -> dict:
    script = ROOT / "scripts" / f"experiment_{name}.py"
    r = subprocess.run([sys.executable, str(script), "--quick", "--seeds", "1", "--finer-seeds", "0", "--runs",
                        str(runs), "--out", str(tmp_path), *extra], capture_output=True, text=True, timeout=900,
                       cwd=ROOT / "scripts")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "published" in r.stdout and (tmp_path / "figure.png").stat().st_size > 1000
    return json.loads((tmp_path / "result.json").read_text())


def test_tail_vein_injection_matches_the_hazards_and_grows_foci(tmp_path, repro_runs):
    """Founders per injected cell agree with the closed form of the hazards and s(n) (Poisson counts of about 8
    expected founders per arm: within a factor 3 of the exact 120x); every founder of the day-0 bolus has grown
    into a lung focus by day 21 in both arms."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from repro_clusters_vs_singles import N_AGG, lung_colonies_per_cell
    from repro_common import default_scenario, flux_config

    result = _run(tmp_path, repro_runs, "tail_vein", "--finer-seeds", "1", "--finer-dose", "0.5")
    founders = result["rows"][0]
    _, cfg, sites = flux_config(default_scenario(quick=True))
    exact = lung_colonies_per_cell(cfg, sites, N_AGG) / lung_colonies_per_cell(cfg, sites, 1)
    assert exact > 100 and exact / 3 < founders["model"] < 3 * exact
    for arm in result["parameters"]["arms"].values():
        assert arm["founders"] >= 1 and arm["foci >= 50 cells"] == arm["lesions"] == arm["founders"]
        assert arm["smallest lesion (cells)"] >= 50
    # one level finer: half the aggregate arm's clusters (the first: the same ones) at both resolutions
    arms = {a["arm"]: a for a in result["parameters"]["table"]}
    half = result["parameters"]["finer_dose_cells"]["aggregates"]
    assert half == N_AGG * round(0.5 * arms["aggregates"]["cells"] / N_AGG)
    shipped, finer = arms[f"aggregates, {half:,} cells"], arms["aggregates (finer)"]
    assert 1 <= shipped["founders"] == finer["founders"] <= arms["aggregates"]["founders"]
    assert finer["foci >= 50 cells"] == finer["founders"]
    for row in result["rows"]:
        assert row["finer"] is not None and "first" in row["note"] and row["converged"] is True, row


def test_two_colors_look_monochrome_when_the_primary_is_segregated(tmp_path, repro_runs):
    """Nearly every focus is founded by several cells at every segregation, but with two colors a segregated
    primary's foci are scored multicolored far less often, and never more than a random draw of founders;
    a palette of more colors scores more foci multicolored."""
    rows = {r["quantity"].split(" (if")[0]: r for r in _run(tmp_path, repro_runs, "two_color")["rows"]}
    design = "scored multicolored fraction of site foci, 2 colors 1:1 (the assumed design)"
    for seg in ("0", "0.5", "1"):
        assert rows[f"segregation {seg}: truly polyclonal site foci (>= 2 founder cells)"]["model"] >= 0.9
    assert rows[f"segregation 0: {design}"]["model"] >= 0.9 > 0.5 > rows[f"segregation 1: {design}"]["model"]
    for seg in ("0", "1"):
        four = rows[f"segregation {seg}: scored multicolored fraction of site foci, 4 colors"]["model"]
        assert four >= rows[f"segregation {seg}: {design}"]["model"]
    for r in rows.values():
        if "if founders were random draws" in r["quantity"]:
            random = float(r["quantity"].split("random draws: ")[1].rstrip(")"))
            assert r["model"] <= random + 0.05, r["quantity"]


def test_controls_single_cells_and_k14_knockdown(tmp_path, repro_runs):
    """Single cells grow monoclonal foci only; weaker cohesion at shedding (K14 knockdown) sheds smaller
    clusters and lowers the metastatic burden; the default's foci are polyclonal."""
    res = _run(tmp_path, repro_runs, "controls", "--only", "singles", "k14_0.2")["parameters"]["table"]
    default, singles, k14 = res["default"], res["single cells only"], res["K14 knockdown, cohesion 0.2"]
    assert default["scored_polyclonal"] >= 0.9 and default["foci_per_mouse"] >= 20
    assert not singles["scored_polyclonal"] > 0  # 0, or NaN when no single cell grew into a focus
    assert singles["mean_shed_cluster"] == 1
    assert 1 < k14["mean_shed_cluster"] < default["mean_shed_cluster"]
    assert k14["burden_vs_default"] < 0.5 and singles["burden_vs_default"] < 1


def test_ex_vivo_dish_matches_the_survival_law(tmp_path, repro_runs):
    """In a dish every plated cluster lands and survives by s(n): founders per plated cell agree with the closed
    form s(30)/(30 s1) = 57x (Poisson counts of ~8 founders per arm); in a week only the aggregates' colonies
    reach 50 cells."""
    result = _run(tmp_path, repro_runs, "ex_vivo")
    exact, founders = result["rows"][0]["model"], result["rows"][1]
    assert exact == pytest.approx(57.16, rel=1e-3) and exact / 3 < founders["model"] < 3 * exact
    arms = result["parameters"]["arms"]
    assert arms["aggregates"]["foci >= 50 cells"] == arms["aggregates"]["founders"] >= 1
    assert arms["singles"]["foci >= 50 cells"] == 0
    assert arms["singles"]["lesions"] == arms["singles"]["founders"] >= 1
