"""Polyclonal metastases (Cheung et al., PNAS 2016): fraction of lung foci that are multicolored.

Four equally mixed colors in the mammary fat pad (the default scenario); after three weeks the lung
foci are classified (census: ≥ 2 clones each above 5 % of the focus). Published: > 90 % of metastases
polyclonal (press report ≈ 95 %); > 97 % of lung metastases cluster-derived (95 % CI 74–100 %).
An ensemble of seeds gives the fraction with a 95 % Wilson interval over all foci.
All inputs come from pdemet/scenarios/default.toml (sources in its comments); nothing here is fitted.
"""

import numpy as np

from repro_common import default_scenario, finish, out_dir, parser, row, run, wilson, write_table


def main():
    args = parser("repro_polyclonal", __doc__).parse_args()
    out = out_dir(args, "polyclonal")
    seeds = range(1, 3) if args.quick else range(1, 9)
    data = default_scenario(args.quick)
    table, poly, foci, seed_poly, seed_total, cluster_seeds = [], 0, 0, 0, 0, 0
    for seed in seeds:
        sim = run(data, seed=seed)
        fl = sim.foci("lung")
        p = sum(f["polyclonal"] for f in fl)
        ev = sim.coupling.events.rows("lung", survived_only=True)
        sp = int(((ev[:, 2:] > 0).sum(axis=1) >= 2).sum()) if len(ev) else 0
        cl = int((ev[:, 0] >= 2).sum()) if len(ev) else 0
        table.append([seed, len(fl), p, p / len(fl) if fl else float("nan"), len(ev), sp, cl])
        poly, foci, seed_poly, seed_total, cluster_seeds = poly + p, foci + len(fl), seed_poly + sp, \
            seed_total + len(ev), cluster_seeds + cl
    write_table(out, ["seed", "lung foci", "polyclonal foci", "fraction", "seeding clusters", "polyclonal seeds",
                      "cluster seeds (n ≥ 2)"], table, "Polyclonal lung foci per seed (default scenario)")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    ax.bar([str(r[0]) for r in table], [r[3] for r in table], color="#377eb8")
    ax.axhline(0.9, color="r", ls="--", label="Cheung 2016: > 90 %")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("seed")
    ax.set_ylabel("polyclonal fraction of lung foci")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "figure.png", dpi=120)
    frac = poly / foci if foci else float("nan")
    rows = [
        row("polyclonal fraction of lung foci (all seeds)", frac, "> 90 % (≈ 95 %)", 0.9, 1.0, wilson(poly, foci),
            "predicted", "Cheung et al. PNAS 2016"),
        row("fraction of lung seeding events by clusters (n ≥ 2)", cluster_seeds / max(seed_total, 1),
            "> 97 % (CI 74–100 %)", 0.74, 1.0, wilson(cluster_seeds, seed_total), "predicted",
            "Cheung et al. PNAS 2016 (review table, Cheung & Ewald 2016)"),
        row("polyclonal fraction of lung seeding events", seed_poly / max(seed_total, 1), "—", None, None,
            wilson(seed_poly, seed_total), "reported", "model only"),
    ]
    finish(out, "polyclonal", "Polyclonal metastases (Cheung et al. 2016)", rows,
           {"seeds": list(seeds), "t_end_days": data["simulation"]["t_end"], "lung_foci": foci,
            "scenario": "pdemet/scenarios/default.toml"})


if __name__ == "__main__":
    main()
