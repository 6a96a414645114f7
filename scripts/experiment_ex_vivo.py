"""Ex vivo colony formation of aggregates vs dispersed cells, grown in a dish (Cheung et al. 2016).

The experiment: tumor cells plated in 3D culture as aggregates or as single cells; colonies counted.
Published: > 15-fold more colonies per plated cell from aggregates.

The model: a dish (one organ, a 6 x 6 x 0.6 mm gel, the lung's growth parameters) and no blood: every
plated cluster lands in the dish within seconds (`first_pass`, arrest probability 1, no clearance), survives
by the same s(n) as in vivo (the cooperation law of default.toml: an ASSUMPTION that colonization's
cooperative survival is the same in a dish) and grows by the pressure-driven PDE for DAYS days (an
ASSUMPTION: the culture time is not in our sources). Aggregates of N_AGG = 30 cells (as for the tail vein,
an assumption). Counted per plated cell: founders (surviving clusters), lesions, and colonies of >= 50
cells; the ratio's 95 % CI is that of two Poisson counts. The closed form s(n)/(n s1) is printed beside it.
Founders start growing when the dish is next refined around them (every 2 days: the delay pdemet models as
extravasation, here standing for the cells settling), so colonies are up to 2 days younger than the culture.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from experiment_tail_vein import figure, pooled, ratio  # noqa: E402
from repro_clusters_vs_singles import N_AGG  # noqa: E402
from repro_common import default_scenario, finish, flux_config, out_dir, parser, row, run  # noqa: E402

DAYS = 7.0  # days in culture (assumption)


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
    base["organs"] = {"well": well, "dish": dish}
    return base


def arm(quick: bool, size: int, target: float, seed: int) -> dict:
    _, cfg, _ = flux_config(default_scenario(quick))
    s = float(cfg.survival(size))
    cells = size * max(1, round(target / s))
    sim = run(dish_scenario(quick, size, cells), seed=seed)
    lesions = sim.lesions("dish")
    return {"size": size, "cells": sim.coupling.ledger["cells"]["injected"], "survival": s,
            "founders": sim.coupling.ledger["per_organ"]["dish"]["seeded_clusters"], "lesions": len(lesions),
            "foci": len(sim.foci("dish")), "lesion_cells": sorted((float(f["cells"]) for f in lesions), reverse=True)}


def main():
    p = parser("experiment_ex_vivo", __doc__)
    p.add_argument("--seeds", type=int, default=2, help="seeds per arm (default 2)")
    args = p.parse_args()
    out = out_dir(args, "ex_vivo")
    target = 8.0 if args.quick else 40.0
    res = {}
    for name, size in (("aggregates", N_AGG), ("singles", 1)):
        arms = [arm(args.quick, size, target, 300 + 10 * size + k) for k in range(args.seeds)]
        res[name] = pooled(arms, ("cells", "founders", "lesions", "foci")) | {"survival": arms[0]["survival"]}
    exact = res["aggregates"]["survival"] / N_AGG / res["singles"]["survival"]
    figure(out, res, f"cells per colony after {DAYS:g} days", "plated")
    rows = [row("ex vivo colonies per cell, aggregates vs singles (closed form s(n)/(n s1))", exact, "> 15", 15.0,
                None, None, "predicted", "Cheung et al. PNAS 2016")]
    for key, label in (("founders", "founders"), ("lesions", "colonies of any size"), ("foci", "colonies of >= 50 cells")):
        r, ci = ratio(res["aggregates"], res["singles"], key)
        rows.append(row(f"  simulated dish, {label} per plated cell, aggregates of {N_AGG} vs singles, day {DAYS:g}",
                        r, "> 15", 15.0, None, ci, "reported" if key == "founders" else "predicted",
                        "Cheung et al. PNAS 2016 (culture time and aggregate size assumed)",
                        f"counts {res['aggregates'][key]:g} / {res['singles'][key]:g}"))
    finish(out, "ex_vivo", "Ex vivo colony formation, aggregates vs dispersed cells (a dish)", rows,
           {"n_agg": N_AGG, "days": DAYS, "seeds": args.seeds, "quick": args.quick, "results": res})


if __name__ == "__main__":
    main()
