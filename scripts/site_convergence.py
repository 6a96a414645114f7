"""Mesh convergence of the seeded sites: the default scenario with the sites refined to several element sizes.

The primary (its mesh, shedding and every random draw) is the same in every run, and arrest points live on
the sites' base meshes, so all runs seed exactly the same clusters at the same points (checked: seeding.h5
is identical): every difference in the census is the discretization of the sites. Each run is a separate
process (its wall time and peak memory are its own). Writes results/convergence/{table.md,result.json}.

    python scripts/site_convergence.py                       # 48, 24, 12 µm (the default), ~6 min
    python scripts/site_convergence.py --sizes 0.024 0.012 0.006
    python scripts/site_convergence.py --single-cells        # the single-cell-seeding control
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from repro_common import DEFAULT, default_scenario  # noqa: E402

from pdemet.output.seeding import same_log  # noqa: E402

SITES = ("lung", "liver", "bone", "brain")


def scenario(size: float, single_cells: bool, base_refine: int = 0) -> dict:
    data = default_scenario()
    for organ in data["organs"].values():
        if organ["role"] == "site":
            organ["adapt"] = {**organ.get("adapt", {}), "size": size}
            organ["refine"] = base_refine
    if single_cells:  # the control of Cheung et al.: seeding by single cells only (s₁ as in the default)
        data["cluster_flux"]["sizes"] = {"kind": "fixed", "size": 1, "max_size": 2}
    return data


def run_one(size: float, out: Path, single_cells: bool, base_refine: int) -> None:
    """In this process: run, then write out/measures.json (wall time, peak RSS)."""
    from pdemet.simulation import Simulation

    sim = Simulation.from_dict(scenario(size, single_cells, base_refine), base_dir=DEFAULT.parent)
    t0 = time.perf_counter()
    sim.run(out=out, overwrite=True)
    peak = {}
    for name in SITES:
        u = sim.organs[name].densities()
        peak[name] = float(u.sum(axis=0).max() / sim.organs[name].capacity) if u.size else 0.0
    (out / "measures.json").write_text(json.dumps({
        "wall_s": time.perf_counter() - t0, "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "peak_density": peak}))


def measure(out: Path) -> dict:
    """The numbers of one run directory."""
    from pdemet.output.rundir import read_census, read_summary

    s, m = read_summary(out), json.loads((out / "measures.json").read_text())
    t_end = max(r["time"] for r in read_census(out))
    last = [r for r in read_census(out) if r["time"] == t_end]
    foci = {o: [r for r in last if r["organ"] == o and r["focus"] == 1] for o in SITES}
    lung = foci["lung"]
    return {
        "foci": s["foci"], "lesions": s["lesions"], "polyclonal_fraction": s["polyclonal_fraction"],
        "site_foci": sum(len(v) for v in foci.values()),
        "site_polyclonal": sum(r["polyclonal"] for v in foci.values() for r in v) / max(sum(len(v) for v in foci.values()), 1),
        "lung_median_density": float(np.median([r["density"] for r in lung])) if lung else float("nan"),
        "lung_median_cells": float(np.median([r["cells"] for r in lung])) if lung else float("nan"),
        "lung_peak_density": m["peak_density"]["lung"],
        "lung_foci_cells": sorted(((r["centroid_x"], r["centroid_y"], r["centroid_z"], r["cells"]) for r in lung)),
        "site_cells": {o: sum(v for v in s["cells_final"][o].values()) for o in SITES},
        "dofs": s["dofs"], "wall_s": m["wall_s"], "peak_rss_gib": m["peak_rss_gib"],
        "timers_s": s["timers_s"],
    }


def matched_change(a: list, b: list) -> float:
    """Median relative change of the cells of lung foci matched by nearest centroid (a → b)."""
    if not a or not b:
        return float("nan")
    from scipy.spatial import cKDTree

    pa, pb = np.array([x[:3] for x in a]), np.array([x[:3] for x in b])
    d, j = cKDTree(pb).query(pa)
    ca, cb = np.array([x[3] for x in a]), np.array([x[3] for x in b])[j]
    return float(np.median(np.abs(ca - cb) / cb))


def main():
    p = argparse.ArgumentParser(prog="scripts/site_convergence.py", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=float, nargs="+", default=[0.048, 0.024, 0.012], help="site element sizes (mm)")
    p.add_argument("--single-cells", action="store_true", help="seed by single cells only (control)")
    p.add_argument("--base-refine", type=int, default=0, help="uniform refinements of the sites' base meshes "
                   "(changes where arrest points fall: a statistical, not a pointwise, comparison)")
    p.add_argument("--out", type=Path, default=ROOT / "results" / "convergence")
    p.add_argument("--one", type=float, help=argparse.SUPPRESS)  # internal: run one size in this process
    args = p.parse_args()
    tag = ("single_cells" if args.single_cells else "default") + (f"_refine{args.base_refine}" * bool(args.base_refine))
    if args.one is not None:
        run_one(args.one, args.out, args.single_cells, args.base_refine)
        return
    results = {}
    for size in args.sizes:
        out = args.out / f"{tag}_{size * 1000:g}um"
        cmd = [sys.executable, __file__, "--one", str(size), "--out", str(out), "--base-refine", str(args.base_refine)] \
            + (["--single-cells"] * args.single_cells)
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"run at {size} mm failed: {r.stderr[-2000:]}")
        results[size] = measure(out)
        same = same_log(out / "seeding.h5", args.out / f"{tag}_{args.sizes[0] * 1000:g}um" / "seeding.h5")
        results[size]["same_seeding_as_first"] = same
        print(f"{size * 1000:g} µm: {results[size]['foci']} foci, {results[size]['wall_s']:.0f} s", flush=True)
    finest = results[args.sizes[-1]]
    rows = ["| site element size | " + " | ".join(f"{s * 1000:g} µm" for s in args.sizes) + " |",
            "|---|" + "---|" * len(args.sizes)]

    def line(label, fn):
        rows.append(f"| {label} | " + " | ".join(fn(results[s]) for s in args.sizes) + " |")

    for o in SITES:
        line(f"{o} foci (lesions)", lambda r, o=o: f"{r['foci'][o]} ({r['lesions'][o]})")
    line("polyclonal fraction of site foci", lambda r: f"{r['site_polyclonal']:.3f}")
    line("lung: median focus density (/κ)", lambda r: f"{r['lung_median_density']:.2f}")
    line("lung: median focus cells", lambda r: f"{r['lung_median_cells']:.0f}")
    line("lung: peak density (/κ)", lambda r: f"{r['lung_peak_density']:.2f}")
    line("lung: median change of matched focus cells vs finest", lambda r: f"{matched_change(r['lung_foci_cells'], finest['lung_foci_cells']):.2%}")
    for o in SITES:
        line(f"{o} cells", lambda r, o=o: f"{r['site_cells'][o]:.4g}")
    line("same seeding events as the first run", lambda r: "yes" if r["same_seeding_as_first"] else "no")
    line("site dofs (lung)", lambda r: f"{sum(r['dofs'][o] for o in SITES):,} ({r['dofs']['lung']:,})")
    line("wall time (s): total / adapt / solve", lambda r: f"{r['wall_s']:.0f} / {r['timers_s']['adapt']:.0f} / {r['timers_s']['solve']:.0f}")
    line("peak memory (GiB)", lambda r: f"{r['peak_rss_gib']:.2f}")
    table = "\n".join(rows) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{tag}.md").write_text(table)
    (args.out / f"{tag}.json").write_text(json.dumps({str(k): v for k, v in results.items()}, indent=1))
    print(table)


if __name__ == "__main__":
    main()
