"""The experiments of Cheung et al. 2016 as simulations (scripts/experiment_*.py, --quick)."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT


def _run(tmp_path, name) -> dict:
    script = ROOT / "scripts" / f"experiment_{name}.py"
    r = subprocess.run([sys.executable, str(script), "--quick", "--seeds", "1", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=900, cwd=ROOT / "scripts")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "published" in r.stdout and (tmp_path / "figure.png").stat().st_size > 1000
    return json.loads((tmp_path / "result.json").read_text())


def test_tail_vein_injection_matches_the_hazards_and_grows_foci(tmp_path):
    """Founders per injected cell agree with the closed form of the hazards and s(n) (the ratio's CI holds the
    exact 120x); every founder of the day-0 bolus has grown into a lung focus by day 21 in both arms."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from repro_clusters_vs_singles import N_AGG, lung_colonies_per_cell
    from repro_common import default_scenario, flux_config

    result = _run(tmp_path, "tail_vein")
    founders = result["rows"][0]
    _, cfg, sites = flux_config(default_scenario(quick=True))
    exact = lung_colonies_per_cell(cfg, sites, N_AGG) / lung_colonies_per_cell(cfg, sites, 1)
    assert founders["ci"][0] < exact < founders["ci"][1] and exact > 100
    for arm in result["parameters"]["results"]["shipped"].values():
        assert arm["founders"] >= 1 and arm["foci"] == arm["lesions"] == arm["founders"]
        assert min(arm["lesion_cells"]) >= 50


def test_two_colors_look_monochrome_when_the_primary_is_segregated(tmp_path):
    """Nearly every focus is founded by several cells at every segregation, but with two colors a segregated
    primary's foci are scored multicolored far less often, and never more than a random draw of founders."""
    res = _run(tmp_path, "two_color")["parameters"]["results"]
    frac = {float(s): {k: v / r["foci"] for k, v in r.items()} for s, r in res.items()}
    assert all(r["foci"] >= 20 for r in res.values())
    assert all(f["polyclonal"] >= 0.9 for f in frac.values())
    assert frac[0.0]["multicolored"] >= 0.9 > 0.5 > frac[1.0]["multicolored"]
    for f in frac.values():
        assert f["multicolored_of_polyclonal"] <= f["expected_multicolored_random"] + 0.05


def test_controls_single_cells_and_k14_knockdown(tmp_path):
    """Single cells grow monoclonal foci only; weaker cohesion at shedding (K14 knockdown) sheds smaller
    clusters and lowers the metastatic burden; the default's foci are polyclonal."""
    script = ROOT / "scripts" / "experiment_controls.py"
    r = subprocess.run([sys.executable, str(script), "--quick", "--only", "singles", "k14_0.2", "--out",
                        str(tmp_path)], capture_output=True, text=True, timeout=900, cwd=ROOT / "scripts")
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads((tmp_path / "result.json").read_text())["parameters"]["results"]
    default, singles, k14 = res["default"], res["single cells only"], res["K14 knockdown, cohesion 0.2"]
    assert default["polyclonal"] / default["foci"] >= 0.9 and default["foci"] >= 20
    assert singles["polyclonal"] == singles["several_founders"] == 0 and singles["mean_shed_cluster"] == 1
    assert 1 < k14["mean_shed_cluster"] < default["mean_shed_cluster"]
    assert k14["burden"] < 0.5 * default["burden"] and singles["burden"] < default["burden"]


def test_ex_vivo_dish_matches_the_survival_law(tmp_path):
    """In a dish every plated cluster lands and survives by s(n): founders per plated cell agree with the closed
    form s(30)/(30 s1) = 57x; in a week only the aggregates' colonies reach 50 cells."""
    result = _run(tmp_path, "ex_vivo")
    exact, founders = result["rows"][0]["model"], result["rows"][1]
    assert exact == pytest.approx(57.16, rel=1e-3) and founders["ci"][0] < exact < founders["ci"][1]
    res = result["parameters"]["results"]
    assert res["aggregates"]["foci"] == res["aggregates"]["founders"] >= 1 and res["singles"]["foci"] == 0
    assert res["singles"]["lesions"] == res["singles"]["founders"] >= 1
