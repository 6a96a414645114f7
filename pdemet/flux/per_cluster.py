"""Random numbers owned by each cluster, not by the time step (``cluster_flux.draws = "per_cluster"``).

With ``draws = "per_step"`` every coupling step draws from one generator: a step rejected by the error
control, or a finer mesh that changes the step sizes, redraws every later event, so the seeding of a finer
run is another mouse. Here (the default)

- the shedding is a Poisson process in its own clock Λ(t) = ∫ (expected clusters per day) dt: cluster k
  leaves when Λ crosses E₁ + … + E_k, the Eᵢ unit exponentials of one stream (the time-change
  construction of an inhomogeneous Poisson process; Λ is integrated step by step, linear within a step);
- its size, node and clones, its time in the blood and how it ends there (its hazards are constant, so
  its fate is drawn once, exactly), its survival and arrest point are row k of a second stream (a fixed
  number of uniforms per cluster, used by inverse transforms);
- the founder positions of a cluster of n ≥ 2 cells and the fates of the n single cells it may dissociate
  into come from its own counter-based generator (Philox keyed by the run and k; Salmon et al. 2011),
  made only for the few clusters that survive or dissociate;
- injected clusters have a stream of their own (row j: the j-th injected cluster).

So the k-th cluster is the same cluster whatever the steps. A finer site (which leaves the primary and the
blood unchanged) seeds the same clusters at the same points, up to Λ's time discretization; a finer
primary changes Λ by its own discretization error and the clones of a cluster (its node), not the sizes,
fates or arrest points. The statistics are those of the per-step draws (tests/test_flux.py checks both).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pdemet.flux.circulation import Arrivals, Hazards, dissociate
from pdemet.flux.shedding import Shed, shed_fraction, take_clusters

COLS = 10   # uniforms of a cluster's fate: life, outcome, survival, arrest point (4), position of a single (3)
SHED, INJECTED = 0, 1  # the streams a cluster comes from (part of its key)


def cluster_key(stream: int, k: np.ndarray) -> np.ndarray:
    """The identity of the k-th cluster of a stream, as the second word of its Philox key."""
    return (np.uint64(stream) << np.uint64(56)) | np.asarray(k, dtype=np.uint64)


@dataclass
class Fates:
    """Uniforms for what happens to clusters after they enter the blood, one row per cluster (columns: see
    COLS), with each cluster's key (−1: a single cell formed by dissociation, which needs no generator)."""

    u: np.ndarray    # (M, COLS)
    key: np.ndarray  # (M,) uint64 Philox key word; 2**64 − 1 for the singles of a dissociation
    run: int         # the run's Philox key word (from simulation.seed)

    NONE = np.uint64(2 ** 64 - 1)

    @classmethod
    def empty(cls, run: int) -> "Fates":
        return cls(np.zeros((0, COLS)), np.zeros(0, dtype=np.uint64), run)

    def __len__(self) -> int:
        return len(self.u)

    def __getitem__(self, rows) -> "Fates":
        return Fates(self.u[rows], self.key[rows], self.run)

    def concat(self, other: "Fates") -> "Fates":
        return Fates(np.concatenate([self.u, other.u]), np.concatenate([self.key, other.key]), self.run)

    life = property(lambda self: self.u[:, 0])
    outcome = property(lambda self: self.u[:, 1])
    survival = property(lambda self: self.u[:, 2])
    arrest = property(lambda self: self.u[:, 3:7])

    def _own(self, row: int, n: int) -> np.ndarray:
        """The 13·n uniforms of an n-cell cluster's own generator: 3n founder positions, 10n for its singles."""
        key = np.array([self.run, self.key[row]], dtype=np.uint64)
        return np.random.Generator(np.random.Philox(key=key)).random(13 * n)

    def positions(self, row: int, n: int) -> np.ndarray:
        """(n, 3) uniforms for the founder positions of an n-cell cluster."""
        return self.u[row, 7:10].reshape(1, 3) if n == 1 else self._own(row, n)[:3 * n].reshape(n, 3)

    def children(self, comps: np.ndarray) -> "Fates":
        """The fates of the single cells the clusters (rows, clone counts ``comps``, ≥ 2 cells each)
        dissociate into, in clone order within each cluster (the order of circulation.dissociate)."""
        u = [self._own(r, int(n))[3 * n:].reshape(n, COLS) for r, n in enumerate(comps.sum(axis=1))]
        u = np.concatenate(u) if u else np.zeros((0, COLS))
        return Fates(u, np.full(len(u), self.NONE, dtype=np.uint64), self.run)


class ClusterStreams:
    """The generators of the shedding clock, the shed and the injected clusters, and the clock's state."""

    def __init__(self, seed: int, max_size: int):
        self.m = max_size
        clock, shed, injected, run = np.random.SeedSequence(seed).spawn(4)
        self.clock, self.shed, self.injected = (np.random.default_rng(s) for s in (clock, shed, injected))
        self.run = int(run.generate_state(1, np.uint64)[0])  # first word of every cluster's Philox key
        self.lam = 0.0                 # Λ so far (expected clusters)
        self.upcoming = np.zeros(0)    # the next shedding thresholds in Λ, in order (drawn ahead)
        self.last = 0.0                # the last threshold drawn
        self.drawn = [0, 0]            # rows drawn from the shed and the injected streams

    @property
    def block(self) -> int:
        """Uniforms per cluster row: size, node, the clone of each cell (max_size), then its fate (COLS)."""
        return 2 + self.m + COLS

    def rows(self, stream: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The next n rows of a stream and the keys of their clusters."""
        gen = self.shed if stream == SHED else self.injected
        keys = cluster_key(stream, self.drawn[stream] + np.arange(n))
        self.drawn[stream] += n
        return gen.random((n, self.block)), keys

    def fates(self, rows: np.ndarray, keys: np.ndarray) -> Fates:
        return Fates(rows[:, 2 + self.m:], keys, self.run)

    def thresholds(self, end: float) -> np.ndarray:
        """The thresholds in (Λ, end], consumed; Λ becomes end."""
        while self.last <= end:
            gaps = -np.log1p(-self.clock.random(max(64, 2 * len(self.upcoming))))
            drawn = np.cumsum(np.concatenate([[self.last], gaps]))[1:]  # one left fold: chunking never matters
            self.upcoming, self.last = np.concatenate([self.upcoming, drawn]), float(drawn[-1])
        n = int(np.searchsorted(self.upcoming, end, side="right"))
        fired, self.upcoming, self.lam = self.upcoming[:n], self.upcoming[n:], end
        return fired

    def state(self) -> dict:
        return {"clock": self.clock.bit_generator.state, "shed": self.shed.bit_generator.state,
                "injected": self.injected.bit_generator.state, "lam": self.lam, "upcoming": self.upcoming,
                "last": self.last, "drawn": list(self.drawn)}

    def set_state(self, s: dict) -> None:
        for key in ("clock", "shed", "injected"):
            getattr(self, key).bit_generator.state = s[key]
        self.lam, self.last = float(s["lam"]), float(s["last"])
        self.upcoming = np.asarray(s["upcoming"], dtype=float).reshape(-1)
        self.drawn = [int(v) for v in s["drawn"]]


def clones_of_cells(u_cells: np.ndarray, sizes: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """(M, K) clone counts: cell i of cluster r (i < sizes[r]) is the clone whose cumulative fraction first
    exceeds u_cells[r, i] (a Multinomial(size, fractions) draw, one uniform per cell)."""
    K = fractions.shape[1]
    cdf = np.cumsum(fractions, axis=1)
    cdf /= cdf[:, -1:]
    clone = np.minimum((u_cells[:, :, None] >= cdf[:, None, :]).sum(axis=2), K - 1)
    real = np.arange(u_cells.shape[1])[None, :] < sizes[:, None]
    return np.stack([((clone == k) & real).sum(axis=1) for k in range(K)], axis=1).astype(np.int64)


class PerClusterShedding:
    """Shedding as a Poisson process in Λ; cluster k's size, node and clones from its row."""

    def __init__(self, cfg, capacity: float, streams: ClusterStreams, ledger: dict):
        self.cfg, self.capacity, self.streams, self.ledger = cfg, capacity, streams, ledger
        self.cdf_size = np.cumsum(cfg.sizes.pmf())
        self.mean_size = cfg.sizes.mean()

    def shed(self, t: float, dt: float, u: np.ndarray, m: np.ndarray, vascular: np.ndarray, tree) -> Shed:
        """u (K, N) densities at the primary's nodes, m their ∫φⱼ (mm³), vascular their v, tree their cKDTree."""
        s, M = self.streams, self.cfg.sizes.max_size
        cells = m * u
        expected = shed_fraction(self.cfg, u, dt, self.capacity, vascular) * cells.sum(axis=0)
        rate = expected.sum() / self.mean_size          # expected clusters over the step
        lam0 = s.lam
        fired = s.thresholds(lam0 + rate) if rate > 0 else np.zeros(0)
        rows, keys = s.rows(SHED, len(fired))
        times = t + dt * (fired - lam0) / rate if len(fired) else np.zeros(0)
        sizes = 1 + np.minimum(np.searchsorted(self.cdf_size / self.cdf_size[-1], rows[:, 0], side="right"), M - 1)
        where = np.minimum(np.searchsorted(np.cumsum(expected) / max(expected.sum(), 1e-300), rows[:, 1],
                                           side="right"), len(m) - 1).astype(np.int64)
        local = u[:, where].T
        local = np.where(local.sum(axis=1, keepdims=True) > 0, local, 1.0)
        comps = clones_of_cells(rows[:, 2:2 + M], sizes, local)
        shed, keep = take_clusters(comps, times, where, cells, m, self.ledger, tree)
        shed.fates = s.fates(rows[keep], keys[keep])
        return shed

    def inject(self, injection, n_clones: int) -> tuple[np.ndarray, Fates]:
        """The clone counts and fates of an injection's clusters (row j: the j-th injected cluster)."""
        M, n = self.cfg.sizes.max_size, injection.clusters
        rows, keys = self.streams.rows(INJECTED, n)
        p = np.asarray(injection.fractions, float) if injection.fractions else np.full(n_clones, 1.0 / n_clones)
        comps = clones_of_cells(rows[:, 2:2 + M], np.full(n, injection.size), np.tile(p, (n, 1)))
        return comps, self.streams.fates(rows, keys)


def _rows(table: list[Fates], rows: np.ndarray) -> Fates:
    """Rows of the fates stacked in order (without stacking them)."""
    starts = np.cumsum([0] + [len(t) for t in table])
    out = Fates(np.empty((len(rows), COLS)), np.empty(len(rows), dtype=np.uint64), table[0].run)
    for k, part in enumerate(table):
        sel = (rows >= starts[k]) & (rows < starts[k + 1])
        if sel.any():
            out.u[sel], out.key[sel] = part.u[rows[sel] - starts[k]], part.key[rows[sel] - starts[k]]
    return out


class PerClusterCirculation:
    """Every circulating cluster with its fate drawn once, when it enters: the time it leaves the blood
    (exponential with the total hazard of its size) and how (∝ the hazards). Runs on one rank."""

    def __init__(self, cfg, sites: list[str], n_clones: int, run: int):
        self.h, self.K, self.run = Hazards(cfg, sites), n_clones, run
        self.comps = np.zeros((0, n_clones), dtype=np.int64)
        self.ends, self.outcome, self.fates = np.zeros(0), np.zeros(0, dtype=np.int64), Fates.empty(run)

    def _fate(self, entry: np.ndarray, comps: np.ndarray, fates: Fates) -> tuple[np.ndarray, np.ndarray]:
        h, sizes = self.h, comps.sum(axis=1)
        with np.errstate(divide="ignore"):
            ends = entry - np.log1p(-fates.life) / h.total[sizes - 1]
        cum = np.cumsum(h.table[sizes - 1], axis=1) / h.total[sizes - 1][:, None]
        outcome = np.minimum((fates.outcome[:, None] >= cum).sum(axis=1), cum.shape[1] - 1)
        return ends, outcome

    def step(self, t: float, dt: float, shed: Shed, ledger: dict) -> Arrivals:
        """Advance [t, t+dt]; the shed clusters enter at their times. Returns the clusters that arrested."""
        h, t_end = self.h, t + dt
        ends, outcome = self._fate(shed.times, shed.comps, shed.fates)
        table = [self.fates, shed.fates]
        comps = np.concatenate([self.comps, shed.comps])
        ends, outcome = np.concatenate([self.ends, ends]), np.concatenate([self.outcome, outcome])
        row = np.arange(len(comps))          # each pooled cluster's row in the table
        arrived, n_rows = [], len(comps)
        while (fired := ends < t_end).any():
            fc, fw, fo, fr = comps[fired], ends[fired], outcome[fired], row[fired]
            h.count_losses(ledger, fo, fc.sum(axis=1))
            arrested = fo < len(h.sites)
            dis = fo == h.DISS
            rows = _rows(table, fr[arrested | dis])
            arrived.append((fw[arrested], fo[arrested], fc[arrested], rows[arrested[arrested | dis]]))
            # Dissociation: each cell goes on as a single from the moment its cluster broke up, with its own fate.
            singles, parent = dissociate(fc[dis], ledger)
            child_fates = rows[dis[arrested | dis]].children(fc[dis])
            child_ends, child_outcome = self._fate(fw[dis][parent], singles, child_fates)
            table.append(child_fates)
            comps = np.concatenate([comps[~fired], singles])
            ends, outcome = np.concatenate([ends[~fired], child_ends]), np.concatenate([outcome[~fired], child_outcome])
            row = np.concatenate([row[~fired], n_rows + np.arange(len(singles))])
            n_rows += len(singles)
        self.comps, self.ends, self.outcome = comps, ends, outcome
        self.fates = _rows(table, row)  # only the clusters still circulating
        ledger["cells"]["circulating"] = float(comps.sum())
        ledger["clusters"]["circulating"] = float(len(comps))
        if not arrived:
            return Arrivals(np.zeros(0), np.zeros(0, dtype=int), np.zeros((0, self.K), dtype=np.int64),
                            fates=Fates.empty(self.run))
        fates = arrived[0][3]
        for a in arrived[1:]:
            fates = fates.concat(a[3])
        return Arrivals(*(np.concatenate([a[i] for a in arrived]) for i in range(3)), fates=fates)

    def state(self) -> dict:
        return {"comps": self.comps.copy(), "ends": self.ends.copy(), "outcome": self.outcome.copy(),
                "fates": self.fates.u.copy(), "keys": self.fates.key.copy()}

    def set_state(self, state) -> None:
        self.comps = np.asarray(state["comps"], dtype=np.int64).reshape(-1, self.K)
        self.ends = np.asarray(state["ends"], dtype=float).reshape(-1)
        self.outcome = np.asarray(state["outcome"], dtype=np.int64).reshape(-1)
        self.fates = Fates(np.asarray(state["fates"], dtype=float).reshape(-1, COLS),
                           np.asarray(state["keys"], dtype=np.uint64).reshape(-1), self.run)
