"""The paper's labeling, scored as a microscope would: how many metastases LOOK multicolored (Cheung et al. 2016).

The experiment: primary tumors built from differently colored cells; a metastasis counts as multicolored
when cells of more than one color are seen in it (published: > 90 % of metastases). Whether a focus seeded
by several cells looks multicolored depends on the palette: with 2 colors in proportions p : 1 − p, a focus
founded by n cells drawn from a well-mixed source shows one color only with probability pⁿ + (1 − p)ⁿ, and
less mixing in the primary makes that likelier. The paper's multicolored fraction varied between mice with
how well the colors were mixed in the primary (check the exact figures against the paper).

The model: the default scenario with CLONES colors (2, equal proportions: an ASSUMPTION standing for the
paper's design; change COLORS/PROPORTIONS to the design you test) and the primary at several segregations
(0 = intermixed ... 1 = sectors, `initial.segregation`). For every site focus at day 21 (census.csv):
- truly polyclonal: founded by >= 2 cells (`founding_cells`), whatever their colors;
- scored multicolored: >= 2 colors each above `polyclonal_fraction` (5 %) of its cells (the census flag);
- the chance a truly polyclonal focus is scored monochrome if its founders were a random draw from the
  palette, for comparison (the excess is what segregation in the primary adds).
"""

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from repro_common import default_scenario, finish, out_dir, parser, pyplot, row, run, save_figure, site_foci, wilson  # noqa: E402

COLORS = {"red": "#e41a1c", "green": "#4daf4a"}
PROPORTIONS = [0.5, 0.5]
SEGREGATIONS = (0.0, 0.5, 1.0)


def scenario(quick: bool, segregation: float) -> dict:
    data = default_scenario(quick)
    data["clones"] = {"names": list(COLORS), "colors": list(COLORS.values())}
    primary = next(o for o in data["organs"].values() if o["role"] == "primary")
    primary["initial"].update(mixing="sectors", segregation=float(segregation), clones=PROPORTIONS)
    return data


def score(sim) -> dict:
    """Counts over the site foci at the last output time."""
    foci = site_foci(sim)
    p = [w / sum(PROPORTIONS) for w in PROPORTIONS]
    poly = [f for f in foci if int(f["founding_cells"]) >= 2]
    return {"foci": len(foci), "lung_foci": len(sim.foci("lung")), "polyclonal": len(poly),
            "multicolored": sum(int(f["polyclonal"]) for f in foci),
            "multicolored_of_polyclonal": sum(int(f["polyclonal"]) for f in poly),
            # expected multicolored among the polyclonal ones if founders were random draws of the palette
            "expected_multicolored_random": sum(1 - sum(q ** int(f["founding_cells"]) for q in p) for f in poly)}


def figure(out: Path, results: dict) -> None:
    plt = pyplot()
    seg = list(results)
    frac = lambda k: [results[s][k] / max(results[s]["foci"], 1) for s in seg]  # noqa: E731
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(seg, frac("polyclonal"), "o-", label="truly polyclonal (>= 2 founder cells)")
    ax.plot(seg, frac("multicolored"), "s-", label=f"scored multicolored ({len(COLORS)} colors)")
    ax.axhline(0.9, color="r", ls="--", label="Cheung 2016: > 90 % multicolored")
    ax.set_xlabel("segregation of the colors in the primary (0 intermixed, 1 sectors)")
    ax.set_ylabel("fraction of site foci at day 21")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    save_figure(fig, out)


def main():
    p = parser("experiment_two_color", __doc__)
    p.add_argument("--seeds", type=int, default=1, help="seeds per segregation (default 1)")
    args = p.parse_args()
    out = out_dir(args, "two_color")
    results = {}
    for s in SEGREGATIONS:
        runs = [score(run(scenario(args.quick, s), seed=2016 + k)) for k in range(args.seeds)]
        results[s] = {k: sum(r[k] for r in runs) for k in runs[0]}
    rows = []
    for s, r in results.items():
        n = r["foci"]
        frac = lambda k: r[k] / n if n else float("nan")  # noqa: E731
        tag = f"segregation {s:g}"
        rows.append(row(f"{tag}: scored multicolored fraction of site foci", frac("multicolored"), "> 90 %", 0.9,
                        None, wilson(r["multicolored"], n), "predicted", "Cheung et al. PNAS 2016",
                        f"{n} foci ({r['lung_foci']} lung)"))
        rows.append(row(f"{tag}: truly polyclonal (>= 2 founder cells)", frac("polyclonal"), "—", None, None,
                        wilson(r["polyclonal"], n), "reported", "model"))
        m = r["polyclonal"]
        rows.append(row(f"{tag}: polyclonal foci scored multicolored (random-draw expectation "
                        f"{r['expected_multicolored_random'] / m if m else math.nan:.3f})",
                        r["multicolored_of_polyclonal"] / m if m else float("nan"), "—", None, None,
                        wilson(r["multicolored_of_polyclonal"], m), "reported", "model: palette + segregation"))
    figure(out, results)
    finish(out, "two_color", "Two-color design: truly polyclonal vs scored multicolored metastases", rows,
           {"colors": list(COLORS), "proportions": PROPORTIONS, "segregations": SEGREGATIONS, "seeds": args.seeds,
            "quick": args.quick, "results": {str(k): v for k, v in results.items()}})


if __name__ == "__main__":
    main()
