"""Therapies against metastasis at matched toxicity: K14 / cluster dissociation vs anti-CTC kill vs anti-proliferative.

K14-expressing cells lead collective invasion and travel as clusters (Cheung et al. 2016); the press release
suggested targeting circulating, invasive cells rather than proliferating ones. The model compares, on the
default scenario:
  dissociation       cluster_flux.circulation.dissociation_rate δ (1/day): clusters fall apart into singles
  kill               cluster_flux.circulation.kill_rate k (1/day): circulating cells are destroyed
  antiproliferative  growth_rate × (1 − f) in every organ (a cytostatic drug)

MATCHED TOXICITY (an assumption, stated so that it can be changed): a drug's toxicity grows with the fraction
of its own target it removes, so the three are compared at the dose that removes the same fraction f of their
targets: f of the tumor's proliferation (ρ → (1 − f)ρ), f of the circulating tumor cells killed before they
leave the blood (cells weighted by the shed size law P(n): Σ n P(n) k/(k + hₙ) = f Σ n P(n)), f of the cells
shed in clusters dissociated before they leave the blood (the same over n ≥ 2 with δ); hₙ is the untreated
exit hazard of a cluster of n cells (arrest anywhere + clearance, pdemet.flux.circulation.Hazards). Doses at
f in FRACTIONS are solved exactly from the scenario's laws.
Reported per therapy and f, over an ensemble of seeds (one mouse each; the untreated runs are shared with
repro_polyclonal) at the shipped resolution and one level finer: metastatic burden (cells in all sites) and
site foci relative to untreated mice of the same seeds, and the diversity of the foci that still form (their
polyclonal fraction and mean Gini–Simpson index). Nothing is fitted.
"""

import numpy as np
from scipy.optimize import brentq

from repro_common import (default_scenario, ensemble_records, finish, flux_config, foci_of, measured,
                          measured_vs_control, out_dir, parser, pyplot, relative_to, save_figure, write_table)

FRACTIONS = [0.5, 0.9]  # of each drug's target removed (matched toxicity)
THERAPIES = ("dissociation", "kill", "antiproliferative")


def exit_hazards(data) -> tuple[np.ndarray, np.ndarray]:
    """(hₙ the untreated exit hazard of a cluster of n cells (1/day), the shed cells' weights n·P(n)), n = 1..N."""
    from pdemet.flux.circulation import Hazards

    _, cfg, sites = flux_config(data)
    h = Hazards(cfg, sites)
    untreated = h.total - h.table[:, h.KILL] - h.table[:, h.DISS]
    return untreated, cfg.sizes.cell_pmf()


def matched_dose(data, therapy: str, f: float) -> float:
    """The dose of ``therapy`` that removes the fraction ``f`` of its target (see the module docstring)."""
    if therapy == "antiproliferative":
        return f
    h, w = exit_hazards(data)
    if therapy == "dissociation":
        h, w = h[1:], w[1:]  # cells in clusters (n ≥ 2)
    w = w / w.sum()
    return float(brentq(lambda d: float(w @ (d / (d + h))) - f, 1e-12, 1e9, xtol=1e-12, rtol=1e-14))


UNITS = {"dissociation": "1/day", "kill": "1/day", "antiproliferative": "fraction of ρ"}


def overrides(data, therapy, dose) -> dict:
    """The scenario changes of one therapy at one dose (dotted keys)."""
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


def simpson(recs):
    foci = [f for r in recs for f in foci_of(r)]
    return float(np.mean([f["simpson"] for f in foci])) if foci else float("nan")


def figure(out, table, untreated) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(1, 3, figsize=(12, 3.6))
    for therapy in THERAPIES:
        pts = [r for r in table if r[0] == therapy]
        f = [0.0] + [r[1] for r in pts]
        for a, k, base in zip(ax, (4, 6, 7), (1.0, untreated[0], untreated[1])):
            a.plot(f, [base] + [r[k] for r in pts], "o-", label=therapy)
    for a, t in zip(ax, ["metastatic burden / untreated", "polyclonal fraction of site foci",
                         "mean Gini–Simpson index of site foci"]):
        a.set_xlabel("fraction of the drug's target removed (matched toxicity)")
        a.set_title(t, fontsize=10)
    ax[0].set_yscale("log")
    ax[0].legend(fontsize=8)
    save_figure(fig, out)


def main():
    args = parser("repro_therapy", __doc__, seeds=8).parse_args()
    out = out_dir(args, "therapy")
    data = default_scenario(args.quick)
    ship0, fine0 = ensemble_records(args, "default")
    fractions = FRACTIONS[-1:] if args.quick else FRACTIONS
    table, rows, ranks = [], [], {}
    for f in fractions:
        for therapy in THERAPIES:
            dose = matched_dose(data, therapy, f)
            ship, fine = ensemble_records(args, f"{therapy}-{dose:.6g}", overrides(data, therapy, dose))
            recs = list(ship.values())
            table.append([therapy, f, dose, UNITS[therapy], relative_to(burden, ship0)(recs),
                          relative_to(foci_per_mouse, ship0)(recs), poly_fraction(recs), simpson(recs), len(recs)])
            tag = f"{therapy} at matched toxicity f = {f:g} ({dose:.3g} {UNITS[therapy]})"
            k14 = therapy == "dissociation"
            rows.append(measured_vs_control(f"metastatic burden vs untreated, {tag}", burden, ship, fine, ship0,
                                            fine0, "reduced (K14 knockdown reduced metastasis)" if k14 else "—",
                                            kind="predicted", source=("Cheung et al. 2016 (unconfirmed); " if k14
                                                                      else "model; ") + "toxicity matching assumed"))
            rows.append(measured(f"polyclonal fraction of site foci, {tag}", poly_fraction, ship, fine, "—",
                                 kind="predicted", source="model: diversity of the foci that still form"))
        at_f = [r for r in table if r[1] == f]
        ranks[f"{f:g}"] = {"by_burden": [r[0] for r in sorted(at_f, key=lambda r: r[4])],
                           "by_polyclonal_fraction": [r[0] for r in sorted(at_f, key=lambda r: r[6])]}
    untreated = (poly_fraction(list(ship0.values())), simpson(list(ship0.values())))
    write_table(out, ["therapy", "f (target removed)", "dose", "unit", "burden vs untreated (same seeds)",
                      "site foci vs untreated", "polyclonal fraction of site foci", "mean Gini–Simpson of foci",
                      "mice"], table + [["untreated", 0.0, 0.0, "", 1.0, 1.0, *untreated, len(ship0)]],
                "Therapies at matched toxicity (default scenario, day 21)")
    figure(out, table, untreated)
    for f, r in ranks.items():
        print(f"f = {f}: by burden (most effective first) {r['by_burden']}; by the polyclonal fraction of the foci "
              f"left (lowest first) {r['by_polyclonal_fraction']}")
    finish(out, "therapy", "Therapies at matched toxicity: cluster dissociation vs anti-CTC kill vs anti-proliferative",
           rows, {"fractions": fractions, "doses": {f"{r[0]} f={r[1]:g}": r[2] for r in table},
                  "seeds": sorted(ship0), "finer_seeds": sorted(fine0), "ranking": ranks,
                  "untreated_polyclonal_fraction": untreated[0]})


if __name__ == "__main__":
    main()
