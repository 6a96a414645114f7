"""The same run on 1 and 2 MPI ranks (worker subprocesses under mpiexec): speed-up and the largest
difference of the final fields."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.worker import run_worker


def parallel(organ: dict, K: int, dt: float, steps: int, repeats: int, tmp: Path) -> dict:
    """``repeats`` runs of ``steps`` timed steps on each of 1 and 2 ranks (alternating); the fastest of each."""
    runs = {1: [], 2: []}
    for rep in range(repeats):
        for n in (1, 2):  # alternate, so that a burst of load elsewhere hits both
            runs[n].append(run_worker({"organ": organ, "K": K, "dt": dt, "steps": steps,
                                       "save": str(tmp / f"par{n}.npy")}, ranks=n))
    a, b = np.load(tmp / "par1.npy"), np.load(tmp / "par2.npy")
    t1, t2 = min(r["step_s"] for r in runs[1]), min(r["step_s"] for r in runs[2])
    return {"organ": organ, "dofs_per_clone": runs[1][0]["dofs_per_clone"], "K": K, "dt": dt, "steps": steps + 1,
            "step_s_1_rank": t1, "step_s_2_ranks": t2, "speedup": t1 / t2,
            "all_step_s": {str(k): [r["step_s"] for r in v] for k, v in runs.items()},
            "max_abs_diff": float(np.max(np.abs(a - b))), "max_rel_diff": float(np.max(np.abs(a - b)) / np.max(np.abs(a))),
            "cg_iterations_per_step": {str(k): v[0]["per_step"]["linear_iterations"] for k, v in runs.items()}}
