"""Dotted key paths ("organs.lung.growth_rate") into the nested dicts of a scenario's TOML."""

from __future__ import annotations

import copy
from typing import Any


def set_key(data: dict, dotted: str, value: Any) -> dict:
    """Set ``data[a][b][c] = value`` for ``dotted = "a.b.c"`` (missing tables are created); returns ``data``.

    The value is copied, so that scenarios built from the same value never share its lists or tables.
    """
    *parents, last = dotted.split(".")
    node = data
    for p in parents:
        node = node.setdefault(p, {})
    node[last] = copy.deepcopy(value)
    return data


def flatten(d: dict, tables: bool = False, prefix: str = "") -> dict[str, Any]:
    """Dotted path -> value of every leaf of ``d`` (and, with ``tables``, of every nested table too), in order."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict):
            if tables:
                out[key] = v
            out.update(flatten(v, tables, key))
        else:
            out[key] = v
    return out
