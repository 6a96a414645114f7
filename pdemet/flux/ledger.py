"""Where every shed (or injected) cell went: cells and clusters per outcome, per site organ and by cluster size.

    shed + injected = circulating + cleared_in_circulation + killed_in_circulation + arrested
    arrested = failed_to_colonize + seeded          (exactly, in both engines)
"""

from __future__ import annotations

import numpy as np

LEDGER_KEYS = ("shed", "injected", "circulating", "cleared_in_circulation", "killed_in_circulation", "arrested",
               "failed_to_colonize", "seeded")


def new_ledger(organs: list[str], max_size: int = 0) -> dict:
    """Cells and clusters per ledger key, per site organ, and arrests/seeds by cluster size 1..max_size."""
    cells = dict.fromkeys(LEDGER_KEYS, 0.0)
    clusters = dict.fromkeys(LEDGER_KEYS + ("dissociated", "formed_by_dissociation"), 0.0)
    per_organ = {o: {"arrested_cells": 0.0, "seeded_cells": 0.0, "arrested_clusters": 0.0, "seeded_clusters": 0.0}
                 for o in organs}
    by_size = {k: np.zeros(max_size) for k in ("arrested_cells", "arrested_clusters", "seeded_clusters")}
    return {"cells": cells, "clusters": clusters, "per_organ": per_organ, "by_size": by_size}


def count_arrests(led: dict, sites: list[str], site_idx, sizes, survived) -> None:
    """Add arrested clusters (site index, size, survived: one entry per cluster) to the ledger."""
    for unit, amount in (("cells", sizes), ("clusters", np.ones_like(sizes))):
        led[unit]["arrested"] += float(amount.sum())
        led[unit]["seeded"] += float(amount[survived].sum())
        led[unit]["failed_to_colonize"] += float(amount[~survived].sum())
    for k, site in enumerate(sites):
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


def count_expected_arrests(led: dict, site: str, a_cells: np.ndarray, seeded: np.ndarray, s: np.ndarray,
                           sizes: np.ndarray) -> None:
    """Add expected arrests in ``site``: a_cells (N,) cells per size class, seeded (K,), survival s (N,)."""
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


def efficiency(led: dict, survival) -> dict:
    """Foci founded per arrested cell, single cells vs clusters (n ≥ 2), observed and expected from s(n)."""
    b = led["by_size"]
    n = np.arange(1, len(b["arrested_cells"]) + 1)
    s = survival(n)
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
