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
import os
import sys
import tomllib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT = ROOT / "pdemet" / "scenarios" / "default.toml"
RESULTS = ROOT / "results" / "repro"


def parser(name: str, doc: str, seeds: int | None = None) -> argparse.ArgumentParser:
    """The scripts' options; with ``seeds`` (the default ensemble size) also --seeds and --finer-seeds."""
    p = argparse.ArgumentParser(prog=f"scripts/{name}.py", description=doc)
    p.add_argument("--quick", action="store_true", help="small ensemble for tests (seconds to a minute)")
    p.add_argument("--out", type=Path, default=None, help=f"output folder (default results/repro/{name})")
    if seeds is not None:
        p.add_argument("--runs", type=Path, default=None, help="folder of the ensembles' run directories, "
                       "shared by the scripts (default results/repro/runs, or <--out>/runs with --out)")
        p.add_argument("--seeds", type=int, default=None, help=f"seeds 1..N at the shipped resolution "
                       f"(default {seeds}; --quick: 2)")
        p.set_defaults(default_seeds=seeds)
        p.add_argument("--finer-seeds", type=int, default=None, help="seeds 1..M (M <= N) also run one level "
                       "finer (adaptive element sizes halved) for the convergence column (default: N; 0: none)")
        p.add_argument("--finer", choices=FINER, default="all", help="what the finer level refines: every organ "
                       "(all: the primary too, whose finer front changes the shedding clock by its discretization "
                       "error and the clusters' clones, not their sizes, fates or arrest points) or the sites only "
                       "(the primary as shipped: the same seeding events, which is checked and reported; default: "
                       "all)")
        p.add_argument("--draws", choices=DRAWS, default="per_cluster", help="cluster_flux.draws of every run: "
                       "per_cluster (as shipped: each cluster owns its random numbers, so a finer level seeds the "
                       "same clusters) or per_step (one generator step by step: a finer level is another mouse; "
                       "runs and results in folders ending -per-step)")
        p.add_argument("--workers", type=int, default=None, help="runs at once (default: one per core)")
    return p


DRAWS = ("per_cluster", "per_step")  # what --draws sets (pdemet/flux/per_cluster.py)


def draws_suffix(args) -> str:
    """The folder suffix of --draws (runs and results): none for the shipped per_cluster draws."""
    return "-per-step" if getattr(args, "draws", "per_cluster") == "per_step" else ""


FINER = ("all", "sites")  # what --finer refines (see resolution_overrides)


def seed_lists(args) -> tuple[list[int], list[int]]:
    """Seeds at the shipped resolution and, a prefix of them, one level finer."""
    n = args.seeds or (2 if args.quick else args.default_seeds)
    m = n if args.finer_seeds is None else min(args.finer_seeds, n)
    return list(range(1, n + 1)), list(range(1, m + 1))


def runs_root(args) -> Path:
    """Where a script's ensembles live: --runs, else results/repro/runs (shared by the scripts), or <--out>/runs."""
    return args.runs or ((args.out / "runs") if args.out else RESULTS / "runs")


def out_dir(args, name) -> Path:
    """--out, else results/repro/<name>, or <name>-finer-sites with --finer sites (beside the every-organ
    results, which docs/published_vs_model.md shows in a column of their own)."""
    out = args.out or RESULTS / (name + draws_suffix(args) +
                                 ("-finer-sites" if getattr(args, "finer", "all") == "sites" else ""))
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


def resolution_overrides(data: dict, finer: bool | str = False) -> dict[str, float]:
    """Dotted keys that make scenario ``data`` one level finer (none when ``finer`` is False): the adaptive
    element size halved as the scenario resolves it, of every organ (True or "all"; default scenario: sites
    12 -> 6 µm, the primary's front 0.2 -> 0.1 mm, which sets the clone mix of the shed clusters) or of the
    sites only ("sites": the primary, and so the shedding and every seeding event, stay as shipped)."""
    if not finer:
        return {}
    sc, _, _ = flux_config(data)
    return {f"organs.{n}.adapt.size": o.adapt.size / 2 for n, o in sc.organs.items()
            if finer != "sites" or o.role != "primary"}


def finer_suffix(finer: bool | str) -> str:
    """The run folder's suffix of a resolution (see :func:`resolution_overrides`)."""
    return "" if not finer else "-finer-sites" if finer == "sites" else "-finer"


def absolute_paths(data: dict) -> dict:
    """A copy of scenario ``data`` (paths relative to pdemet/scenarios) with absolute mesh and plugin paths, so
    that it can be written anywhere."""
    data = copy.deepcopy(data)
    for organ in data.get("organs", {}).values():
        if "mesh" in organ:
            organ["mesh"] = str((DEFAULT.parent / organ["mesh"]).resolve())
    sim = data.get("simulation", {})
    if sim.get("plugins"):
        sim["plugins"] = [str((DEFAULT.parent / p).resolve()) for p in sim["plugins"]]
    return data


def ensemble(root: Path, tag: str, seeds, overrides: dict | None = None, quick: bool = False,
             finer: bool | str = False, workers: int | None = None, base: dict | None = None) -> list:
    """Run scenario ``base`` (default: the default scenario, with --quick's resolution if ``quick``) with
    ``overrides`` (dotted key -> value) once per seed, as a pdemet sweep in <root>/<tag>[-quick][-finer[-sites]]/ (a
    process pool; a re-run skips the members already completed with the same scenario, so scripts share runs
    and an interrupted ensemble resumes: delete the folder after changing the code). The members write no
    fields (``simulation.write_fields = false``): to render one, run its scenario.toml with the key true. ``tag`` names the
    scenario: the same tag must always mean the same base and overrides. Returns the members' run directories
    (:func:`pdemet.output.rundir.load_run`), in seed order."""
    if not seeds:
        return []
    from pdemet.output.rundir import load_run
    from pdemet.scenario.files import dump_toml
    from pdemet.sweep import run_sweep

    name = tag + ("-quick" if quick else "") + finer_suffix(finer)
    out = Path(root) / name
    out.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in seeds]
    data = base if base is not None else default_scenario(quick)
    base_file = out.parent / f"{name}.base.toml"
    base_file.write_text(dump_toml(absolute_paths(data)))
    # the scripts read the tables only: no fields (~0.4 GB per run, ~1 GB finer; 37 GB for `make repro`)
    spec = {"base": base_file.name, "seeds": seeds, "parameters": {},
            "overrides": {"simulation.write_fields": False, **(overrides or {}), **resolution_overrides(data, finer)}}
    sweep_file = out.parent / f"{name}.sweep.toml"
    sweep_file.write_text(dump_toml(spec))
    counts = run_sweep(sweep_file, out, workers=workers or min(len(seeds), os.cpu_count() or 1))
    if counts["failed"]:
        raise SystemExit(f"ensemble {name}: {counts['failed']} member(s) failed: {counts['failures']}")
    return [load_run(d, fields=False) for s in seeds for d in sorted((out / "members").glob(f"p*_s{s:03d}"))]


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


def row(quantity, model, published, low=None, high=None, ci=None, kind="predicted", source="", note="",
        convergence="no mesh"):
    """A table row. ``convergence`` says why it has no finer value: "no mesh" (closed form, blood only)."""
    in_range = None
    if low is not None or high is not None:
        tol = 1e-5 * abs(model)  # fitted values sit on a bound, up to the digits written in default.toml
        in_range = bool((low is None or model >= low - tol) and (high is None or model <= high + tol))
    return {"quantity": quantity, "published": published, "low": low, "high": high, "model": model,
            "ci": list(ci) if ci is not None else None, "kind": kind, "in_range": in_range, "source": source,
            "note": note, "finer": None, "rel_change": None, "converged": None, "convergence": convergence}


CONVERGED_REL = 0.05  # converged: one level finer changes the value by at most 5 % (on the same seeds)


def seed_bootstrap(statistic, records: list, n: int = 2000) -> tuple[float, float] | None:
    """95 % percentile interval of ``statistic(records)`` resampling whole seeds (each record one run), so that
    foci of one mouse are not counted as independent. None with fewer than 2 seeds."""
    if len(records) < 2:
        return None
    rng = np.random.default_rng(0)
    vals = [statistic([records[i] for i in rng.integers(0, len(records), len(records))]) for _ in range(n)]
    vals = np.asarray(vals, float)
    vals = vals[np.isfinite(vals)]
    return (float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))) if len(vals) else None


def measured(quantity, statistic, shipped: dict, finer: dict, published, low=None, high=None, kind="predicted",
             source="", note="", reference: dict | None = None) -> dict:
    """A row measured on seed ensembles ({seed: record}): ``statistic(list of records)`` over every shipped
    seed with its seed-bootstrap CI, the value one level finer and the relative change from the shipped value
    on the same seeds, with the change's CI resampling those seeds (see :func:`set_finer` for why the same seed
    does not cancel the noise). ``reference``: the shipped runs the finer ones refine, when they are not
    ``shipped`` (e.g. a smaller dose of the same clusters, when the full one is too costly one level finer)."""
    seeds = sorted(shipped)
    recs = [shipped[s] for s in seeds]
    r = row(quantity, float(statistic(recs)), published, low, high, seed_bootstrap(statistic, recs), kind,
            source, note, convergence="not run")
    r["seeds"] = len(seeds)
    reference = shipped if reference is None else reference
    common = sorted(set(finer) & set(reference))
    if common:
        fine, base = [finer[s] for s in common], [reference[s] for s in common]
        change = seed_bootstrap(lambda idx: statistic([fine[i] for i in idx]) - statistic([base[i] for i in idx]),
                                list(range(len(common))))
        set_finer(r, statistic(fine), statistic(base), len(common), change, finer_kind(fine))
    return r


def finer_kind(records: list) -> str:
    """What the finer records refined ("all", "sites"), or "sites, seeding differs" if any of them seeded
    differently from its shipped run (see :func:`ensemble_records`)."""
    kinds = {r.get("finer", "all") for r in records}
    return kinds.pop() if len(kinds) == 1 else "sites, seeding differs"


def paired(a: dict, b: dict) -> dict:
    """Records of two ensembles joined by seed, for a statistic of both (a difference, a ratio of two arms);
    each pair keeps what its finer runs refined (:func:`finer_kind` of the two)."""
    return {s: {"seed": s, "a": a[s], "b": b[s], "finer": finer_kind([a[s], b[s]])} for s in sorted(set(a) & set(b))}


def relative_to(statistic, control: dict):
    """statistic(records) / statistic(the control ensemble's records of the same seeds): paired by seed."""
    return lambda recs: statistic(recs) / statistic([control[r["seed"]] for r in recs])


def measured_vs_control(quantity, statistic, shipped: dict, finer: dict, control: dict, control_finer: dict,
                        published, **kw) -> dict:
    """:func:`measured` of ``statistic`` relative to a control ensemble on the same seeds (a treated vs an
    untreated mouse); one level finer, the finer runs against the control's finer runs of the same seeds."""
    r = measured(quantity, relative_to(statistic, control), shipped, {}, published, **kw)
    common = sorted(set(finer) & set(control_finer) & set(shipped) & set(control))
    if common:
        def rel(recs, ctrl):
            return lambda idx: relative_to(statistic, ctrl)([recs[common[i]] for i in idx])
        fine, base = rel(finer, control_finer), rel(shipped, control)
        change = seed_bootstrap(lambda idx: fine(idx) - base(idx), list(range(len(common))))
        set_finer(r, fine(range(len(common))), base(range(len(common))), len(common), change,
                  finer_kind([finer[s] for s in common]))
    return r


def set_finer(r: dict, fine: float, base: float, seeds: int, change_ci=None, what: bool | str = "all") -> dict:
    """Give row ``r`` its value one level finer, against ``base`` (the shipped value on the same seeds);
    ``what``: what was refined (:func:`resolution_overrides`).

    ``converged``: True when the change is at most 5 %; with every organ refined, "noise" when it is larger but
    its 95 % CI over seeds (``change_ci``, absolute) holds 0: refining the primary changes every random draw
    after it, so the same seed is a different mouse and the change carries the seeds' noise; False otherwise.
    With the sites only refined the seeding is the same, so a change is the discretization's: no "noise"."""
    fine, base = float(fine), float(base)
    rel = 0.0 if fine == base else (fine - base) / abs(base) if base else math.inf  # (equal: also both infinite)
    converged = bool(abs(rel) <= CONVERGED_REL)
    label = f"{seeds} seeds" + {"sites": ", sites only", "sites, seeding differs": ", sites, seeding differs"}.get(what, "")
    text = f"{rel:+.1%} ({label})"
    if change_ci is not None and base:
        lo, hi = (c / abs(base) for c in change_ci)
        text = f"{rel:+.1%} [{lo:+.0%}, {hi:+.0%}] ({label})"
        if not converged and what != "sites" and lo <= 0.0 <= hi:
            converged = "noise"
    r.update(finer=fine, finer_seeds=seeds, rel_change=rel, converged=converged, convergence=text)
    return r


def census_record(run) -> dict:
    """What the scripts measure of one run: its seed, census lesions per site at the last output time (each
    with its clone fractions under the clone names), surviving arrests per site (size, clones carried), the
    ledger and final cells (summary.json) and the clone names."""
    t_end = float(run.summary.get("t_end", run.times[-1]))
    lesions: dict[str, list[dict]] = {}
    for r in run.census_at(t_end):
        lesions.setdefault(r["organ"], []).append(r)
    log = run.seeding()
    arrests: dict[str, dict] = {}
    if log is not None:
        c = log["columns"]
        keep = c["survived"].astype(bool)
        for i, organ in enumerate(log["organs"]):
            m = keep & (c["organ"] == i)
            arrests[organ] = {"size": c["size"][m], "n_clones": (c["clones"][m] > 0).sum(axis=1)}
    return {"seed": int(run.summary.get("seed", -1)), "lesions": lesions, "arrests": arrests,
            "summary": run.summary, "clones": list(run.clones)}


def ensemble_records(args, tag: str, overrides: dict | None = None, base: dict | None = None) -> tuple[dict, dict]:
    """{seed: census_record} at the shipped resolution and one level finer (see :func:`seed_lists`), of the
    default scenario or ``base`` with ``overrides`` (see :func:`ensemble`)."""
    from pdemet.output.layout import SEEDING
    from pdemet.output.seeding import same_log, shared_survivors

    seeds, finer_seeds = seed_lists(args)
    root = runs_root(args)
    what = getattr(args, "finer", "all")
    per_step = getattr(args, "draws", "per_cluster") == "per_step"
    if per_step:  # a key of the base (a sweep's overrides change only keys the base has)
        base = copy.deepcopy(base if base is not None else default_scenario(args.quick))
        base.setdefault("cluster_flux", {})["draws"] = "per_step"
        tag += draws_suffix(args)
    shipped_runs, finer_runs = ({r.summary["seed"]: r
                                 for r in ensemble(root, tag, s, overrides, args.quick, fine, args.workers, base)}
                                for s, fine in ((seeds, False), (finer_seeds, what)))
    shipped = {s: {**census_record(r), "finer": False} for s, r in shipped_runs.items()}
    finer = {}
    for s, r in finer_runs.items():
        kind, a, b = what, r.path / SEEDING, shipped_runs[s].path / SEEDING
        shared, same_clones = shared_survivors(b, a), shared_survivors(b, a, clones=True)
        print(f"{tag} seed {s}: {shared:.2%} of the shipped run's surviving arrests also in the finer run "
              f"(same point and size; {same_clones:.2%} also with the same clones)")
        # per_step: one dt for all organs, so a step the finer sites rejected redraws every later event;
        # per_cluster: the same clusters up to the shedding clock's time discretization
        same = same_log(a, b) if per_step else shared >= SAME_SEEDING
        if what == "sites" and not same:
            print(f"{tag} seed {s}: the sites-only finer run seeded differently from the shipped one; its "
                  "change is judged as a different mouse's")
            kind = "sites, seeding differs"
        finer[s] = {**census_record(r), "finer": kind, "shared_seeding": shared, "shared_clones": same_clones}
    return shipped, finer


SAME_SEEDING = 0.99  # per_cluster draws: a finer run "seeds the same" when this share of survivors coincides
# (point and size: the same clusters; their clones may differ where a rejected step changed the primary's state)


def foci_of(rec: dict, organs=None) -> list[dict]:
    """Census foci (lesions of at least focus_min_cells) of a record, in ``organs`` (default: every site)."""
    return [f for o, ls in rec["lesions"].items() if organs is None or o in organs for f in ls if f.get("focus")]


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
    print(f"{'quantity':58s} {'published':>22s} {'model':>12s}  kind       in range  finer (change)")
    for r in rows:
        ci = f" [{r['ci'][0]:.3g}, {r['ci'][1]:.3g}]" if r["ci"] else ""
        ok = {True: "yes", False: "NO", None: "-"}[r["in_range"]]
        fine = f"{r['finer']:.4g} ({r['convergence']})" if r.get("finer") is not None else r.get("convergence", "")
        print(f"{r['quantity'][:58]:58s} {str(r['published'])[:22]:>22s} {r['model']:12.4g}{ci}  {r['kind']:9s}  "
              f"{ok:8s}  {fine}")
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
