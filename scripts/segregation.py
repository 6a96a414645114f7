"""Does a segregated primary shed monoclonal clusters? Intermixed vs sectors (issue: with linear diffusion
the dominant clone held only ~63 % of the rim by day 21 and 0.76 of seeding clusters stayed polyclonal).

Runs the default scenario with the primary intermixed and in four sectors (sites refined to 0.1 mm only:
the primary and the shedding do not depend on the sites' resolution; the primary as in default.toml). Reports at the primary's shedding
rim the shed-weighted mean fraction of the locally dominant clone, the polyclonal fraction of seeding
clusters (n ≥ 2) and of lung foci. Writes results/segregation/{table.md,result.json}.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from repro_common import default_scenario, run  # noqa: E402


def rim_dominance(sim) -> float:
    """Shed-weighted mean of max_i uᵢ/U over the primary's nodes at the end (rim weight 4(U/κ)(1 − U/κ))."""
    o = sim.organs[sim.scenario.primary]
    u = o.densities()[:, : o.n_owned]
    U = u.sum(axis=0)
    x = U / o.capacity
    w = o.weights[: o.n_owned] * U * np.clip(4 * x * (1 - x), 0, None)
    dom = np.divide(u.max(axis=0), U, out=np.zeros_like(U), where=U > 0)
    return float((w * dom).sum() / w.sum())


def main():
    p = argparse.ArgumentParser(prog="scripts/segregation.py", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "results" / "segregation")
    p.add_argument("--seed", type=int, default=2016)
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    res = {}
    for mixing in ("intermixed", "sectors"):
        data = default_scenario(quick=True)
        data["organs"]["fat_pad"].pop("adapt")  # the primary as in the default (front at 0.2 mm)
        data["organs"]["fat_pad"]["initial"]["mixing"] = mixing
        sim = run(data, seed=args.seed, out=args.out / mixing)
        ev = sim.coupling.events.rows(survived_only=True)  # seeding events
        clusters = ev[ev[:, 0] >= 2]
        poly_clusters = float(((clusters[:, 2:] > 0).sum(axis=1) >= 2).mean()) if len(clusters) else float("nan")
        lung = sim.foci("lung")
        res[mixing] = {"rim_dominant_fraction": rim_dominance(sim), "seeding_clusters": int(len(clusters)),
                       "polyclonal_seeding_clusters": poly_clusters, "lung_foci": len(lung),
                       "polyclonal_lung_foci": sum(f["polyclonal"] for f in lung) / max(len(lung), 1)}
        print(mixing, res[mixing], flush=True)
    rows = ["| primary | dominant clone at the rim (shed-weighted) | seeding clusters (n ≥ 2) | polyclonal among them "
            "| lung foci | polyclonal lung foci |", "|---|---|---|---|---|---|"]
    for k, r in res.items():
        rows.append(f"| {k} | {r['rim_dominant_fraction']:.3f} | {r['seeding_clusters']} | "
                    f"{r['polyclonal_seeding_clusters']:.3f} | {r['lung_foci']} | {r['polyclonal_lung_foci']:.3f} |")
    table = "\n".join(rows) + "\n"
    (args.out / "table.md").write_text(table)
    (args.out / "result.json").write_text(json.dumps(res, indent=1))
    print(table)


if __name__ == "__main__":
    main()
