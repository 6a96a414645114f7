"""Benchmarks, reported as ratios measured in the same run (machines here are noisy).

``pdemet bench`` writes bench.json and bench.md:
* IMEX (Strang/CN splitting) vs the monolithic Newton reference: time per step on a box and an organ
  mesh, 4 clones, and the L2 difference of both from a fine-dt reference (equal-accuracy comparison);
* step time / (K × MatMult time) with the same matrix: how close a step is to the memory-bandwidth bound;
* cost growth with dofs and clones (fitted exponents).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from pdemet.backend import MPI
from pdemet.simulation import Simulation


def _scenario(organ: dict, K: int, solver: str, dt: float, t_end: float) -> dict:
    organ = dict(organ, role="primary", diffusion=0.01, growth_rate=0.25,
                 initial={"shape": "ball", "radius": 1.0, "density": 5.0e5, "mixing": "sectors"})
    return {"simulation": {"t_end": t_end, "dt": dt, "output_every": t_end, "solver": solver, "adaptive": False},
            "clones": {"names": [f"c{i}" for i in range(K)]}, "organs": {"tissue": organ}}


def _run(organ, K, solver, dt, t_end):
    sim = Simulation.from_dict(_scenario(organ, K, solver, dt, t_end))
    sim.advance(dt)  # first step includes JIT/assembly/factorization: not timed
    t0 = time.perf_counter()
    n = 0
    while sim.t < t_end - 1e-12:
        sim.advance(t_end)
        n += 1
    per_step = (time.perf_counter() - t0) / max(n, 1)
    return sim, per_step


def _state(sim):
    return np.concatenate([c.x.array[: sim.organs["tissue"].n_owned] for c in sim.organs["tissue"].clones])


def _matmult_time(sim, repeats=50):
    solver = sim.solvers["tissue"]
    key = solver.group_of[0]
    ksp, lhs, rhs = solver._operators(key, sim.cfg.dt)
    x, y = lhs.createVecRight(), lhs.createVecLeft()
    x.set(1.0)
    t0 = time.perf_counter()
    for _ in range(repeats):
        lhs.mult(x, y)
    return (time.perf_counter() - t0) / repeats


def compare_solvers(name, organ, K=4, dt=0.25, t_end=2.0):
    ref, _ = _run(organ, K, "imex", dt / 16, t_end)
    imex, t_imex = _run(organ, K, "imex", dt, t_end)
    newton, t_newton = _run(organ, K, "newton", dt, t_end)
    r = _state(ref)
    err = lambda s: float(np.linalg.norm(_state(s) - r) / np.linalg.norm(r))  # noqa: E731
    mm = _matmult_time(imex)
    return {"case": name, "dofs_per_clone": imex.organs["tissue"].V.dofmap.index_map.size_global, "K": K,
            "dt": dt, "imex_step_s": t_imex, "newton_step_s": t_newton, "speedup_per_step": t_newton / t_imex,
            "imex_rel_error": err(imex), "newton_rel_error": err(newton),
            "matmult_s": mm, "step_over_K_matmult": t_imex / (K * mm)}


def growth(K_values=(1, 4, 8, 16), cells=(8, 16, 24)):
    rows = []
    for n in cells:
        organ = {"box": [4.0, 4.0, 2.0], "cells": [n, n, max(n // 2, 1)]}
        _, t = _run(organ, 4, "imex", 0.25, 1.0)
        sim = Simulation.from_dict(_scenario(organ, 1, "imex", 0.25, 0.25))
        rows.append({"dofs": sim.organs["tissue"].V.dofmap.index_map.size_global, "K": 4, "step_s": t})
    fit_dofs = np.polyfit(np.log([r["dofs"] for r in rows]), np.log([r["step_s"] for r in rows]), 1)[0]
    krows = []
    organ = {"box": [4.0, 4.0, 2.0], "cells": [cells[-1], cells[-1], max(cells[-1] // 2, 1)]}
    for K in K_values:
        _, t = _run(organ, K, "imex", 0.25, 1.0)
        krows.append({"K": K, "step_s": t})
    fit_k = np.polyfit(np.log(K_values), np.log([r["step_s"] for r in krows]), 1)[0]
    return {"vs_dofs": rows, "dofs_exponent": float(fit_dofs), "vs_clones": krows, "clones_exponent": float(fit_k)}


def main(out: Path = Path("bench"), quick: bool = False) -> dict:
    comm = MPI.COMM_WORLD
    cases = [("box", {"box": [4.0, 4.0, 2.0], "cells": [12, 12, 6] if quick else [32, 32, 16]})]
    from pdemet.config import resolve_path, REPO_DIR

    lung = resolve_path("meshes/lung.msh", REPO_DIR)
    if lung is not None:
        cases.append(("lung mesh", {"mesh": str(lung)}))
    results = {"machine": {"ranks": comm.size}, "solvers": [compare_solvers(n, o, t_end=1.0 if quick else 2.0)
                                                             for n, o in cases]}
    results["growth"] = growth(K_values=(1, 4) if quick else (1, 4, 8, 16), cells=(6, 10, 14) if quick else (8, 16, 24))
    if comm.rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench.json").write_text(json.dumps(results, indent=2))
        lines = ["| case | dofs/clone | K | IMEX s/step | Newton s/step | speed-up | IMEX err | Newton err | "
                 "step/(K·MatMult) |", "|---|---|---|---|---|---|---|---|---|"]
        for r in results["solvers"]:
            lines.append(f"| {r['case']} | {r['dofs_per_clone']} | {r['K']} | {r['imex_step_s']:.4g} | "
                         f"{r['newton_step_s']:.4g} | {r['speedup_per_step']:.1f}× | {r['imex_rel_error']:.2e} | "
                         f"{r['newton_rel_error']:.2e} | {r['step_over_K_matmult']:.1f} |")
        g = results["growth"]
        lines.append("")
        lines.append(f"Step time ∝ dofs^{g['dofs_exponent']:.2f} and ∝ K^{g['clones_exponent']:.2f}.")
        (out / "bench.md").write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
    return results


if __name__ == "__main__":
    main()
