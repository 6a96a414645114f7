"""The blood: a 0-D compartment of circulating clusters, stochastic or mean-field.

A circulating cluster of n cells meets competing hazards (1/day):
  arrest in organ o   λₒ(n)  first-pass organ (lung): a_L(n)/τ;
                             systemic organ o: (1 − a_L(n))·qₒ·aₒ(n)/τ
  arrest elsewhere    (1 − a_L(n))·(1 − Σqₒ)·a_other(n)/τ   (unmodeled tissue: counted as cleared)
  clearance           ln 2 / t½(n)
  kill                k (anti-circulating-cell drug)
  dissociation        δ for n ≥ 2: the cluster falls apart into n single cells
with τ the circulation time, qₒ the organ's fraction of cardiac output and aₒ(n) the
per-pass arrest probability. Both engines use the same hazards; the stochastic one
simulates every cluster exactly in continuous time (Gillespie), the mean-field one
integrates the expected cells per size class exactly (matrix exponential over a step).
Both have ``step(t, dt, shed, ledger) -> Arrivals``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import expm

from pdemet.flux.config import ClusterFluxConfig
from pdemet.flux.shedding import Shed


@dataclass
class Arrivals:
    """Clusters that arrested in a step: events (stochastic) or expected cells (mean field)."""

    times: np.ndarray | None = None     # (M,) days
    site: np.ndarray | None = None      # (M,) index into the sites
    comps: np.ndarray | None = None     # (M, K) clone counts
    expected: np.ndarray | None = None  # (n_sites, N, K) expected arrested cells per size class and clone
    fates: object | None = None         # per_cluster draws: each cluster's uniforms (flux/per_cluster.Fates)


class Hazards:
    """Hazard table: rows are sizes 1..N, columns are the outcomes (site organs, other, clearance, kill, dissociation)."""

    def __init__(self, cfg: ClusterFluxConfig, sites: list[str]):
        c = cfg.circulation
        n = np.arange(1, cfg.sizes.max_size + 1, dtype=float)
        self.sites = sites
        first = [s for s in sites if cfg.routing[s].first_pass]
        a_first = cfg.routing[first[0]].arrest(n) if first else np.zeros_like(n)
        cols = []
        for s in sites:
            r = cfg.routing[s]
            cols.append(a_first / c.circulation_time if r.first_pass
                        else (1 - a_first) * r.blood_flow_fraction * r.arrest(n) / c.circulation_time)
        q_other = 1.0 - sum(cfg.routing[s].blood_flow_fraction for s in sites)
        a_other = 1.0 - (1.0 - c.other_arrest_probability) ** n
        cols.append((1 - a_first) * q_other * a_other / c.circulation_time)
        cols.append(c.clearance_rate(n))
        cols.append(np.full_like(n, c.kill_rate))
        cols.append(np.where(n >= 2, c.dissociation_rate, 0.0))
        self.table = np.stack(cols, axis=1)           # (N, n_sites + 4)
        self.total = self.table.sum(axis=1)
        self.OTHER, self.CLEAR, self.KILL, self.DISS = len(sites), len(sites) + 1, len(sites) + 2, len(sites) + 3

    def count_losses(self, ledger: dict, outcome: np.ndarray, sizes: np.ndarray) -> None:
        """Count the clusters (their outcomes and sizes) that left the blood without arresting in a site:
        cleared (in unmodeled organs or by clearance) or killed."""
        for key, col in (("cleared_in_circulation", self.OTHER), ("cleared_in_circulation", self.CLEAR),
                         ("killed_in_circulation", self.KILL)):
            sel = outcome == col
            ledger["cells"][key] += float(sizes[sel].sum())
            ledger["clusters"][key] += float(sel.sum())


def dissociate(comps: np.ndarray, ledger: dict) -> tuple[np.ndarray, np.ndarray]:
    """The single cells that clusters (clone counts, a row each) break up into, in clone order within each
    cluster, and each one's cluster (row); counted in the ledger."""
    n, K = comps.shape
    counts = comps.ravel()
    clone = np.repeat(np.tile(np.arange(K), n), counts)
    parent = np.repeat(np.repeat(np.arange(n), K), counts)
    singles = np.zeros((len(clone), K), dtype=np.int64)
    singles[np.arange(len(clone)), clone] = 1
    ledger["clusters"]["dissociated"] += float(n)
    ledger["clusters"]["formed_by_dissociation"] += float(len(clone))
    return singles, parent


class StochasticCirculation:
    """Every circulating cluster, simulated exactly in continuous time. Runs on one rank."""

    def __init__(self, cfg: ClusterFluxConfig, sites: list[str], n_clones: int, rng):
        self.h = Hazards(cfg, sites)
        self.K, self.rng = n_clones, rng
        self.comps = np.zeros((0, n_clones), dtype=np.int64)  # circulating clusters: clone counts

    def step(self, t: float, dt: float, shed: Shed, ledger: dict) -> Arrivals:
        """Advance [t, t+dt]; the shed clusters enter at their times. Returns the clusters that arrested."""
        h, rng = self.h, self.rng
        comps = np.concatenate([self.comps, shed.comps])
        entry = np.concatenate([np.full(len(self.comps), t), shed.times])
        arrests_t, arrests_site, arrests_comp, survivors = [], [], [], []
        t_end = t + dt
        while len(comps):
            sizes = comps.sum(axis=1)
            when = entry + rng.exponential(1.0, len(sizes)) / h.total[sizes - 1]
            fired = when < t_end
            survivors.append(comps[~fired])
            fc, fw, fs = comps[fired], when[fired], sizes[fired]
            # Which outcome fired: inverse transform on the cumulative hazard fractions.
            cum = np.cumsum(h.table[fs - 1], axis=1) / h.total[fs - 1][:, None]
            outcome = np.minimum((rng.random(len(fs))[:, None] > cum).sum(axis=1), cum.shape[1] - 1)
            h.count_losses(ledger, outcome, fs)
            arrested = outcome < len(h.sites)
            arrests_t.append(fw[arrested])
            arrests_site.append(outcome[arrested])
            arrests_comp.append(fc[arrested])
            # Dissociation: each cell goes on as a single from the moment its cluster broke up.
            dis = outcome == h.DISS
            comps, parent = dissociate(fc[dis], ledger)
            entry = fw[dis][parent]
        self.comps = np.concatenate(survivors) if survivors else np.zeros((0, self.K), dtype=np.int64)
        ledger["cells"]["circulating"] = float(self.comps.sum())
        ledger["clusters"]["circulating"] = float(len(self.comps))
        if not arrests_t:
            return Arrivals(np.zeros(0), np.zeros(0, dtype=int), np.zeros((0, self.K), dtype=np.int64))
        return Arrivals(np.concatenate(arrests_t), np.concatenate(arrests_site).astype(int),
                        np.concatenate(arrests_comp))

    def state(self) -> dict:
        return {"comps": self.comps.copy()}

    def set_state(self, state) -> None:
        self.comps = np.asarray(state["comps"], dtype=np.int64).reshape(-1, self.K)


class MeanFieldCirculation:
    """Expected cells per size class and clone; outflows integrated exactly over each step."""

    def __init__(self, cfg: ClusterFluxConfig, sites: list[str], n_clones: int, rng=None):
        self.h = Hazards(cfg, sites)
        self.cfg = cfg
        self.N = cfg.sizes.max_size
        self.K = n_clones
        self.n_out = self.h.table.shape[1]
        self.Y = np.zeros((self.N, n_clones))  # expected circulating cells (size class, clone)
        self._cache = {}

    def _propagator(self, dt):
        """exp(G dt) for the state [Y (N), outflow cells per (outcome, size) (n_out·N), inflow switch (1)]."""
        if dt not in self._cache:
            N, n_out = self.N, self.n_out
            size = N + n_out * N + 1
            G = np.zeros((size, size))
            idx = np.arange(N)
            G[idx, idx] = -self.h.total
            for k in range(n_out):
                G[N + k * N + idx, idx] = self.h.table[:, k]
            # dissociated cells of every size re-enter as singles
            G[0, 1:N] += self.h.table[1:, self.h.DISS]
            G[:N, -1] = self.cfg.sizes.cell_pmf() / dt
            if len(self._cache) > 16:
                self._cache.clear()
            self._cache[dt] = expm(G * dt)
        return self._cache[dt]

    def step(self, t: float, dt: float, shed: Shed, ledger: dict) -> Arrivals:
        """shed.cells: (K,) expected cells shed over the step. Returns the expected arrested cells."""
        shed_cells = shed.cells
        E = self._propagator(dt)
        N, n_out = self.N, self.n_out
        X0 = np.zeros((E.shape[0], self.K))
        X0[:N] = self.Y
        X0[-1] = shed_cells
        X = E @ X0
        self.Y = X[:N]
        out = X[N:N + n_out * N].reshape(n_out, N, self.K)
        sizes = np.arange(1, N + 1, dtype=float)[:, None]
        h = self.h
        for key, cols in (("cleared_in_circulation", (h.OTHER, h.CLEAR)), ("killed_in_circulation", (h.KILL,))):
            for col in cols:
                ledger["cells"][key] += float(out[col].sum())
                ledger["clusters"][key] += float((out[col] / sizes).sum())
        dis = out[h.DISS]
        ledger["clusters"]["dissociated"] += float((dis / sizes).sum())
        ledger["clusters"]["formed_by_dissociation"] += float(dis.sum())
        ledger["cells"]["circulating"] = float(self.Y.sum())
        ledger["clusters"]["circulating"] = float((self.Y / sizes).sum())
        return Arrivals(expected=out[: len(h.sites)])

    def state(self) -> dict:
        return {"Y": self.Y.copy()}

    def set_state(self, state) -> None:
        self.Y = np.asarray(state["Y"], dtype=float).reshape(self.N, self.K)
