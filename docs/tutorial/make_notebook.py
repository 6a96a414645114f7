"""Build docs/tutorial.ipynb from docs/tutorial.md (the .md is the source; keep them in sync with this).

Every fenced block whose info string is exactly ``python`` becomes a code cell; everything else
(prose, ``sh``/``toml`` blocks, file listings such as ```` ```python file=... ````) goes into
markdown cells, split at headings. The notebook is stored without outputs.

    .venv/bin/python docs/tutorial/make_notebook.py           # write docs/tutorial.ipynb
    .venv/bin/python docs/tutorial/make_notebook.py --check   # exit 1 if it is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

DOCS = Path(__file__).resolve().parents[1]
MD = DOCS / "tutorial.md"
NB = DOCS / "tutorial.ipynb"


def split_cells(text: str) -> list[tuple[str, str]]:
    """[(kind, source)] with kind "code" or "markdown", in document order."""
    cells: list[tuple[str, str]] = []
    buf: list[str] = []

    def flush(kind: str) -> None:
        src = "\n".join(buf).strip("\n")
        if src.strip():
            cells.append((kind, src))
        buf.clear()

    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            info = line[3:].strip()
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), None)
            if end is None:
                raise ValueError(f"{MD.name}:{i + 1}: unclosed code fence")
            if info == "python":
                flush("markdown")
                buf.extend(lines[i + 1:end])
                flush("code")
            else:
                buf.extend(lines[i:end + 1])
            i = end + 1
            continue
        if line.startswith("#") and buf and any(b.strip() for b in buf):
            flush("markdown")
        buf.append(line)
        i += 1
    flush("markdown")
    return cells


def build_notebook(text: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
        "language_info": {"name": "python"},
    }
    for n, (kind, src) in enumerate(split_cells(text)):
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        cell = make(src)
        cell["id"] = f"cell-{n:03d}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def render(text: str) -> str:
    return nbformat.writes(build_notebook(text)) + "\n"


def main(argv: list[str]) -> int:
    new = render(MD.read_text(encoding="utf-8"))
    if "--check" in argv:
        if not NB.is_file() or NB.read_text(encoding="utf-8") != new:
            print(f"{NB} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    NB.write_text(new, encoding="utf-8")
    print(f"wrote {NB}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
