"""Polyclonal metastases (Cheung et al., PNAS 2016): fraction of lung foci that are multicolored.

Four equally mixed colors in the mammary fat pad (the default scenario); after three weeks the lung
foci (census lesions of at least focus_min_cells = 50 cells) are classified: polyclonal when ≥ 2 clones each
hold more than 5 % of the focus. Published: > 90 % of metastases polyclonal (press report ≈ 95 %); > 97 % of
lung metastases cluster-derived (95 % CI 74–100 %). Counted like-for-like, a focus is cluster-derived when one
of its founding arrests carried ≥ 2 cells (census: founding_cells > founding_events).

An ensemble of seeds (one mouse each) at the shipped resolution (sites 12 µm) and one level finer (6 µm) gives
each number with a 95 % CI over seeds (bootstrap of whole seeds) and its relative change under refinement.
All inputs come from pdemet/scenarios/default.toml (sources in its comments); nothing here is fitted.
"""

import numpy as np

from repro_common import (ensemble_records, finish, foci_of, measured, out_dir, parser, pyplot, save_figure,
                          write_table)

LUNG = ["lung"]


def poly_foci(recs):
    foci = [f for r in recs for f in foci_of(r, LUNG)]
    return np.mean([f["polyclonal"] for f in foci]) if foci else float("nan")


def cluster_derived_foci(recs):
    foci = [f for r in recs for f in foci_of(r, LUNG)]
    return np.mean([f["founding_cells"] > f["founding_events"] for f in foci]) if foci else float("nan")


def lung_foci_per_mouse(recs):
    return float(np.mean([len(foci_of(r, LUNG)) for r in recs]))


def _events(recs, pick):
    ev = [r["arrests"].get("lung", {"size": np.zeros(0), "n_clones": np.zeros(0)}) for r in recs]
    n = sum(len(e["size"]) for e in ev)
    return sum(int(pick(e).sum()) for e in ev) / n if n else float("nan")


def cluster_events(recs):
    return _events(recs, lambda e: e["size"] >= 2)


def poly_events(recs):
    return _events(recs, lambda e: e["n_clones"] >= 2)


def main():
    args = parser("repro_polyclonal", __doc__, seeds=8).parse_args()
    out = out_dir(args, "polyclonal")
    shipped, finer = ensemble_records(args, "default")
    src = "Cheung et al. PNAS 2016"
    rows = [
        measured("polyclonal fraction of lung foci", poly_foci, shipped, finer, "> 90 % (≈ 95 %)", 0.9, 1.0,
                 "predicted", src),
        measured("cluster-derived fraction of lung foci (a founder of ≥ 2 cells)", cluster_derived_foci, shipped,
                 finer, "> 97 % (CI 74–100 %)", 0.74, 1.0, "predicted",
                 "Cheung et al. PNAS 2016 (review table, Cheung & Ewald 2016)"),
        measured("lung foci per mouse (≥ 50 cells, day 21)", lung_foci_per_mouse, shipped, finer, "—",
                 kind="reported", source="model only: the number the census must not change with the mesh"),
        measured("fraction of surviving lung arrests that are clusters (n ≥ 2)", cluster_events, shipped, finer,
                 "—", kind="reported", source="model only: every seeding event, seen or not"),
        measured("polyclonal fraction of surviving lung arrests", poly_events, shipped, finer, "—",
                 kind="reported", source="model only: like-for-like with the foci above"),
    ]
    table = [[s, len(foci_of(r, LUNG)), poly_foci([r]), cluster_derived_foci([r]), poly_events([r]),
              len(foci_of(finer[s], LUNG)) if s in finer else "", poly_foci([finer[s]]) if s in finer else ""]
             for s, r in sorted(shipped.items())]
    write_table(out, ["seed", "lung foci", "polyclonal fraction", "cluster-derived fraction",
                      "polyclonal arrests", "lung foci (finer)", "polyclonal fraction (finer)"], table,
                "Polyclonal lung foci per seed (default scenario; finer: sites at half the element size)")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    x = np.arange(len(table))
    ax.bar(x - 0.2, [r[2] for r in table], 0.4, color="#377eb8", label="shipped (12 µm sites)")
    ax.bar(x + 0.2, [r[6] if r[6] != "" else np.nan for r in table], 0.4, color="#4daf4a",
           label="one level finer (6 µm)")
    ax.axhline(0.9, color="r", ls="--", label="Cheung 2016: > 90 %")
    ax.set_xticks(x, [str(r[0]) for r in table])
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("seed")
    ax.set_ylabel("polyclonal fraction of lung foci")
    ax.legend(fontsize=8, loc="lower right")
    save_figure(fig, out)
    finish(out, "polyclonal", "Polyclonal metastases (Cheung et al. 2016)", rows,
           {"seeds": sorted(shipped), "finer_seeds": sorted(finer), "scenario": "pdemet/scenarios/default.toml",
            "lung_foci": sum(len(foci_of(r, LUNG)) for r in shipped.values())})


if __name__ == "__main__":
    main()
