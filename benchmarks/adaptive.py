"""The cost of the adaptive meshes (issue 15, item 3): ratios and fits measured in one bench run.

* ``cost``: one compact focus (the sites' pressure-driven growth, m = 30, K = 4 clones intermixed) in a box,
  its mesh refined around the tumor to 48, 24, 12 µm (``--quick``: 80, 40 µm) and re-adapted every half day;
  one fresh process per size: the refined dofs, time per step (the solve timer over the accepted steps), the
  re-adaptation time, peak RSS (VmHWM); exponents fitted in the dofs.
* ``share``: a whole run of default.toml (quick.toml with ``--quick``; the 1-rank run of
  :mod:`benchmarks.adaptive_parallel`): the shares of re-adaptation (all of ``timers_s["adapt"]``, with the initial
  refinement) and of the field transfer (``adapt.transfer``) in its wall time, set-up included.
* ``uniform``: the same focus on a uniform box mesh of the adapted mesh's element size at the tumor (the median
  size of its cells there; 24 µm, quick 40 µm): its census against the adaptive run's within ``TOLERANCE``, and
  the time and memory ratios. Then the run of ``share`` on uniform meshes at each organ's adaptive element size,
  *extrapolated* from the uniform run's time per step and bytes per dof (no such run fits this machine).
* ``memory``: 4 clones × 5 organs × 10⁶ dofs with the pressure term and adaptive meshes, from the ``cost`` points:
  the RSS after the run (state held between steps) and the peak RSS, each fitted linearly in the refined dofs;
  five organs hold their state, one at a time adds its transient (re-adaptation or transport step) on top.
  With the peak slope for all five organs, the bound on the safe side is given too.

``python -m benchmarks.adaptive JOB_JSON`` is the subprocess: it runs ``job["scenario"]`` with outputs into
``job["out"]`` and prints ``BENCH_RESULT {json}`` (:func:`measure`).
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import power_fit
from benchmarks.worker import run_worker, serve

KAPPA = 1.0e6              # cells/mm³ (the scenario default)
BOX = 1.0                  # mm, side of the focus box
RADIUS = 0.2               # mm, initial radius of the focus (at half κ)
T_END = 2.0                # days
SIZES = (0.048, 0.024, 0.012)     # mm, adapt.size of the cost series
QUICK_SIZES = (0.08, 0.04)
UNIFORM_AT = 0.024         # mm: the cost point compared with a uniform mesh (quick: 0.04)
QUICK_UNIFORM_AT = 0.04
TOLERANCE = 0.05           # relative: the census of the uniform run agrees with the adaptive one within this
GiB = 2.0 ** 30


def focus_scenario(size: float, uniform_cells: int | None = None, K: int = 4) -> dict:
    """One organ: a BOX³ box with a ball of tumor (radius RADIUS, ½κ, K clones intermixed) that grows by the
    sites' pressure model, refined to ``size`` around it, or on a uniform mesh of ``uniform_cells`` per side."""
    organ = {"role": "primary", "box": [BOX] * 3, "cells": [uniform_cells or 4] * 3,
             "terms": ["pressure", "pressure_growth"], "pressure_diffusivity": 1.0, "pressure_exponent": 30.0,
             "growth_rate": 0.25, "carrying_capacity": KAPPA,
             "initial": {"shape": "ball", "radius": RADIUS, "density": 0.5 * KAPPA, "mixing": "intermixed"},
             "adapt": ({"enabled": False} if uniform_cells else {"size": size, "where": "tumor", "every": 0.5})}
    return {"simulation": {"t_end": T_END, "dt": 0.25, "output_every": T_END, "seed": 1},
            "clones": {"names": [f"c{i}" for i in range(K)]}, "organs": {"focus": organ}}


def run_job(job: dict, ranks: int | None = None, timeout: float = 3600) -> dict:
    """Run ``job`` in a fresh process (``mpiexec -n ranks`` if given) and return its result."""
    return run_worker(job, ranks, timeout, module="benchmarks.adaptive")


def measure(job: dict) -> dict:
    """Run ``job["scenario"]`` (a dict) or ``job["toml"]`` (a file) with outputs into ``job["out"]``: wall time,
    timers (also by rank), solver counters, steps, dofs, peak RSS (summed over ranks) and, with
    ``job["focus"]``, the census of its one organ (lesions above 10⁻³ κ) and its element size at the tumor."""
    from benchmarks.machine import rss_mib
    from pdemet.backend import MPI
    from pdemet.simulation import Simulation

    comm = MPI.COMM_WORLD
    t0 = time.perf_counter()
    sim = Simulation.from_toml(job["toml"]) if "toml" in job else Simulation.from_dict(job["scenario"])
    summary = sim.run(out=job["out"], overwrite=True)
    wall = time.perf_counter() - t0
    res = {"wall_s": wall, "run_wall_s": summary["wall_time_s"], "timers_s": summary["timers_s"],
           "timers_s_by_rank": summary["timers_s_by_rank"], "solver_stats": summary["solver_stats"],
           "steps": summary["steps"]["accepted"], "dofs": summary["dofs"], "ranks": comm.size,
           "peak_rss_mib": comm.allreduce(rss_mib()["peak_rss_mib"], op=MPI.SUM),
           "rss_end_mib": comm.allreduce(_steady_rss_mib(), op=MPI.SUM)}
    if job.get("focus"):
        res.update(_focus_census(sim))
    return res


def _steady_rss_mib() -> float:
    """Resident memory with the run's state alive but its temporaries given back (gc, then glibc's malloc_trim
    where there is one): what an organ holds between steps."""
    import gc

    from benchmarks.machine import rss_mib
    from pdemet.resources import give_back_freed_memory

    gc.collect()
    give_back_freed_memory()
    return rss_mib()["rss_mib"]


def _focus_census(sim) -> dict:
    """The lesions of the simulation's one organ (rank 0; the census defaults) and the median cell size
    where the tumor is above half κ."""
    from pdemet import census
    from pdemet.meshes.adapt import cell_sizes

    name = next(iter(sim.organs))
    organ, g, nodes = sim.organs[name], sim.gatherer(name), sim.nodes(name)
    u = [g.gather(c) for c in organ.clones]
    cells = float(organ.cells_per_clone().sum())
    if organ.comm.rank != 0:
        return {}
    u = np.array(u)
    foci = census.find_foci(u, nodes.weights, nodes.points, nodes.edges, 1e-3 * organ.capacity, 0.1,
                            tets=nodes.tets, capacity=organ.capacity)
    at_tumor = np.any(u.sum(axis=0)[nodes.tets] > 0.5 * organ.capacity, axis=1)
    return {"cells": cells, "foci": [{k: float(f[k]) for k in ("cells", "volume_mm3", "density")} for f in foci],
            "median_h_at_tumor_mm": float(np.median(cell_sizes(nodes.points, nodes.tets[at_tumor])))}


def cost(sizes, tmp: Path) -> dict:
    """The focus at each element size, one process each; fits of step time and peak RSS in the dofs."""
    rows = []
    for size in sizes:
        r = run_job({"scenario": focus_scenario(size), "out": str(tmp / f"focus_{size:g}"), "focus": True})
        rows.append({"size_mm": size, **r, "dofs": r["dofs"]["focus"], "step_s": r["timers_s"]["solve"] / r["steps"]})
    dofs = [r["dofs"] for r in rows]
    slope, icpt = np.polyfit(dofs, [r["peak_rss_mib"] for r in rows], 1)
    steady, _ = np.polyfit(dofs, [r["rss_end_mib"] for r in rows], 1)
    return {"rows": rows, "step_dofs_exponent": power_fit(dofs, [r["step_s"] for r in rows])[0],
            "adapt_dofs_exponent": power_fit(dofs, [r["timers_s"]["adapt"] for r in rows])[0],
            "memory_dofs_exponent": power_fit(dofs, [max(r["peak_rss_mib"] - icpt, 1e-3) for r in rows])[0],
            "memory_bytes_per_dof": float(slope) * 2**20, "memory_intercept_mib": float(icpt),
            "steady_bytes_per_dof": float(steady) * 2**20}


def share(whole: dict) -> dict:
    """Shares of the whole run's wall time: re-adaptation, its parts, and the field transfer."""
    t, wall = whole["timers_s"], whole["wall_s"]
    parts = {k.split(".", 1)[1]: v / wall for k, v in t.items() if k.startswith("adapt.")}
    return {"scenario": whole["scenario"], "wall_s": wall, "adapt_share": t.get("adapt", 0.0) / wall,
            "transfer_share": t.get("adapt.transfer", 0.0) / wall, "solve_share": t.get("solve", 0.0) / wall,
            "adapt_parts_share": parts}


def uniform(cost_res: dict, at: float, whole: dict, tmp: Path) -> dict:
    """The cost point at ``at`` against a uniform mesh of its element size at the tumor; the whole run's
    scenario on uniform meshes extrapolated."""
    ad = next(r for r in cost_res["rows"] if math.isclose(r["size_mm"], at))
    # a box of n³ cubes cut into 6 tetrahedra: cell size (6√2·vol)^⅓ = 2^⅙·BOX/n
    n = max(2, round(2 ** (1 / 6) * BOX / ad["median_h_at_tumor_mm"]))
    un = run_job({"scenario": focus_scenario(at, uniform_cells=n), "out": str(tmp / "focus_uniform"), "focus": True})
    un.update(dofs=un["dofs"]["focus"], step_s=un["timers_s"]["solve"] / un["steps"])
    fa, fu = ad["foci"][0], un["foci"][0]
    diff = {k: abs(fu[k] - fa[k]) / abs(fa[k]) for k in ("cells", "volume_mm3", "density")}
    base = cost_res["memory_intercept_mib"]
    per_dof = max(un["peak_rss_mib"] - base, 0.0) * 2**20 / un["dofs"]
    return {"size_mm": at, "cells_per_side": n, "adaptive": ad, "uniform": un,
            "lesions": [len(ad["foci"]), len(un["foci"])], "census_rel_diff": diff, "tolerance": TOLERANCE,
            "same_census": bool(len(ad["foci"]) == len(un["foci"]) == 1 and max(diff.values()) <= TOLERANCE),
            "time_ratio": un["wall_s"] / ad["wall_s"], "step_ratio": un["step_s"] / ad["step_s"],
            "memory_ratio": un["peak_rss_mib"] / ad["peak_rss_mib"],
            "memory_ratio_above_baseline": (un["peak_rss_mib"] - base) / max(ad["peak_rss_mib"] - base, 1e-3),
            "uniform_bytes_per_dof": per_dof, "extrapolated": _uniform_whole_run(whole, un, per_dof, base)}


def _uniform_whole_run(whole: dict, un: dict, per_dof: float, base_mib: float) -> dict:
    """The whole run's scenario with every adaptive organ uniformly refined to its adaptive element size: dofs
    from the organ volumes; per step the whole run's own transport time (the tumor is resolved alike) plus the
    uniform focus run's other solve time per dof and step, and its output time per node and output; memory from
    its bytes per dof. An extrapolation, never run."""
    from pdemet.scenario import scenario_from_toml

    scen = scenario_from_toml(whole["scenario"])
    organs = {}
    for name, o in scen.organs.items():
        volume = float(np.prod(o.box)) if o.box is not None else _mesh_volume(o.mesh)
        h = o.adapt.size if o.adapt.enabled else None
        # a uniform mesh of element size h has one vertex per (h/2^⅙)³ (box cubes of side h/2^⅙, 6 tetrahedra each)
        organs[name] = {"volume_mm3": volume, "size_mm": h,
                        "dofs": volume / (h / 2 ** (1 / 6)) ** 3 if h else float(whole["dofs"][name])}
    dofs = sum(o["dofs"] for o in organs.values())
    transport = sum(s.get("transport_s", 0.0) for s in whole["solver_stats"].values()) / whole["steps"]
    un_transport = sum(s.get("transport_s", 0.0) for s in un["solver_stats"].values()) / un["steps"]
    per_dof_step = max(un["step_s"] - un_transport, 0.0) / un["dofs"]
    outputs = round(scen.simulation.t_end / scen.simulation.output_every) + 1
    per_node_output = un["timers_s"]["output"] / 2 / un["dofs"]  # the focus run writes 2 outputs
    time_s = whole["steps"] * (transport + per_dof_step * dofs) + outputs * per_node_output * dofs
    memory = (base_mib * 2**20 + per_dof * dofs) / GiB
    return {"organs": organs, "dofs": dofs, "transport_s_per_step": transport, "other_s_per_dof_step": per_dof_step,
            "output_s_per_node": per_node_output, "steps": whole["steps"], "outputs": outputs, "time_s": time_s,
            "memory_gib": memory, "time_ratio": time_s / whole["wall_s"],
            "memory_ratio": memory * GiB / (whole["peak_rss_mib"] * 2**20)}


def _mesh_volume(path) -> float:
    from pdemet.adaptive import lumped_masses
    from pdemet.meshes.readers import read_tets

    points, tets = read_tets(Path(path))
    return float(lumped_masses(points, tets).sum())


def memory(cost_res: dict, organs: int = 5, dofs: float = 1e6) -> dict:
    """4 clones × organs × dofs with the pressure term on adaptive meshes, from the cost points' linear fits:
    every organ holds its state between steps (the slope of the RSS after the run), one at a time re-adapts or
    steps with its temporaries (the slope of the peak RSS over it), plus the intercept; and, on the safe side,
    the peak slope for every organ."""
    c = cost_res
    transient = max(c["memory_bytes_per_dof"] - c["steady_bytes_per_dof"], 0.0)
    need = c["memory_intercept_mib"] * 2**20 + c["steady_bytes_per_dof"] * organs * dofs + transient * dofs
    bound = c["memory_intercept_mib"] * 2**20 + c["memory_bytes_per_dof"] * organs * dofs
    return {"organs": organs, "dofs_per_organ": dofs, "K": 4, "gib": need / GiB, "gib_all_peak": bound / GiB,
            "bytes_per_dof": c["memory_bytes_per_dof"], "steady_bytes_per_dof": c["steady_bytes_per_dof"],
            "transient_bytes_per_dof": transient, "intercept_mib": c["memory_intercept_mib"]}


def adaptive(quick: bool, whole: dict, tmp: Path) -> dict:
    """The sections above; ``whole``: a :func:`measure` result of the whole scenario (with its "scenario" path)."""
    res = {"cost": cost(QUICK_SIZES if quick else SIZES, tmp)}
    res["share"] = share(whole)
    res["uniform"] = uniform(res["cost"], QUICK_UNIFORM_AT if quick else UNIFORM_AT, whole, tmp)
    res["memory"] = memory(res["cost"])
    return res


if __name__ == "__main__":
    serve(sys.argv, measure, "benchmarks.adaptive")
