"""A prediction none of the papers makes: polyclonal fraction vs the primary's intermixing length and cluster size.

Axes: the intermixing length of the primary, set by sectors whose clone pattern repeats r times around the
center (organs.fat_pad.initial.sector_repeats; ℓ = 2πR₀/(K·r) at the initial radius R₀ with K clones; the
intermixed primary is ℓ = 0), and the mean size of shed clusters, set by the exponent α of the size law
P(n) ∝ n^−α, n ≤ 50 (the default is α = 3, mean 1.35 cells). Output: the polyclonal fraction of surviving
seeding arrests and of site foci, as heat maps with a table of CIs. Everything else is the default scenario;
nothing is fitted. Expectation: polyclonality falls as ℓ grows past a cluster's size (clusters from a segregated
rim are monoclonal except at sector borders) and rises with cluster size; below the primary's front element
(0.2 mm) sectors are smeared by the P1 field, which the one-level-finer column (0.1 mm) shows.
"""

import math

import numpy as np

from repro_common import (default_scenario, ensemble_records, finish, foci_of, measured, out_dir, parser, pyplot,
                          save_figure, write_table)

REPEATS = [None, 8, 4, 2, 1]  # None: intermixed (ℓ = 0)
EXPONENTS = [4.0, 3.0, 2.0]   # mean cluster sizes 1.11, 1.35, 2.77 cells


def point_overrides(repeats, alpha, default_alpha) -> dict:
    """The scenario changes of one grid point; none at the default scenario's own point (its runs are shared)."""
    o = {} if alpha == default_alpha else {"cluster_flux.sizes.exponent": alpha}
    if repeats is not None:
        o.update({"organs.fat_pad.initial.mixing": "sectors", "organs.fat_pad.initial.sector_repeats": repeats})
    return o


def poly_arrests(recs):
    n = sum(len(a["size"]) for r in recs for a in r["arrests"].values())
    k = sum(int((a["n_clones"] >= 2).sum()) for r in recs for a in r["arrests"].values())
    return k / n if n else float("nan")


def poly_foci(recs):
    foci = [f for r in recs for f in foci_of(r)]
    return float(np.mean([f["polyclonal"] for f in foci])) if foci else float("nan")


def paired(a: dict, b: dict) -> dict:
    """Records of two ensembles joined by seed, for a statistic of their difference."""
    return {s: {"seed": s, "a": a[s], "b": b[s]} for s in sorted(set(a) & set(b))}


def difference(statistic):
    return lambda recs: statistic([r["a"] for r in recs]) - statistic([r["b"] for r in recs])


def main():
    p = parser("repro_prediction", __doc__, seeds=2)
    p.add_argument("--repeats", type=int, nargs="+", default=None, help="sector repeats of the segregated "
                   f"primaries (default {REPEATS[1:]}; the intermixed primary is always run)")
    p.add_argument("--exponents", type=float, nargs="+", default=None, help=f"size-law exponents α, largest "
                   f"first (default {EXPONENTS})")
    args = p.parse_args()
    out = out_dir(args, "prediction")
    data = default_scenario(args.quick)
    init = data["organs"]["fat_pad"]["initial"]
    k = len(data["clones"]["names"])
    repeats = [None, *args.repeats] if args.repeats else ([None, 1] if args.quick else REPEATS)
    exponents = args.exponents or ([4.0, 2.0] if args.quick else EXPONENTS)
    default_alpha = float(data["cluster_flux"]["sizes"]["exponent"])
    corners = {(None, exponents[-1]), (repeats[-1], exponents[-1]), (None, exponents[0])}  # the rows' points
    no_finer = type(args)(**{**vars(args), "finer_seeds": 0})
    n = np.arange(1, data["cluster_flux"]["sizes"].get("max_size", 50) + 1)
    runs, table = {}, []
    grid = {"arrests": np.zeros((len(repeats), len(exponents))), "foci": np.zeros((len(repeats), len(exponents)))}
    for i, r in enumerate(repeats):
        for j, alpha in enumerate(exponents):
            changes = point_overrides(r, alpha, default_alpha)
            tag = f"{'intermixed' if r is None else f'sectors{r}'}-alpha{alpha:g}" if changes else "default"
            ship, fine = ensemble_records(args if (r, alpha) in corners else no_finer, tag, changes)
            runs[(r, alpha)] = (ship, fine)
            recs = list(ship.values())
            ell = 0.0 if r is None else 2 * math.pi * init["radius"] / (k * r)
            pmf = n ** -alpha / (n ** -alpha).sum()
            grid["arrests"][i, j], grid["foci"][i, j] = poly_arrests(recs), poly_foci(recs)
            table.append([f"{ell:.3g}", r or "", alpha, float(pmf @ n), len(recs), grid["arrests"][i, j],
                          grid["foci"][i, j], float(np.mean([len(foci_of(x)) for x in recs]))])
    write_table(out, ["intermixing length ℓ (mm)", "sector repeats", "size exponent α", "mean cluster size",
                      "seeds", "polyclonal fraction of arrests", "polyclonal fraction of site foci",
                      "site foci per mouse"], table,
                "Polyclonality vs the primary's intermixing length and the shed cluster size")
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ylabels = [("intermixed" if r is None else f"{2 * math.pi * init['radius'] / (k * r):.2f}") for r in repeats]
    for ax, (key, title) in zip(axes, [("arrests", "polyclonal fraction of seeding arrests"),
                                       ("foci", "polyclonal fraction of site foci")]):
        im = ax.imshow(grid[key], origin="lower", aspect="auto", vmin=0, vmax=1, cmap="viridis")
        ax.set_xticks(range(len(exponents)), [f"α={a:g}\n(mean {float((n ** -a / (n ** -a).sum()) @ n):.2f})"
                                              for a in exponents])
        ax.set_yticks(range(len(repeats)), ylabels)
        ax.set_xlabel("shed cluster size law P(n) ∝ n^−α")
        ax.set_ylabel("intermixing length ℓ of the primary (mm)")
        ax.set_title(title, fontsize=10)
        for (a, b), v in np.ndenumerate(grid[key]):
            ax.text(b, a, f"{v:.2f}", ha="center", va="center", color="w" if v < 0.6 else "k", fontsize=8)
        fig.colorbar(im, ax=ax)
    save_figure(fig, out)
    big, small = exponents[-1], exponents[0]
    mixed_big, seg_big, mixed_small = runs[(None, big)], runs[(repeats[-1], big)], runs[(None, small)]
    rows = []
    for label, stat in [("arrests", poly_arrests), ("site foci", poly_foci)]:
        rows.append(measured(f"polyclonal {label}: intermixed − segregated (ℓ = {ylabels[-1]} mm), α = {big:g}",
                             difference(stat), paired(mixed_big[0], seg_big[0]), paired(mixed_big[1], seg_big[1]),
                             "no published value (> 0 expected)", 0.0, None, "predicted", "model prediction"))
        rows.append(measured(f"polyclonal {label}: α = {big:g} − α = {small:g} (intermixed)", difference(stat),
                             paired(mixed_big[0], mixed_small[0]), paired(mixed_big[1], mixed_small[1]),
                             "no published value (> 0 expected)", 0.0, None, "predicted", "model prediction"))
    finish(out, "prediction", "Prediction: polyclonality vs intermixing length and cluster size", rows,
           {"sector_repeats": repeats, "size_exponents": exponents, "seeds": sorted(mixed_big[0]),
            "initial_radius_mm": init["radius"], "t_end_days": data["simulation"]["t_end"]})


if __name__ == "__main__":
    main()
