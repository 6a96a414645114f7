"""Controls a biologist asks for, and K14 knockdown as reduced cluster cohesion at shedding (Cheung et al. 2016).

Each variant is the default scenario (21 days, 4 intermixed clones unless said) with one change:
- single cells only (`sizes.kind = "fixed"`, size 1) and clusters of 5 only (size 5);
- a segregated primary (`initial.segregation` 0.5 and 1 = four sectors);
- K14 knockdown: the cohesion size law P(n) ∝ n^−α c^(n−1) (pdemet/flux/laws/sizes.py) at c = 0.95 ... 0.2
  (c = 1 is the default power law): the same cells are shed per day, in smaller clusters. Published: K14
  knockdown reduced metastasis (detail unconfirmed, docs/model.md); the model predicts by how much, and
  what happens to polyclonality.
Reported per variant, over an ensemble of seeds (one mouse each; the default's runs are shared with
repro_polyclonal) at the shipped resolution and one level finer: site foci per mouse, metastatic burden (cells
in the sites at day 21) relative to the default on the same seeds, the scored polyclonal fraction of site foci
(>= 2 clones above 5 %) and the truly polyclonal fraction (>= 2 founder cells), each with a 95 % CI resampling
whole mice.
"""

import copy
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from repro_common import (default_scenario, ensemble_records, finish, foci_of, measured, measured_vs_control,  # noqa: E402
                          out_dir, parser, pyplot, relative_to, save_figure, write_table)

COHESIONS = (0.95, 0.9, 0.8, 0.5, 0.2)


def variants(quick: bool) -> dict[str, dict]:
    """Each variant's scenario, by its ensemble tag (the tag names the scenario: keep them stable)."""
    base = default_scenario(quick)
    alpha = base["cluster_flux"]["sizes"].get("exponent", 3.0)
    out = {"default": base}

    def change(name, fn):
        data = copy.deepcopy(base)
        fn(data)
        out[name] = data

    def sizes(**law):
        return lambda d: d["cluster_flux"].update(sizes={"max_size": d["cluster_flux"]["sizes"]["max_size"], **law})

    change("singles", sizes(kind="fixed", size=1))
    change("clusters5", sizes(kind="fixed", size=5))
    change("segregation0.5", segregated(0.5))
    change("sectors", segregated(1.0))
    for c in COHESIONS:
        change(f"k14_{c:g}", sizes(kind="cohesion", exponent=alpha, cohesion=c))
    return out


def segregated(s: float):
    """The change of a primary segregated by s (0 intermixed ... 1 four sectors)."""
    def fn(d):
        primary = next(o for o in d["organs"].values() if o["role"] == "primary")
        primary["initial"].update(mixing="sectors", segregation=s)
    return fn


LABELS = {"default": "default", "singles": "single cells only", "clusters5": "clusters of 5 only",
          "segregation0.5": "segregation 0.5", "sectors": "segregation 1 (sectors)",
          **{f"k14_{c:g}": f"K14 knockdown, cohesion {c:g}" for c in COHESIONS}}


def burden(rec) -> float:
    """Cells in all sites at day 21."""
    s = rec["summary"]
    return float(sum(sum(c.values()) for o, c in s["cells_final"].items() if o in s["per_organ"]))


def foci_per_mouse(recs):
    return float(np.mean([len(foci_of(r)) for r in recs]))


def scored(recs):
    foci = [f for r in recs for f in foci_of(r)]
    return float(np.mean([f["polyclonal"] for f in foci])) if foci else float("nan")


def several_founders(recs):
    foci = [f for r in recs for f in foci_of(r)]
    return float(np.mean([f["founding_cells"] >= 2 for f in foci])) if foci else float("nan")


def mean_shed_cluster(recs):
    cells = sum(r["summary"]["cells"]["shed"] for r in recs)
    return cells / max(sum(r["summary"]["clusters"]["shed"] for r in recs), 1)


def mean_burden(recs) -> float:
    return float(np.mean([burden(r) for r in recs]))


def figure(out: Path, table: list[list]) -> None:
    plt = pyplot()
    names = [r[0] for r in table]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4.5))
    a.barh(names, [r[3] for r in table])
    a.set_xscale("log")
    a.set_xlabel("metastatic burden / default (day 21)")
    b.barh(names, [r[4] for r in table], label="scored (>= 2 clones above 5 %)")
    b.barh(names, [r[5] for r in table], fill=False, edgecolor="k", label=">= 2 founder cells")
    b.set_xlabel("polyclonal fraction of site foci")
    b.legend(fontsize=8)
    b.set_yticklabels([])
    save_figure(fig, out)


def main():
    p = parser("experiment_controls", __doc__, seeds=8)
    p.add_argument("--only", nargs="+", choices=list(LABELS), help="run these variants only (default: all)")
    args = p.parse_args()
    out = out_dir(args, "controls")
    records = {}
    for tag, data in variants(args.quick).items():
        if args.only and tag not in args.only and tag != "default":
            continue
        records[tag] = ensemble_records(args, tag, base=data)
    ship0, fine0 = records["default"]
    rows, table = [], []
    for tag, (ship, fine) in records.items():
        name = LABELS[tag]
        recs = list(ship.values())
        table.append([name, len(recs), foci_per_mouse(recs), relative_to(mean_burden, ship0)(recs), scored(recs),
                      several_founders(recs), mean_shed_cluster(recs)])
        default = tag == "default"
        rows.append(measured(f"{name}: polyclonal fraction of site foci (scored)", scored, ship, fine,
                             "> 90 %" if default else "—", 0.9 if default else None, None, "predicted",
                             "Cheung et al. PNAS 2016" if default else "model control",
                             f"{table[-1][2]:.3g} site foci per mouse; mean shed cluster {table[-1][6]:.2f} cells"))
        rows.append(measured(f"{name}: foci founded by >= 2 cells", several_founders, ship, fine, "—",
                             kind="reported", source="model"))
        if default:
            continue
        k14 = tag.startswith("k14")
        rows.append(measured_vs_control(f"{name}: metastatic burden vs default", mean_burden, ship, fine, ship0,
                                        fine0, "reduced" if k14 else "—", kind="predicted" if k14 else "reported",
                                        source="Cheung et al. 2016 (K14 knockdown reduced metastasis; unconfirmed)"
                                        if k14 else "model"))
    write_table(out, ["variant", "mice", "site foci per mouse", "burden / default (same seeds)",
                      "scored polyclonal fraction", "founded by >= 2 cells", "mean shed cluster (cells)"], table,
                "Controls and K14 knockdown (default scenario, day 21)")
    figure(out, table)
    finish(out, "controls", "Controls and K14 knockdown (cohesion at shedding)", rows,
           {"seeds": sorted(ship0), "finer_seeds": sorted(fine0), "quick": args.quick, "cohesions": COHESIONS,
            "table": {r[0]: dict(zip(["mice", "foci_per_mouse", "burden_vs_default", "scored_polyclonal",
                                      "several_founders", "mean_shed_cluster"], r[1:])) for r in table}})


if __name__ == "__main__":
    main()
