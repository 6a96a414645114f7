"""The cluster flux: shedding from the primary, circulation, arrest in sites and colonization.

After every accepted step (operator splitting of the flux terms):
1. shedding: each primary node j loses the fraction 1 − exp(−σⱼ dt) of its cells, σⱼ = σ₀·wⱼ
   (``shedding_weight``). Stochastic mode turns exactly those cells into clusters: the count is
   Poisson, sizes follow P(n), the node is drawn ∝ expected shed cells and the clone make-up is
   Multinomial(n, local clone fractions), capped by the cells present at that node;
2. circulation (pdemet.circulation) over [t, t+dt];
3. arrest: each arrested cluster lands at a node drawn ∝ mⱼvⱼ (the organ's vascular density);
4. colonization: it survives with probability s(n) and deposits its cells clone by clone with a
   Gaussian kernel of width ``kernel_width``, normalized on the mesh so that the deposited cells
   equal the cluster's cells exactly. Mean-field mode deposits the expected surviving cells ∝ vⱼ.

All draws happen on rank 0 from one ``numpy.random.Generator`` seeded by ``simulation.seed``,
on node arrays in the mesh's original numbering, so runs are identical on any number of ranks.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from pdemet import census, io
from pdemet.circulation import MeanFieldCirculation, StochasticCirculation, new_ledger


def boundary_distance(points: np.ndarray, tets: np.ndarray) -> np.ndarray:
    """Distance (mm) from every node to the nearest boundary node (faces that belong to one tet)."""
    faces = np.sort(tets[:, [[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]]].reshape(-1, 3), axis=1)
    uniq, counts = np.unique(faces, axis=0, return_counts=True)
    bnodes = np.unique(uniq[counts == 1])
    return cKDTree(points[bnodes]).query(points)[0]


class OrganNodes:
    """Rank-0 node data of one organ: coordinates, ∫φⱼ, vascular density, edges for the census."""

    def __init__(self, sim, name, routing):
        g = sim.gatherer(name)
        self.weights = g.gather_dofs(sim.organs[name].weights_local)
        if sim.comm.rank != 0:
            return
        self.points, self.tets = g.points, g.tets
        self.edges = census.mesh_edges(g.tets)
        self.tree = cKDTree(self.points)
        v = np.ones(len(self.points))
        if routing is not None and routing.vascular_contrast > 0:
            v += routing.vascular_contrast * np.exp(-boundary_distance(self.points, self.tets) / routing.vascular_length)
        self.vascular = v
        mv = self.weights * v
        self.arrest_p = mv / mv.sum()


class ClusterFlux:
    """Couples the organs; owns the ledger, the event log and the census."""

    def __init__(self, sim):
        self.sim, self.cfg = sim, sim.scenario.extra["cluster_flux"]
        self.comm, self.rank0 = sim.comm, sim.comm.rank == 0
        self.K = len(sim.clone_names)
        self.primary = sim.scenario.primary
        self.sites = [n for n in sim.organs if n != self.primary]
        self.nodes = {n: OrganNodes(sim, n, self.cfg.routing.get(n)) for n in sim.organs}
        self.rng = np.random.default_rng(sim.cfg.seed)
        engine = StochasticCirculation if self.cfg.mode == "stochastic" else MeanFieldCirculation
        self.blood = engine(self.cfg, self.sites, self.K)
        self.ledger = new_ledger(self.sites, self.cfg.sizes.max_size)
        self.pmf = self.cfg.sizes.pmf()
        self.events: list[tuple] = []
        self.census: list[tuple] = []
        self.last_foci: dict[str, list] = {}

    # -- one coupling step ---------------------------------------------------------------------
    def after_step(self, t, dt):
        prim = self.sim.organs[self.primary]
        u = [self.sim.gatherer(self.primary).gather(c) for c in prim.clones]
        removal = deposits = None
        if self.rank0:
            u = np.array(u)
            if self.cfg.mode == "stochastic":
                removal, deposits = self._stochastic(t, dt, u)
            else:
                removal, deposits = self._mean_field(dt, u)
        self._apply(self.primary, removal)
        for site in self.sites:
            self._apply(site, deposits.get(site) if self.rank0 else None)

    def _apply(self, organ, delta):
        """delta: dense (N, K) node array on rank 0 (or None); applied to the organ's fields on every rank."""
        nodes = vals = None
        if self.rank0:
            if delta is None:
                nodes, vals = np.zeros(0, dtype=np.int64), np.zeros((0, self.K))
            else:
                nodes = np.flatnonzero(np.any(delta != 0, axis=1))
                vals = delta[nodes]
        self.sim.gatherer(organ).add_to_clones(nodes, vals)

    def _shed_fraction(self, u, dt):
        prim = self.sim.organs[self.primary]
        total = u.sum(axis=0)
        kind = self.cfg.shedding_weight
        if kind == "rim":  # the invasive edge: peaks at half capacity, zero in empty and packed tissue
            x = total / prim.capacity
            w = np.clip(4.0 * x * (1.0 - x), 0.0, 1.0)
        elif kind == "vascular":
            w = self.nodes[self.primary].vascular
        else:
            w = np.ones_like(total)
        return -np.expm1(-self.cfg.shedding_rate * w * dt)

    def _stochastic(self, t, dt, u):
        m = self.nodes[self.primary].weights
        p = self._shed_fraction(u, dt)
        cells = m * u                                    # (K, N) cells at each node
        expected = p * cells.sum(axis=0)
        mean_size = float(self.pmf @ np.arange(1, len(self.pmf) + 1))
        n_clusters = self.rng.poisson(expected.sum() / mean_size) if expected.sum() > 0 else 0
        sizes = self.rng.choice(np.arange(1, len(self.pmf) + 1), size=n_clusters, p=self.pmf)
        where = self.rng.choice(len(m), size=n_clusters, p=expected / expected.sum()) if n_clusters else []
        times = t + dt * self.rng.random(n_clusters)
        avail = np.floor(cells + 1e-9)
        where = np.asarray(where, dtype=np.int64)
        frac = (u[:, where] / u[:, where].sum(axis=0)).T if n_clusters else np.zeros((0, self.K))
        comps = self.rng.multinomial(sizes, frac).astype(np.int64) if n_clusters else np.zeros((0, self.K), np.int64)
        # Whole cells only: where a node's clusters ask for more cells than it holds, take them in order.
        demand = np.zeros_like(avail.T)
        np.add.at(demand, where, comps)
        short = np.flatnonzero(np.any(demand > avail.T, axis=1))
        for j in short:
            left = avail[:, j].copy()
            for c in np.flatnonzero(where == j):
                comps[c] = np.minimum(comps[c], left)
                left -= comps[c]
        keep = comps.sum(axis=1) > 0
        comps, times, where = comps[keep], times[keep], where[keep]
        removal = np.zeros((len(m), self.K))
        np.add.at(removal, where, -comps / m[where][:, None])
        self.ledger["cells"]["shed"] += float(comps.sum())
        self.ledger["clusters"]["shed"] += float(len(comps))
        at, site_idx, acomp = self.blood.step(t, dt, comps, times, self.rng, self.ledger)
        deposits = {}
        sizes = acomp.sum(axis=1)
        survived = self.rng.random(len(sizes)) < self.cfg.survival(sizes) if len(sizes) else np.zeros(0, bool)
        order = np.argsort(at, kind="stable")
        at, site_idx, acomp, sizes, survived = at[order], site_idx[order], acomp[order], sizes[order], survived[order]
        node = np.zeros(len(at), dtype=np.int64)
        for k, site in enumerate(self.sites):  # arrest points ∝ vascular density, all clusters of a site at once
            sel = np.flatnonzero(site_idx == k)
            if sel.size:
                node[sel] = self.rng.choice(len(self.nodes[site].weights), size=sel.size, p=self.nodes[site].arrest_p)
        for k in range(len(at)):
            site = self.sites[site_idx[k]]
            x = self.nodes[site].points[node[k]]
            self.events.append((float(at[k]), site, float(x[0]), float(x[1]), float(x[2]), int(sizes[k]),
                                int(survived[k]), *acomp[k].tolist()))
        self._count_arrests(site_idx, sizes, survived)
        for k in np.flatnonzero(survived):
            site = self.sites[site_idx[k]]
            nodes = self.nodes[site]
            d = deposits.setdefault(site, np.zeros((len(nodes.weights), self.K)))
            idx, phi = self._kernel(nodes, nodes.points[node[k]])
            d[idx] += np.outer(phi, acomp[k])
        return removal, deposits

    def _kernel(self, nodes, x):
        """Nodes near x and Gaussian weights normalized so that Σ mⱼφⱼ = 1 (exact mass)."""
        eps = self.cfg.kernel_width
        idx = np.asarray(nodes.tree.query_ball_point(x, 4.0 * eps), dtype=np.int64)
        if idx.size == 0:
            idx = np.array([nodes.tree.query(x)[1]])
        phi = np.exp(-np.sum((nodes.points[idx] - x) ** 2, axis=1) / (2 * eps ** 2))
        return idx, phi / (nodes.weights[idx] @ phi)

    def _count_arrests(self, site_idx, sizes, survived):
        """Add arrested clusters (site index, size, survived) to the ledger."""
        led = self.ledger
        for unit, amount in (("cells", sizes), ("clusters", np.ones_like(sizes))):
            led[unit]["arrested"] += float(amount.sum())
            led[unit]["seeded"] += float(amount[survived].sum())
            led[unit]["failed_to_colonize"] += float(amount[~survived].sum())
        for k, site in enumerate(self.sites):
            sel = site_idx == k
            org = led["per_organ"][site]
            org["arrested_cells"] += float(sizes[sel].sum())
            org["arrested_clusters"] += float(sel.sum())
            org["seeded_cells"] += float(sizes[sel & survived].sum())
            org["seeded_clusters"] += float((sel & survived).sum())
        b = led["by_size"]
        np.add.at(b["arrested_cells"], sizes - 1, sizes)
        np.add.at(b["arrested_clusters"], sizes - 1, 1)
        np.add.at(b["seeded_clusters"], sizes[survived] - 1, 1)

    def _mean_field(self, dt, u):
        m = self.nodes[self.primary].weights
        removed = u * self._shed_fraction(u, dt)         # (K, N) densities
        shed = removed @ m                               # (K,) cells
        self.ledger["cells"]["shed"] += float(shed.sum())
        sizes = np.arange(1, len(self.pmf) + 1, dtype=float)
        self.ledger["clusters"]["shed"] += float(shed.sum() * (self.cfg.sizes.cell_pmf() / sizes).sum())
        arrested = self.blood.step(dt, shed, self.ledger)  # (sites, N, K) expected cells
        s = self.cfg.survival(sizes)
        deposits = {}
        led = self.ledger
        for k, site in enumerate(self.sites):
            a_cells = arrested[k].sum(axis=1)               # (N,) cells per size class
            seeded = (s[:, None] * arrested[k]).sum(axis=0)  # (K,)
            nodes = self.nodes[site]
            for unit, scale in (("cells", 1.0), ("clusters", 1.0 / sizes)):
                led[unit]["arrested"] += float((a_cells * scale).sum())
                led[unit]["seeded"] += float((s * a_cells * scale).sum())
                led[unit]["failed_to_colonize"] += float(((1 - s) * a_cells * scale).sum())
            org = led["per_organ"][site]
            org["arrested_cells"] += float(a_cells.sum())
            org["seeded_cells"] += float(seeded.sum())
            org["arrested_clusters"] += float((a_cells / sizes).sum())
            org["seeded_clusters"] += float((s * a_cells / sizes).sum())
            led["by_size"]["arrested_cells"] += a_cells
            led["by_size"]["arrested_clusters"] += a_cells / sizes
            led["by_size"]["seeded_clusters"] += s * a_cells / sizes
            if seeded.sum() > 0:
                profile = nodes.vascular / (nodes.weights @ nodes.vascular)
                deposits[site] = np.outer(profile, seeded)
        return -removed.T, deposits

    # -- outputs ---------------------------------------------------------------------------------
    def record(self, t, writer):
        for site in self.sites:
            organ = self.sim.organs[site]
            u = [self.sim.gatherer(site).gather(c) for c in organ.clones]
            if self.rank0:
                nodes = self.nodes[site]
                foci = census.find_foci(np.array(u), nodes.weights, nodes.points, nodes.edges,
                                        self.cfg.census_threshold * organ.capacity, self.cfg.polyclonal_fraction)
                self.last_foci[site] = foci
                self.census.extend(census.census_rows(t, site, foci))
        if self.rank0:
            self._write_tables(writer.out)

    def _write_tables(self, out):
        if not hasattr(self, "_tables"):
            names = list(self.sim.clone_names)
            self._tables = (io.GrowingCsv(out / "seeding.csv", ("time", "organ", "x", "y", "z", "size", "survived",
                                                                 *names)),
                            io.GrowingCsv(out / "census.csv", (*census.HEADER, *names)))
        self._tables[0].write(self.events)
        self._tables[1].write(self.census)

    def finish(self, writer):
        if self.rank0:
            self._write_tables(writer.out)

    def efficiency(self) -> dict:
        """Foci founded per arrested cell, single cells vs clusters (n ≥ 2), observed and expected from s(n)."""
        b = self.ledger["by_size"]
        n = np.arange(1, len(self.pmf) + 1)
        s = self.cfg.survival(n)
        single_cells, cluster_cells = b["arrested_cells"][0], b["arrested_cells"][1:].sum()
        out = {"single_per_cell": None, "cluster_per_cell": None, "ratio": None}
        if single_cells > 0:
            out["single_per_cell"] = float(b["seeded_clusters"][0] / single_cells)
        if cluster_cells > 0:
            out["cluster_per_cell"] = float(b["seeded_clusters"][1:].sum() / cluster_cells)
            out["expected_cluster_per_cell"] = float((s[1:] * b["arrested_clusters"][1:]).sum() / cluster_cells)
        out["expected_single_per_cell"] = float(s[0])
        if out["single_per_cell"] and out["cluster_per_cell"] is not None:
            out["ratio"] = out["cluster_per_cell"] / out["single_per_cell"]
        if out.get("expected_cluster_per_cell") is not None and s[0] > 0:
            out["expected_ratio"] = out["expected_cluster_per_cell"] / float(s[0])
        return out

    def summary(self) -> dict:
        led = self.ledger
        foci = {o: len(f) for o, f in self.last_foci.items()}
        poly = {o: (float(np.mean([x["polyclonal"] for x in f])) if f else None) for o, f in self.last_foci.items()}
        return {
            "cluster_flux_mode": self.cfg.mode,
            "cells": dict(led["cells"]),
            "clusters": dict(led["clusters"]),
            "per_organ": led["per_organ"],
            "by_size": {k: v.tolist() for k, v in led["by_size"].items()},
            "foci": foci,
            "polyclonal_fraction": poly,
            "seeding_efficiency": self.efficiency(),
        }

    def state(self) -> dict:
        """Everything needed to continue the flux exactly (rank 0 holds it; other ranks return None)."""
        if not self.rank0:
            return None
        return {"rng": self.rng.bit_generator.state, "blood": self.blood.state(), "ledger": self.ledger,
                "events": self.events, "census": self.census,
                "last_foci": {o: [dict(f) for f in foci] for o, foci in self.last_foci.items()}}

    def set_state(self, state) -> None:
        if not self.rank0:
            return
        self.rng.bit_generator.state = state["rng"]
        self.blood.set_state(state["blood"])
        self.ledger = state["ledger"]
        self.events = [tuple(e) for e in state["events"]]
        self.census = [tuple(r) for r in state["census"]]
        self.last_foci = state["last_foci"]

    def body_cells(self) -> float:
        """Cells everywhere: fields + circulation + everything that left (for conservation checks)."""
        fields = sum(self.sim.total_cells(o) for o in self.sim.organs)
        c = self.ledger["cells"]
        return fields + c["circulating"] + c["cleared_in_circulation"] + c["killed_in_circulation"] + \
            c["failed_to_colonize"]


def _factory(sim):
    cfg = sim.scenario.extra.get("cluster_flux")
    return ClusterFlux(sim) if cfg is not None and cfg.enabled else None


from pdemet import simulation as _simulation  # noqa: E402

_simulation.COUPLING_FACTORIES.append(_factory)
