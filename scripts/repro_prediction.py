"""A prediction none of the papers makes: polyclonal fraction vs intermixing and cluster size.

Axes: how intermixed the primary is (segregation s: 0 = the four clones intermixed everywhere,
1 = each clone in its own angular sector) and the mean size of shed clusters (geometric law with mean m).
Output: the polyclonal fraction of seeding clusters (surviving arrests with ≥ 2 clones) and of lung foci,
as a heat map. Everything else is the default scenario; nothing is fitted.
Expectation: polyclonality falls with segregation (clusters from a segregated tumor are mostly
monoclonal, except at sector borders) and rises with cluster size.
"""

import numpy as np

from repro_common import default_scenario, finish, out_dir, parser, row, run, wilson, write_table


def main():
    args = parser("repro_prediction", __doc__).parse_args()
    out = out_dir(args, "prediction")
    seg_values = [0.0, 1.0] if args.quick else [0.0, 0.25, 0.5, 0.75, 1.0]
    mean_sizes = [1.5, 4.0] if args.quick else [1.2, 1.5, 2.0, 3.0, 5.0]
    base = default_scenario(args.quick)
    base["simulation"]["t_end"] = 14.0 if args.quick else 21.0
    grid = np.zeros((len(seg_values), len(mean_sizes)))
    table = []
    for a, seg in enumerate(seg_values):
        for b, m in enumerate(mean_sizes):
            data = base.copy()
            data["organs"]["fat_pad"]["initial"] = dict(base["organs"]["fat_pad"]["initial"], segregation=seg)
            data["cluster_flux"] = dict(base["cluster_flux"], sizes={"kind": "geometric", "mean_size": m,
                                                                     "max_size": 50})
            sim = run(data, seed=7)
            ev = sim.coupling.events.rows(survived_only=True)
            poly = int(((ev[:, 2:] > 0).sum(axis=1) >= 2).sum()) if len(ev) else 0
            frac = poly / len(ev) if len(ev) else float("nan")
            lf = sim.foci("lung")
            ffrac = np.mean([f["polyclonal"] for f in lf]) if lf else float("nan")
            grid[a, b] = frac
            table.append([seg, m, len(ev), frac, *wilson(poly, len(ev)), len(lf), ffrac])
    write_table(out, ["segregation", "mean cluster size", "seeding clusters", "polyclonal fraction of seeds",
                      "CI low", "CI high", "lung foci", "polyclonal fraction of lung foci"], table,
                "Polyclonal seeding vs intermixing and cluster size")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    im = ax.imshow(grid, origin="lower", aspect="auto", vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(len(mean_sizes)), [f"{m:g}" for m in mean_sizes])
    ax.set_yticks(range(len(seg_values)), [f"{s:g}" for s in seg_values])
    ax.set_xlabel("mean shed cluster size (cells)")
    ax.set_ylabel("segregation of the primary (0 intermixed, 1 sectors)")
    for (i, j), v in np.ndenumerate(grid):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", color="w" if v < 0.6 else "k", fontsize=8)
    fig.colorbar(im, label="polyclonal fraction of seeding clusters")
    fig.tight_layout()
    fig.savefig(out / "figure.png", dpi=120)
    rows = [
        row("polyclonal seeds: intermixed − segregated (largest clusters)", float(grid[0, -1] - grid[-1, -1]),
            "no published value", 0.0, None, None, "predicted", "model prediction"),
        row("polyclonal seeds: largest − smallest mean cluster size (intermixed)", float(grid[0, -1] - grid[0, 0]),
            "no published value", 0.0, None, None, "predicted", "model prediction"),
    ]
    finish(out, "prediction", "Prediction: polyclonality vs intermixing and cluster size", rows,
           {"segregation": seg_values, "mean_cluster_size": mean_sizes, "seed": 7,
            "t_end_days": base["simulation"]["t_end"]})


if __name__ == "__main__":
    main()
