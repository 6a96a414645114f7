"""README's Python snippets run as written (the quick scenario stands in for the 21-day default, and the
run they read back is the one the first snippet wrote)."""

import csv
import json
import re
import subprocess
import sys
import time

import numpy as np

from conftest import ROOT, VENV_BIN

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


# README's "Running" commands with their placeholders filled in. The runs use the quick scenario (3.2 s);
# each `DIR` is the output of the latest `run` line, so --resume, render and view act on what was just run
# (a sweep gets a directory of its own).
FILLED = {"SCENARIO": "quick.toml", "pdemet/scenarios/default.toml": "quick.toml", "SWEEP.toml": "sweep.toml",
          "FILE": "kidney.stl", "NAME": "kidney", "ORGAN": "lung", "--size H": "--size 2", "mm|cm|m": "mm",
          "[--movie]": "--movie", "[--closeups N]": "--closeups 1", "[--size W H]": "--size 320 240",
          "[--html scene.html]": "--html scene.html", "[--ranks-per-member N]": "--ranks-per-member 1",
          "[--quick]": "--quick"}


def _running_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text[text.index("## Running"):]
    block = re.search(r"^```sh\n(.*?)^```", block, flags=re.S | re.M).group(1)
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def _fill(line: str, out: str) -> list[str]:
    for placeholder, value in FILLED.items():
        line = line.replace(placeholder, value)
    line = re.sub(r"\bDIR\b", out, line)
    return [str(VENV_BIN / w[len(".venv/bin/"):]) if w.startswith(".venv/bin/") else w for w in line.split()]


def test_readme_running_commands_run(tmp_path):
    """Every line of README's "Running" block runs as written (placeholders filled in) and does what its
    comment says; `pdemet bench` only parses here (tests/test_bench.py runs the quick benchmark)."""
    import meshio

    from pdemet.cli import build_parser
    from pdemet.meshes.geometry import boundary_faces
    from test_mesh_import import box_mesh

    lines = _running_commands()
    assert len(lines) == 11 and all(".venv/bin/" in line for line in lines), "README's Running block changed"
    (tmp_path / "quick.toml").write_text((ROOT / "pdemet" / "scenarios" / "quick.toml").read_text())
    sweep = (ROOT / "docs" / "tutorial" / "sweep.toml").read_text()
    (tmp_path / "sweep.toml").write_text(sweep.replace('"../../pdemet/scenarios/quick.toml"', '"quick.toml"'))
    x, tets = box_mesh()
    meshio.write(tmp_path / "kidney.stl", meshio.Mesh(x, [("triangle", boundary_faces(tets))]))

    out, runs = "my_run", []
    for k, line in enumerate(lines):
        if " run " in line and "--resume" not in line:
            out = "my_run" if "--out my_run" in line else f"run{k}"
            runs.append(out)
        argv = _fill(line, f"{line.split()[1]}{k}" if " sweep " in line or " bench " in line else out)
        if argv[1:2] == ["bench"]:
            build_parser().parse_args(argv[1:])
            continue
        if "--checkpoint-every" in argv:  # killed after its first checkpoint, then the next line resumes it
            proc = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            while proc.poll() is None and not (tmp_path / out / "checkpoint.npz").exists():
                time.sleep(0.005)
            proc.kill()
            assert proc.wait() == -9, f"{line}: ended before it could be killed after its first checkpoint"
            continue
        r = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"README line {line!r} -> {' '.join(argv)}: {r.stderr[-2000:]}"

    first, quiet, two_ranks, resumed = (tmp_path / d / "timeseries.csv" for d in runs)
    assert first.read_bytes() == quiet.read_bytes() == resumed.read_bytes()  # a kill and --resume: bitwise
    one, two = (list(csv.reader(f.read_text().splitlines())) for f in (first, two_ranks))
    assert [r[:3] for r in one] == [r[:3] for r in two] and len(one) > 40  # 2 ranks: sums in another order
    assert np.allclose(np.array([r[3] for r in one[1:]], float), np.array([r[3] for r in two[1:]], float),
                       rtol=1e-13, atol=0)
    assert json.loads((tmp_path / runs[-1] / "summary.json").read_text())["status"] == "completed"
    assert any((tmp_path / runs[-1] / "renders").glob("*.mp4")) and (tmp_path / "scene.html").stat().st_size
    assert (tmp_path / "meshes" / "kidney.msh").is_file() and (tmp_path / "meshes" / "lung.msh").is_file()
    assert (tmp_path / "my_run" / "summary.json").is_file()
    assert list(tmp_path.glob("sweep*/sweep_summary.csv"))

