"""Arrest and colonization: where an arrested cluster lands, whether it survives, where its cells go.

An arrested cluster lands at a point drawn ∝ the organ's vascular density v(x) = 1 + c·exp(−d(x)/ℓ)
(d the distance to the organ surface) over the organ's base mesh: a base cell by its volume times v at
its centroid, then a uniform point in it. The draw uses four random numbers per cluster on any mesh, so
adapting a site's mesh never changes where later clusters land. The cluster survives with probability
s(n). Its n cells are then placed one by one (Cheung et al. 2016: foci founded by several cells become
multicolored): n founder positions uniform in the ball the cells fill at the carrying capacity κ,
radius (3n/4πκ)^(1/3), each founder's cell put into the free space nearest to it (nodes filled up to κ),
so that each founder's progeny grows from its own spot. Cells are exact per clone.

Mean field: the expected surviving cells, deposited ∝ v(x) over the organ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from pdemet.flux.circulation import Arrivals
from pdemet.flux.ledger import count_arrests, count_expected_arrests
from pdemet.meshes.geometry import boundary_nodes


class Vasculature:
    """v(x) = 1 + c·exp(−d(x)/ℓ), d the distance (mm) from x to the organ's surface (its base mesh's)."""

    def __init__(self, routing, base_points: np.ndarray, base_tets: np.ndarray):
        self.contrast = routing.vascular_contrast if routing is not None else 0.0
        self.length = routing.vascular_length if routing is not None else 1.0
        self.surface = cKDTree(base_points[boundary_nodes(base_tets)]) if self.contrast > 0 else None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.surface is None:
            return np.ones(len(x))
        return 1.0 + self.contrast * np.exp(-self.surface.query(x)[0] / self.length)


class ArrestPoints:
    """Arrest points ∝ v(x): a base cell by volume × v(centroid), then a uniform point inside it."""

    def __init__(self, vasculature: Vasculature, base_points: np.ndarray, base_tets: np.ndarray):
        p = base_points[base_tets]
        d = p[:, 1:] - p[:, :1]
        vol = np.abs(np.einsum("ij,ij->i", d[:, 0], np.cross(d[:, 1], d[:, 2]))) / 6.0
        w = vol * vasculature(p.mean(axis=1))
        self.corners, self.p = p, w / w.sum()

    def draw(self, rng, n: int) -> np.ndarray:
        """(n, 3) points; 4 random numbers each (one for the cell, three for the point in it)."""
        cell = rng.choice(len(self.p), size=n, p=self.p)
        return self._inside(cell, *rng.random((3, n)))

    def at(self, u: np.ndarray) -> np.ndarray:
        """(n, 3) points from given uniforms u (n, 4): the cell by inverse transform, then the point in it."""
        cdf = np.cumsum(self.p)
        cell = np.minimum(np.searchsorted(cdf / cdf[-1], u[:, 0], side="right"), len(self.p) - 1)
        return self._inside(cell, *u[:, 1:].T)

    def _inside(self, cell, s, t, u) -> np.ndarray:
        # a uniform point in a tetrahedron from three uniform numbers (Rocchini & Cignoni 2000)
        fold = s + t > 1.0
        s, t = np.where(fold, 1.0 - s, s), np.where(fold, 1.0 - t, t)
        a = t + u > 1.0
        t, u = np.where(a, 1.0 - u, t), np.where(a, 1.0 - s - t, u)
        b = ~a & (s + t + u > 1.0)
        s, u = np.where(b, 1.0 - t - u, s), np.where(b, s + t + u - 1.0, u)
        c = self.corners[cell]
        return c[:, 0] + s[:, None] * (c[:, 1] - c[:, 0]) + t[:, None] * (c[:, 2] - c[:, 0]) \
            + u[:, None] * (c[:, 3] - c[:, 0])


@dataclass
class Founders:
    """A surviving cluster about to seed: its arrest point, clone counts, and one position per cell."""

    site: str
    center: np.ndarray     # (3,) mm
    comps: np.ndarray      # (K,) cells per clone
    positions: np.ndarray  # (n, 3) mm, one per cell
    clone: np.ndarray      # (n,) the clone of each cell
    event: int = -1        # its row in the event log

    @property
    def radius(self) -> float:
        return float(np.max(np.linalg.norm(self.positions - self.center, axis=1), initial=0.0))


def founder_radius(n: int, capacity: float) -> float:
    """Radius (mm) of the ball n cells fill at the carrying capacity (cells/mm³)."""
    return (3.0 * n / (4.0 * math.pi * capacity)) ** (1.0 / 3.0)


class StochasticSeeding:
    """Survival draws, arrest points and founder positions, the event log; then the founders' cells."""

    def __init__(self, cfg, points: dict, capacity: dict, n_clones: int, rng, ledger: dict, events):
        self.cfg, self.points, self.capacity, self.names, self.K = cfg, points, capacity, list(points), n_clones
        self.rng, self.ledger, self.events = rng, ledger, events

    def arrive(self, arr: Arrivals) -> list[Founders]:
        """Log every arrested cluster; the ones that survive, with their founder cells' positions. The
        uniforms come from the clusters' own rows (``arr.fates``, per_cluster draws) or from the generator."""
        rng, fates = self.rng, arr.fates
        sizes = arr.comps.sum(axis=1)
        u = fates.survival if fates is not None else rng.random(len(sizes)) if len(sizes) else np.zeros(0)
        survived = u < self.cfg.survival(sizes)
        order = np.argsort(arr.times, kind="stable")
        at, site_idx, comps, sizes, survived = (arr.times[order], arr.site[order], arr.comps[order], sizes[order],
                                                survived[order])
        fates = fates[order] if fates is not None else None
        where = np.zeros((len(at), 3))
        for k, name in enumerate(self.names):  # all clusters of a site at once
            sel = np.flatnonzero(site_idx == k)
            if sel.size:
                points = self.points[name]
                where[sel] = points.draw(rng, sel.size) if fates is None else points.at(fates.arrest[sel])
        rows = self.events.append(at, site_idx, where, sizes, survived, comps)
        count_arrests(self.ledger, self.names, site_idx, sizes, survived)
        founders = []
        for k in np.flatnonzero(survived):
            name = self.names[site_idx[k]]
            n = int(sizes[k])
            v = rng.random((3, n)) if fates is None else fates.positions(k, n).T
            r = founder_radius(n, self.capacity[name]) * np.cbrt(v[0])
            z, phi = 2.0 * v[1] - 1.0, 2.0 * math.pi * v[2]
            rho = np.sqrt(1.0 - z * z)
            pos = where[k] + r[:, None] * np.stack([rho * np.cos(phi), rho * np.sin(phi), z], axis=1)
            founders.append(Founders(name, where[k], comps[k].copy(), pos, np.repeat(np.arange(self.K), comps[k]),
                                     int(rows[k])))
        return founders

    @staticmethod
    def deposit(founders: list[Founders], nodes, u: np.ndarray, capacity: float) -> np.ndarray:
        """(N, K) densities to add: each founder's cell goes into the free space nearest to it (≤ κ)."""
        free = np.maximum(capacity - u.sum(axis=0), 0.0) * nodes.weights  # cells each node can still take
        delta = np.zeros((len(nodes.weights), u.shape[0]))
        for f in founders:
            for y, clone in zip(f.positions, f.clone):
                radius = 2.0 * founder_radius(1, capacity)
                while True:
                    idx = np.asarray(nodes.tree.query_ball_point(y, radius), dtype=np.int64)
                    if idx.size and free[idx].sum() >= 1.0:
                        break
                    radius *= 2.0
                idx = idx[np.argsort(np.linalg.norm(nodes.points[idx] - y, axis=1), kind="stable")]
                take = np.minimum(free[idx], np.maximum(1.0 - (np.cumsum(free[idx]) - free[idx]), 0.0))
                free[idx] -= take
                delta[idx, clone] += take / nodes.weights[idx]
        return delta


class MeanFieldSeeding:
    """The expected surviving cells, deposited ∝ the vascular density."""

    def __init__(self, cfg, sites: list[str], ledger: dict):
        self.cfg, self.sites, self.ledger = cfg, sites, ledger

    def arrive(self, arr: Arrivals) -> dict[str, np.ndarray]:
        """Expected seeded cells per clone (K,) of each site that receives any."""
        sizes = np.arange(1, self.cfg.sizes.max_size + 1, dtype=float)
        s = self.cfg.survival(sizes)
        seeded_of = {}
        for k, name in enumerate(self.sites):
            a_cells = arr.expected[k].sum(axis=1)               # (N,) cells per size class
            seeded = (s[:, None] * arr.expected[k]).sum(axis=0)  # (K,)
            count_expected_arrests(self.ledger, name, a_cells, seeded, s, sizes)
            if seeded.sum() > 0:
                seeded_of[name] = seeded
        return seeded_of

    @staticmethod
    def deposit(seeded: np.ndarray, nodes, vascular: np.ndarray) -> np.ndarray:
        profile = vascular / (nodes.weights @ vascular)
        return np.outer(profile, seeded)
