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

from repro_common import default_scenario, ensemble_records, finish, foci_of, measured, out_dir, parser, pyplot, save_figure, write_table


def share(organ, key="seeded_cells"):
    """Pooled share of one site in the ledger's ``key`` (cells seeded or arrested) over the records."""
    def statistic(recs):
        per = [r["summary"]["per_organ"] for r in recs]
        total = sum(v[key] for p in per for v in p.values())
        return sum(p[organ][key] for p in per) / total if total else float("nan")
    return statistic


def foci_share(organ):
    def statistic(recs):
        total = sum(len(foci_of(r)) for r in recs)
        return sum(len(foci_of(r, [organ])) for r in recs) / total if total else float("nan")
    return statistic


def main():
    args = parser("repro_organs", __doc__, seeds=8).parse_args()
    out = out_dir(args, "organs")
    shipped, finer = ensemble_records(args, "default")
    recs = list(shipped.values())
    sites = list(recs[0]["summary"]["per_organ"])
    data = default_scenario(args.quick)
    flow = {o: (1.0 if data["organs"][o].get("first_pass") else data["organs"][o].get("blood_flow_fraction", 0.0))
            for o in sites}
    table = [[o, flow[o], share(o, "arrested_cells")(recs), share(o)(recs), foci_share(o)(recs),
              np.mean([len(foci_of(r, [o])) for r in recs])] for o in sites]
    write_table(out, ["organ", "blood flow per circulation (lung: all)", "share of arrested cells",
                      "share of seeded cells", "share of foci", "foci per run"], table,
                "Organ distribution (default scenario)")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    x = np.arange(len(sites))
    for k, (label, col) in enumerate([("arrested cells", 2), ("seeded cells", 3), ("foci", 4)]):
        ax.bar(x + (k - 1) * 0.27, [r[col] for r in table], 0.27, label=label)
    ax.set_xticks(x, sites)
    ax.set_ylabel("share")
    ax.legend()
    save_figure(fig, out)
    rows = [
        measured("share of seeded cells in the lung (mouse: lung-dominant)", share("lung"), shipped, finer,
                 "largest share", 0.5, 1.0, "predicted", "Cheung et al. 2016; MMTV-PyMT lung metastasis"),
        measured("share of foci in the lung", foci_share("lung"), shipped, finer, "largest share", 0.5, 1.0,
                 "predicted", "Cheung et al. 2016 counted lung metastases"),
        measured("share of seeded cells in the brain", share("brain"), shipped, finer, "< 5 % (patients)", 0.0,
                 0.05, "predicted", "Newton et al. npj Breast Cancer 2015"),
        measured("share of seeded cells in bone", share("bone"), shipped, finer, "~35 % first site (patients)",
                 kind="reported", source="Newton et al. 2015: human routing differs (see docs/model.md)"),
        measured("share of seeded cells in the liver", share("liver"), shipped, finer,
                 "second/third site (patients)", kind="reported", source="Newton et al. 2015"),
    ]
    finish(out, "organs", "Organ distribution vs blood-flow routing", rows,
           {"seeds": sorted(shipped), "finer_seeds": sorted(finer), "blood_flow": flow})


if __name__ == "__main__":
    main()
