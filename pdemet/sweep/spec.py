"""The sweep file: read and validate it into a :class:`Sweep` of :class:`Member` runs (see docs/sweeps.md).

Every problem is a one-line :class:`~pdemet.errors.ScenarioError` that names the key, raised before anything
runs; that includes each member's own scenario, which is parsed here once.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from pdemet import scenario as _config
from pdemet.errors import ScenarioError, fail
from pdemet.scenario.keys import flatten, set_key
from pdemet.sweep.design import DESIGNS, axis_values, grid_points, key_where, lhs_points

SWEEP_KEYS = ("base", "design", "seeds", "seed", "samples", "parameters", "overrides")


@dataclass
class Member:
    id: str
    point: str                       # "p003": the parameter point
    index: int                       # position in the sorted member list
    values: dict[str, Any]           # swept parameter -> value
    seed: int
    data: dict                       # the member's raw scenario (base + overrides + values + seed)


@dataclass
class Sweep:
    path: Path
    base: Path
    design: str
    parameters: list[str]
    points: list[dict[str, Any]]
    seeds: list[int]
    overrides: dict[str, Any]
    members: list[Member] = field(default_factory=list)
    point_ids: list[str] = field(default_factory=list)
    log_params: set[str] = field(default_factory=set)  # parameters whose plots use a log axis


def known_keys(base_data: dict, scenario: _config.Scenario) -> dict[str, Any]:
    """Dotted paths a sweep may set: keys of the base scenario and of its resolved form (every default)."""
    keys = flatten(_config.resolved(scenario), tables=True)
    for organ, o in scenario.organs.items():
        for k in _config.SITE_KEYS:
            keys.setdefault(f"organs.{organ}.{k}", None)
        for section in ("initial", "adapt"):  # optional keys (None: not written to the resolved scenario)
            for f in fields(getattr(o, section)):
                keys.setdefault(f"organs.{organ}.{section}.{f.name}", None)
    keys.update(flatten(base_data, tables=True))
    return keys


def _check_path(path: str, section: str, keys: dict[str, Any]) -> None:
    where = key_where(section, path)
    if path not in keys:
        close = difflib.get_close_matches(path, [k for k, v in keys.items() if not isinstance(v, dict)], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        fail(where, f"no key {path!r} in the base scenario{hint}")
    if isinstance(keys[path], dict):
        fail(where, f"{path!r} names a table, expected the path of one value (e.g. {path}.KEY)")


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file and every member's scenario (ScenarioError on any problem).

    The checks run in a fixed order (file, base, design, seeds, parameters, overrides, values, members):
    the problem reported is the first one in that order.
    """
    path = Path(path)
    data = _read(path)
    base, base_data, base_scenario = _base(data, path)
    design, seed, samples = _design(data)
    seeds = _seeds(data.get("seeds", [base_scenario.simulation.seed]))
    keys = known_keys(base_data, base_scenario)
    params = data.get("parameters", {})
    if not isinstance(params, dict):
        fail("parameters", f"got {params!r}, expected a table of \"dotted.key\" = values")
    if not params and design != "grid":
        fail("parameters", "no parameters; a latin_hypercube needs ranges, e.g. "
             "\"cluster_flux.shedding_rate\" = { range = [1e-3, 2e-3] }")
    overrides = _overrides(data.get("overrides", {}), params, keys)
    axes, logs = _axes(params, design, keys)
    points = grid_points(axes) if design == "grid" else lhs_points(axes, logs, samples, seed)
    sweep = Sweep(path, base, design, list(params), points, list(seeds), overrides)
    sweep.log_params = {p for p, lg in logs.items() if lg}
    _add_members(sweep, base_data)
    return sweep


def _read(path: Path) -> dict:
    """The sweep file's TOML, with its top-level keys checked."""
    if not path.is_file():
        fail("", f"sweep file {str(path)!r} not found")
    data = _config.load_toml(path)
    for k in data:
        if k not in SWEEP_KEYS:
            close = difflib.get_close_matches(k, SWEEP_KEYS, n=1)
            fail(k, f"unknown key in the sweep file; known keys: {', '.join(SWEEP_KEYS)}"
                 + (f" (did you mean {close[0]!r}?)" if close else ""))
    return data


def _base(data: dict, path: Path) -> tuple[Path, dict, _config.Scenario]:
    """The base scenario (relative to the sweep file): its resolved path, raw TOML and parsed form."""
    base_name = data.get("base")
    if not isinstance(base_name, str):
        fail("base", f"got {base_name!r}, expected the path of the base scenario (relative to the sweep file)")
    base = Path(base_name)
    base = base if base.is_absolute() else (path.resolve().parent / base)
    if not base.is_file():
        fail("base", f"scenario file {base_name!r} not found (relative to {path.resolve().parent})")
    base = base.resolve()
    base_data = _config.load_toml(base)
    try:
        base_scenario = _config.parse_scenario(base_data, base.parent)
    except ScenarioError as e:
        fail("base", f"{base_name}: {e}")
    return base, base_data, base_scenario


def _design(data: dict) -> tuple[str, int, int | None]:
    """design, the sampler's seed and the number of Latin hypercube samples."""
    design = data.get("design", "grid")
    if design not in DESIGNS:
        fail("design", f"got {design!r}, expected one of {', '.join(map(repr, DESIGNS))}")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        fail("seed", f"got {seed!r}, expected a non-negative integer (seed of the Latin hypercube sampler)")
    samples = data.get("samples")
    if design == "latin_hypercube":
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            fail("samples", f"got {samples!r}, expected a positive integer (points of the Latin hypercube)")
    elif samples is not None:
        fail("samples", "is for design = \"latin_hypercube\"; a grid takes every combination of the values")
    return design, seed, samples


def _seeds(seeds: Any) -> list[int]:
    """``seeds = N`` (0..N−1) or a list of distinct non-negative seeds."""
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if seeds < 1:
            fail("seeds", f"got {seeds}, expected a positive number of seeds or a list of seeds")
        seeds = list(range(seeds))
    if not isinstance(seeds, list) or not seeds:
        fail("seeds", f"got {seeds!r}, expected a non-empty list of seeds or a number of seeds")
    for i, s in enumerate(seeds):
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            fail(f"seeds[{i}]", f"got {s!r}, expected a non-negative integer")
    if len(set(seeds)) != len(seeds):
        fail("seeds", f"got duplicate seeds in {seeds!r}")
    return seeds


def _overrides(overrides: Any, params: dict, keys: dict[str, Any]) -> dict[str, Any]:
    """[overrides] as dotted path -> value; it accepts dotted keys and nested tables ([overrides.simulation])."""
    if not isinstance(overrides, dict):
        fail("overrides", f"got {overrides!r}, expected a table of \"dotted.key\" = value")
    overrides = flatten(overrides)
    for p in overrides:
        _check_path(p, "overrides", keys)
        if p == "simulation.seed":
            fail("overrides", "'simulation.seed' is set by `seeds`; remove it from [overrides]")
        if p in params:
            fail("overrides", f"{p!r} is also a swept parameter; keep it in one place")
    return overrides


def _axes(params: dict, design: str, keys: dict[str, Any]) -> tuple[dict[str, Any], dict[str, bool]]:
    """Per swept parameter: its grid values (grid) or bounds (Latin hypercube); and whether its axis is log."""
    axes, logs = {}, {}
    for p, spec in params.items():
        _check_path(p, "parameters", keys)
        if p == "simulation.seed":
            fail("parameters", "'simulation.seed' is set by `seeds`, not swept as a parameter")
        axes[p], logs[p] = axis_values(spec, p, design, keys[p])
    return axes, logs


def _add_members(sweep: Sweep, base_data: dict) -> None:
    """One member per point × seed (ids ``p<point>_s<seed>``), each scenario parsed to fail early."""
    points, seeds = sweep.points, sweep.seeds
    wp, ws = max(3, len(str(len(points) - 1))), max(3, len(str(max(seeds))))
    for i, point in enumerate(points):
        for s in seeds:
            m = copy.deepcopy(base_data)
            for p, v in sweep.overrides.items():
                set_key(m, p, v)
            for p, v in point.items():
                set_key(m, p, v)
            set_key(m, "simulation.seed", s)
            pid = f"p{i:0{wp}d}"
            if pid not in sweep.point_ids:
                sweep.point_ids.append(pid)
            member = Member(f"{pid}_s{s:0{ws}d}", pid, len(sweep.members), dict(point), s, m)
            try:
                _config.parse_scenario(m, sweep.base.parent)
            except ScenarioError as e:
                where = ", ".join(f"{p} = {v!r}" for p, v in point.items())
                fail("", f"member {member.id} ({where}, seed {s}): {e}")
            sweep.members.append(member)


def member_scenario_text(member: Member, base_dir: Path) -> str:
    """The scenario.toml a run of the member writes (what resume compares)."""
    scenario = _config.parse_scenario(member.data, base_dir)
    return _config.dump_toml(_config.resolved(scenario))
