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

One level finer, an aggregate mouse (~40 foci of ~3,400 cells at 6 µm) runs ~1.5 h on this 2-core machine, so the finer
aggregate runs inject --finer-dose of the arm's clusters: the first of them, which are the same clusters at any
dose (each injected cluster owns row j of its stream, docs/model.md), and the same dose at the shipped
resolution is what the finer column compares them with. The single-cell arm is run whole at both resolutions.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from repro_clusters_vs_singles import N_AGG, lung_colonies_per_cell  # noqa: E402
from repro_common import (default_scenario, ensemble_records, finish, flux_config, measured, out_dir, paired,  # noqa: E402
                          parser, pyplot, save_figure, seed_lists, write_table)

T_END = 21.0      # days: the paper counted lung metastases after 3 weeks
FINER_DOSE = 0.125  # the finer aggregate runs inject this fraction of the arm's clusters (see the docstring)
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


def arm_args(args, shipped: bool):
    """``args`` for the shipped runs only (every seed), or for the finer seeds only at both resolutions."""
    _, fine = seed_lists(args)
    change = {"finer_seeds": 0} if shipped else {"seeds": len(fine), "finer_seeds": len(fine)}
    return argparse.Namespace(**{**vars(args), **change})


def main():
    p = parser("experiment_tail_vein", __doc__, seeds=8)
    p.add_argument("--finer-dose", type=float, default=FINER_DOSE, help="fraction of the aggregate arm's clusters "
                   "that its finer runs inject, with the same dose at the shipped resolution as their reference "
                   f"(the first clusters: the same at any dose; default {FINER_DOSE:g}; 1: the whole arm)")
    args = p.parse_args()
    if not 0.0 < args.finer_dose <= 1.0:
        p.error(f"--finer-dose: got {args.finer_dose:g}, expected a fraction in (0, 1]")
    out = out_dir(args, "tail_vein")
    target = 8.0 if args.quick else 40.0
    arms, finer, reference, doses, injected = {}, {}, {}, {}, {}
    for name, size in (("aggregates", N_AGG), ("singles", 1)):
        cells = injected[name] = arm_cells(args.quick, size, target)
        tag, scenario = f"tailvein-{name}-{cells}", injection_scenario(args.quick, size, cells)
        if size == 1 or args.finer_dose == 1.0:
            arms[name], finer[name] = ensemble_records(args, tag, base=scenario)
            reference[name], doses[name] = arms[name], cells
            continue
        arms[name], _ = ensemble_records(arm_args(args, shipped=True), tag, base=scenario)
        doses[name] = size * max(1, round(args.finer_dose * cells / size))
        reference[name], finer[name] = ({}, {}) if not seed_lists(args)[1] else ensemble_records(
            arm_args(args, shipped=False), f"tailvein-{name}-{doses[name]}",
            base=injection_scenario(args.quick, size, doses[name]))
    both, both_fine = paired(arms["aggregates"], arms["singles"]), paired(finer["aggregates"], finer["singles"])
    ref = paired(reference["aggregates"], reference["singles"])
    first, total = doses["aggregates"] // N_AGG, injected["aggregates"] // N_AGG
    note = ("" if first == total else f"finer column: the first {first} of the aggregate arm's {total} clusters (the "
            "same clusters) at both resolutions, single cells whole")
    rows = []
    for key, label in (("founders", "founders (surviving arrests)"), ("lesions", "lesions (any size)"),
                       ("foci", "foci of >= 50 cells (metastases)")):
        rows.append(measured(f"lung {label} per injected cell, aggregates of {N_AGG} vs singles, day 21",
                             per_cell_ratio(key), both, both_fine, "> 100", 100.0, None,
                             "reported" if key == "founders" else "predicted",
                             "Cheung et al. PNAS 2016 (aggregate size assumed)", note=note, reference=ref))
    partial = {f"aggregates, {doses['aggregates']:,} cells": reference["aggregates"]} if note and ref else {}
    table = arm_table(arms) + arm_table(partial) + [[f"{n} (finer)", *r[1:]] for n, r in
                                                    zip(finer, arm_table(finer))]
    write_table(out, ARM_HEADER, table, f"Tail-vein injection: lung lesions at day {T_END:g} (all mice of each arm)")
    figure(out, arms)
    finish(out, "tail_vein", "Tail-vein injection, aggregates vs dispersed cells, grown in the lung PDE", rows,
           {"n_agg": N_AGG, "t_end_days": T_END, "seeds": sorted(both), "finer_seeds": sorted(both_fine),
            "finer_dose_cells": doses, "quick": args.quick, "target_founders_per_arm": target,
            "arms": {n: dict(zip(ARM_HEADER[1:], r[1:])) for n, r in zip(arms, arm_table(arms))},
            "table": [dict(zip(ARM_HEADER, r)) for r in table]})


if __name__ == "__main__":
    main()
