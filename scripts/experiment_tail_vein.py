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
comparable; the ratio's 95 % CI is that of two Poisson counts. `--finer` repeats both arms one level finer
(repro_common.resolution_overrides: sites 12 -> 6 µm; the primary is empty here) and reports the relative change (mesh convergence).
"""

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from repro_clusters_vs_singles import N_AGG, lung_colonies_per_cell  # noqa: E402
from repro_common import (default_scenario, finish, flux_config, out_dir, parser, pyplot, resolution_overrides,  # noqa: E402
                          row, run, save_figure, set_key)

T_END = 21.0      # days: the paper counted lung metastases after 3 weeks


def injection_scenario(quick: bool, size: int, cells: int, finer: bool = False) -> dict:
    data = default_scenario(quick)
    data["simulation"].update(t_end=T_END, output_every=T_END)
    data["organs"][next(n for n, o in data["organs"].items() if o["role"] == "primary")]["initial"]["density"] = 0.0
    flux = data["cluster_flux"]
    flux.update(shedding_rate=0.0, log_failed="count")  # millions of failed single-cell arrests: counted only
    flux["injection"] = {"time": 0.0, "cells": int(cells), "size": int(size)}
    for key, value in resolution_overrides(False, finer).items():  # finer: every organ's element size halved
        set_key(data, key, value)
    return data


def arm(quick: bool, size: int, target: float, seed: int, finer: bool) -> dict:
    """Run one arm; founders, lesions and foci in the lung, and the cells injected."""
    _, cfg, sites = flux_config(default_scenario(quick))
    per_cell = lung_colonies_per_cell(cfg, sites, size)
    cells = size * max(1, round(target / (per_cell * size)))
    sim = run(injection_scenario(quick, size, cells, finer), seed=seed)
    lesions = sim.lesions("lung")
    return {"size": size, "cells": sim.coupling.ledger["cells"]["injected"], "expected_founders": per_cell * cells,
            "founders": sim.coupling.ledger["per_organ"]["lung"]["seeded_clusters"],
            "lesions": len(lesions), "foci": len(sim.foci("lung")),
            "lesion_cells": sorted((float(f["cells"]) for f in lesions), reverse=True)}


def ratio(a: dict, s: dict, key: str) -> tuple[float, tuple[float, float]]:
    """Per-injected-cell ratio aggregates/singles of a count, with the 95 % CI of two Poisson counts."""
    ka, k1 = a[key], s[key]
    if k1 == 0 or ka == 0:
        return float("inf") if k1 == 0 else 0.0, (float("nan"), float("nan"))
    r = (ka / a["cells"]) / (k1 / s["cells"])
    se = math.sqrt(1 / ka + 1 / k1)
    return r, (r * math.exp(-1.96 * se), r * math.exp(1.96 * se))


def pooled(arms: list[dict], counts=("cells", "founders", "lesions", "foci", "expected_founders")) -> dict:
    """The arms of several seeds as one: their counts summed, their lesion sizes together."""
    out = {k: sum(a[k] for a in arms) for k in counts}
    out["lesion_cells"] = sorted((c for a in arms for c in a["lesion_cells"]), reverse=True)
    return out


def figure(out: Path, res: dict, xlabel: str = "cells per lung lesion at day 21", verb: str = "injected") -> None:
    """Lesion sizes of both arms (cells per lesion, log bins), the 50-cell focus threshold marked."""
    import numpy as np

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    sizes = [c for arm in res.values() for c in arm["lesion_cells"]] or [1.0]
    bins = np.logspace(0, np.log10(max(sizes)) + 0.1, 30)
    for name, arm in res.items():
        ax.hist(arm["lesion_cells"], bins=bins, alpha=0.6, label=f"{name} ({arm['cells']:.3g} cells {verb})")
    ax.axvline(50, color="gray", ls=":", label="focus threshold (50 cells)")
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("lesions")
    ax.legend(fontsize=8)
    save_figure(fig, out)


def main():
    p = parser("experiment_tail_vein", __doc__)
    p.add_argument("--seeds", type=int, default=2, help="seeds per arm (default 2)")
    p.add_argument("--finer", action="store_true", help="also run with the sites' element size halved")
    args = p.parse_args()
    out = out_dir(args, "tail_vein")
    target = 8.0 if args.quick else 40.0
    results = {}
    for finer in ([False, True] if args.finer else [False]):
        agg = pooled([arm(args.quick, N_AGG, target, 100 + k, finer) for k in range(args.seeds)])
        one = pooled([arm(args.quick, 1, target, 200 + k, finer) for k in range(args.seeds)])
        results["finer" if finer else "shipped"] = {"aggregates": agg, "singles": one}
    res = results["shipped"]
    rows = []
    for key, label in (("founders", "founders (surviving arrests)"), ("lesions", "lesions (any size)"),
                       ("foci", "foci of >= 50 cells (metastases)")):
        r, ci = ratio(res["aggregates"], res["singles"], key)
        note = f"counts {res['aggregates'][key]:g} (aggregates) / {res['singles'][key]:g} (singles)"
        if "finer" in results:
            rf, _ = ratio(results["finer"]["aggregates"], results["finer"]["singles"], key)
            note += f"; at half the site element size {rf:.4g} ({(rf / r - 1) if math.isfinite(r) and r else float('nan'):+.1%})"
        rows.append(row(f"lung {label} per injected cell, aggregates of {N_AGG} vs singles, day 21", r, "> 100",
                        100.0, None, ci, "predicted" if key != "founders" else "reported",
                        "Cheung et al. PNAS 2016 (aggregate size assumed)", note))
    figure(out, res)
    finish(out, "tail_vein", "Tail-vein injection, aggregates vs dispersed cells, grown in the lung PDE", rows,
           {"n_agg": N_AGG, "t_end_days": T_END, "seeds": args.seeds, "quick": args.quick,
            "target_founders_per_arm": target, "results": results})


if __name__ == "__main__":
    main()
