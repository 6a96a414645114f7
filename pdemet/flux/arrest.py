"""Arrest and colonization: where an arrested cluster lands, whether it survives, what it deposits.

Each arrested cluster lands at a node drawn ∝ mⱼvⱼ (∫φⱼ times the organ's vascular density
v = 1 + c·exp(−d/ℓ), d the distance to the organ surface), survives with probability s(n) and deposits
its cells clone by clone with a Gaussian kernel of width ``kernel_width``, normalized on the mesh so that
the deposited cells equal the cluster's cells exactly. Mean field: the expected surviving cells are
deposited ∝ vⱼ.
"""

from __future__ import annotations

import numpy as np

from pdemet.flux.circulation import Arrivals
from pdemet.flux.ledger import count_arrests, count_expected_arrests
from pdemet.meshes.geometry import boundary_distance


class Site:
    """A receiving organ's rank-0 nodes with its vascular density and arrest-point probabilities."""

    def __init__(self, nodes, routing):
        self.nodes = nodes
        v = np.ones(len(nodes.points))
        if routing is not None and routing.vascular_contrast > 0:
            v += routing.vascular_contrast * np.exp(-boundary_distance(nodes.points, nodes.tets)
                                                    / routing.vascular_length)
        self.vascular = v
        mv = nodes.weights * v
        self.arrest_p = mv / mv.sum()


class StochasticSeeding:
    """Arrest points, survival draws, the event log and the deposits of surviving clusters."""

    def __init__(self, cfg, sites: dict[str, Site], n_clones: int, rng, ledger: dict, events: list):
        self.cfg, self.sites, self.names, self.K = cfg, sites, list(sites), n_clones
        self.rng, self.ledger, self.events = rng, ledger, events

    def seed(self, arr: Arrivals) -> dict[str, np.ndarray]:
        """Deposits {site: (N, K) densities} of the clusters that survived; logs every arrested cluster."""
        rng = self.rng
        sizes = arr.comps.sum(axis=1)
        survived = rng.random(len(sizes)) < self.cfg.survival(sizes) if len(sizes) else np.zeros(0, bool)
        order = np.argsort(arr.times, kind="stable")
        at, site_idx, comps, sizes, survived = (arr.times[order], arr.site[order], arr.comps[order], sizes[order],
                                                survived[order])
        node = np.zeros(len(at), dtype=np.int64)
        for k, name in enumerate(self.names):  # arrest points ∝ vascular density, all clusters of a site at once
            sel = np.flatnonzero(site_idx == k)
            if sel.size:
                site = self.sites[name]
                node[sel] = rng.choice(len(site.nodes.weights), size=sel.size, p=site.arrest_p)
        for k in range(len(at)):
            name = self.names[site_idx[k]]
            x = self.sites[name].nodes.points[node[k]]
            self.events.append((float(at[k]), name, float(x[0]), float(x[1]), float(x[2]), int(sizes[k]),
                                int(survived[k]), *comps[k].tolist()))
        count_arrests(self.ledger, self.names, site_idx, sizes, survived)
        deposits = {}
        for k in np.flatnonzero(survived):
            name = self.names[site_idx[k]]
            nodes = self.sites[name].nodes
            d = deposits.setdefault(name, np.zeros((len(nodes.weights), self.K)))
            idx, phi = self._kernel(nodes, nodes.points[node[k]])
            d[idx] += np.outer(phi, comps[k])
        return deposits

    def _kernel(self, nodes, x):
        """Nodes near x and Gaussian weights normalized so that Σ mⱼφⱼ = 1 (exact mass)."""
        eps = self.cfg.kernel_width
        idx = np.asarray(nodes.tree.query_ball_point(x, 4.0 * eps), dtype=np.int64)
        if idx.size == 0:
            idx = np.array([nodes.tree.query(x)[1]])
        phi = np.exp(-np.sum((nodes.points[idx] - x) ** 2, axis=1) / (2 * eps ** 2))
        return idx, phi / (nodes.weights[idx] @ phi)


class MeanFieldSeeding:
    """The expected surviving cells, deposited ∝ the vascular density."""

    def __init__(self, cfg, sites: dict[str, Site], ledger: dict):
        self.cfg, self.sites, self.ledger = cfg, sites, ledger

    def seed(self, arr: Arrivals) -> dict[str, np.ndarray]:
        sizes = np.arange(1, self.cfg.sizes.max_size + 1, dtype=float)
        s = self.cfg.survival(sizes)
        deposits = {}
        for k, (name, site) in enumerate(self.sites.items()):
            a_cells = arr.expected[k].sum(axis=1)               # (N,) cells per size class
            seeded = (s[:, None] * arr.expected[k]).sum(axis=0)  # (K,)
            count_expected_arrests(self.ledger, name, a_cells, seeded, s, sizes)
            if seeded.sum() > 0:
                w = site.nodes.weights
                profile = site.vascular / (w @ site.vascular)
                deposits[name] = np.outer(profile, seeded)
        return deposits
