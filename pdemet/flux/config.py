"""The ``[cluster_flux]`` section and each organ's blood-flow routing, validated into typed objects.

Laws (sizes, clearance, arrest, survival, shedding weight) are read by :func:`pdemet.flux.laws.read_law`;
their parameters, units, defaults and sources are declared in ``pdemet/flux/laws/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pdemet.errors import fail
from pdemet.flux.events import LOG_FAILED
from pdemet.flux.injection import Injection
from pdemet.flux.laws import (ArrestLaw, ClearanceLaw, Cooperation, PowerArrest, PowerClearance, PowerLaw, Rim,
                              SheddingWeight, SizeLaw, SurvivalLaw, param_names, read_law)
from pdemet.validation import Table


@dataclass
class SizeDistribution:
    """Sizes n = 1..max_size of shed clusters (Aceto et al. 2014: clusters of 2–50 cells)."""

    law: SizeLaw = field(default_factory=PowerLaw)
    max_size: int = 50        # cells: largest cluster

    @property
    def kind(self) -> str:
        return self.law.name

    def pmf(self) -> np.ndarray:
        """P(n) for n = 1..max_size (index n − 1), per cluster."""
        p = self.law.weights(np.arange(1, self.max_size + 1, dtype=float))
        return p / p.sum()

    def cell_pmf(self) -> np.ndarray:
        """Fraction of shed cells that leave in clusters of size n."""
        w = self.pmf() * np.arange(1, self.max_size + 1)
        return w / w.sum()

    def mean(self) -> float:
        return float(self.pmf() @ np.arange(1, self.max_size + 1))

    def to_dict(self) -> dict:
        return {"kind": self.law.name, "max_size": self.max_size, **self.law.to_dict()}


@dataclass
class Circulation:
    circulation_time: float = 1.7e-4     # days (≈ 15 s, mouse blood circulation time)
    clearance: ClearanceLaw = field(default_factory=PowerClearance)
    dissociation_rate: float = 0.0       # 1/day, clusters → single cells (K14-loss / anti-adhesion therapy)
    kill_rate: float = 0.0               # 1/day, anti-circulating-cell drug, per cluster
    other_arrest_probability: float = 0.0  # per pass, unmodeled systemic organs (cells lost there are cleared)

    def clearance_rate(self, n) -> np.ndarray:
        """Destruction hazard in the blood (1/day) for clusters of size n."""
        return self.clearance.rate(n)

    def to_dict(self) -> dict:
        return {"circulation_time": self.circulation_time, "clearance": self.clearance.name,
                **self.clearance.to_dict(), "dissociation_rate": self.dissociation_rate,
                "kill_rate": self.kill_rate, "other_arrest_probability": self.other_arrest_probability}


@dataclass
class SiteRouting:
    """Blood-flow routing of one organ (read from the organ's table)."""

    first_pass: bool = False           # receives the whole venous return first (the lung)
    blood_flow_fraction: float = 0.0   # fraction of systemic (cardiac) output through the organ
    arrest: ArrestLaw = field(default_factory=PowerArrest)  # a(n), per pass
    vascular_contrast: float = 0.0     # v(x) = 1 + c·exp(−d(x)/ℓ): extra vessels near the organ surface
    vascular_length: float = 0.5       # mm, ℓ


@dataclass
class ClusterFluxConfig:
    enabled: bool = False
    mode: str = "stochastic"            # "stochastic" | "mean_field"
    draws: str = "per_cluster"          # "per_cluster" | "per_step": whose random numbers (flux/per_cluster.py)
    shedding_rate: float = 1e-3         # 1/day: per-cell rate at unit weight
    shedding_weight: SheddingWeight = field(default_factory=Rim)
    sizes: SizeDistribution = field(default_factory=SizeDistribution)
    circulation: Circulation = field(default_factory=Circulation)
    survival: SurvivalLaw = field(default_factory=Cooperation)
    census_threshold: float = 1e-3      # fraction of κ above which tissue counts as tumor (census)
    polyclonal_fraction: float = 0.05   # a clone counts in a focus above this fraction of its cells
    focus_min_cells: float = 50.0       # cells: a lesion this large is a focus (smaller ones are listed too)
    log_failed: str = "all"             # failed arrests in seeding.h5: "all" | "sample" | "count" (flux/events.py)
    log_sample_every: int = 100         # "sample": every n-th failed arrest is logged, with weight n
    routing: dict[str, SiteRouting] = field(default_factory=dict)
    injection: Injection | None = None  # a tail-vein bolus ([cluster_flux.injection]; flux/injection.py)

    def to_dict(self) -> dict:
        # the mean field draws nothing: its draws key is not written
        draws = {"draws": self.draws} if self.mode == "stochastic" else {}
        return {"enabled": self.enabled, "mode": self.mode, **draws, "shedding_rate": self.shedding_rate,
                "shedding_weight": self.shedding_weight.name, **self.shedding_weight.to_dict(),
                "census_threshold": self.census_threshold,
                "polyclonal_fraction": self.polyclonal_fraction, "focus_min_cells": self.focus_min_cells,
                "log_failed": self.log_failed, "log_sample_every": self.log_sample_every,
                "sizes": self.sizes.to_dict(),
                "circulation": self.circulation.to_dict(),
                "survival": {"law": self.survival.name, **self.survival.to_dict()},
                **({"injection": self.injection.to_dict()} if self.injection else {})}


ROUTING_KEYS = ("first_pass", "blood_flow_fraction", "arrest_law", "vascular_contrast", "vascular_length")
# Organ keys owned by the cluster flux (the scenario parser lets them through to parse_routing).
SITE_KEYS = ROUTING_KEYS + tuple(sorted(param_names("arrest")))


def parse(t: Table, scenario) -> ClusterFluxConfig:
    """The [cluster_flux] table (an empty one: the flux is off) and the routing keys of every organ."""
    if not t.data:
        return ClusterFluxConfig(enabled=False)
    mode = t.string("mode", "stochastic", ("stochastic", "mean_field"))
    cfg = ClusterFluxConfig(
        enabled=t.boolean("enabled", True),
        mode=mode,
        # per_cluster: a finer mesh or a rejected step leaves every cluster's fate as it was (flux/per_cluster.py)
        draws=t.string("draws", "per_cluster" if mode == "stochastic" else "per_step", ("per_cluster", "per_step")),
        shedding_rate=t.number("shedding_rate", 1e-3, nonneg=True, unit="1/day"),
        shedding_weight=read_law(t, "shedding_weight", "shedding_weight", "rim"),
        census_threshold=t.number("census_threshold", 1e-3, positive=True, maximum=1.0),
        polyclonal_fraction=t.number("polyclonal_fraction", 0.05, positive=True, maximum=0.5),
        focus_min_cells=t.number("focus_min_cells", 50.0, nonneg=True, unit="cells"),
        log_failed=t.string("log_failed", "all", LOG_FAILED),
        log_sample_every=t.number("log_sample_every", 100, integer=True, positive=True),
    )
    if cfg.draws == "per_cluster" and cfg.mode != "stochastic":
        fail("cluster_flux.draws", "per_cluster draws are the random numbers of clusters: use mode = "
                                   "\"stochastic\", or remove draws")
    s = t.table("sizes")
    max_size = s.number("max_size", 50, integer=True, positive=True)
    cfg.sizes = SizeDistribution(read_law(s, "sizes", "kind", "power_law", {"max_size": max_size}), max_size)
    s.done()
    c = t.table("circulation")
    cfg.circulation = Circulation(
        circulation_time=c.number("circulation_time", 1.7e-4, positive=True, unit="days"),
        clearance=read_law(c, "clearance", "clearance", "power"),
        dissociation_rate=c.number("dissociation_rate", 0.0, nonneg=True, unit="1/day"),
        kill_rate=c.number("kill_rate", 0.0, nonneg=True, unit="1/day"),
        other_arrest_probability=c.number("other_arrest_probability", 0.0, nonneg=True, maximum=1.0))
    c.done()
    v = t.table("survival")
    cfg.survival = read_law(v, "survival", "law", "cooperation")
    v.done()
    if "injection" in t.data:
        cfg.injection = _parse_injection(t.table("injection"), cfg, scenario)
    t.done()
    cfg.routing = parse_routing(scenario)
    return cfg


def _parse_injection(i: Table, cfg: ClusterFluxConfig, scenario) -> Injection:
    fractions = i.numbers("fractions", scenario.n_clones, nonneg=True, scalar_ok=False) if i.has("fractions") else []
    inj = Injection(time=i.number("time", 0.0, nonneg=True, unit="days"),
                    cells=i.number("cells", integer=True, positive=True, unit="cells"),
                    size=i.number("size", 1, integer=True, positive=True, unit="cells"),
                    fractions=tuple(fractions))
    i.done()
    if cfg.mode != "stochastic":
        fail("cluster_flux.injection", "an injection is a set of clusters: use mode = \"stochastic\"")
    if inj.size > cfg.sizes.max_size:
        fail("cluster_flux.injection.size", f"got {inj.size}, larger than sizes.max_size = {cfg.sizes.max_size}; "
                                            "raise sizes.max_size")
    if inj.cells < inj.size:
        fail("cluster_flux.injection.cells", f"got {inj.cells}, fewer than one cluster of size {inj.size}")
    if inj.fractions and sum(inj.fractions) <= 0:
        fail("cluster_flux.injection.fractions", "all zero; give each clone's share of the injected cells")
    if inj.time >= scenario.simulation.t_end:
        fail("cluster_flux.injection.time", f"got {inj.time:g}, not before simulation.t_end = "
                                            f"{scenario.simulation.t_end:g} days")
    return inj


def parse_routing(scenario) -> dict[str, SiteRouting]:
    """Routing lives in each organ's table (it is a property of the organ's blood supply)."""
    routing_of, flow, first = {}, 0.0, []
    for name, organ in scenario.organs.items():
        raw = scenario.source["organs"][name]
        r = Table({k: v for k, v in raw.items() if k in SITE_KEYS}, f"organs.{name}")
        routing = SiteRouting(
            first_pass=r.boolean("first_pass", False),
            blood_flow_fraction=r.number("blood_flow_fraction", 0.0, nonneg=True, maximum=1.0),
            arrest=read_law(r, "arrest", "arrest_law", "power"),
            vascular_contrast=r.number("vascular_contrast", 0.0, nonneg=True),
            vascular_length=r.number("vascular_length", 0.5, positive=True, unit="mm"),
        )
        if organ.role == "primary" and (routing.first_pass or float(routing.arrest(1.0)) > 0):
            fail(f"organs.{name}", "the primary cannot receive clusters; set first_pass/arrest_probability on sites")
        if organ.element_degree != 1:
            fail(f"organs.{name}.element_degree", "the cluster flux needs element_degree = 1 (nodal shedding and "
                                                  "seeding); set it to 1 or disable [cluster_flux]")
        if routing.first_pass:
            first.append(name)
            if routing.blood_flow_fraction:
                fail(f"organs.{name}.blood_flow_fraction", "a first_pass organ receives the whole venous return; "
                                                           "remove blood_flow_fraction")
        flow += routing.blood_flow_fraction
        routing_of[name] = routing
    if len(first) > 1:
        fail("organs", f"{len(first)} organs have first_pass = true ({', '.join(first)}), expected at most one")
    if flow > 1.0 + 1e-12:
        fail("organs", f"blood_flow_fraction of the organs sums to {flow:.4g}, expected at most 1 "
                       "(fractions of the cardiac output)")
    return routing_of
