"""Scenario TOML → typed, validated :class:`~pdemet.scenario.model.Scenario` (and back, resolved).

Every problem is one ``ScenarioError`` line naming the key path, what was given and what was expected;
the CLI prints it and exits with status 2. The sections other modules own are listed in ``SECTIONS``.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import re
from pathlib import Path

from pdemet import plugins, terms as term_registry
from pdemet.errors import fail
from pdemet.flux import config as flux_config
from pdemet.scenario.files import dump_toml, load_toml, resolve_path
from pdemet.scenario.model import PALETTE, AdaptConfig, InitialConfig, OrganConfig, Scenario, SimulationConfig
from pdemet.validation import Table, hint

# Sections validated by the modules that own them: name -> parse(Table, Scenario) -> object with to_dict().
SECTIONS = {"cluster_flux": flux_config.parse}
# Organ keys validated by those modules (the cluster flux reads each organ's blood-flow routing).
SITE_KEYS = flux_config.SITE_KEYS
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def parse_scenario(data: dict, base_dir: str | Path = ".") -> Scenario:
    data = copy.deepcopy(data)
    base_dir = Path(base_dir)
    root = Table(data, "")
    sim = _parse_simulation(root.table("simulation", required=True), base_dir)
    names, colors = _parse_clones(root.table("clones", required=True))
    organs_table = root.table("organs", required=True)
    organs: dict[str, OrganConfig] = {}
    for name in organs_table.data:
        organs[name] = _parse_organ(organs_table.table(name), name, len(names), base_dir)
    if not organs:
        fail("organs", "no organs defined; add at least an [organs.NAME] table with role = \"primary\"")
    primaries = [n for n, o in organs.items() if o.role == "primary"]
    if len(primaries) != 1:
        fail("organs", f"got {len(primaries)} organs with role = \"primary\" ({', '.join(primaries) or 'none'}), expected exactly one")

    scenario = Scenario(sim, names, colors, organs, data, base_dir)
    scenario.cluster_flux = SECTIONS["cluster_flux"](root.table("cluster_flux"), scenario)
    root.done()
    if scenario.cluster_flux.enabled and scenario.cluster_flux.mode == "mean_field":
        _no_site_refinement(scenario)
    return scenario


def _no_site_refinement(scenario: Scenario) -> None:
    """The mean field seeds a smooth, thin layer over a whole site: refining 'where there is tumor' would
    refine everything, so sites are not refined in that mode (asking for it is an error)."""
    for name, organ in scenario.organs.items():
        if organ.role != "site" or not organ.adapt.enabled:
            continue
        if scenario.source["organs"][name].get("adapt", {}).get("enabled") is True:
            fail(f"organs.{name}.adapt.enabled", "sites are not refined with cluster_flux.mode = \"mean_field\" "
                                                 "(its seeding is spread over the whole organ); set it to false")
        organ.adapt.enabled = False


def _parse_simulation(s: Table, base_dir: Path) -> SimulationConfig:
    d = SimulationConfig(t_end=1.0, dt=1.0, output_every=1.0)  # the defaults of the optional keys
    sim = SimulationConfig(
        t_end=s.number("t_end", positive=True, unit="days"),
        dt=s.number("dt", positive=True, unit="days"),
        output_every=s.number("output_every", positive=True, unit="days"),
        seed=s.number("seed", d.seed, integer=True, nonneg=True),
        write_fields=s.boolean("write_fields", d.write_fields),
        solver=s.string("solver", d.solver, ("imex", "newton")),
        theta=s.number("theta", d.theta, positive=True, maximum=1.0),
        adaptive=s.boolean("adaptive", d.adaptive),
        dt_min=s.number("dt_min", d.dt_min, positive=True, unit="days"),
        max_change=s.number("max_change", d.max_change, positive=True),
        negative_tolerance=s.number("negative_tolerance", d.negative_tolerance, nonneg=True),
        linear_solver=s.string("linear_solver", d.linear_solver, ("cg", "lu")),
        rtol=s.number("rtol", d.rtol, positive=True, maximum=1e-2),
        transport_iterations=s.number("transport_iterations", d.transport_iterations, integer=True, positive=True,
                                      maximum=100),
        transport_tol=s.number("transport_tol", d.transport_tol, positive=True, maximum=1.0),
        transport_extrapolate=s.boolean("transport_extrapolate", d.transport_extrapolate),
        plugins=s.strings("plugins", []),
        time_rtol=s.number("time_rtol", d.time_rtol, nonneg=True, maximum=0.1),
        time_atol=s.number("time_atol", None, positive=True, unit="cells/mm³"),
        time_extrapolate=s.boolean("time_extrapolate", d.time_extrapolate),
    )
    s.done()
    _check_time_error(sim, s)
    if sim.dt > sim.t_end:
        fail("simulation.dt", f"got {sim.dt}, expected at most t_end = {sim.t_end} days")
    for i, plugin in enumerate(sim.plugins):
        path = resolve_path(plugin, base_dir)
        if path is None:
            fail(f"simulation.plugins[{i}]", f"file {plugin!r} not found (paths are relative to the scenario file)")
        plugins.load(path, f"simulation.plugins[{i}]")
        sim.plugins[i] = str(Path(path).resolve())  # absolute in the run's scenario.toml: --resume finds it anywhere
    return sim


def _check_time_error(sim: SimulationConfig, s: Table) -> None:
    """The error-control keys only make sense together (time_rtol > 0 switches it on); likewise
    transport_extrapolate, a setting of the splitting solver."""
    if sim.transport_extrapolate and sim.solver != "imex":
        fail(s.key("transport_extrapolate"), f"is a setting of the imex solver, got solver = \"{sim.solver}\"; "
                                             "set solver = \"imex\" or remove transport_extrapolate")
    if not sim.error_control:
        for key in ("time_atol", "time_extrapolate"):
            if s.has(key):
                fail(s.key(key), f"given without error control (time_rtol = {sim.time_rtol}); set time_rtol > 0 "
                                 f"(e.g. 1e-4) or remove {key}")
        return
    if not sim.adaptive:
        fail(s.key("time_rtol"), f"got {sim.time_rtol} with adaptive = false; error control chooses dt: set "
                                 "adaptive = true or time_rtol = 0")


def _parse_clones(c: Table) -> tuple[list[str], list[str]]:
    names = c.strings("names")
    if not names:
        fail("clones.names", "got an empty list, expected at least one clone name")
    if len(set(names)) != len(names):
        fail("clones.names", f"got duplicate names in {names!r}, expected distinct names")
    colors = c.strings("colors", PALETTE[: len(names)] if len(names) <= len(PALETTE) else ...)
    if len(colors) != len(names):
        fail("clones.colors", f"got {len(colors)} colors for {len(names)} clones, expected one per clone")
    for i, col in enumerate(colors):
        if not _COLOR.match(col):
            fail(f"clones.colors[{i}]", f"got {col!r}, expected a color like '#e41a1c'")
    c.done()
    return names, colors


def _parse_organ(t: Table, name: str, n_clones: int, base_dir: Path) -> OrganConfig:
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
            fail(t.key("mesh"), f"file {mesh!r} not found: no {Path(base_dir) / mesh} (paths are relative to the "
                                "scenario file); fix the path, or run `make meshes` for the built-in organs")
    degree = t.number("element_degree", 1, integer=True, positive=True, maximum=2)
    refine = t.number("refine", 0, integer=True, nonneg=True, maximum=4)
    term_names = t.strings("terms", ["diffusion", "logistic"])
    # κ is read for every organ: terms, the step control and the census all use it.
    params = {"carrying_capacity": t.number("carrying_capacity", 1.0e6, positive=True, unit="cells/mm³")}
    terms = term_registry.TERMS
    for term_name in term_names:
        if term_name not in terms:
            fail(t.key("terms"), f"unknown term {term_name!r}; known terms: {', '.join(sorted(terms))}"
                 + hint(term_name, terms))
        for pname, spec in terms[term_name].params.items():
            if pname not in params:
                params[pname] = spec.read(t, n_clones, pname)
    initial = _parse_initial(t.table("initial"), n_clones)
    transport = any(terms[n].kind == "transport" for n in term_names)
    adapt = _parse_adapt(t.table("adapt"), role, transport)
    if adapt.enabled and int(degree) != 1:
        fail(t.key("adapt.enabled"), "local refinement needs element_degree = 1; set it to 1 or adapt.enabled = false")
    for key in t.data:
        owners = [n for n, term in terms.items() if key in term.params and n not in term_names]
        if key not in t.seen and key not in SITE_KEYS and owners:
            fail(t.key(key), f"is a parameter of the term {owners[0]!r}, which terms = {term_names!r} does not "
                             f"include; add {owners[0]!r} to terms or remove the key")
    t.done(allowed_extra=SITE_KEYS)
    return OrganConfig(name, role, mesh_path, box, cells, int(degree), term_names, params, initial, int(refine),
                       adapt)


def _parse_adapt(a: Table, role: str, transport: bool) -> AdaptConfig:
    primary = role == "primary"
    d = AdaptConfig(size=0.2 if primary else 0.012, where="front" if primary else "tumor", every=2.0)
    adapt = AdaptConfig(
        enabled=a.boolean("enabled", transport),
        size=a.number("size", d.size, positive=True, unit="mm"),
        grading=a.number("grading", d.grading, positive=True),
        padding=a.number("padding", None, nonneg=True, unit="mm"),
        every=a.number("every", d.every, positive=True, unit="days"),
        threshold=a.number("threshold", d.threshold, positive=True, maximum=1.0),
        where=a.string("where", d.where, ("tumor", "front")),
        max_levels=a.number("max_levels", d.max_levels, integer=True, positive=True, maximum=16),
    )
    a.done()
    return adapt


def _parse_initial(i: Table, n_clones: int) -> InitialConfig:
    d = InitialConfig()
    initial = InitialConfig(
        shape=i.string("shape", d.shape, ("ball", "box", "none")),
        center=i.vector("center", 3, unit="mm") if i.has("center") else i.raw("center", None),
        radius=i.number("radius", d.radius, positive=True, unit="mm"),
        extent=i.vector("extent", 3, d.extent, positive=True, unit="mm"),
        density=i.number("density", d.density, nonneg=True, unit="cells/mm³"),
        mixing=i.string("mixing", d.mixing, ("intermixed", "sectors")),
        segregation=i.number("segregation", None, nonneg=True, maximum=1.0),
        sector_repeats=i.number("sector_repeats", None, positive=True, integer=True),
        clones=i.numbers("clones", n_clones, None, nonneg=True, scalar_ok=False) if i.has("clones") else i.raw("clones", None),
    )
    if initial.clones is not None and sum(initial.clones) <= 0:
        fail(i.key("clones"), "all weights are zero, expected at least one positive weight")
    i.done()
    return initial


def scenario_from_toml(path: str | Path) -> Scenario:
    path = Path(path)
    return parse_scenario(load_toml(path), path.resolve().parent)


def resolved(scenario: Scenario) -> dict:
    """The scenario as run: every default filled in, paths absolute (written as scenario.toml)."""
    sim = dataclasses.asdict(scenario.simulation)
    if not scenario.simulation.error_control:  # the resolved scenario (and its hash) of fixed-dt runs as before
        for key in ("time_rtol", "time_atol", "time_extrapolate"):
            sim.pop(key)
    elif sim["time_atol"] is None:  # default: relative to each organ's κ
        sim.pop("time_atol")
    if not sim["transport_extrapolate"]:  # likewise (checkpoints written before the key existed still resume)
        sim.pop("transport_extrapolate")
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
        d["adapt"] = {k: v for k, v in dataclasses.asdict(o.adapt).items() if v is not None}
        organs[name] = d
    out = {"simulation": sim, "clones": {"names": scenario.clone_names, "colors": scenario.clone_colors},
           "organs": organs}
    if scenario.cluster_flux is not None:
        out["cluster_flux"] = scenario.cluster_flux.to_dict()
    return out


def scenario_hash(scenario: Scenario) -> str:
    return hashlib.sha256(dump_toml(resolved(scenario)).encode()).hexdigest()
