"""docs/tutorial.ipynb runs top to bottom, and it says the same as docs/tutorial.md."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MD = ROOT / "docs" / "tutorial.md"
NB = ROOT / "docs" / "tutorial.ipynb"
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.S | re.M)


def md_fences() -> list[tuple[str, str]]:
    """(info string, body) of every fenced block of the .md, in order."""
    return [(info.strip(), body.rstrip("\n")) for info, body in FENCE.findall(MD.read_text(encoding="utf-8"))]


def nb_json() -> dict:
    return json.loads(NB.read_text(encoding="utf-8"))


def source(cell) -> str:
    src = cell["source"]
    return ("".join(src) if isinstance(src, list) else src).rstrip("\n")


def test_code_cells_match_markdown():
    md_code = [body for info, body in md_fences() if info == "python"]
    nb_code = [source(c) for c in nb_json()["cells"] if c["cell_type"] == "code"]
    assert md_code, "no python blocks in docs/tutorial.md"
    for k, (a, b) in enumerate(zip(md_code, nb_code)):
        assert a == b, (f"code block {k} differs between docs/tutorial.md and docs/tutorial.ipynb; "
                        "run docs/tutorial/make_notebook.py")
    assert len(md_code) == len(nb_code), (f"{len(md_code)} python blocks in the .md, {len(nb_code)} code cells "
                                          "in the .ipynb; run docs/tutorial/make_notebook.py")


def test_notebook_is_built_from_markdown():
    pytest.importorskip("nbformat")
    spec = importlib.util.spec_from_file_location("make_notebook", ROOT / "docs" / "tutorial" / "make_notebook.py")
    make_notebook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_notebook)
    expected = make_notebook.render(MD.read_text(encoding="utf-8"))
    assert NB.read_text(encoding="utf-8") == expected, "docs/tutorial.ipynb is stale: run docs/tutorial/make_notebook.py"
    assert all(not c.get("outputs") for c in nb_json()["cells"]), "store the notebook without outputs"


def test_file_listings_match_files():
    listed = [(info.split("file=", 1)[1].strip(), body) for info, body in md_fences() if "file=" in info]
    assert {name for name, _ in listed} >= {"docs/tutorial/dose_terms.py", "docs/tutorial/sweep.toml"}
    for name, body in listed:
        assert (ROOT / name).read_text(encoding="utf-8").rstrip("\n") == body, \
            f"the listing of {name} in docs/tutorial.md differs from the file"


def test_notebook_executes(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    if importlib.util.find_spec("dolfinx") is None:  # not imported here: the kernel does that
        pytest.skip("DOLFINx is not installed")

    # A kernel spec "python3" that is this interpreter (the venv), whatever kernels the user has installed.
    kernels = tmp_path / "jupyter" / "kernels" / "python3"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "pdemet test kernel", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("PDEMET_TUTORIAL_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYVISTA_OFF_SCREEN", "true")
    cwd = tmp_path / "cwd"  # not the repo: the notebook must find its files itself
    cwd.mkdir()

    nb = nbformat.read(NB, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.prefix)"))
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=False,
                                     resources={"metadata": {"path": str(cwd)}})
    client.execute()  # raises CellExecutionError (with the cell and traceback) if any cell fails

    def text(cell) -> str:
        return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")

    assert text(nb.cells[-1]).strip() == sys.prefix, "the notebook ran on another Python than this venv"
    out = "\n".join(text(c) for c in nb.cells if c.cell_type == "code")
    assert "timeseries.csv identical: True" in out
    assert "shed == circulating + cleared + killed + arrested: True" in out
    assert (tmp_path / "out" / "sweep" / "sweep_summary.csv").is_file()
    assert (tmp_path / "out" / "quick" / "renders").is_dir()


def _cli_args(block: str) -> list[str | None] | None:
    """The arguments of the first ``pdemet_cli(...)`` call in a Python block: constants as the shell writes
    them, a path built as ``X / "name"`` as its last name, any other expression as None (matches any word)."""
    import ast

    for node in ast.walk(ast.parse(block)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "pdemet_cli":
            def word(a):
                if isinstance(a, ast.Constant):
                    return str(a.value)
                if isinstance(a, ast.BinOp) and isinstance(a.right, ast.Constant):
                    return str(a.right.value)
                return None
            return [word(a) for a in node.args]
    return None


def test_every_shell_command_is_run_by_the_notebook():
    """Each `pdemet ...` line of the tutorial's shell blocks is the `pdemet_cli(...)` call of the Python block
    after it, so test_notebook_executes runs it; the first block (make install, jupyter) is CI's own set-up."""
    fences = md_fences()
    shell = [k for k, (info, _) in enumerate(fences) if info == "sh"]
    assert shell and "make install" in fences[shell[0]][1]
    for k in shell[1:]:
        lines = [line.split("#")[0].split() for line in fences[k][1].splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0][0] == "pdemet", fences[k][1]
        words = lines[0][1:]
        following = next((body for info, body in fences[k + 1:] if info == "python"), "")
        args = _cli_args(following)
        assert args is not None, f"no pdemet_cli(...) after the shell block {fences[k][1]!r}"
        assert len(args) == len(words) and all(a is None or Path(w).name == a or w == a for a, w in zip(args, words)), \
            f"the shell block {fences[k][1]!r} and the pdemet_cli call after it differ: {args}"
