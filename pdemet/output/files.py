"""Plain file formats of a run directory: atomic text writes, CSV tables, JSON.

Everything here is plain numpy (no DOLFINx), so rendering and analysis work from the files alone.
Writers write a temporary file beside the target and rename it: readers see the old or the new
content, never half of it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np


def chmod_as_umask(path: str | Path) -> None:
    """Give a mkstemp file (always 0600) the mode a plainly created file would have (0666 less the umask)."""
    umask = os.umask(0o022)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def temp_beside(path: Path, suffix: str) -> str:
    """An empty temporary file next to ``path`` (same file system, for ``os.replace``), mode as umask allows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    chmod_as_umask(tmp)
    return tmp


@contextlib.contextmanager
def written_aside(path: str | Path):
    """``with written_aside(path) as tmp: <write tmp>``: the file appears under ``path`` only once it is
    complete (a temporary file beside it, renamed), and a failed or killed writer leaves no partial file."""
    path = Path(path)
    tmp = temp_beside(path, path.suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write a file so that readers see the old or the new content, never half of it."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        chmod_as_umask(tmp)
        with os.fdopen(fd, "w", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Atomically write a CSV table; floats are written with full precision (repr)."""
    atomic_write_text(path, format_rows([header]) + format_rows(rows))


def format_rows(rows: Iterable[Sequence]) -> str:
    """CSV text of rows, floats at full precision (as write_csv)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for row in rows:
        w.writerow([repr(float(v)) if isinstance(v, (float, np.floating)) else v for v in row])
    return buf.getvalue()


class GrowingCsv:
    """A table that only grows (event logs): rows are formatted once, the file is rewritten atomically."""

    def __init__(self, path: str | Path, header: Sequence[str]):
        self.path, self.chunks, self.n, self.written = Path(path), [format_rows([header])], 0, False

    def write(self, rows: Sequence[Sequence]) -> None:
        """Write the file with all of `rows` (the full list; only rows not seen before are formatted)."""
        if self.written and len(rows) == self.n:  # nothing new (e.g. the end of a run right after an output)
            return
        self.written = True
        if len(rows) < self.n:  # restarted from a checkpoint with fewer rows: reformat
            self.chunks, self.n = self.chunks[:1], 0
        self.chunks.append(format_rows(rows[self.n:]))
        self.n = len(rows)
        atomic_write_text(self.path, "".join(self.chunks))


def read_csv(path: str | Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_json(path: str | Path, data: Mapping) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=json_default) + "\n")


def json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")
