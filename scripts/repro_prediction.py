"""Predictions none of the papers makes: polyclonality vs the primary's intermixing length and cluster size, and
the clonal patches of a focus vs the size of the cluster that founded it.

Axes: the intermixing length of the primary, set by sectors whose clone pattern repeats r times around the
center (organs.fat_pad.initial.sector_repeats; ℓ = 2πR₀/(K·r) at the initial radius R₀ with K clones; the
intermixed primary is ℓ = 0), and the mean size of shed clusters, set by the exponent α of the size law
P(n) ∝ n^−α, n ≤ 50 (the default is α = 3, mean 1.35 cells). Output: the polyclonal fraction of surviving
seeding arrests and of site foci, as heat maps (GRID_SEEDS mice per point) and as table rows with CIs over the
full ensembles (the intermixed and four-sector primaries at α = 3 are the runs of experiment_controls.py).
Everything else is the default scenario; nothing is fitted. Expectation: polyclonality falls as ℓ grows past a
cluster's size (clusters from a segregated rim are monoclonal except at sector borders) and rises with cluster
size.

Clonal patches (census `patches`: connected regions of a focus's body where one clone dominates, each >= 1 % of
its cells): pressure-driven growth carries each founder cell's progeny outward as a patch, so a focus founded by
one cluster of n cells should hold up to n patches (fewer where founders of one clone touch, or where a
founder's progeny is overgrown). Measured on the default ensemble's site foci founded by one arrest.
"""

import math

import numpy as np

from experiment_controls import variants
from repro_common import (default_scenario, ensemble_records, finish, foci_of, measured, out_dir, paired, parser,
                          pyplot, save_figure, write_table)

REPEATS = [None, 8, 4, 2, 1]  # None: intermixed (ℓ = 0)
EXPONENTS = [4.0, 3.0, 2.0]   # mean cluster sizes 1.11, 1.35, 2.77 cells
GRID_SEEDS = 2                # mice per heat-map point (the table rows use the full ensembles)
FOUNDER_BINS = [(1, 1), (2, 4), (5, 9), (10, 50)]  # cells of the one cluster that founded a focus


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


def one_founder_foci(recs, lo, hi):
    return [f for r in recs for f in foci_of(r) if f["founding_events"] == 1 and lo <= f["founding_cells"] <= hi]


def mean_patches(lo, hi):
    def stat(recs):
        foci = one_founder_foci(recs, lo, hi)
        return float(np.mean([f["patches"] for f in foci])) if foci else float("nan")
    return stat


def difference(statistic):
    return lambda recs: statistic([r["a"] for r in recs]) - statistic([r["b"] for r in recs])


def grid_point(args, r, alpha, default_alpha, scen):
    """The ensembles of one heat-map point: the shared default and four-sector runs where they are the same
    scenario, else the default with this point's changes."""
    if r is None and alpha == default_alpha:
        return ensemble_records(args, "default")
    if r == 1 and alpha == default_alpha:
        return ensemble_records(args, "sectors", base=scen["sectors"])
    tag = f"{'intermixed' if r is None else f'sectors{r}'}-alpha{alpha:g}"
    return ensemble_records(args, tag, point_overrides(r, alpha, default_alpha))


def main():
    p = parser("repro_prediction", __doc__, seeds=8)
    p.add_argument("--repeats", type=int, nargs="+", default=None, help="sector repeats of the segregated "
                   f"primaries (default {REPEATS[1:]}; the intermixed primary is always run)")
    p.add_argument("--exponents", type=float, nargs="+", default=None, help=f"size-law exponents α, largest "
                   f"first (default {EXPONENTS})")
    args = p.parse_args()
    out = out_dir(args, "prediction")
    data = default_scenario(args.quick)
    scen = variants(args.quick)
    init = data["organs"]["fat_pad"]["initial"]
    k = len(data["clones"]["names"])
    repeats = [None, *args.repeats] if args.repeats else ([None, 1] if args.quick else REPEATS)
    exponents = args.exponents or ([4.0, 3.0] if args.quick else EXPONENTS)
    default_alpha = float(data["cluster_flux"]["sizes"]["exponent"])
    small = exponents[0]
    full = {(None, default_alpha), (1, default_alpha), (None, small)}  # the rows' points: the full ensembles
    grid_args = type(args)(**{**vars(args), "seeds": min(GRID_SEEDS, args.seeds or GRID_SEEDS), "finer_seeds": 0})
    n = np.arange(1, data["cluster_flux"]["sizes"].get("max_size", 50) + 1)
    runs, table = {}, []
    grid = {"arrests": np.zeros((len(repeats), len(exponents))), "foci": np.zeros((len(repeats), len(exponents)))}
    for i, r in enumerate(repeats):
        for j, alpha in enumerate(exponents):
            ship, fine = grid_point(args if (r, alpha) in full else grid_args, r, alpha, default_alpha, scen)
            runs[(r, alpha)] = (ship, fine)
            recs = [ship[s] for s in sorted(ship)[:GRID_SEEDS]]  # every point of the maps over the same mice
            ell = 0.0 if r is None else 2 * math.pi * init["radius"] / (k * r)
            pmf = n ** -alpha / (n ** -alpha).sum()
            grid["arrests"][i, j], grid["foci"][i, j] = poly_arrests(recs), poly_foci(recs)
            table.append([f"{ell:.3g}", r or "", alpha, float(pmf @ n), len(recs), grid["arrests"][i, j],
                          grid["foci"][i, j], float(np.mean([len(foci_of(x)) for x in recs]))])
    write_table(out, ["intermixing length ℓ (mm)", "sector repeats", "size exponent α", "mean cluster size",
                      "seeds", "polyclonal fraction of arrests", "polyclonal fraction of site foci",
                      "site foci per mouse"], table,
                "Polyclonality vs the primary's intermixing length and the shed cluster size")
    mixed, seg, mixed_small = runs[(None, default_alpha)], runs[(1, default_alpha)], runs[(None, small)]
    patches = [[f"{lo}–{hi}", len(one_founder_foci(list(mixed[0].values()), lo, hi)),
                mean_patches(lo, hi)(list(mixed[0].values()))] for lo, hi in FOUNDER_BINS]
    figure(out, grid, repeats, exponents, init, k, n, mixed[0])
    ell = 2 * math.pi * init["radius"] / (k * 1)
    rows = []
    for label, stat in [("arrests", poly_arrests), ("site foci", poly_foci)]:
        rows.append(measured(f"polyclonal {label}: intermixed − four sectors (ℓ = {ell:.2f} mm), α = {default_alpha:g}",
                             difference(stat), paired(mixed[0], seg[0]), paired(mixed[1], seg[1]),
                             "no published value (> 0 expected)", 0.0, None, "predicted", "model prediction"))
        rows.append(measured(f"polyclonal {label}: α = {default_alpha:g} − α = {small:g} (intermixed)",
                             difference(stat), paired(mixed[0], mixed_small[0]), paired(mixed[1], mixed_small[1]),
                             "no published value (> 0 expected)", 0.0, None, "predicted", "model prediction"))
    for lo, hi in FOUNDER_BINS:
        rows.append(measured(f"clonal patches per site focus founded by one cluster of {lo}–{hi} cells",
                             mean_patches(lo, hi), mixed[0], mixed[1], "no published value", kind="predicted",
                             source="model prediction (census patches ≥ 1 % of a focus)"))
    finish(out, "prediction", "Predictions: polyclonality vs intermixing length and cluster size; clonal patches",
           rows, {"sector_repeats": repeats, "size_exponents": exponents, "seeds": sorted(mixed[0]),
                  "finer_seeds": sorted(mixed[1]), "grid_seeds": GRID_SEEDS, "initial_radius_mm": init["radius"],
                  "t_end_days": data["simulation"]["t_end"], "patches_by_founder_cells": patches})


def figure(out, grid, repeats, exponents, init, k, n, default_records) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
    ylabels = [("intermixed" if r is None else f"{2 * math.pi * init['radius'] / (k * r):.2f}") for r in repeats]
    for ax, (key, title) in zip(axes, [("arrests", "polyclonal fraction of seeding arrests"),
                                       ("foci", "polyclonal fraction of site foci")]):
        im = ax.imshow(grid[key], origin="lower", aspect="auto", vmin=0, vmax=1, cmap="viridis")
        ax.set_xticks(range(len(exponents)), [f"α={a:g}\n(mean {float((n ** -a / (n ** -a).sum()) @ n):.2f})"
                                              for a in exponents])
        ax.set_yticks(range(len(repeats)), ylabels)
        ax.set_xlabel("shed cluster size law P(n) ∝ n^−α")
        ax.set_ylabel("intermixing length ℓ of the primary (mm)")
        ax.set_title(f"{title} ({GRID_SEEDS} mice per point)", fontsize=10)
        for (a, b), v in np.ndenumerate(grid[key]):
            ax.text(b, a, f"{v:.2f}", ha="center", va="center", color="w" if v < 0.6 else "k", fontsize=8)
        fig.colorbar(im, ax=ax)
    foci = one_founder_foci(list(default_records.values()), 1, 10 ** 9)
    x = np.array([f["founding_cells"] for f in foci], float)
    y = np.array([f["patches"] for f in foci], float)
    rng = np.random.default_rng(0)  # jitter only, for the eye
    axes[2].scatter(x * np.exp(rng.uniform(-0.08, 0.08, len(x))), y + rng.uniform(-0.15, 0.15, len(y)), s=8,
                    alpha=0.5)
    top = max(x.max(initial=1), 2)
    axes[2].plot([1, top], [1, top], "k:", label="one patch per founder cell")
    axes[2].set_xscale("log")
    axes[2].set_xlabel("cells of the one cluster that founded the focus")
    axes[2].set_ylabel("clonal patches in the focus (day 21)")
    axes[2].set_title("clonal patches vs founder cluster size (default)", fontsize=10)
    axes[2].legend(fontsize=8)
    save_figure(fig, out)


if __name__ == "__main__":
    main()
