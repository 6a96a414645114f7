"""The cluster flux as a coupling of the organs: after every accepted step, shed → circulate → arrest → seed.

All draws happen on rank 0 from one ``numpy.random.Generator`` seeded by ``simulation.seed``, on node
arrays in the mesh's original numbering, so runs are identical on any number of ranks. The engine
(``mode``: stochastic events or the mean field) picks the shedding, circulation and seeding classes once;
the step below is the same for both.
"""

from __future__ import annotations

import numpy as np

from pdemet.flux.arrest import MeanFieldSeeding, Site, StochasticSeeding
from pdemet.flux.circulation import MeanFieldCirculation, StochasticCirculation
from pdemet.flux.ledger import efficiency, new_ledger
from pdemet.flux.shedding import MeanFieldShedding, StochasticShedding


class ClusterFlux:
    """Couples the primary and the sites; owns the random generator, the blood, the ledger and the event log.

    ``events``: one tuple per arrested cluster, (time, organ, x, y, z, size, survived, *clone counts).
    """

    def __init__(self, cfg, organs: dict, primary: str, gatherer, nodes, seed: int, comm):
        """``gatherer(name)``/``nodes(name)``: an organ's FieldGatherer and rank-0 OrganNodes (shared, cached)."""
        self.cfg, self.organs, self.primary, self.gatherer, self.comm = cfg, organs, primary, gatherer, comm
        self.rank0 = comm.rank == 0
        self.K = next(iter(organs.values())).n_clones
        self.sites = [n for n in organs if n != primary]
        for name in organs:
            nodes(name)  # collective: every rank takes part in building the node data
        self.rng = np.random.default_rng(seed)
        self.ledger = new_ledger(self.sites, cfg.sizes.max_size)
        self.events: list[tuple] = []
        stochastic = cfg.mode == "stochastic"
        self.blood = (StochasticCirculation if stochastic else MeanFieldCirculation)(cfg, self.sites, self.K, self.rng)
        if not self.rank0:
            return
        prim = Site(nodes(primary), cfg.routing.get(primary))
        sites = {s: Site(nodes(s), cfg.routing.get(s)) for s in self.sites}
        capacity = organs[primary].capacity
        if stochastic:
            self.shedding = StochasticShedding(cfg, prim.nodes.weights, capacity, prim.vascular, self.rng, self.ledger)
            self.seeding = StochasticSeeding(cfg, sites, self.K, self.rng, self.ledger, self.events)
        else:
            self.shedding = MeanFieldShedding(cfg, prim.nodes.weights, capacity, prim.vascular, self.ledger)
            self.seeding = MeanFieldSeeding(cfg, sites, self.ledger)

    def after_step(self, t: float, dt: float) -> None:
        """Apply the flux over [t, t+dt] (collective)."""
        u = [self.gatherer(self.primary).gather(c) for c in self.organs[self.primary].clones]
        removal, deposits = None, {}
        if self.rank0:
            shed = self.shedding.shed(t, dt, np.array(u))
            arrivals = self.blood.step(t, dt, shed, self.ledger)
            deposits = self.seeding.seed(arrivals)
            removal = shed.removal
        self._apply(self.primary, removal)
        for site in self.sites:
            self._apply(site, deposits.get(site))

    def _apply(self, organ: str, delta) -> None:
        """delta: dense (N, K) node array on rank 0 (or None); added to the organ's fields on every rank."""
        nodes = vals = None
        if self.rank0:
            if delta is None:
                nodes, vals = np.zeros(0, dtype=np.int64), np.zeros((0, self.K))
            else:
                nodes = np.flatnonzero(np.any(delta != 0, axis=1))
                vals = delta[nodes]
        self.gatherer(organ).add_to_clones(nodes, vals)

    def efficiency(self) -> dict:
        return efficiency(self.ledger, self.cfg.survival)

    def summary(self) -> dict:
        led = self.ledger
        return {
            "cluster_flux_mode": self.cfg.mode,
            "cells": dict(led["cells"]),
            "clusters": dict(led["clusters"]),
            "per_organ": led["per_organ"],
            "by_size": {k: v.tolist() for k, v in led["by_size"].items()},
            "seeding_efficiency": self.efficiency(),
        }

    def state(self) -> dict | None:
        """Everything needed to continue the flux exactly (rank 0 holds it; other ranks return None)."""
        if not self.rank0:
            return None
        return {"rng": self.rng.bit_generator.state, "blood": self.blood.state(), "ledger": self.ledger,
                "events": self.events}

    def set_state(self, state) -> None:
        if not self.rank0:
            return
        self.rng.bit_generator.state = state["rng"]
        self.blood.set_state(state["blood"])
        # The ledger and the event log are shared with the shedding and seeding objects: update in place.
        _update_nested(self.ledger, state["ledger"])
        self.events[:] = [tuple(e) for e in state["events"]]

    def body_cells(self) -> float:
        """Cells everywhere: fields + circulation + everything that left (for conservation checks)."""
        fields = sum(float(o.cells_per_clone().sum()) for o in self.organs.values())
        c = self.ledger["cells"]
        return fields + c["circulating"] + c["cleared_in_circulation"] + c["killed_in_circulation"] + \
            c["failed_to_colonize"]


def _update_nested(target: dict, source: dict) -> None:
    for k, v in source.items():
        if isinstance(v, dict) and isinstance(target.get(k), dict):
            _update_nested(target[k], v)
        elif isinstance(target.get(k), np.ndarray):
            target[k][...] = v
        else:
            target[k] = v
