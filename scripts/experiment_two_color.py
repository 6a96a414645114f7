"""The paper's labeling, scored as a microscope would: how many metastases LOOK multicolored (Cheung et al. 2016).

The experiment: primary tumors built from differently colored cells; a metastasis counts as multicolored
when cells of more than one color are seen in it (published: > 90 % of metastases). Whether a focus seeded
by several cells looks multicolored depends on the palette: with colors in proportions p_c, a focus founded
by n cells drawn from a well-mixed source shows one color only with probability Σ_c p_cⁿ, and less mixing in
the primary makes that likelier. The paper's multicolored fraction varied between mice with how well the
colors were mixed in the primary (check the exact figures against the paper).

The model: the default scenario's four clones are neutral (same growth and motion), so a palette that paints
several clones one color is the same experiment as a tumor built from that many colors in those proportions
(a clone drawn Multinomially and then merged is a color drawn Multinomially): the runs of the controls
(experiment_controls.py: intermixed, segregation 0.5, four sectors — tags shared, one mouse per seed, the
shipped resolution and one level finer) are scored with each palette of PALETTES. Two colors 1:1 (clones
1+2 vs 3+4: with four sectors, two half-planes) is the ASSUMED design standing for the paper's; 1:3 and four
colors show the palette's effect. For every site focus at day 21 (census.csv):
- truly polyclonal: founded by >= 2 cells (`founding_cells`), whatever their colors;
- scored multicolored: >= 2 colors each above `polyclonal_fraction` (5 %) of its cells;
- the multicolored fraction expected if each polyclonal focus's founders were a random draw of the palette,
  for comparison (the shortfall is what segregation in the primary adds).
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from experiment_controls import variants  # noqa: E402
from repro_common import (ensemble_records, finish, foci_of, measured, out_dir, parser, pyplot, save_figure,  # noqa: E402
                          write_table)

# palettes: colors as groups of the four clones (indices); the first is the design the rows call "the paper's"
PALETTES = {"2 colors 1:1": [[0, 1], [2, 3]], "2 colors 1:3": [[0], [1, 2, 3]], "4 colors": [[0], [1], [2], [3]]}
SEGREGATIONS = {"default": 0.0, "segregation0.5": 0.5, "sectors": 1.0}  # control tags -> segregation
THRESHOLD = 0.05  # a color is seen above 5 % of a focus's cells (the census's polyclonal_fraction)


def colors_seen(focus: dict, clones: list[str], palette) -> int:
    fractions = np.array([focus[c] for c in clones])
    return int(sum(fractions[g].sum() > THRESHOLD for g in palette))


def multicolored(palette):
    def stat(recs):
        foci = [(f, r["clones"]) for r in recs for f in foci_of(r)]
        return float(np.mean([colors_seen(f, c, palette) >= 2 for f, c in foci])) if foci else float("nan")
    return stat


def truly_polyclonal(recs):
    foci = [f for r in recs for f in foci_of(r)]
    return float(np.mean([f["founding_cells"] >= 2 for f in foci])) if foci else float("nan")


def random_draw(palette):
    """Multicolored fraction if every polyclonal focus's founders were drawn at random from the palette."""
    p = [len(g) / 4 for g in palette]

    def stat(recs):
        poly = [int(f["founding_cells"]) for r in recs for f in foci_of(r) if f["founding_cells"] >= 2]
        return float(np.mean([1 - sum(q ** n for q in p) for n in poly])) if poly else float("nan")
    return stat


def figure(out: Path, table: list[list]) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    segs = sorted({r[0] for r in table})
    for k, name in enumerate(PALETTES):
        pts = [r for r in table if r[1] == name]
        ax.plot([r[0] for r in pts], [r[3] for r in pts], "os^"[k] + "-", label=f"scored multicolored, {name}")
    truly = [next(r for r in table if r[0] == s)[2] for s in segs]
    ax.plot(segs, truly, "k--", label="truly polyclonal (>= 2 founder cells)")
    ax.axhline(0.9, color="r", ls=":", label="Cheung 2016: > 90 % multicolored")
    ax.set_xlabel("segregation of the clones in the primary (0 intermixed, 1 sectors)")
    ax.set_ylabel("fraction of site foci at day 21")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7)
    save_figure(fig, out)


def main():
    args = parser("experiment_two_color", __doc__, seeds=8).parse_args()
    out = out_dir(args, "two_color")
    scen = variants(args.quick)
    rows, table = [], []
    design = next(iter(PALETTES))
    for tag, seg in SEGREGATIONS.items():
        ship, fine = ensemble_records(args, tag, base=scen[tag])
        recs = list(ship.values())
        label = f"segregation {seg:g}"
        rows.append(measured(f"{label}: truly polyclonal site foci (>= 2 founder cells)", truly_polyclonal, ship,
                             fine, "—", kind="reported", source="model"))
        for name, palette in PALETTES.items():
            table.append([seg, name, truly_polyclonal(recs), multicolored(palette)(recs), random_draw(palette)(recs),
                          len(recs), float(np.mean([len(foci_of(r)) for r in recs]))])
            headline = name == design
            rows.append(measured(f"{label}: scored multicolored fraction of site foci, {name}"
                                 f"{' (the assumed design)' if headline else ''} (if founders were random draws: "
                                 f"{table[-1][4]:.3f})", multicolored(palette), ship, fine,
                                 ("> 90 %" if seg == 0 else "varied with mixing") if headline else "—",
                                 0.9 if headline and seg == 0 else None, None,
                                 "predicted" if headline else "reported",
                                 "Cheung et al. PNAS 2016" if headline else "model: palette + segregation"))
    write_table(out, ["segregation", "palette", "truly polyclonal", "scored multicolored",
                      "multicolored if founders were random draws", "mice", "site foci per mouse"], table,
                "Two-color scoring of site foci at day 21 (runs of experiment_controls)")
    figure(out, table)
    finish(out, "two_color", "Two-color design: truly polyclonal vs scored multicolored metastases", rows,
           {"palettes": PALETTES, "segregations": SEGREGATIONS, "seeds": sorted(ship), "finer_seeds": sorted(fine),
            "quick": args.quick})


if __name__ == "__main__":
    main()
