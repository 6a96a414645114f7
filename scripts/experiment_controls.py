"""Controls a biologist asks for, and K14 knockdown as reduced cluster cohesion at shedding (Cheung et al. 2016).

Each variant is the default scenario (21 days, 4 intermixed clones unless said) with one change:
- single cells only (`sizes.kind = "fixed"`, size 1) and clusters of 5 only (size 5);
- a segregated primary (`initial.segregation` 0.5 and 1 = four sectors);
- K14 knockdown: the cohesion size law P(n) ∝ n^−α c^(n−1) (pdemet/flux/laws/sizes.py) at c = 0.5, 0.2, 0.05
  (c = 1 is the default power law): the same cells are shed per day, in smaller clusters. Published: K14
  knockdown reduced metastasis (detail unconfirmed, docs/model.md); the model predicts by how much, and
  what happens to polyclonality.
Reported per variant: site foci, lung foci, metastatic burden (cells in the sites at day 21, relative to the
default), the scored polyclonal fraction of foci (>= 2 clones above 5 %) and the truly polyclonal fraction
(>= 2 founder cells), with 95 % Wilson intervals over the foci of all seeds.
"""

import copy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from repro_common import default_scenario, finish, out_dir, parser, pyplot, row, run, save_figure, site_foci, wilson  # noqa: E402

COHESIONS = (0.5, 0.2, 0.05)


def variants(quick: bool) -> dict[str, dict]:
    base = default_scenario(quick)
    alpha = base["cluster_flux"]["sizes"].get("exponent", 3.0)
    out = {"default": base}

    def change(name, fn):
        data = copy.deepcopy(base)
        fn(data)
        out[name] = data

    def sizes(**law):
        return lambda d: d["cluster_flux"].update(sizes={"max_size": d["cluster_flux"]["sizes"]["max_size"], **law})

    def segregated(s):
        def fn(d):
            primary = next(o for o in d["organs"].values() if o["role"] == "primary")
            primary["initial"].update(mixing="sectors", segregation=s)
        return fn

    change("singles", sizes(kind="fixed", size=1))
    change("clusters5", sizes(kind="fixed", size=5))
    change("segregation0.5", segregated(0.5))
    change("sectors", segregated(1.0))
    for c in COHESIONS:
        change(f"k14_{c:g}", sizes(kind="cohesion", exponent=alpha, cohesion=c))
    return out


LABELS = {"default": "default", "singles": "single cells only", "clusters5": "clusters of 5 only",
          "segregation0.5": "segregation 0.5", "sectors": "segregation 1 (sectors)",
          **{f"k14_{c:g}": f"K14 knockdown, cohesion {c:g}" for c in COHESIONS}}


def measure(sim) -> dict:
    foci = site_foci(sim)
    sites = [n for n, o in sim.scenario.organs.items() if o.role == "site"]
    return {"foci": len(foci), "lung_foci": len(sim.foci("lung")),
            "burden": sum(sim.total_cells(s) for s in sites),
            "polyclonal": sum(int(f["polyclonal"]) for f in foci),
            "several_founders": sum(int(f["founding_cells"]) >= 2 for f in foci),
            "mean_shed_cluster": sim.coupling.ledger["cells"]["shed"] / max(sim.coupling.ledger["clusters"]["shed"], 1)}


def figure(out: Path, results: dict) -> None:
    plt = pyplot()
    names = list(results)
    base = results["default"]["burden"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.barh(names, [results[n]["burden"] / base for n in names])
    a.set_xlabel("metastatic burden / default (day 21)")
    b.barh(names, [results[n]["polyclonal"] / max(results[n]["foci"], 1) for n in names], label="scored")
    b.barh(names, [results[n]["several_founders"] / max(results[n]["foci"], 1) for n in names], fill=False,
           edgecolor="k", label=">= 2 founder cells")
    b.set_xlabel("polyclonal fraction of site foci")
    b.legend(fontsize=8)
    b.set_yticklabels([])
    save_figure(fig, out)


def main():
    p = parser("experiment_controls", __doc__)
    p.add_argument("--seeds", type=int, default=1, help="seeds per variant (default 1)")
    p.add_argument("--only", nargs="+", choices=list(LABELS), help="run these variants only (default: all)")
    args = p.parse_args()
    out = out_dir(args, "controls")
    results = {}
    for name, data in variants(args.quick).items():
        if args.only and name not in args.only and name != "default":
            continue
        name = LABELS[name]
        runs = [measure(run(data, seed=2016 + k)) for k in range(args.seeds)]
        results[name] = {k: sum(r[k] for r in runs) / (len(runs) if k == "mean_shed_cluster" else 1) for k in runs[0]}
    figure(out, results)
    base = results["default"]["burden"]
    rows = []
    for name, r in results.items():
        n = r["foci"]
        note = f"{n} site foci ({r['lung_foci']} lung); mean shed cluster {r['mean_shed_cluster']:.2f} cells"
        rows.append(row(f"{name}: polyclonal fraction of site foci (scored)", r["polyclonal"] / n if n else float("nan"),
                        "> 90 %" if name == "default" else "—", 0.9 if name == "default" else None, None,
                        wilson(r["polyclonal"], n), "predicted", "Cheung et al. PNAS 2016" if name == "default"
                        else "model control", note))
        rows.append(row(f"{name}: foci founded by >= 2 cells", r["several_founders"] / n if n else float("nan"), "—",
                        None, None, wilson(r["several_founders"], n), "reported", "model"))
        if name != "default":
            rows.append(row(f"{name}: metastatic burden vs default", r["burden"] / base,
                            "reduced" if name.startswith("K14") else "—", None, None, None,
                            "predicted" if name.startswith("K14") else "reported",
                            "Cheung et al. 2016 (K14 knockdown reduced metastasis; unconfirmed)" if name.startswith("K14")
                            else "model"))
    finish(out, "controls", "Controls and K14 knockdown (cohesion at shedding)", rows,
           {"seeds": args.seeds, "quick": args.quick, "cohesions": COHESIONS, "results": results})


if __name__ == "__main__":
    main()
