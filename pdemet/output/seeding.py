"""seeding.h5: the seeding event log as HDF5 columns (h5py), and its CSV export.

Layout: group ``events`` with one dataset per column (``time`` days, ``organ`` index into the attribute
``organs``, ``x``/``y``/``z`` mm, ``size`` cells, ``survived`` 0/1, ``weight`` arrests the row stands for,
``clones`` (n, K) cells per clone, attribute ``clones``); dataset ``failed_counts`` (m, 4): organ, size, day
and number of the failed arrests not logged (``cluster_flux.log_failed``). The file is written aside and
renamed (readers see a complete log), only when rows were added.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from pdemet.output.files import write_csv, written_aside

COLUMN_ORDER = ("time", "organ", "x", "y", "z", "size", "survived", "weight")


def write_seeding(path: str | Path, columns: dict, failed: np.ndarray, organs: list[str], clones: list[str],
                  log_failed: str) -> None:
    with written_aside(path) as tmp, h5py.File(tmp, "w") as f:
        g = f.create_group("events")
        g.attrs["organs"] = np.array(organs, dtype=h5py.string_dtype())
        g.attrs["clones"] = np.array(clones, dtype=h5py.string_dtype())
        g.attrs["log_failed"] = log_failed
        for key in (*COLUMN_ORDER, "clones"):
            g.create_dataset(key, data=columns[key])
        f.create_dataset("failed_counts", data=np.asarray(failed, dtype=np.int64).reshape(-1, 4))


def read_seeding(path: str | Path) -> dict:
    """``{"organs", "clones", "log_failed", "columns": {name: array}, "failed_counts": (m, 4)}``."""
    with h5py.File(path, "r") as f:
        g = f["events"]
        return {"organs": [s.decode() if isinstance(s, bytes) else s for s in g.attrs["organs"]],
                "clones": [s.decode() if isinstance(s, bytes) else s for s in g.attrs["clones"]],
                "log_failed": str(g.attrs["log_failed"]),
                "columns": {k: g[k][()] for k in (*COLUMN_ORDER, "clones")},
                "failed_counts": f["failed_counts"][()]}


def export_csv(h5_path: str | Path, csv_path: str | Path) -> int:
    """The log as one CSV row per logged arrest (time, organ, x, y, z, size, survived, weight, clone
    counts); returns the number of rows."""
    log = read_seeding(h5_path)
    c = log["columns"]
    organ = np.array(log["organs"], dtype=object)[c["organ"]] if len(c["organ"]) else np.zeros(0, dtype=object)
    rows = zip(c["time"].tolist(), organ.tolist(), c["x"].tolist(), c["y"].tolist(), c["z"].tolist(),
               c["size"].tolist(), c["survived"].tolist(), c["weight"].tolist(), *c["clones"].T.tolist())
    write_csv(csv_path, (*COLUMN_ORDER, *log["clones"]), rows)
    return len(c["time"])


def shared_survivors(a: str | Path, b: str | Path, clones: bool = False) -> float:
    """The fraction of log ``a``'s surviving arrests that log ``b`` has too: the same organ, point (to 1e-9
    mm) and size, and with ``clones`` the same cells of each clone (with cluster_flux.draws = "per_cluster"
    a finer run seeds the same clusters; their clones follow the primary's state at the time, which a
    different time step changes slightly)."""
    def keys(path):
        c = read_seeding(path)["columns"]
        m = c["survived"].astype(bool)
        cols = [c["organ"][m].tolist(), *(np.round(c[k][m], 9).tolist() for k in "xyz"), c["size"][m].tolist()]
        return set(zip(*cols, *([map(tuple, c["clones"][m].tolist())] if clones else [])))
    x = keys(a)
    return len(x & keys(b)) / len(x) if x else 1.0


def same_log(a: str | Path, b: str | Path, rtol: float = 0.0) -> bool:
    """True when two seeding logs hold the same rows and counts (HDF5 files are compared by content): exactly,
    or with ``rtol`` > 0 their float columns to that relative tolerance (runs on other rank counts: the lumped
    masses are assembled, so the shedding clock's event times differ in the last bits)."""
    x, y = read_seeding(a), read_seeding(b)

    def same(u, v):
        if rtol > 0 and u.dtype.kind == "f" and u.shape == v.shape:
            return np.allclose(u, v, rtol=rtol, atol=0.0)
        return np.array_equal(u, v)
    return (x["organs"] == y["organs"] and x["clones"] == y["clones"] and
            np.array_equal(x["failed_counts"], y["failed_counts"]) and
            all(same(x["columns"][k], y["columns"][k]) for k in x["columns"]))
