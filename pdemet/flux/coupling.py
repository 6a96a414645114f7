"""The cluster flux as a coupling of the organs: after every accepted step, shed → circulate → arrest → seed.

All draws happen on rank 0, seeded by ``simulation.seed``, on node arrays in the mesh's original
numbering, so runs draw the same events on any number of ranks (with per-cluster draws their times agree
to round-off: the shedding clock sums assembled lumped masses): from streams where each cluster owns its
random numbers whatever the time steps (``draws = "per_cluster"``, the default, flux/per_cluster.py), or from
one ``numpy.random.Generator`` step by step (``"per_step"``). The engine
(``mode``: stochastic events or the mean field) picks the shedding, circulation and seeding classes once;
the step below is the same for both. In sites with adaptive resolution, surviving clusters wait
(extravasating) until the site's next refinement, which makes the mesh fine around them first, so
that founder cells land on a mesh that resolves them.
"""

from __future__ import annotations

import numpy as np

from pdemet.flux.arrest import ArrestPoints, Founders, MeanFieldSeeding, StochasticSeeding, Vasculature
from pdemet.flux.circulation import MeanFieldCirculation, StochasticCirculation
from pdemet.flux.events import EventLog
from pdemet.flux.ledger import efficiency, new_ledger
from pdemet.flux.per_cluster import ClusterStreams, PerClusterCirculation, PerClusterShedding
from pdemet.flux.shedding import MeanFieldShedding, StochasticShedding
from pdemet.meshes.adapt import Targets


class ClusterFlux:
    """Couples the primary and the sites; owns the random generator, the blood, the ledger and the event log.

    ``events``: the :class:`~pdemet.flux.events.EventLog` of arrested clusters (columns: time, organ, x, y, z,
    size, survived, weight, clones).
    """

    def __init__(self, cfg, organs: dict, primary: str, gatherer, nodes, base_meshes: dict, seed: int, comm,
                 adaptive: set[str] = frozenset()):
        """``gatherer(name)``/``nodes(name)``: an organ's current FieldGatherer and rank-0 OrganNodes;
        ``base_meshes[name]``: (points, tets) of its base mesh on rank 0; ``adaptive``: the sites whose
        founders wait for the site's next refinement (:meth:`pending_targets`, :meth:`place_pending`)."""
        self.cfg, self.organs, self.primary, self.gatherer, self.nodes = cfg, organs, primary, gatherer, nodes
        self.comm, self.rank0, self.adaptive = comm, comm.rank == 0, set(adaptive)
        self.K = next(iter(organs.values())).n_clones
        self.sites = [n for n in organs if n != primary]
        self.rng = np.random.default_rng(seed)
        self.ledger = new_ledger(self.sites, cfg.sizes.max_size)
        self.events = EventLog(self.sites, self.K, cfg.log_failed, cfg.log_sample_every)
        self.pending: dict[str, list] = {s: [] for s in self.sites}  # founders waiting for their site's refinement
        self.ledger["cells"]["pending"] = 0.0
        self.stochastic = cfg.mode == "stochastic"
        per_cluster = self.stochastic and cfg.draws == "per_cluster"  # the mean field draws nothing
        self.streams = ClusterStreams(seed, cfg.sizes.max_size) if per_cluster else None
        if self.streams is not None:
            self.blood = PerClusterCirculation(cfg, self.sites, self.K, self.streams.run)
        else:
            engine = StochasticCirculation if self.stochastic else MeanFieldCirculation
            self.blood = engine(cfg, self.sites, self.K, self.rng)
        if not self.rank0:
            return
        self.vasculature = {n: Vasculature(cfg.routing.get(n), *base_meshes[n]) for n in organs}
        capacity = {n: organs[n].capacity for n in organs}
        if self.streams is not None:
            self.shedding = PerClusterShedding(cfg, capacity[primary], self.streams, self.ledger)
        elif self.stochastic:
            self.shedding = StochasticShedding(cfg, capacity[primary], self.rng, self.ledger)
        if self.stochastic:
            points = {s: ArrestPoints(self.vasculature[s], *base_meshes[s]) for s in self.sites}
            self.seeding = StochasticSeeding(cfg, points, capacity, self.K, self.rng, self.ledger, self.events)
        else:
            self.shedding = MeanFieldShedding(cfg, capacity[primary], self.ledger)
            self.seeding = MeanFieldSeeding(cfg, self.sites, self.ledger)

    def after_step(self, t: float, dt: float) -> None:
        """Apply the flux over [t, t+dt] (collective)."""
        prim = self.nodes(self.primary)
        u = [self.gatherer(self.primary).gather(c) for c in self.organs[self.primary].clones]
        removal, arriving = None, None
        if self.rank0:
            shed = self.shedding.shed(t, dt, np.array(u), prim.weights,
                                     self.vasculature[self.primary](prim.points), prim.tree)
            if self.cfg.injection and self.cfg.injection.due(t, dt):  # a tail-vein bolus (flux/injection.py)
                shed = self.cfg.injection.add(shed, self.K, self.rng, self.ledger,
                                              self.shedding if self.streams is not None else None)
            arriving = self.seeding.arrive(self.blood.step(t, dt, shed, self.ledger))
            removal = shed.removal
        self._apply(self.primary, removal)
        self._seed(arriving)

    def _seed(self, arriving) -> None:
        """Founders in adaptive sites wait for the site's next refinement; the others seed now (collective)."""
        for site in self.sites:
            if self.stochastic and site in self.adaptive:
                if self.rank0:
                    mine = [f for f in arriving if f.site == site]
                    self.pending[site].extend(mine)
                    self.ledger["cells"]["pending"] += float(sum(f.comps.sum() for f in mine))
                continue
            self._apply(site, self._deposit(site, arriving))

    def pending_targets(self, site: str) -> Targets | None:
        """Where the waiting founders of a site will land: their balls (rank 0; None elsewhere or if none)."""
        if not self.rank0 or not self.pending.get(site):
            return None
        return Targets(np.array([f.center for f in self.pending[site]]),
                       np.array([f.radius for f in self.pending[site]]))

    def place_pending(self, site: str) -> None:
        """Place the waiting founders of a site on its current mesh (collective)."""
        mine = self.pending.get(site) if self.rank0 else None
        if not self.comm.bcast(bool(mine), root=0):
            return
        nodes = self.nodes(site)
        u = [self.gatherer(site).gather(c) for c in self.organs[site].clones]
        delta = None
        if self.rank0:
            delta = self.seeding.deposit(mine, nodes, np.array(u), self.organs[site].capacity)
            self.ledger["cells"]["pending"] -= float(sum(f.comps.sum() for f in mine))
            self.pending[site] = []
        self._apply(site, delta)

    def _deposit(self, site, arriving):
        """Densities (N, K) to add at the site's nodes, on rank 0 (None elsewhere or when nothing arrives)."""
        if self.stochastic:
            mine = [f for f in arriving if f.site == site] if self.rank0 else None
            if not self.comm.bcast(bool(mine), root=0):
                return None
            nodes = self.nodes(site)
            u = [self.gatherer(site).gather(c) for c in self.organs[site].clones]
            if not self.rank0:
                return None
            return self.seeding.deposit(mine, nodes, np.array(u), self.organs[site].capacity)
        nodes = self.nodes(site)
        if not self.rank0 or site not in arriving:
            return None
        return self.seeding.deposit(arriving[site], nodes, self.vasculature[site](nodes.points))

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

    def founders(self, site: str) -> dict:
        """Arrest points, cells and polyclonality of the clusters that seeded the site so far (rank 0)."""
        waiting = {f.event for f in self.pending.get(site, [])}
        rows = np.array([i for i in self.events.survivors(site) if i not in waiting], dtype=np.int64)
        c = self.events.columns()
        comps = c["clones"][rows].astype(np.int64).reshape(len(rows), self.K)
        points = np.stack([c["x"][rows], c["y"][rows], c["z"][rows]], axis=1).reshape(-1, 3)
        return {"points": points, "cells": comps.sum(axis=1), "polyclonal": (comps > 0).sum(axis=1) >= 2}

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
        pending = {s: [{"center": f.center, "comps": f.comps, "positions": f.positions, "clone": f.clone,
                        "event": f.event} for f in fs] for s, fs in self.pending.items()}
        streams = {"streams": self.streams.state()} if self.streams is not None else {}
        return {"rng": self.rng.bit_generator.state, "blood": self.blood.state(), "ledger": self.ledger,
                "events": self.events.state(), "pending": pending, **streams}

    def set_state(self, state) -> None:
        if not self.rank0:
            return
        self.rng.bit_generator.state = state["rng"]
        if self.streams is not None:
            self.streams.set_state(state["streams"])
        self.blood.set_state(state["blood"])
        # The ledger and the event log are shared with the shedding and seeding objects: update in place.
        _update_nested(self.ledger, state["ledger"])
        self.events.set_state(state["events"])
        self.pending = {s: [Founders(s, np.asarray(f["center"], float), np.asarray(f["comps"], np.int64),
                                     np.asarray(f["positions"], float).reshape(-1, 3), np.asarray(f["clone"], np.int64),
                                     int(f["event"])) for f in fs] for s, fs in state["pending"].items()}

    def body_cells(self) -> float:
        """Cells everywhere: fields + circulation + everything that left, less what was injected (for
        conservation checks: it changes only by growth and death in the fields)."""
        fields = sum(float(o.cells_per_clone().sum()) for o in self.organs.values())
        c = self.ledger["cells"]
        return fields + c["circulating"] + c["cleared_in_circulation"] + c["killed_in_circulation"] + \
            c["failed_to_colonize"] + c["pending"] - c["injected"]


def _update_nested(target: dict, source: dict) -> None:
    for k, v in source.items():
        if isinstance(v, dict) and isinstance(target.get(k), dict):
            _update_nested(target[k], v)
        elif isinstance(target.get(k), np.ndarray):
            target[k][...] = v
        else:
            target[k] = v
