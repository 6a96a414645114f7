"""The literate extension examples of docs/examples run and check what they claim."""

import subprocess
import sys

import pytest

from conftest import ROOT

EXAMPLES = ["survival_law", "shedding_weight", "clearance_law", "recorder"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_extension_example_runs(name):
    r = subprocess.run([sys.executable, f"{name}.py"], cwd=ROOT / "docs" / "examples", capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    print(r.stdout)


def test_every_example_is_listed_in_the_docs():
    text = (ROOT / "docs" / "extending.md").read_text()
    for name in EXAMPLES:
        assert f"examples/{name}.py" in text
