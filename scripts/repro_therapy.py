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

import copy

import numpy as np

from repro_common import default_scenario, finish, out_dir, parser, row, run, write_table

DOSES = {
    "dissociation": [0.0, 30.0, 100.0, 300.0, 1000.0],
    "kill": [0.0, 30.0, 100.0, 300.0, 1000.0],
    "antiproliferative": [0.0, 0.2, 0.4, 0.6, 0.8],
}
UNITS = {"dissociation": "1/day", "kill": "1/day", "antiproliferative": "fraction of ρ"}


def treated(data, therapy, dose):
    d = copy.deepcopy(data)
    if therapy == "dissociation":
        d["cluster_flux"]["circulation"]["dissociation_rate"] = dose
    elif therapy == "kill":
        d["cluster_flux"]["circulation"]["kill_rate"] = dose
    else:
        for organ in d["organs"].values():
            organ["growth_rate"] = organ["growth_rate"] * (1.0 - dose)
    return d


def main():
    args = parser("repro_therapy", __doc__).parse_args()
    out = out_dir(args, "therapy")
    data = default_scenario(args.quick)
    seeds = [1] if args.quick else [1, 2, 3]
    doses = {k: ([v[0], v[2], v[-1]] if args.quick else v) for k, v in DOSES.items()}
    sites = [n for n, o in data["organs"].items() if o["role"] == "site"]
    table, curves, runs = [], {}, {}
    for therapy, values in doses.items():
        for dose in values:
            burden, foci, poly, nf = [], [], [], []
            for seed in seeds:
                key = (0.0 if dose == 0.0 else therapy, dose, seed)  # every therapy at dose 0 is the same run
                if key not in runs:
                    sim = run(treated(data, therapy, dose), seed=seed)
                    runs[key] = (sum(sim.total_cells(o) for o in sites), sum(len(sim.foci(o)) for o in sites),
                                 sum(f["polyclonal"] for o in sites for f in sim.foci(o)))
                for values_, v in zip((burden, foci, poly), runs[key]):
                    values_.append(v)
            b, f, p = float(np.mean(burden)), float(np.mean(foci)), float(np.sum(poly) / max(np.sum(foci), 1))
            table.append([therapy, dose, UNITS[therapy], b, f, p])
            curves.setdefault(therapy, []).append((dose, b, f, p))
    untreated = np.mean([r[3] for r in table if r[1] == 0.0])
    for r in table:
        r.append(r[3] / untreated)
    write_table(out, ["therapy", "dose", "unit", "site cells", "site foci", "polyclonal fraction of foci",
                      "burden vs untreated"], table, "Therapies over dose (default scenario)")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(12, 3.6))
    for therapy, pts in curves.items():
        x = np.arange(len(pts))
        ax[0].plot(x, [q[1] / untreated for q in pts], "o-", label=therapy)
        ax[1].plot(x, [q[2] for q in pts], "o-", label=therapy)
        ax[2].plot(x, [q[3] for q in pts], "o-", label=therapy)
    for a, t in zip(ax, ["metastatic burden / untreated", "foci in sites", "polyclonal fraction of foci"]):
        a.set_xlabel("dose level (see table.md)")
        a.set_title(t, fontsize=10)
    ax[0].set_yscale("log")
    ax[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "figure.png", dpi=120)
    top = {t: pts[-1][1] / untreated for t, pts in curves.items()}
    best = min(top, key=top.get)
    rows = [row(f"metastatic burden vs untreated, {t} at top dose ({doses[t][-1]} {UNITS[t]})", v,
                "K14 knockdown reduced metastasis", None, None, None, "predicted", "Cheung et al. 2016 (unconfirmed)")
            for t, v in top.items()]
    # No published value and, at these doses, within seed-to-seed noise: reported, not asserted.
    rows.append(row("change of the polyclonal fraction of foci with dissociation (top dose − untreated)",
                    curves["dissociation"][-1][3] - curves["dissociation"][0][3], "—", None, None, None, "predicted",
                    "model: the foci that still form are seeded by clusters that escaped dissociation"))
    foci_top = {t: pts[-1][2] / max(pts[0][2], 1e-300) for t, pts in curves.items()}
    best_foci = min(foci_top, key=foci_top.get)
    print(f"\nBy metastatic burden the model favors {best} ({top[best]:.3g} of untreated at its top dose); by the "
          f"number of foci it favors {best_foci} ({foci_top[best_foci]:.3g} of untreated). Dissociation and kill act "
          "on seeding only (fewer foci are founded; s(n) grows as n^γ so breaking clusters removes the cooperative "
          "advantage); the anti-proliferative drug slows the primary (which then sheds fewer cells) and every focus "
          "(fewer reach the census threshold). Doses of different drugs are not matched in toxicity.")
    finish(out, "therapy", "Therapies: cluster dissociation vs anti-proliferative vs anti-CTC kill", rows,
           {"doses": doses, "seeds": seeds, "favored_by_burden": best, "favored_by_foci": best_foci})


if __name__ == "__main__":
    main()
