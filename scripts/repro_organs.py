"""Organ distribution of metastases vs blood-flow routing.

The default scenario routes clusters through the lung first, then to liver, bone and brain by
cardiac-output fraction (ICRP reference values). Reported: fraction of seeded cells and of foci per
organ, next to each organ's share of the arrests and its blood-flow share. Compared with what is
known: MMTV-PyMT mouse mammary tumors metastasize mainly to the lung (Cheung et al. 2016 counted
lung metastases); in breast-cancer patients (Newton et al., npj Breast Cancer 2015) bone is the
first site in ~35 %, then lung and liver, brain in < 5 %. The model's routing is a mouse's with
tail-vein-like first-pass lung filtering, so it predicts lung-dominant seeding; nothing is fitted.
"""

import numpy as np

from repro_common import default_scenario, finish, out_dir, parser, row, run, write_table


def main():
    args = parser("repro_organs", __doc__).parse_args()
    out = out_dir(args, "organs")
    data = default_scenario(args.quick)
    seeds = [1] if args.quick else [1, 2, 3, 4]
    sites = [n for n, o in data["organs"].items() if o["role"] == "site"]
    seeded = dict.fromkeys(sites, 0.0)
    arrested = dict.fromkeys(sites, 0.0)
    foci = dict.fromkeys(sites, 0)
    for seed in seeds:
        sim = run(data, seed=seed)
        for o in sites:
            seeded[o] += sim.coupling.ledger["per_organ"][o]["seeded_cells"]
            arrested[o] += sim.coupling.ledger["per_organ"][o]["arrested_cells"]
            foci[o] += len(sim.foci(o))
    flow = {o: (1.0 if data["organs"][o].get("first_pass") else data["organs"][o].get("blood_flow_fraction", 0.0))
            for o in sites}
    ts, ta, tf = sum(seeded.values()), sum(arrested.values()), max(sum(foci.values()), 1)
    table = [[o, flow[o], arrested[o] / ta, seeded[o] / ts, foci[o] / tf, foci[o] / len(seeds)] for o in sites]
    write_table(out, ["organ", "blood flow per circulation (lung: all)", "share of arrested cells",
                      "share of seeded cells", "share of foci", "foci per run"], table,
                "Organ distribution (default scenario)")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    x = np.arange(len(sites))
    for k, (label, col) in enumerate([("arrested cells", 2), ("seeded cells", 3), ("foci", 4)]):
        ax.bar(x + (k - 1) * 0.27, [r[col] for r in table], 0.27, label=label)
    ax.set_xticks(x, sites)
    ax.set_ylabel("share")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "figure.png", dpi=120)
    share = {o: seeded[o] / ts for o in sites}
    rows = [
        row("share of seeded cells in the lung (mouse: lung-dominant)", share["lung"], "largest share", 0.5, 1.0,
            None, "predicted", "Cheung et al. 2016; MMTV-PyMT lung metastasis"),
        row("share of seeded cells in the brain", share["brain"], "< 5 % (patients)", 0.0, 0.05, None, "predicted",
            "Newton et al. npj Breast Cancer 2015"),
        row("share of seeded cells in bone", share["bone"], "~35 % first site (patients)", None, None, None,
            "reported", "Newton et al. 2015: human routing differs (see docs/model.md)"),
        row("share of seeded cells in the liver", share["liver"], "second/third site (patients)", None, None, None,
            "reported", "Newton et al. 2015"),
    ]
    finish(out, "organs", "Organ distribution vs blood-flow routing", rows,
           {"seeds": seeds, "blood_flow": flow, "foci": foci})


if __name__ == "__main__":
    main()
