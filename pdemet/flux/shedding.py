"""Shedding: each primary node j loses the fraction 1 − exp(−σⱼ dt) of its cells per step, σⱼ = σ₀·w(xⱼ)
(the shedding weight law), as clusters.

Stochastic: exactly those cells become clusters — the count is Poisson, sizes follow P(n), the node is
drawn ∝ expected shed cells, the clone make-up is Multinomial(n, local clone fractions). A cluster's cells of
each clone are the nearest ones (:func:`take_clusters`): from its node while the node holds them, else
gathered from the nodes around it. Mean field: the expected cells leave, as a smooth flux.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Shed:
    """What left the primary in one step."""

    removal: np.ndarray              # (N, K) densities to subtract at the primary's nodes
    comps: np.ndarray | None = None  # (M, K) clone counts of the shed clusters (stochastic)
    times: np.ndarray | None = None  # (M,) days: when each cluster entered the blood (stochastic)
    cells: np.ndarray | None = None  # (K,) expected shed cells (mean field)
    fates: object | None = None      # per_cluster draws: each cluster's uniforms (flux/per_cluster.Fates)

    @classmethod
    def clusters(cls, comps, times) -> "Shed":
        """Clusters entering the blood (no field to take them from): for tests and injection experiments."""
        comps = np.asarray(comps, dtype=np.int64)
        return cls(np.zeros((0, comps.shape[1])), comps, np.asarray(times, dtype=float))


def shed_fraction(cfg, u: np.ndarray, dt: float, capacity: float, vascular: np.ndarray) -> np.ndarray:
    """1 − exp(−σ₀ w dt) at every node, u (K, N)."""
    w = cfg.shedding_weight(u.sum(axis=0), capacity, vascular)
    return -np.expm1(-cfg.shedding_rate * w * dt)


class StochasticShedding:
    def __init__(self, cfg, capacity: float, rng, ledger: dict):
        self.cfg, self.capacity, self.rng, self.ledger = cfg, capacity, rng, ledger
        self.pmf = cfg.sizes.pmf()

    def shed(self, t: float, dt: float, u: np.ndarray, m: np.ndarray, vascular: np.ndarray, tree) -> Shed:
        """u (K, N) densities at the primary's nodes, m their ∫φⱼ (mm³), vascular their v, tree their cKDTree."""
        rng, K = self.rng, u.shape[0]
        p = shed_fraction(self.cfg, u, dt, self.capacity, vascular)
        cells = m * u                                    # (K, N) cells at each node
        expected = p * cells.sum(axis=0)
        mean_size = float(self.pmf @ np.arange(1, len(self.pmf) + 1))
        n_clusters = rng.poisson(expected.sum() / mean_size) if expected.sum() > 0 else 0
        sizes = rng.choice(np.arange(1, len(self.pmf) + 1), size=n_clusters, p=self.pmf)
        where = rng.choice(len(m), size=n_clusters, p=expected / expected.sum()) if n_clusters else []
        times = t + dt * rng.random(n_clusters)
        where = np.asarray(where, dtype=np.int64)
        frac = (u[:, where] / u[:, where].sum(axis=0)).T if n_clusters else np.zeros((0, K))
        comps = rng.multinomial(sizes, frac).astype(np.int64) if n_clusters else np.zeros((0, K), np.int64)
        return take_clusters(comps, times, where, cells, m, self.ledger, tree)[0]


def take_clusters(comps: np.ndarray, times: np.ndarray, where: np.ndarray, cells: np.ndarray, m: np.ndarray,
                  ledger: dict, tree) -> tuple[Shed, np.ndarray]:
    """The clusters (clone counts ``comps`` leaving node ``where`` at ``times``) taken from the primary's
    ``cells`` (K, N), empty ones dropped, counted in the ledger: the Shed and the mask of the clusters kept.

    Each cluster keeps its drawn size: its cells of a clone are the nearest cells of that clone, from its node
    while the node holds them, else gathered outward over the nodes nearest to it (``tree``: the nodes'
    cKDTree). Taking them from the one node would make the sizes depend on the mesh: a node of a finer
    primary holds fewer cells, and at a sparse rim it would cut a 38-cell cluster to 12 (docs/convergence.md).
    Only what the whole primary lacks is cut, in cluster order (whole cells)."""
    _cap_to_primary(comps, cells)
    keep = comps.sum(axis=1) > 0
    comps, times, where = comps[keep], times[keep], where[keep]
    demand = np.zeros_like(cells.T)
    np.add.at(demand, where, comps)
    left = cells - demand.T                        # (K, N) after each node gives its own clusters' cells
    short = np.argwhere(left < 0)                  # (clone, node) pairs whose node holds too few
    if len(short):
        left[short[:, 0], short[:, 1]] = 0.0
        for k, j in short:
            _gather(left[k], tree, j, demand[j, k] - cells[k, j])
    ledger["cells"]["shed"] += float(comps.sum())
    ledger["clusters"]["shed"] += float(len(comps))
    return Shed(((left - cells) / m).T, comps, times), keep


def _cap_to_primary(comps: np.ndarray, cells: np.ndarray) -> None:
    """Where the clusters ask for more cells of a clone than the whole primary holds, cut them in order."""
    avail = np.floor(cells.sum(axis=1) + 1e-9)
    for k in np.flatnonzero(comps.sum(axis=0) > avail):
        run = np.cumsum(comps[:, k])
        comps[:, k] = np.clip(avail[k] - (run - comps[:, k]), 0, comps[:, k])


def _gather(cells: np.ndarray, tree, node: int, need: float) -> None:
    """Remove ``need`` cells from ``cells`` (N,), the nearest to ``node`` first (in place)."""
    n = min(16, len(cells))
    while True:
        _, near = tree.query(tree.data[node], k=n)
        near = np.atleast_1d(near)
        have = np.cumsum(cells[near])
        if have[-1] >= need or n == len(cells):
            break
        n = min(4 * n, len(cells))
    last = min(int(np.searchsorted(have, need)), len(near) - 1)  # the node that gives the last of them
    cells[near[:last]] = 0.0
    cells[near[last]] = max(have[last] - need, 0.0)


class MeanFieldShedding:
    def __init__(self, cfg, capacity: float, ledger: dict):
        self.cfg, self.capacity, self.ledger = cfg, capacity, ledger

    def shed(self, t: float, dt: float, u: np.ndarray, m: np.ndarray, vascular: np.ndarray, tree=None) -> Shed:
        removed = u * shed_fraction(self.cfg, u, dt, self.capacity, vascular)  # (K, N) densities
        shed = removed @ m                               # (K,) cells
        self.ledger["cells"]["shed"] += float(shed.sum())
        sizes = np.arange(1, self.cfg.sizes.max_size + 1, dtype=float)
        self.ledger["clusters"]["shed"] += float(shed.sum() * (self.cfg.sizes.cell_pmf() / sizes).sum())
        return Shed(-removed.T, cells=shed)
