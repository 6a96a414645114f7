"""The parameter points of a sweep: the values of each swept parameter, then a grid or a Latin hypercube."""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import numpy as np

from pdemet.errors import fail

DESIGNS = ("grid", "latin_hypercube")
RANGE_KEYS = ("range", "n", "log")


def is_scalar(v: Any) -> bool:
    return isinstance(v, (bool, int, float, str))


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def key_where(section: str, path: str) -> str:
    """How messages name the key ``path`` of a sweep file's table ``section``."""
    return f'{section}."{path}"'


def axis_values(spec: Any, path: str, design: str, base_value: Any) -> tuple[Any, bool]:
    """Grid values (a list) or LHS bounds (lo, hi, integer); and whether the axis is logarithmic."""
    where = key_where("parameters", path)
    integer = isinstance(base_value, int) and not isinstance(base_value, bool)
    if isinstance(spec, list):
        return _listed(spec, where, design), False
    if not isinstance(spec, dict):
        fail(where, f"got {spec!r}, expected a list of values or {{ range = [lo, hi], n = N }}")
    lo, hi, log = _range(spec, where)
    if design == "latin_hypercube":
        if "n" in spec:
            fail(f"{where}.n", "a latin_hypercube design draws `samples` points; remove n")
        return (lo, hi, integer), log
    return _spaced(spec.get("n"), lo, hi, log, integer, where, path), log


def _listed(spec: list, where: str, design: str) -> list:
    """``"key" = [v1, v2, ...]``: the values themselves (grid only)."""
    if design != "grid":
        fail(where, "a latin_hypercube design samples ranges; give { range = [lo, hi] } instead of a list")
    if not spec:
        fail(where, "got an empty list, expected at least one value")
    for i, v in enumerate(spec):
        if not is_scalar(v) or (isinstance(v, float) and not math.isfinite(v)):
            fail(f"{where}[{i}]", f"got {v!r}, expected a number, string or boolean")
    if len({json.dumps(v) for v in spec}) != len(spec):
        fail(where, f"got duplicate values in {spec!r}")
    return list(spec)


def _range(spec: dict, where: str) -> tuple[float, float, bool]:
    """``{ range = [lo, hi], log = ... }``: lo, hi and log, checked."""
    for k in spec:
        if k not in RANGE_KEYS:
            fail(f"{where}.{k}", f"unknown key; known keys here: {', '.join(RANGE_KEYS)}")
    r = spec.get("range")
    if not (isinstance(r, list) and len(r) == 2 and all(is_number(x) for x in r)):
        fail(f"{where}.range", f"got {r!r}, expected [lo, hi] with two finite numbers")
    lo, hi = float(r[0]), float(r[1])
    if not lo < hi:
        fail(f"{where}.range", f"got {r!r}, expected lo < hi")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        fail(f"{where}.log", f"got {log!r}, expected true or false")
    if log and lo <= 0:
        fail(f"{where}.range", f"got {r!r}, expected positive bounds with log = true")
    return lo, hi, log


def _spaced(n: Any, lo: float, hi: float, log: bool, integer: bool, where: str, path: str) -> list:
    """The n grid values of a range, evenly spaced (geometrically with log); rounded for an integer parameter."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        fail(f"{where}.n", f"got {n!r}, expected an integer of at least 2 (number of grid values)")
    vals = np.geomspace(lo, hi, n) if log else np.linspace(lo, hi, n)
    if integer:
        vals = [int(round(v)) for v in vals]
        if len(set(vals)) != n:
            fail(f"{where}.n", f"the integer parameter {path} takes duplicate values {vals} with n = {n}; "
                               "use a smaller n or a list")
        return vals
    return [float(v) for v in vals]


def grid_points(values: dict[str, list]) -> list[dict[str, Any]]:
    """Every combination of the values, the last parameter varying fastest."""
    return [dict(zip(values, combo)) for combo in itertools.product(*values.values())]


def lhs_points(bounds: dict[str, tuple], logs: dict[str, bool], samples: int, seed: int) -> list[dict]:
    """``samples`` points of a seeded Latin hypercube over the bounds (log-uniform on log axes)."""
    from scipy.stats import qmc

    rng = np.random.default_rng(seed)
    try:
        sampler = qmc.LatinHypercube(d=len(bounds), rng=rng)
    except TypeError:  # scipy < 1.15
        sampler = qmc.LatinHypercube(d=len(bounds), seed=rng)
    u = sampler.random(samples)
    points = []
    for row in u:
        point = {}
        for (path, (lo, hi, integer)), x in zip(bounds.items(), row):
            v = math.exp(math.log(lo) + x * (math.log(hi) - math.log(lo))) if logs[path] else lo + x * (hi - lo)
            point[path] = int(round(v)) if integer else float(v)
        points.append(point)
    return points
