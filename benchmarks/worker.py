"""One measurement in a fresh process, for peak RSS and MPI runs: ``python -m benchmarks.worker JOB_JSON``.

:func:`run_worker` starts it (under ``mpiexec -n RANKS`` if asked) and reads back the one line it prints
on rank 0, ``BENCH_RESULT {json}``. A job is {"organ", "K", "dt", "steps"} and optionally "organs" (that
many identical organs) and "save" (a .npy path for the final fields in mesh-node order).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import dofs_per_clone, make_sim
from benchmarks.machine import rss_mib

RESULT = "BENCH_RESULT "
CHECKOUT = Path(__file__).resolve().parents[1]  # where `benchmarks` is importable from


def run_worker(job: dict, ranks: int | None = None, timeout: float = 1800, module: str = "benchmarks.worker") -> dict:
    """Run ``job`` in a subprocess (on ``ranks`` MPI ranks if given) of ``module`` (its ``__main__`` calls
    :func:`serve`) and return its result."""
    env = dict(os.environ)  # with the one-thread settings made when `benchmarks` was imported
    env["PYTHONPATH"] = str(CHECKOUT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [sys.executable, "-m", module, json.dumps(job)]
    if ranks:
        mpiexec = Path(sys.executable).parent / "mpiexec"
        cmd = [str(mpiexec) if mpiexec.exists() else "mpiexec", "-n", str(ranks), *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith(RESULT)]
    if r.returncode != 0 or not lines:
        raise RuntimeError(f"bench job {module} {job} failed ({r.returncode}): {r.stderr[-2000:]}")
    return json.loads(lines[-1][len(RESULT):])


def measure(job: dict) -> dict:
    """Build one simulation, time ``steps`` steps after a first one, report dofs, step time, peak RSS
    (summed over ranks) and optionally save the final fields in mesh-node order."""
    from pdemet.backend import MPI

    comm = MPI.COMM_WORLD
    organ, K, dt, steps = job["organ"], job["K"], job["dt"], job["steps"]
    n_organs = job.get("organs", 1)
    t_setup = time.perf_counter()
    sim = make_sim(organ, K, "imex", dt, dt * (steps + 1), n_organs=n_organs)
    setup_s = time.perf_counter() - t_setup
    sim.advance(sim.cfg.t_end)
    before = {name: dict(s.stats) for name, s in sim.solvers.items()}
    comm.Barrier()
    t0 = time.perf_counter()
    for _ in range(steps):
        sim.advance(sim.cfg.t_end)
    comm.Barrier()
    step_s = (time.perf_counter() - t0) / steps
    per_step = {k: sum(s.stats[k] - before[name][k] for name, s in sim.solvers.items()) / steps
                for k in sim.solvers["tissue"].stats}
    step_s = comm.allreduce(step_s, op=MPI.MAX)
    peak = comm.allreduce(rss_mib()["peak_rss_mib"], op=MPI.SUM)
    res = {"dofs_per_clone": dofs_per_clone(sim), "organs": n_organs, "K": K, "ranks": comm.size,
           "step_s": step_s, "setup_s": setup_s, "peak_rss_mib": peak,
           "per_step": {k: comm.allreduce(float(v), op=MPI.MAX) for k, v in per_step.items()}}
    if job.get("save"):
        g = sim.gatherer("tissue")
        fields = [g.gather(c) for c in sim.organs["tissue"].clones]
        if comm.rank == 0:
            np.save(job["save"], np.stack(fields))
    return res


def serve(argv: list[str], measure, module: str = "benchmarks.worker") -> None:
    """A job process: ``measure(job)`` of the JSON job in argv[1], printed on rank 0 for :func:`run_worker`."""
    if len(argv) != 2:
        raise SystemExit(f"usage: python -m {module} JOB_JSON (started by benchmarks.worker.run_worker)")
    result = measure(json.loads(argv[1]))
    from pdemet.backend import MPI
    from pdemet.output.files import json_default

    if MPI.COMM_WORLD.rank == 0:
        print(RESULT + json.dumps(result, default=json_default), flush=True)


if __name__ == "__main__":
    serve(sys.argv, measure)
