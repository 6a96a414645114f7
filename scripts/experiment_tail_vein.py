"""Tail-vein injection of aggregates vs dispersed cells, grown in the lung PDE for 3 weeks (Cheung et al. 2016).

The experiment: the same tumor cells injected into the tail vein as single cells or as aggregates; lung
metastases counted after 3 weeks. Published: > 100-fold more metastases per injected cell from aggregates.

The model (a simulation, not the closed form of repro_clusters_vs_singles.py): the default scenario with
an empty primary and a bolus `[cluster_flux.injection]` (pdemet/flux/injection.py) at day 0, aggregates of
N_AGG cells (an ASSUMPTION: the aggregate size is not in our sources) or single cells. The clusters
circulate, arrest (lung first), survive by s(n), extravasate and grow by the pressure-driven PDE on the
adaptive lung mesh for 21 days. Counted per injected cell: founders (surviving arrests), lesions (every
connected tumor region) and foci (lesions of >= focus_min_cells = 50 cells, what the census calls a
metastasis). Each arm injects as many cells as give about TARGET expected founders, so counts are
comparable. Each arm is an ensemble of seeds (one mouse each, the runs kept under results/repro/runs): the
ratio is that of the counts pooled over mice, with a 95 % CI resampling whole mice of both arms, and again one
level finer (the lung's adaptive element size halved, 12 -> 6 µm; the primary is empty here).
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from repro_clusters_vs_singles import N_AGG, lung_colonies_per_cell  # noqa: E402
from repro_common import (default_scenario, ensemble_records, finish, flux_config, measured, out_dir, parser,  # noqa: E402
                          pyplot, save_figure, write_table)

T_END = 21.0      # days: the paper counted lung metastases after 3 weeks
ORGAN = "lung"


def injection_scenario(quick: bool, size: int, cells: int) -> dict:
    data = default_scenario(quick)
    data["simulation"].update(t_end=T_END, output_every=T_END)
    data["organs"][next(n for n, o in data["organs"].items() if o["role"] == "primary")]["initial"]["density"] = 0.0
    flux = data["cluster_flux"]
    flux.update(shedding_rate=0.0, log_failed="count")  # millions of failed single-cell arrests: counted only
    flux["injection"] = {"time": 0.0, "cells": int(cells), "size": int(size)}
    return data


def arm_cells(quick: bool, size: int, target: float) -> int:
    """Cells to inject in clusters of ``size`` for about ``target`` expected lung founders."""
    _, cfg, sites = flux_config(default_scenario(quick))
    return size * max(1, round(target / (lung_colonies_per_cell(cfg, sites, size) * size)))


def counts(rec: dict, organ: str = ORGAN) -> dict:
    """One mouse of one arm: cells injected, founders (surviving arrests), lesions, foci and lesion sizes."""
    lesions = rec["lesions"].get(organ, [])
    s = rec["summary"]
    return {"cells": s["cells"]["injected"], "founders": s["per_organ"][organ]["seeded_clusters"],
            "lesions": len(lesions), "foci": sum(1 for f in lesions if f.get("focus")),
            "lesion_cells": [float(f["cells"]) for f in lesions]}


def per_cell_ratio(key: str, organ: str = ORGAN):
    """Statistic of paired records {"a": aggregates, "b": singles}: (count/cell pooled over the mice of arm a) /
    (the same of arm b)."""
    def stat(recs):
        a = [counts(r["a"], organ) for r in recs]
        b = [counts(r["b"], organ) for r in recs]
        ka, kb = sum(x[key] for x in a), sum(x[key] for x in b)
        if kb == 0:
            return float("inf") if ka else float("nan")
        return (ka / sum(x["cells"] for x in a)) / (kb / sum(x["cells"] for x in b))
    return stat


def paired(a: dict, b: dict) -> dict:
    """Records of two arms joined by seed (independent mice; the pairing only lets a bootstrap resample both)."""
    return {s: {"seed": s, "a": a[s], "b": b[s]} for s in sorted(set(a) & set(b))}


def figure(out: Path, arms: dict, xlabel: str = "cells per lung lesion at day 21", verb: str = "injected",
           organ: str = ORGAN) -> None:
    """Lesion sizes of both arms (cells per lesion, log bins, all mice), the 50-cell focus threshold marked."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    sizes = {name: [c for r in recs.values() for c in counts(r, organ)["lesion_cells"]] for name, recs in arms.items()}
    top = max((c for v in sizes.values() for c in v), default=1.0)
    bins = np.logspace(0, np.log10(max(top, 2.0)) + 0.1, 30)
    for name, recs in arms.items():
        cells = sum(counts(r, organ)["cells"] for r in recs.values())
        ax.hist(sizes[name], bins=bins, alpha=0.6, label=f"{name} ({cells:.3g} cells {verb}, {len(recs)} runs)")
    ax.axvline(50, color="gray", ls=":", label="focus threshold (50 cells)")
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("lesions")
    ax.legend(fontsize=8)
    save_figure(fig, out)


def arm_table(arms: dict, organ: str = ORGAN) -> list[list]:
    """Per arm, pooled over its mice: cells, founders, lesions, foci and the range of lesion sizes."""
    rows = []
    for name, recs in arms.items():
        c = [counts(r, organ) for r in recs.values()]
        sizes = [x for k in c for x in k["lesion_cells"]] or [float("nan")]
        rows.append([name, len(c), sum(k["cells"] for k in c), sum(k["founders"] for k in c),
                     sum(k["lesions"] for k in c), sum(k["foci"] for k in c), min(sizes), float(np.median(sizes)),
                     max(sizes)])
    return rows


ARM_HEADER = ["arm", "mice", "cells", "founders", "lesions", "foci >= 50 cells", "smallest lesion (cells)",
              "median lesion", "largest lesion"]


def main():
    p = parser("experiment_tail_vein", __doc__, seeds=8)
    args = p.parse_args()
    out = out_dir(args, "tail_vein")
    target = 8.0 if args.quick else 40.0
    arms, finer = {}, {}
    for name, size in (("aggregates", N_AGG), ("singles", 1)):
        cells = arm_cells(args.quick, size, target)
        arms[name], finer[name] = ensemble_records(args, f"tailvein-{name}-{cells}",
                                                   base=injection_scenario(args.quick, size, cells))
    both, both_fine = paired(arms["aggregates"], arms["singles"]), paired(finer["aggregates"], finer["singles"])
    rows = []
    for key, label in (("founders", "founders (surviving arrests)"), ("lesions", "lesions (any size)"),
                       ("foci", "foci of >= 50 cells (metastases)")):
        rows.append(measured(f"lung {label} per injected cell, aggregates of {N_AGG} vs singles, day 21",
                             per_cell_ratio(key), both, both_fine, "> 100", 100.0, None,
                             "reported" if key == "founders" else "predicted",
                             "Cheung et al. PNAS 2016 (aggregate size assumed)"))
    write_table(out, ARM_HEADER, arm_table(arms) + [[f"{n} (finer)", *r[1:]] for n, r in
                                                   zip(finer, arm_table(finer))],
                f"Tail-vein injection: lung lesions at day {T_END:g} (all mice of each arm)")
    figure(out, arms)
    finish(out, "tail_vein", "Tail-vein injection, aggregates vs dispersed cells, grown in the lung PDE", rows,
           {"n_agg": N_AGG, "t_end_days": T_END, "seeds": sorted(both), "finer_seeds": sorted(both_fine),
            "quick": args.quick, "target_founders_per_arm": target,
            "arms": {n: dict(zip(ARM_HEADER[1:], r[1:])) for n, r in zip(arms, arm_table(arms))}})


if __name__ == "__main__":
    main()
