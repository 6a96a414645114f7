"""Cluster laws and the ``[cluster_flux]`` scenario section.

Laws (all documented with units; defaults and sources in docs/model.md and the default scenario):

* size distribution P(n), n = 1..n_max, of shed clusters (``power_law``: P ∝ n^−α; ``geometric``:
  P ∝ (1 − 1/m)^(n−1), mean ≈ m; ``fixed``: every cluster has n = size);
* clearance half-life in the blood t½(n) = t½₁ · n^(−β) (clusters are cleared faster than
  single cells: Aceto et al., Cell 2014);
* per-pass arrest probability in an organ a(n) = 1 − (1 − a₁)^(n^γ) (large clusters are trapped);
* colonization (survival) probability s(n): ``cooperation`` s(n) = 1 − (1 − s₁)^(n^γ), or
  ``hill`` s(n) = s_max nʰ/(nʰ + n₅₀ʰ).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from pdemet import config
from pdemet.config import Table, fail


@dataclass
class SizeDistribution:
    kind: str = "power_law"   # "power_law" | "geometric" | "fixed"
    max_size: int = 50        # cells: largest cluster (Aceto et al. 2014: clusters of 2–50 cells)
    exponent: float = 2.0     # α of the power law (61 % singles, mean 2.8 cells at n_max = 50)
    mean_size: float = 3.0    # cells, geometric law
    size: int = 1             # cells, fixed law

    def pmf(self) -> np.ndarray:
        """P(n) for n = 1..max_size (index n − 1), per cluster."""
        n = np.arange(1, self.max_size + 1, dtype=float)
        if self.kind == "fixed":
            p = (n == self.size).astype(float)
        elif self.kind == "geometric":
            q = 1.0 - 1.0 / self.mean_size
            p = q ** (n - 1)
        else:
            p = n ** (-self.exponent)
        return p / p.sum()

    def cell_pmf(self) -> np.ndarray:
        """Fraction of shed cells that leave in clusters of size n."""
        w = self.pmf() * np.arange(1, self.max_size + 1)
        return w / w.sum()

    def mean(self) -> float:
        return float(self.pmf() @ np.arange(1, self.max_size + 1))


@dataclass
class Survival:
    law: str = "cooperation"  # "cooperation" | "hill"
    single: float = 1e-4      # s₁: probability that a single arrested cell founds a focus (Gupta & Massagué 2006: < 0.01 %)
    exponent: float = 3.0     # γ: cooperation exponent, calibrated on Cheung et al. 2016 (> 100× per cell at n ≈ 10)
    s_max: float = 1.0        # hill law
    n50: float = 10.0         # cells, hill law
    hill: float = 3.0         # hill law

    def __call__(self, n) -> np.ndarray:
        n = np.asarray(n, dtype=float)
        if self.law == "hill":
            return self.s_max * n ** self.hill / (n ** self.hill + self.n50 ** self.hill)
        return 1.0 - (1.0 - self.single) ** (n ** self.exponent)


@dataclass
class Circulation:
    circulation_time: float = 1.7e-4     # days (≈ 15 s, mouse blood circulation time)
    half_life_single: float = 0.0174     # days (25 min; Aceto et al. 2014, unconfirmed: 25–30 min)
    half_life_exponent: float = 0.7      # β: t½(n) = t½₁ n^−β, 8 min at n = 5 (Aceto: 6–10 min for clusters)
    dissociation_rate: float = 0.0       # 1/day, clusters → single cells (K14-loss / anti-adhesion therapy)
    kill_rate: float = 0.0               # 1/day, anti-circulating-cell drug, per cluster
    other_arrest_probability: float = 0.0  # per pass, unmodeled systemic organs (cells lost there are cleared)

    def clearance_rate(self, n) -> np.ndarray:
        """Destruction hazard in the blood (1/day) for clusters of size n."""
        n = np.asarray(n, dtype=float)
        return math.log(2.0) / (self.half_life_single * n ** (-self.half_life_exponent))


@dataclass
class SiteRouting:
    """Blood-flow routing of one organ (read from the organ's table)."""

    first_pass: bool = False           # receives the whole venous return first (the lung)
    blood_flow_fraction: float = 0.0   # fraction of systemic (cardiac) output through the organ
    arrest_probability: float = 0.0    # a₁: per-pass arrest probability of a single cell
    arrest_size_exponent: float = 1.0  # γ in a(n) = 1 − (1 − a₁)^(n^γ)
    vascular_contrast: float = 0.0     # v(x) = 1 + c·exp(−d(x)/ℓ): extra vessels near the organ surface
    vascular_length: float = 0.5       # mm, ℓ

    def arrest(self, n) -> np.ndarray:
        n = np.asarray(n, dtype=float)
        return 1.0 - (1.0 - self.arrest_probability) ** (n ** self.arrest_size_exponent)


@dataclass
class ClusterFluxConfig:
    enabled: bool = False
    mode: str = "stochastic"            # "stochastic" | "mean_field"
    shedding_rate: float = 1e-3         # 1/day: per-cell rate at unit weight
    shedding_weight: str = "rim"        # "rim": 4(U/κ)(1 − U/κ), the invasive edge | "uniform" | "vascular"
    sizes: SizeDistribution = field(default_factory=SizeDistribution)
    circulation: Circulation = field(default_factory=Circulation)
    survival: Survival = field(default_factory=Survival)
    kernel_width: float = 0.05          # mm: width of the Gaussian that spreads a seeded cluster's cells
    census_threshold: float = 1e-3      # fraction of κ above which tissue counts as tumor (census)
    polyclonal_fraction: float = 0.05   # a clone counts in a focus above this fraction of its cells
    routing: dict[str, SiteRouting] = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("routing")
        return d


SITE_FIELDS = [f for f in SiteRouting.__dataclass_fields__]


def _sub(t: Table, name: str, cls, checks: dict):
    sub = t.table(name)
    default = cls()
    values = {}
    for key, (kind, extra) in checks.items():
        dv = getattr(default, key)
        if kind == "str":
            values[key] = sub.string(key, dv, extra)
        elif kind == "int":
            values[key] = sub.number(key, dv, integer=True, positive=True)
        else:
            values[key] = sub.number(key, dv, **extra)
    sub.done()
    return cls(**values)


def parse(t: Table, scenario) -> ClusterFluxConfig:
    if not t.data:
        return ClusterFluxConfig(enabled=False)
    cfg = ClusterFluxConfig(
        enabled=t.boolean("enabled", True),
        mode=t.string("mode", "stochastic", ("stochastic", "mean_field")),
        shedding_rate=t.number("shedding_rate", 1e-3, nonneg=True, unit="1/day"),
        shedding_weight=t.string("shedding_weight", "rim", ("rim", "uniform", "vascular")),
        kernel_width=t.number("kernel_width", 0.05, positive=True, unit="mm"),
        census_threshold=t.number("census_threshold", 1e-3, positive=True, maximum=1.0),
        polyclonal_fraction=t.number("polyclonal_fraction", 0.05, positive=True, maximum=0.5),
    )
    cfg.sizes = _sub(t, "sizes", SizeDistribution, {
        "kind": ("str", ("power_law", "geometric", "fixed")), "max_size": ("int", None),
        "exponent": ("num", {"nonneg": True}), "mean_size": ("num", {"positive": True, "unit": "cells"}),
        "size": ("int", None)})
    if cfg.sizes.kind == "geometric" and cfg.sizes.mean_size < 1:
        fail("cluster_flux.sizes.mean_size", f"got {cfg.sizes.mean_size}, expected at least 1 cell")
    if cfg.sizes.kind == "fixed" and cfg.sizes.size > cfg.sizes.max_size:
        fail("cluster_flux.sizes.size", f"got {cfg.sizes.size}, expected at most max_size = {cfg.sizes.max_size}")
    cfg.circulation = _sub(t, "circulation", Circulation, {
        "circulation_time": ("num", {"positive": True, "unit": "days"}),
        "half_life_single": ("num", {"positive": True, "unit": "days"}),
        "half_life_exponent": ("num", {"nonneg": True}),
        "dissociation_rate": ("num", {"nonneg": True, "unit": "1/day"}),
        "kill_rate": ("num", {"nonneg": True, "unit": "1/day"}),
        "other_arrest_probability": ("num", {"nonneg": True, "maximum": 1.0})})
    cfg.survival = _sub(t, "survival", Survival, {
        "law": ("str", ("cooperation", "hill")), "single": ("num", {"nonneg": True, "maximum": 1.0}),
        "exponent": ("num", {"nonneg": True}), "s_max": ("num", {"nonneg": True, "maximum": 1.0}),
        "n50": ("num", {"positive": True, "unit": "cells"}), "hill": ("num", {"positive": True})})
    t.done()
    # Routing lives in each organ's table (it is a property of the organ's blood supply).
    flow = 0.0
    first = []
    for name, organ in scenario.organs.items():
        raw = scenario.source["organs"][name]
        r = Table({k: v for k, v in raw.items() if k in SITE_FIELDS}, f"organs.{name}")
        routing = SiteRouting(
            first_pass=r.boolean("first_pass", False),
            blood_flow_fraction=r.number("blood_flow_fraction", 0.0, nonneg=True, maximum=1.0),
            arrest_probability=r.number("arrest_probability", 0.0, nonneg=True, maximum=1.0),
            arrest_size_exponent=r.number("arrest_size_exponent", 1.0, nonneg=True),
            vascular_contrast=r.number("vascular_contrast", 0.0, nonneg=True),
            vascular_length=r.number("vascular_length", 0.5, positive=True, unit="mm"),
        )
        if organ.role == "primary" and (routing.first_pass or routing.arrest_probability > 0):
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
        cfg.routing[name] = routing
    if len(first) > 1:
        fail("organs", f"{len(first)} organs have first_pass = true ({', '.join(first)}), expected at most one")
    if flow > 1.0 + 1e-12:
        fail("organs", f"blood_flow_fraction of the organs sums to {flow:.4g}, expected at most 1 "
                       "(fractions of the cardiac output)")
    return cfg


config.SECTION_VALIDATORS["cluster_flux"] = parse
config.SITE_KEYS.extend(SITE_FIELDS)
