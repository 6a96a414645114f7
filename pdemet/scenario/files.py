"""Scenario files: reading TOML, finding the files a scenario names, writing TOML back."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pdemet.errors import fail

PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_DIR = PACKAGE_DIR.parent


def load_toml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        fail("", f"scenario file {str(path)!r} not found; give the path to a .toml scenario")
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        fail("", f"{path}: TOML syntax error: {e}")
    except (OSError, UnicodeDecodeError) as e:
        fail("", f"{path}: cannot read the scenario file ({e})")


def resolve_path(name: str, base_dir: Path) -> Path | None:
    """Resolve a file named in a scenario: absolute, or relative to the scenario file's directory only (a
    scenario copied elsewhere must not silently pick up another file of the same name)."""
    p = Path(name) if Path(name).is_absolute() else Path(base_dir) / name
    return p.resolve() if p.is_file() else None


def mesh_files(scenario) -> dict:
    """Each organ's mesh file (as resolved) and its SHA-256: which anatomy a run used ({} for boxes)."""
    import hashlib

    out = {}
    for name, o in scenario.organs.items():
        if o.mesh is not None and Path(o.mesh).is_file():
            out[name] = {"path": str(o.mesh), "sha256": hashlib.sha256(Path(o.mesh).read_bytes()).hexdigest()}
    return out


def dump_toml(data: Any) -> str:
    """Write nested dicts of plain values as TOML (tomllib only reads)."""
    lines: list[str] = []

    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, Path):
            return value(str(v))
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        raise TypeError(f"cannot write {type(v).__name__} to TOML")

    def table(prefix, d):
        scalars = {k: v for k, v in d.items() if not isinstance(v, dict)}
        subs = {k: v for k, v in d.items() if isinstance(v, dict)}
        if prefix and (scalars or not subs):
            lines.append(f"\n[{prefix}]")
        for k, v in scalars.items():
            lines.append(f"{_key(k)} = {value(v)}")
        for k, v in subs.items():
            table(f"{prefix}.{_key(k)}" if prefix else _key(k), v)

    table("", data)
    return "\n".join(lines).lstrip("\n") + "\n"


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else '"' + k + '"'
