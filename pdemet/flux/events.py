"""The seeding event log: one row per arrested cluster, held as columns (numpy arrays), not as tuples.

A default run arrests ~5·10⁵ clusters of which a few hundred survive; a large primary arrests millions.
Rows arrive in batches (one per coupling step) and are kept as a list of column chunks, joined on demand:
appending is O(batch), a checkpoint or an output writes arrays, never Python objects per row.

What is kept (``cluster_flux.log_failed``): the clusters that survive always; the failed arrests
``"all"`` (default), ``"sample"`` (every ``log_sample_every``-th failed arrest, the row's ``weight`` is
that stride, so weighted sums are unbiased; chosen by a counter, not the random generator, so the run is
the same whatever is logged) or ``"count"`` (none: their counts per organ, size and day are in
``failed_counts``).
"""

from __future__ import annotations

import numpy as np

COLUMNS = {"time": np.float64, "organ": np.int16, "x": np.float64, "y": np.float64, "z": np.float64,
           "size": np.int32, "survived": np.int8, "weight": np.int32}  # then "clones": (n, K) int32
LOG_FAILED = ("all", "sample", "count")


class EventLog:
    """Columns of the logged arrests (``columns()``), the counts of the failed arrests not logged."""

    def __init__(self, organs: list[str], n_clones: int, log_failed: str = "all", sample_every: int = 100):
        self.organs, self.K, self.log_failed, self.sample_every = list(organs), n_clones, log_failed, sample_every
        self.chunks: list[dict[str, np.ndarray]] = []
        self.n = 0               # rows logged
        self.failed_seen = 0     # failed arrests met (the sampling counter)
        self.failed_counts: dict[tuple[int, int, int], int] = {}  # (organ, size, day) -> failed arrests not logged
        self._joined: dict | None = None

    def __len__(self) -> int:
        return self.n

    def append(self, time, organ, where, size, survived, clones) -> np.ndarray:
        """Log a batch (arrays of one row per arrest); returns the row index of each arrest (-1: not logged)."""
        survived = np.asarray(survived, dtype=bool)
        keep, weight = survived.copy(), np.ones(len(survived), dtype=np.int32)
        failed = np.flatnonzero(~survived)
        if self.log_failed == "all":
            keep[failed] = True
        elif self.log_failed == "sample":
            counter = self.failed_seen + np.arange(len(failed))
            picked = failed[counter % self.sample_every == 0]
            keep[picked], weight[picked] = True, self.sample_every
        dropped = np.flatnonzero(~keep)
        if dropped.size:
            key = np.stack([np.asarray(organ)[dropped], np.asarray(size)[dropped],
                            np.floor(np.asarray(time)[dropped]).astype(np.int64)], axis=1)
            uniq, counts = np.unique(key, axis=0, return_counts=True)
            for k, c in zip(map(tuple, uniq.tolist()), counts.tolist()):
                self.failed_counts[k] = self.failed_counts.get(k, 0) + c
        self.failed_seen += len(failed)
        rows = np.full(len(survived), -1, dtype=np.int64)
        rows[keep] = self.n + np.arange(int(keep.sum()))
        if keep.any():
            where = np.asarray(where, dtype=float).reshape(-1, 3)[keep]
            chunk = {"time": time[keep], "organ": np.asarray(organ)[keep], "x": where[:, 0], "y": where[:, 1],
                     "z": where[:, 2], "size": np.asarray(size)[keep], "survived": survived[keep],
                     "weight": weight[keep], "clones": np.asarray(clones).reshape(-1, self.K)[keep]}
            self.chunks.append({k: np.asarray(v, dtype=COLUMNS.get(k, np.int32)) for k, v in chunk.items()})
            self.n += int(keep.sum())
            self._joined = None
        return rows

    def columns(self) -> dict[str, np.ndarray]:
        """Every logged row, column by column (``clones``: (n, K))."""
        if self._joined is None:
            empty = {k: np.zeros(0, dtype=t) for k, t in COLUMNS.items()} | {"clones": np.zeros((0, self.K), np.int32)}
            self._joined = ({k: np.concatenate([c[k] for c in self.chunks]) for k in empty} if self.chunks else empty)
            self.chunks = [self._joined] if self.chunks else []
        return self._joined

    def survivors(self, organ: str | None = None) -> np.ndarray:
        """Row indices of the clusters that survived (in ``organ``, or anywhere)."""
        c = self.columns()
        sel = c["survived"].astype(bool)
        if organ is not None:
            sel &= c["organ"] == self.organs.index(organ)
        return np.flatnonzero(sel)

    def rows(self, organ: str | None = None, survived_only: bool = False) -> np.ndarray:
        """(n, 2 + K) float array of the logged arrests: size, survived, cells of each clone."""
        c = self.columns()
        sel = np.ones(self.n, dtype=bool) if not survived_only else c["survived"].astype(bool)
        if organ is not None:
            sel = sel & (c["organ"] == self.organs.index(organ))
        return np.column_stack([c["size"][sel], c["survived"][sel], c["clones"][sel]]).astype(float)

    def failed_table(self) -> np.ndarray:
        """(m, 4) int64 rows (organ, size, day, failed arrests not logged), sorted."""
        if not self.failed_counts:
            return np.zeros((0, 4), dtype=np.int64)
        keys = sorted(self.failed_counts)
        return np.array([(*k, self.failed_counts[k]) for k in keys], dtype=np.int64)

    # -- checkpoints (arrays: stored as such, not as JSON) -----------------------------------
    def state(self) -> dict:
        return {"columns": self.columns(), "failed_seen": self.failed_seen, "failed": self.failed_table()}

    def set_state(self, state: dict) -> None:
        cols = {k: np.asarray(v) for k, v in state["columns"].items()}
        cols["clones"] = cols["clones"].reshape(-1, self.K)
        self.chunks, self._joined, self.n = [cols], cols, len(cols["time"])
        self.failed_seen = int(state["failed_seen"])
        self.failed_counts = {tuple(map(int, r[:3])): int(r[3]) for r in np.asarray(state["failed"]).reshape(-1, 4)}
