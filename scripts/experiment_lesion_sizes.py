"""Lesion-size distribution of lung metastases, and of the multicolored ones among them (Cheung et al. 2016).

Cheung et al. counted lung lesions from a few cells to large metastases (2 to ~1,000 cells in the
multicolor experiment, as quoted in issue 14; check the exact figures against the paper). The model: the
default scenario's lung at day 21; every census lesion (a connected region above census_threshold, at any
size: founders are placed as cells, so a lesion of 2 cells is seen on the 12 µm sites) with its cells and
whether it is multicolored (≥ 2 clones above 5 %). Reported over an ensemble of seeds (one mouse each), at the
shipped resolution and one level finer: the size range, the median, the share of lesions of 2–1,000 cells and
the multicolored fraction by size. Nothing is fitted; the ensemble is the one of repro_polyclonal (shared runs).
"""

import numpy as np

from repro_common import ensemble_records, finish, measured, out_dir, parser, pyplot, save_figure, write_table

LUNG = "lung"
BINS = [2, 10, 50, 200, 1000, 5000, 1e9]  # cells


def sizes(recs, multicolored=None):
    """Cells of every lung lesion of at least 2 cells (optionally only multi- or monocolored ones)."""
    return np.array([f["cells"] for r in recs for f in r["lesions"].get(LUNG, [])
                     if f["cells"] >= 2 and (multicolored is None or bool(f["polyclonal"]) == multicolored)])


def largest(recs):
    s = sizes(recs)
    return float(s.max()) if len(s) else float("nan")


def smallest(recs):
    s = sizes(recs)
    return float(s.min()) if len(s) else float("nan")


def p99(recs):
    s = sizes(recs)
    return float(np.percentile(s, 99)) if len(s) else float("nan")


def median(recs):
    s = sizes(recs)
    return float(np.median(s)) if len(s) else float("nan")


def median_multicolored(recs):
    s = sizes(recs, True)
    return float(np.median(s)) if len(s) else float("nan")


def share_in_range(recs):
    s = sizes(recs)
    return float(np.mean((s >= 2) & (s <= 1000))) if len(s) else float("nan")


def multicolored_fraction(recs):
    n, m = len(sizes(recs)), len(sizes(recs, True))
    return m / n if n else float("nan")


def lesions_per_mouse(recs):
    return float(np.mean([len(sizes([r])) for r in recs]))


def main():
    args = parser("experiment_lesion_sizes", __doc__, seeds=8).parse_args()
    out = out_dir(args, "lesion_sizes")
    shipped, finer = ensemble_records(args, "default")
    recs = list(shipped.values())
    table = []
    for lo, hi in zip(BINS[:-1], BINS[1:]):
        a, m = sizes(recs), sizes(recs, True)
        n_all, n_multi = int(((a >= lo) & (a < hi)).sum()), int(((m >= lo) & (m < hi)).sum())
        table.append([f"{lo:g}–{hi:g}" if hi < 1e9 else f"≥ {lo:g}", n_all, n_multi,
                      n_multi / n_all if n_all else float("nan")])
    write_table(out, ["lesion cells", "lesions", "multicolored", "multicolored fraction"], table,
                f"Lung lesion sizes at day 21 over {len(recs)} seeds (default scenario)")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    edges = np.logspace(np.log10(2), np.log10(max(2e4, largest(recs) * 1.1)), 30)
    ax.hist(sizes(recs), bins=edges, color="#999999", label="all lesions (≥ 2 cells)")
    ax.hist(sizes(recs, True), bins=edges, color="#377eb8", alpha=0.8, label="multicolored")
    ax.axvspan(2, 1000, color="r", alpha=0.08, label="published 2 to ~1,000 cells")
    ax.set_xscale("log")
    ax.set_xlabel("cells per lung lesion (day 21)")
    ax.set_ylabel(f"lesions ({len(recs)} mice)")
    ax.legend(fontsize=8)
    save_figure(fig, out)
    src = "Cheung et al. PNAS 2016 (range as quoted in issue 14; unconfirmed)"
    rows = [
        measured("smallest lung lesion (cells)", smallest, shipped, finer, "2", 2.0, 10.0, "predicted", src),
        measured("largest lung lesion (cells)", largest, shipped, finer, "~1,000", 300.0, 3000.0, "predicted", src,
                 note="\"~1,000\" read as 300–3,000 cells. Miss: the largest lesions are each "
                      "founded by one cluster of 20–47 cells in the first days (census founding_events = 1), and "
                      "at ρ = 0.25/day (doubling 2.8 days) they reach 2,000–5,400 cells by day 21; the maximum over "
                      "all mice is an extreme statistic that a seed bootstrap does not bound well (the 99th "
                      "percentile below is the stable measure). Fewer than 1,000 cells at day 21 would need slower "
                      "growth at the site than in the primary, or a later observation than the paper's. Converged: with "
                      "the seeding held fixed (per-cluster draws, the default; sites 12 -> 6 µm) seed 1's largest focus has "
                      "5,197 vs 5,185 cells (-0.2 %). Before the transport step's Newton solve (December 2026) "
                      "foci above ~1,200 cells locked at U = κ on 6 µm sites (docs/convergence.md)."),
        measured("99th percentile of lung lesions (cells)", p99, shipped, finer, "~1,000", kind="reported",
                 source="model: a steadier measure of the largest lesions than the maximum",
                 note="Sites 12 -> 6 µm -1.3 %, every organ finer -1.5 % (2 seeds). Before "
                      "December 2026 a cluster took its cells from its one node of the primary, and a node of the "
                      "finer (0.1 mm) front holds fewer at a sparse rim: seed 1's 38-cell founder of a 4,226-cell "
                      "focus left with 12 cells and did not survive (-25.6 %). A cluster now keeps its drawn size, "
                      "its cells gathered from the nearest nodes (docs/convergence.md)."),
        measured("share of lung lesions of 2–1,000 cells", share_in_range, shipped, finer, "most", 0.5, 1.0,
                 "predicted", src),
        measured("median lung lesion (cells)", median, shipped, finer, "—", kind="reported", source="model"),
        measured("median multicolored lung lesion (cells)", median_multicolored, shipped, finer, "—",
                 kind="reported", source="model: multicolored lesions are the large ones (several founders)"),
        measured("multicolored fraction of lung lesions (≥ 2 cells)", multicolored_fraction, shipped, finer, "—",
                 kind="reported", source="model: every lesion, foci and smaller"),
        measured("lung lesions per mouse (≥ 2 cells)", lesions_per_mouse, shipped, finer, "—", kind="reported",
                 source="model"),
    ]
    finish(out, "lesion_sizes", "Lesion sizes (Cheung et al. 2016)", rows,
           {"seeds": sorted(shipped), "finer_seeds": sorted(finer), "bins_cells": BINS[:-1],
            "scenario": "pdemet/scenarios/default.toml"})


if __name__ == "__main__":
    main()
