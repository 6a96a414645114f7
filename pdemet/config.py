"""Scenario files: TOML validated into typed, documented objects.

Units: lengths in mm, times in days, densities in cells/mm³, rates in 1/day,
diffusion coefficients in mm²/day. Every problem in a scenario is reported as
one ``ScenarioError`` line naming the key path, what was given and what was
expected; the CLI prints it and exits with status 2.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
DEFAULT_COLORS = ["#e41a1c", "#4daf4a", "#377eb8", "#ffd92f", "#984ea3", "#ff7f00", "#a65628", "#f781bf",
                  "#999999", "#66c2a5", "#fc8d62", "#8da0cb", "#e78ac3", "#a6d854", "#e5c494", "#b3b3b3"]


class ScenarioError(ValueError):
    """A one-line, user-facing description of what is wrong in a scenario."""


def fail(path: str, message: str) -> None:
    raise ScenarioError(f"{path}: {message}" if path else message)


def _kind(value: Any) -> str:
    return {bool: "a boolean", str: "a string", list: "a list", dict: "a table", int: "an integer",
            float: "a number"}.get(type(value), type(value).__name__)


class Table:
    """Reads keys out of one TOML table; `done()` rejects the keys nobody asked for."""

    def __init__(self, data: Any, path: str):
        if not isinstance(data, dict):
            fail(path, f"got {_kind(data)}, expected a table")
        self.data, self.path, self.seen = data, path, set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str, default: Any = ..., required: bool = False) -> Any:
        self.seen.add(name)
        if name not in self.data:
            if default is ... or required:
                fail(self.key(name), "missing; this key is required")
            return default
        return self.data[name]

    def number(self, name: str, default: Any = ..., *, positive: bool = False, nonneg: bool = False,
               unit: str = "", integer: bool = False, maximum: float | None = None) -> Any:
        value = self.raw(name, default)
        if value is None:
            return None
        return check_number(value, self.key(name), positive=positive, nonneg=nonneg, unit=unit,
                            integer=integer, maximum=maximum)

    def numbers(self, name: str, length: int | None, default: Any = ..., *, positive: bool = False,
                nonneg: bool = False, unit: str = "", scalar_ok: bool = True) -> Any:
        """A number or, when `length` is given, a list of that many numbers (one per clone)."""
        value = self.raw(name, default)
        if isinstance(value, list):
            if length is not None and len(value) != length:
                fail(self.key(name), f"got {len(value)} values, expected {length} (one per clone) or one number")
            return [check_number(v, f"{self.key(name)}[{i}]", positive=positive, nonneg=nonneg, unit=unit)
                    for i, v in enumerate(value)]
        if not scalar_ok:
            fail(self.key(name), f"got {_kind(value)}, expected a list of {length} numbers")
        return check_number(value, self.key(name), positive=positive, nonneg=nonneg, unit=unit)

    def string(self, name: str, default: Any = ..., choices: tuple[str, ...] | None = None) -> Any:
        value = self.raw(name, default)
        if value is None:
            return None
        if not isinstance(value, str):
            fail(self.key(name), f"got {_kind(value)} {value!r}, expected a string")
        if choices and value not in choices:
            fail(self.key(name), f"got {value!r}, expected one of {', '.join(map(repr, choices))}" + _hint(value, choices))
        return value

    def boolean(self, name: str, default: Any = ...) -> bool:
        value = self.raw(name, default)
        if not isinstance(value, bool):
            fail(self.key(name), f"got {_kind(value)} {value!r}, expected true or false")
        return value

    def strings(self, name: str, default: Any = ...) -> list[str]:
        value = self.raw(name, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            fail(self.key(name), f"got {value!r}, expected a list of strings")
        return list(value)

    def vector(self, name: str, n: int, default: Any = ..., *, positive: bool = False, integer: bool = False,
               unit: str = "") -> list:
        value = self.raw(name, default)
        if not isinstance(value, list) or len(value) != n:
            fail(self.key(name), f"got {value!r}, expected a list of {n} numbers{f' in {unit}' if unit else ''}")
        return [check_number(v, f"{self.key(name)}[{i}]", positive=positive, integer=integer, unit=unit)
                for i, v in enumerate(value)]

    def table(self, name: str, required: bool = False) -> "Table":
        value = self.raw(name, None if not required else ...)
        return Table({} if value is None else value, self.key(name))

    def done(self, allowed_extra: tuple[str, ...] = ()) -> None:
        for name in self.data:
            if name not in self.seen and name not in allowed_extra:
                known = sorted(self.seen | set(allowed_extra))
                fail(self.key(name), f"unknown key; known keys here: {', '.join(known)}" + _hint(name, known))


def _hint(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_number(value: Any, path: str, *, positive=False, nonneg=False, unit="", integer=False, maximum=None):
    what = ("a positive " if positive else "a non-negative " if nonneg else "a ") + ("integer" if integer else "number")
    what += f" in {unit}" if unit else ""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        fail(path, f"got {_kind(value)} {value!r}, expected {what}")
    if not math.isfinite(value):
        fail(path, f"got {value!r}, expected {what} (finite)")
    if (positive and value <= 0) or (nonneg and value < 0) or (maximum is not None and value > maximum):
        fail(path, f"got {value!r}, expected {what}" + (f" at most {maximum}" if maximum is not None else ""))
    return value


_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


# ----------------------------------------------------------------------------- typed scenario objects
@dataclass
class SimulationConfig:
    t_end: float            # days
    dt: float               # days: initial and largest step
    output_every: float     # days between outputs (timeseries rows, fields, census)
    seed: int = 0
    solver: str = "imex"    # "imex" (Strang splitting, production) | "newton" (monolithic reference)
    theta: float = 0.5      # implicitness of the linear step: 0.5 Crank–Nicolson (2nd order), 1 backward Euler
    adaptive: bool = True   # halve dt on rejected steps, grow it back after successes
    dt_min: float = 1e-8    # days: give up below this step
    max_change: float = 0.5  # largest accepted change of any density in one step, relative to capacity
    negative_tolerance: float = 1e-2  # relative to capacity: below -tol a step is rejected, above it clipped
    linear_solver: str = "cg"  # "cg" (Jacobi-preconditioned CG) | "lu" (MUMPS)
    rtol: float = 1e-12     # relative tolerance of the iterative linear solves
    plugins: list[str] = field(default_factory=list)  # Python files defining extra terms


@dataclass
class InitialConfig:
    shape: str = "none"          # "ball" | "box" | "none"
    center: list[float] | None = None  # mm; default: the organ's centroid
    radius: float = 1.0          # mm (ball)
    extent: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])  # mm, full edge lengths (box)
    density: float = 0.0         # cells/mm³, total over clones
    mixing: str = "intermixed"   # "intermixed" | "sectors"
    segregation: float | None = None  # 0 = intermixed … 1 = sectors: u = (1−s)·intermixed + s·sectors
    clones: list[float] | None = None  # optional relative weights of the clones (default: equal)


@dataclass
class OrganConfig:
    name: str
    role: str                          # "primary" | "site"
    mesh: Path | None = None           # gmsh .msh file (mm)
    box: list[float] | None = None     # mm, built-in box [Lx, Ly, Lz]
    cells: list[int] | None = None     # box subdivisions
    element_degree: int = 1
    terms: list[str] = field(default_factory=lambda: ["diffusion", "logistic"])
    params: dict[str, Any] = field(default_factory=dict)  # term parameters (validated by the terms)
    initial: InitialConfig = field(default_factory=InitialConfig)
    refine: int = 0                    # uniform refinements of the mesh (convergence studies)


@dataclass
class Scenario:
    simulation: SimulationConfig
    clone_names: list[str]
    clone_colors: list[str]
    organs: dict[str, OrganConfig]
    source: dict                        # the raw TOML (for scenario.toml in the run directory)
    base_dir: Path                      # directory that relative paths are resolved against
    extra: dict[str, Any] = field(default_factory=dict)  # sections validated by other modules

    @property
    def n_clones(self) -> int:
        return len(self.clone_names)

    @property
    def primary(self) -> str:
        return next(n for n, o in self.organs.items() if o.role == "primary")


# ----------------------------------------------------------------------------- loading
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
    """Resolve a file named in a scenario: absolute, relative to the scenario, the cwd, or the pdemet checkout."""
    p = Path(name)
    if p.is_absolute():
        return p if p.is_file() else None
    for root in (base_dir, Path.cwd(), REPO_DIR):
        if (root / p).is_file():
            return (root / p).resolve()
    return None


# Sections handled elsewhere register a validator here: name -> callable(Table, Scenario) -> object.
SECTION_VALIDATORS: dict[str, Any] = {}


def parse_scenario(data: dict, base_dir: str | Path = ".") -> Scenario:
    from pdemet import clusters  # noqa: F401  (registers the [cluster_flux] section)
    from pdemet import terms as term_registry

    data = copy.deepcopy(data)
    base_dir = Path(base_dir)
    root = Table(data, "")
    s = root.table("simulation", required=True)
    sim = SimulationConfig(
        t_end=s.number("t_end", positive=True, unit="days"),
        dt=s.number("dt", positive=True, unit="days"),
        output_every=s.number("output_every", positive=True, unit="days"),
        seed=s.number("seed", 0, integer=True, nonneg=True),
        solver=s.string("solver", "imex", ("imex", "newton")),
        theta=s.number("theta", 0.5, positive=True, maximum=1.0),
        adaptive=s.boolean("adaptive", True),
        dt_min=s.number("dt_min", 1e-8, positive=True, unit="days"),
        max_change=s.number("max_change", 0.5, positive=True),
        negative_tolerance=s.number("negative_tolerance", 1e-2, nonneg=True),
        linear_solver=s.string("linear_solver", "cg", ("cg", "lu")),
        rtol=s.number("rtol", 1e-12, positive=True, maximum=1e-2),
        plugins=s.strings("plugins", []),
    )
    s.done()
    if sim.dt > sim.t_end:
        fail("simulation.dt", f"got {sim.dt}, expected at most t_end = {sim.t_end} days")
    for i, plugin in enumerate(sim.plugins):
        path = resolve_path(plugin, base_dir)
        if path is None:
            fail(f"simulation.plugins[{i}]", f"file {plugin!r} not found (paths are relative to the scenario file)")
        term_registry.load_plugin(path, f"simulation.plugins[{i}]")

    c = root.table("clones", required=True)
    names = c.strings("names")
    if not names:
        fail("clones.names", "got an empty list, expected at least one clone name")
    if len(set(names)) != len(names):
        fail("clones.names", f"got duplicate names in {names!r}, expected distinct names")
    colors = c.strings("colors", DEFAULT_COLORS[: len(names)] if len(names) <= len(DEFAULT_COLORS) else ...)
    if len(colors) != len(names):
        fail("clones.colors", f"got {len(colors)} colors for {len(names)} clones, expected one per clone")
    for i, col in enumerate(colors):
        if not _COLOR.match(col):
            fail(f"clones.colors[{i}]", f"got {col!r}, expected a color like '#e41a1c'")
    c.done()

    organs_table = root.table("organs", required=True)
    organs: dict[str, OrganConfig] = {}
    for name in organs_table.data:
        organs[name] = _parse_organ(organs_table.table(name), name, len(names), base_dir, term_registry)
    if not organs:
        fail("organs", "no organs defined; add at least an [organs.NAME] table with role = \"primary\"")
    primaries = [n for n, o in organs.items() if o.role == "primary"]
    if len(primaries) != 1:
        fail("organs", f"got {len(primaries)} organs with role = \"primary\" ({', '.join(primaries) or 'none'}), expected exactly one")

    scenario = Scenario(sim, names, colors, organs, data, base_dir)
    for section, validator in SECTION_VALIDATORS.items():
        scenario.extra[section] = validator(root.table(section), scenario)
    root.done()
    return scenario


def _parse_organ(t: Table, name: str, n_clones: int, base_dir: Path, term_registry) -> OrganConfig:
    role = t.string("role", ..., ("primary", "site"))
    mesh = t.string("mesh", None)
    box = t.vector("box", 3, positive=True, unit="mm") if t.has("box") else t.raw("box", None)
    cells = t.vector("cells", 3, positive=True, integer=True) if t.has("cells") else t.raw("cells", None)
    if mesh is None and box is None:
        fail(t.path, "no mesh: give mesh = \"meshes/NAME.msh\" or box = [Lx, Ly, Lz] with cells = [nx, ny, nz]")
    if mesh is not None and box is not None:
        fail(t.path, "both mesh and box given; keep one")
    if box is not None and cells is None:
        fail(t.key("cells"), "missing; a box mesh needs cells = [nx, ny, nz]")
    mesh_path = None
    if mesh is not None:
        mesh_path = resolve_path(mesh, base_dir)
        if mesh_path is None:
            fail(t.key("mesh"), f"file {mesh!r} not found (relative to the scenario, the working directory or the "
                                "pdemet checkout); run `make meshes` or fix the path")
    degree = t.number("element_degree", 1, integer=True, positive=True, maximum=2)
    refine = t.number("refine", 0, integer=True, nonneg=True, maximum=4)
    term_names = t.strings("terms", ["diffusion", "logistic"])
    # κ is read for every organ: terms, the step control and the census all use it.
    params = {"carrying_capacity": t.number("carrying_capacity", 1.0e6, positive=True, unit="cells/mm³")}
    for term_name in term_names:
        if term_name not in term_registry.TERMS:
            fail(t.key("terms"), f"unknown term {term_name!r}; known terms: {', '.join(sorted(term_registry.TERMS))}"
                 + _hint(term_name, term_registry.TERMS))
        for pname, spec in term_registry.TERMS[term_name].params.items():
            if pname not in params:
                params[pname] = spec.read(t, n_clones, pname)
    i = t.table("initial")
    initial = InitialConfig(
        shape=i.string("shape", "none", ("ball", "box", "none")),
        center=i.vector("center", 3, unit="mm") if i.has("center") else i.raw("center", None),
        radius=i.number("radius", 1.0, positive=True, unit="mm"),
        extent=i.vector("extent", 3, [1.0, 1.0, 1.0], positive=True, unit="mm"),
        density=i.number("density", 0.0, nonneg=True, unit="cells/mm³"),
        mixing=i.string("mixing", "intermixed", ("intermixed", "sectors")),
        segregation=i.number("segregation", None, nonneg=True, maximum=1.0),
        clones=i.numbers("clones", n_clones, None, nonneg=True, scalar_ok=False) if i.has("clones") else i.raw("clones", None),
    )
    if initial.clones is not None and sum(initial.clones) <= 0:
        fail(i.key("clones"), "all weights are zero, expected at least one positive weight")
    i.done()
    for key in t.data:
        owners = [n for n, term in term_registry.TERMS.items() if key in term.params and n not in term_names]
        if key not in t.seen and key not in SITE_KEYS and owners:
            fail(t.key(key), f"is a parameter of the term {owners[0]!r}, which terms = {term_names!r} does not "
                             f"include; add {owners[0]!r} to terms or remove the key")
    t.done(allowed_extra=tuple(SITE_KEYS))  # keys owned by the cluster-flux modules
    return OrganConfig(name, role, mesh_path, box, cells, int(degree), term_names, params, initial, int(refine))


# Organ keys validated by other modules (e.g. vascular weights read by the seeding module).
SITE_KEYS: list[str] = []


def scenario_from_toml(path: str | Path) -> Scenario:
    path = Path(path)
    return parse_scenario(load_toml(path), path.resolve().parent)


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


def resolved(scenario: Scenario) -> dict:
    """The scenario as run: every default filled in, paths absolute (written as scenario.toml)."""
    sim = dataclasses.asdict(scenario.simulation)
    organs = {}
    for name, o in scenario.organs.items():
        d = {"role": o.role}
        if o.mesh is not None:
            d["mesh"] = str(o.mesh)
        else:
            d["box"], d["cells"] = list(o.box), list(o.cells)
        d["element_degree"] = o.element_degree
        d["refine"] = o.refine
        d["terms"] = list(o.terms)
        d.update({k: list(v) if isinstance(v, tuple) else v for k, v in o.params.items()})
        d.update({k: v for k, v in scenario.source["organs"][name].items() if k in SITE_KEYS})
        d["initial"] = {k: v for k, v in dataclasses.asdict(o.initial).items() if v is not None}
        organs[name] = d
    out = {"simulation": sim, "clones": {"names": scenario.clone_names, "colors": scenario.clone_colors},
           "organs": organs}
    for section, obj in scenario.extra.items():
        out[section] = obj.to_dict() if hasattr(obj, "to_dict") else scenario.source.get(section, {})
    return out


def scenario_hash(scenario: Scenario) -> str:
    import hashlib

    return hashlib.sha256(dump_toml(resolved(scenario)).encode()).hexdigest()
