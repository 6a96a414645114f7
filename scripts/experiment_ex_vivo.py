"""Ex vivo colony formation of aggregates vs dispersed cells, grown in a dish (Cheung et al. 2016).

The experiment: tumor cells plated in 3D culture as aggregates or as single cells; colonies counted.
Published: > 15-fold more colonies per plated cell from aggregates.

The model: a dish (one organ, a 6 x 6 x 0.6 mm gel, the lung's growth parameters) and no blood: every
plated cluster lands in the dish within seconds (`first_pass`, arrest probability 1, no clearance), survives
by the same s(n) as in vivo (the cooperation law of default.toml: an ASSUMPTION that colonization's
cooperative survival is the same in a dish) and grows by the pressure-driven PDE for DAYS days (an
ASSUMPTION: the culture time is not in our sources). Aggregates of N_AGG = 30 cells (as for the tail vein,
an assumption). Counted per plated cell: founders (surviving clusters), lesions, and colonies of >= 50
cells, each arm an ensemble of seeds (one dish each) at the shipped resolution and one level finer; the ratio's
95 % CI resamples whole dishes. The closed form s(n)/(n s1) is printed beside it.
Founders start growing when the dish is next refined around them (every 2 days: the delay pdemet models as
extravasation, here standing for the cells settling), so colonies are up to 2 days younger than the culture.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from experiment_tail_vein import ARM_HEADER, arm_table, figure, per_cell_ratio  # noqa: E402
from repro_clusters_vs_singles import N_AGG  # noqa: E402
from repro_common import (default_scenario, ensemble_records, finish, flux_config, measured, out_dir, paired,  # noqa: E402
                          parser, row, write_table)

DAYS = 7.0  # days in culture (assumption)
DISH = "dish"


def dish_scenario(quick: bool, size: int, cells: int) -> dict:
    base = default_scenario(quick)
    lung = base["organs"]["lung"]
    dish = {k: lung[k] for k in ("terms", "pressure_diffusivity", "pressure_exponent", "growth_rate",
                                 "carrying_capacity", "adapt") if k in lung}
    dish.update(role="site", box=[6.0, 6.0, 0.6], cells=[10, 10, 1], first_pass=True, arrest_probability=1.0)
    well = {"role": "primary", "box": [1.0, 1.0, 1.0], "cells": [1, 1, 1], "terms": ["pressure", "pressure_growth"],
            "initial": {"shape": "ball", "radius": 0.1, "density": 0.0}}
    flux = base["cluster_flux"]
    flux.update(shedding_rate=0.0, log_failed="count",
                injection={"time": 0.0, "cells": int(cells), "size": int(size)})
    flux["circulation"].update(half_life_single=1.0e6)  # no blood: nothing is cleared
    base["simulation"].update(t_end=DAYS, output_every=DAYS)
    base["organs"] = {"well": well, DISH: dish}
    return base


def main():
    p = parser("experiment_ex_vivo", __doc__, seeds=8)
    args = p.parse_args()
    out = out_dir(args, "ex_vivo")
    target = 8.0 if args.quick else 40.0
    _, cfg, _ = flux_config(default_scenario(args.quick))
    arms, finer = {}, {}
    for name, size in (("aggregates", N_AGG), ("singles", 1)):
        cells = size * max(1, round(target / float(cfg.survival(size))))
        arms[name], finer[name] = ensemble_records(args, f"dish-{name}-{cells}",
                                                   base=dish_scenario(args.quick, size, cells))
    exact = float(cfg.survival(N_AGG)) / N_AGG / float(cfg.survival(1))
    both, both_fine = paired(arms["aggregates"], arms["singles"]), paired(finer["aggregates"], finer["singles"])
    figure(out, arms, f"cells per colony after {DAYS:g} days", "plated", organ=DISH)
    rows = [row("ex vivo colonies per cell, aggregates vs singles (closed form s(n)/(n s1))", exact, "> 15", 15.0,
                None, None, "predicted", "Cheung et al. PNAS 2016")]
    for key, label in (("founders", "founders"), ("lesions", "colonies of any size"), ("foci", "colonies of >= 50 cells")):
        rows.append(measured(f"  simulated dish, {label} per plated cell, aggregates of {N_AGG} vs singles, day "
                             f"{DAYS:g}", per_cell_ratio(key, DISH), both, both_fine, "> 15", 15.0, None,
                             "reported" if key == "founders" else "predicted",
                             "Cheung et al. PNAS 2016 (culture time and aggregate size assumed)"))
    write_table(out, ARM_HEADER, arm_table(arms, DISH) + [[f"{n} (finer)", *r[1:]] for n, r in
                                                         zip(finer, arm_table(finer, DISH))],
                f"Dish: colonies after {DAYS:g} days (all dishes of each arm)")
    finish(out, "ex_vivo", "Ex vivo colony formation, aggregates vs dispersed cells (a dish)", rows,
           {"n_agg": N_AGG, "days": DAYS, "seeds": sorted(both), "finer_seeds": sorted(both_fine),
            "quick": args.quick, "closed_form": exact,
            "arms": {n: dict(zip(ARM_HEADER[1:], r[1:])) for n, r in zip(arms, arm_table(arms, DISH))}})


if __name__ == "__main__":
    main()
