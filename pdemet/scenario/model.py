"""The typed scenario: what a validated TOML scenario becomes.

Units: lengths in mm, times in days, densities in cells/mm³, rates in 1/day, diffusion coefficients in
mm²/day. Defaults live here once; :mod:`pdemet.scenario.parse` reads the TOML into these objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The clone palette (scenarios without [clones] colors, and renders of files without colors).
PALETTE = ["#e41a1c", "#4daf4a", "#377eb8", "#ffd92f", "#984ea3", "#ff7f00", "#a65628", "#f781bf",
           "#999999", "#66c2a5", "#fc8d62", "#8da0cb", "#e78ac3", "#a6d854", "#e5c494", "#b3b3b3"]


@dataclass
class SimulationConfig:
    t_end: float            # days
    dt: float               # days: initial and largest step
    output_every: float     # days between outputs (timeseries rows, fields, census)
    seed: int = 0
    write_fields: bool = True  # fields/<organ>.vtkhdf at output times (renders need them; a default run ~0.4 GB);
                               # false: the tables only (census, seeding, timeseries, summary), for ensembles
    solver: str = "imex"    # "imex" (Strang splitting, production) | "newton" (monolithic reference)
    theta: float = 0.5      # implicitness of the linear step: 0.5 Crank–Nicolson (2nd order), 1 backward Euler
    adaptive: bool = True   # halve dt on rejected steps, grow it back after successes
    dt_min: float = 1e-8    # days: give up below this step
    max_change: float = 0.5  # largest accepted change of any density in one step, relative to capacity
    negative_tolerance: float = 1e-2  # relative to capacity: below -tol a step is rejected, above it clipped
    linear_solver: str = "cg"  # "cg" (Jacobi-preconditioned CG) | "lu" (MUMPS)
    rtol: float = 1e-12     # relative residual tolerance of the iterative linear solves (CG, not the time error)
    transport_iterations: int = 50  # Newton steps of the pressure transport's total (at most; else the step fails)
    transport_tol: float = 1e-9    # Newton converged when ‖F‖₁ ≤ tol × the active region's cells (cells misplaced)
    transport_extrapolate: bool = False  # 2·T(dt/2)²−T(dt): second-order transport at three solves per step
    plugins: list[str] = field(default_factory=list)  # Python files defining extra terms or laws
    # Error-controlled steps (pdemet/solvers/time_error.py): off while time_rtol = 0 (fixed dt, halved on failures).
    time_rtol: float = 0.0  # relative tolerance of the local time error of each density (dimensionless)
    time_atol: float | None = None  # cells/mm³; None: time_rtol × 10⁻³ κ of each organ (the census threshold)
    time_extrapolate: bool = True  # accept the Richardson-extrapolated state where it gains order (symmetric steps, R·T·R)

    @property
    def error_control(self) -> bool:
        return self.time_rtol > 0


@dataclass
class InitialConfig:
    shape: str = "none"          # "ball" | "box" | "none"
    center: list[float] | None = None  # mm; default: the organ's centroid
    radius: float = 1.0          # mm (ball)
    extent: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])  # mm, full edge lengths (box)
    density: float = 0.0         # cells/mm³, total over clones
    mixing: str = "intermixed"   # "intermixed" | "sectors"
    segregation: float | None = None  # 0 = intermixed … 1 = sectors: u = (1−s)·intermixed + s·sectors
    sector_repeats: int | None = None  # sectors: the clones' pattern repeats r times around the center (default 1),
                                       # so each clone owns r sectors and the segregation length at radius R is
                                       # 2πR·wᵢ/r (wᵢ the clone's weight): the intermixing length of the primary
    clones: list[float] | None = None  # optional relative weights of the clones (default: equal)


@dataclass
class AdaptConfig:
    """Local refinement of the organ's mesh where there is tumor (``[organs.NAME.adapt]``)."""

    enabled: bool = False        # default: on for organs with a transport (pressure) term
    size: float = 0.012          # mm, element size at the tumor; default 0.012 in sites (foci of ≥ 50 cells,
                                 # radius ≥ 23 µm, resolved by ~4 elements), 0.2 in the primary (its front)
    grading: float = 1.0         # the element size may grow by this many mm per mm away from the tumor
    padding: float | None = None  # mm the fine zone reaches beyond the tumor (growth until the next check); default
                                  # the element size in sites (foci grow µm a day), 2·size in the primary
    every: float = 2.0           # days between re-adaptations; seeded clusters extravasate until the next one
                                 # (1–3 days: Cameron et al., Cancer Res 60:2541, 2000)
    threshold: float = 1e-3      # fraction of κ above which a node is tumor
    where: str = "tumor"         # "tumor": all of it (sites) | "front": where it is not packed (primary)
    max_levels: int = 10         # refinement levels below the base mesh at most

    @property
    def fine_zone(self) -> float:
        return (2.0 if self.where == "front" else 1.0) * self.size if self.padding is None else self.padding


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
    adapt: AdaptConfig = field(default_factory=AdaptConfig)


@dataclass
class Scenario:
    simulation: SimulationConfig
    clone_names: list[str]
    clone_colors: list[str]
    organs: dict[str, OrganConfig]
    source: dict                        # the raw TOML (for scenario.toml in the run directory)
    base_dir: Path                      # directory that relative paths are resolved against
    cluster_flux: Any = None            # pdemet.flux.config.ClusterFluxConfig

    @property
    def n_clones(self) -> int:
        return len(self.clone_names)

    @property
    def primary(self) -> str:
        return next(n for n, o in self.organs.items() if o.role == "primary")

    @property
    def sites(self) -> list[str]:
        return [n for n, o in self.organs.items() if o.role == "site"]
