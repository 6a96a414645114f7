"""Therapies against metastasis: K14 / cluster dissociation vs anti-proliferative vs anti-CTC kill.

K14-expressing cells lead collective invasion and travel as clusters (Cheung et al. 2016); the
press release suggested targeting circulating, invasive cells rather than proliferating ones. The
model compares, over dose, on the default scenario:
  dissociation   cluster_flux.circulation.dissociation_rate δ (1/day): clusters fall apart into singles
  kill           cluster_flux.circulation.kill_rate k (1/day): circulating clusters are destroyed
  antiproliferative   growth_rate × (1 − f) in every organ (a cytostatic drug), f = fraction inhibited
Reported per therapy and dose: metastatic burden (cells in all sites), number of foci and the
polyclonal fraction of foci per organ, and the relative burden vs untreated. Nothing is fitted.
"""

import numpy as np

from repro_common import (default_scenario, ensemble_records, finish, foci_of, measured, out_dir, parser, pyplot,
                          save_figure, seed_lists, set_finer, write_table)

DOSES = {
    "dissociation": [0.0, 30.0, 100.0, 300.0, 1000.0],
    "kill": [0.0, 30.0, 100.0, 300.0, 1000.0],
    "antiproliferative": [0.0, 0.2, 0.4, 0.6, 0.8],
}
UNITS = {"dissociation": "1/day", "kill": "1/day", "antiproliferative": "fraction of ρ"}


def overrides(data, therapy, dose) -> dict:
    """The scenario changes of one therapy at one dose (dotted keys)."""
    if dose == 0.0:
        return {}
    if therapy == "antiproliferative":
        return {f"organs.{n}.growth_rate": o["growth_rate"] * (1.0 - dose) for n, o in data["organs"].items()}
    return {f"cluster_flux.circulation.{therapy}_rate": dose}


def burden(recs):
    """Mean cells in all sites per mouse."""
    return float(np.mean([sum(sum(c.values()) for o, c in r["summary"]["cells_final"].items()
                              if o in r["summary"]["per_organ"]) for r in recs]))


def foci_per_mouse(recs):
    return float(np.mean([len(foci_of(r)) for r in recs]))


def poly_fraction(recs):
    foci = [f for r in recs for f in foci_of(r)]
    return float(np.mean([f["polyclonal"] for f in foci])) if foci else float("nan")


def relative(statistic, control: dict):
    """statistic(treated seeds) / statistic(the untreated runs of the same seeds): paired by seed."""
    return lambda recs: statistic(recs) / statistic([control[r["seed"]] for r in recs])


def main():
    p = parser("repro_therapy", __doc__, seeds=8)
    p.add_argument("--curve-seeds", type=int, default=2, help="seeds of the intermediate doses (default 2; 0: run "
                   "only the untreated and the top doses)")
    args = p.parse_args()
    out = out_dir(args, "therapy")
    data = default_scenario(args.quick)
    doses = {k: ([v[0], v[2], v[-1]] if args.quick else v) for k, v in DOSES.items()}
    if args.curve_seeds == 0:
        doses = {k: [v[0], v[-1]] for k, v in doses.items()}
    ship0, fine0 = ensemble_records(args, "default")
    curve_args = type(args)(**{**vars(args), "seeds": min(args.curve_seeds, len(seed_lists(args)[0])),
                               "finer_seeds": 0})
    table, curves, rows, top = [], {}, [], {}
    for therapy, values in doses.items():
        for dose in values:
            top_dose = dose == values[-1]
            if dose == 0.0:
                ship, fine = ship0, fine0
            else:
                ship, fine = ensemble_records(args if top_dose else curve_args, f"{therapy}-{dose:g}",
                                              overrides(data, therapy, dose))
            recs = list(ship.values())
            b = relative(burden, ship0)(recs)
            foci, poly = foci_per_mouse(recs), poly_fraction(recs)
            table.append([therapy, dose, UNITS[therapy], len(recs), burden(recs), b, foci, poly])
            curves.setdefault(therapy, []).append((dose, b, foci, poly))
            if top_dose:
                top[therapy] = b
                rows.append(measured(f"metastatic burden vs untreated, {therapy} at top dose ({dose:g} "
                                     f"{UNITS[therapy]})", relative(burden, ship0), ship, {},
                                     "K14 knockdown reduced metastasis", kind="predicted",
                                     source="Cheung et al. 2016 (unconfirmed)"))
                common = sorted(set(fine) & set(fine0))
                if common:  # one level finer, against the finer untreated runs of the same seeds
                    set_finer(rows[-1], relative(burden, fine0)([fine[s] for s in common]),
                              relative(burden, ship0)([ship[s] for s in common]), len(common))
                if therapy == "dissociation":
                    rows.append(measured("polyclonal fraction of site foci at top-dose dissociation", poly_fraction,
                                         ship, fine, "—", kind="predicted",
                                         source="model: the foci that still form come from clusters that "
                                                "escaped dissociation"))
    write_table(out, ["therapy", "dose", "unit", "seeds", "site cells", "burden vs untreated (same seeds)",
                      "site foci per mouse", "polyclonal fraction of foci"], table,
                "Therapies over dose (default scenario)")
    plt = pyplot()
    fig, ax = plt.subplots(1, 3, figsize=(12, 3.6))
    for therapy, pts in curves.items():
        x = np.arange(len(pts))
        for a, k in zip(ax, (1, 2, 3)):
            a.plot(x, [q[k] for q in pts], "o-", label=therapy)
    for a, t in zip(ax, ["metastatic burden / untreated", "foci in sites per mouse", "polyclonal fraction of foci"]):
        a.set_xlabel("dose level (see table.md)")
        a.set_title(t, fontsize=10)
    ax[0].set_yscale("log")
    ax[0].legend(fontsize=8)
    save_figure(fig, out)
    best = min(top, key=top.get)
    print(f"\nBy metastatic burden the model favors {best} ({top[best]:.3g} of untreated at its top dose). "
          "Dissociation and kill act on seeding only (fewer foci are founded; s(n) grows as n^γ so breaking "
          "clusters removes the cooperative advantage); the anti-proliferative drug slows the primary (which then "
          "sheds fewer cells) and every focus (fewer reach the census threshold). Doses of different drugs are "
          "not matched in toxicity.")
    finish(out, "therapy", "Therapies: cluster dissociation vs anti-proliferative vs anti-CTC kill", rows,
           {"doses": doses, "seeds": sorted(ship0), "curve_seeds": curve_args.seeds, "favored_by_burden": best})


if __name__ == "__main__":
    main()
