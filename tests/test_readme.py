"""README's Python snippets run as written (the quick scenario stands in for the 21-day default, and the
run they read back is the one the first snippet wrote)."""

import re
import subprocess
import sys

from conftest import ROOT

QUICK = (ROOT / "pdemet" / "scenarios" / "quick.toml").as_posix()


def _python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(), flags=re.S | re.M)


def test_readme_python_snippets_run(tmp_path):
    blocks = _python_blocks()
    assert len(blocks) == 3, "README's Python snippets changed: update this test"
    run, term, pyvista = blocks
    assert "pdemet/scenarios/default.toml" in run and "results/default/fields/lung.vtkhdf" in pyvista
    script = "\n".join([run.replace("pdemet/scenarios/default.toml", QUICK),
                        pyvista.replace("results/default", "my_run"),
                        term,
                        "assert 'drug_kill' in __import__('pdemet.terms', fromlist=['TERMS']).TERMS"])
    r = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "cells/mm³ at the last output time" in r.stdout
    assert (tmp_path / "my_run" / "summary.json").is_file()
