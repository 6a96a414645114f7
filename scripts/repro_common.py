"""Shared helpers of the reproduction scripts (scripts/repro_*.py).

Each script runs the model, prints published vs model side by side with the parameters used
and their sources, and writes into its output folder:
  result.json   rows {quantity, published, low, high, model, ci, kind ("fitted"|"predicted"|"reported"),
                      in_range, source}
  table.csv / table.md   the experiment's own table;   figure.png   its plot
`scripts/published_table.py` collects every result.json into docs/published_vs_model.md.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import math
import sys
import tomllib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from pdemet.scenario.keys import set_key  # noqa: E402,F401 - the scripts' name for it
DEFAULT = ROOT / "pdemet" / "scenarios" / "default.toml"
RESULTS = ROOT / "results" / "repro"


def parser(name: str, doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"scripts/{name}.py", description=doc)
    p.add_argument("--quick", action="store_true", help="small ensemble for tests (seconds to a minute)")
    p.add_argument("--out", type=Path, default=None, help=f"output folder (default results/repro/{name})")
    return p


def out_dir(args, name) -> Path:
    out = args.out or RESULTS / name
    out.mkdir(parents=True, exist_ok=True)
    return out


# --quick refines the sites to 0.1 mm and the primary's front to 0.4 mm instead of 12 µm and 0.2 mm: the
# foci counts are within a few of the default's (lung 59 vs 59 at seed 2016), the run ~20 s instead of minutes.
QUICK_ADAPT = {"site": {"size": 0.1}, "primary": {"size": 0.4}}


def default_scenario(quick: bool = False) -> dict:
    with open(DEFAULT, "rb") as f:
        data = tomllib.load(f)
    if quick:
        for organ in data["organs"].values():
            organ["adapt"] = {**organ.get("adapt", {}), **QUICK_ADAPT[organ["role"]]}
    return data


def run(data: dict, seed: int | None = None, out: Path | None = None):
    """Run a scenario dict (paths relative to pdemet/scenarios) and return the Simulation."""
    from pdemet.simulation import Simulation

    data = copy.deepcopy(data)
    if seed is not None:
        data["simulation"]["seed"] = seed
    sim = Simulation.from_dict(data, base_dir=DEFAULT.parent)
    if out is None:  # the census runs at output times, so a run directory is always written
        import tempfile

        with tempfile.TemporaryDirectory(prefix="pdemet-repro-") as tmp:
            sim.run(out=Path(tmp), overwrite=True)
    else:
        sim.run(out=out, overwrite=True)
    return sim


def flux_config(data: dict):
    from pdemet.scenario import parse_scenario

    sc = parse_scenario(copy.deepcopy(data), DEFAULT.parent)
    cfg = sc.cluster_flux
    sites = [n for n in sc.organs if n != sc.primary]
    return sc, cfg, sites


def wilson(k: float, n: float, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion k/n."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (c - h, c + h)


def row(quantity, model, published, low=None, high=None, ci=None, kind="predicted", source="", note=""):
    in_range = None
    if low is not None or high is not None:
        tol = 1e-5 * abs(model)  # fitted values sit on a bound, up to the digits written in default.toml
        in_range = bool((low is None or model >= low - tol) and (high is None or model <= high + tol))
    return {"quantity": quantity, "published": published, "low": low, "high": high, "model": model,
            "ci": list(ci) if ci is not None else None, "kind": kind, "in_range": in_range, "source": source,
            "note": note}


def write_table(out: Path, header, rows, title: str) -> None:
    with open(out / "table.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    fmt = lambda v: f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)  # noqa: E731
    lines = [f"# {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    (out / "table.md").write_text("\n".join(lines) + "\n")


def finish(out: Path, name: str, title: str, rows: list[dict], params: dict) -> None:
    """Write result.json and print published vs model side by side."""
    (out / "result.json").write_text(json.dumps({"experiment": name, "title": title, "rows": rows,
                                                 "parameters": params}, indent=2, default=float))
    print(f"\n== {title} ==")
    print(f"{'quantity':58s} {'published':>22s} {'model':>12s}  kind       in range")
    for r in rows:
        ci = f" [{r['ci'][0]:.3g}, {r['ci'][1]:.3g}]" if r["ci"] else ""
        ok = {True: "yes", False: "NO", None: "-"}[r["in_range"]]
        print(f"{r['quantity'][:58]:58s} {str(r['published'])[:22]:>22s} {r['model']:12.4g}{ci}  {r['kind']:9s}  {ok}")
    print("parameters:", json.dumps(params, default=float))
    print(f"outputs in {out}")


def site_foci(sim) -> list[dict]:
    """The foci of every site organ at the last output time (census rows)."""
    return [f for name, o in sim.scenario.organs.items() if o.role == "site" for f in sim.foci(name)]


def pyplot():
    """matplotlib.pyplot with the file-only Agg backend (scripts run headless)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, out: Path) -> None:
    """Write ``out/figure.png`` and free the figure."""
    fig.tight_layout()
    fig.savefig(out / "figure.png", dpi=120)
    pyplot().close(fig)
