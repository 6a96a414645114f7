"""1 vs 2 MPI ranks with the adaptive meshes (issue 15, item 4), and what the 2-core machine bounds.

* ``ranks``: a scenario (quick.toml; the full bench also default.toml) run on 1 and on 2 ranks, alternating, in
  fresh processes (:func:`benchmarks.adaptive.measure`): the wall-time ratio (set-up included), the census and
  the timeseries of the two runs compared (foci per site, largest relative difference), where each rank spends
  its time (``timers_s_by_rank``), and the serial part: the work done on rank 0 alone while the other ranks
  wait — the refinement and everything else of a re-adaptation that runs on rank-0 node arrays (``adapt.refine``,
  ``adapt.transfer``, ``adapt.nodes``, ``adapt.solver``, ``adapt.seed``), the transport step (``transport_s`` of
  the solvers), the cluster flux (``coupling``) and the outputs (``output``). Its fraction f of the 1-rank wall
  time bounds 2 ranks by Amdahl's law, 1/(f + (1 − f)/2).
* ``stream``: a STREAM-like triad a = b + s·c (numpy, three arrays of 2²⁴ float64) timed in one process, then in
  two processes at once (``python -m benchmarks.adaptive_parallel stream``): the bandwidth each gets, and the two
  together over one alone (2 if memory bandwidth were per core, 1 if one process already saturates it).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.adaptive import run_job
from benchmarks.worker import RESULT

SERIAL = ("adapt.refine", "adapt.transfer", "adapt.nodes", "adapt.solver", "adapt.seed", "coupling", "output")
STREAM_N = 1 << 24    # float64 per array (128 MiB)
STREAM_REPEATS = 10


def ranks(toml: Path, tmp: Path, repeats: int = 1) -> dict:
    """``toml`` on 1 and 2 ranks (``repeats`` alternating pairs; the faster run of each counts)."""
    runs = {1: [], 2: []}
    for _ in range(repeats):
        for n in (1, 2):
            runs[n].append(run_job({"toml": str(toml), "out": str(tmp / f"{toml.stem}_ranks{n}")}, ranks=n))
    one, two = (min(runs[n], key=lambda r: r["wall_s"]) for n in (1, 2))
    transport = {n: sum(s.get("transport_s", 0.0) for s in r["solver_stats"].values()) for n, r in ((1, one), (2, two))}
    serial = sum(one["timers_s"].get(k, 0.0) for k in SERIAL) + transport[1]
    f = serial / one["wall_s"]
    return {"scenario": str(toml), "one": {**one, "scenario": str(toml)}, "two": two,
            "all_wall_s": {str(n): [r["wall_s"] for r in v] for n, v in runs.items()},
            "speedup": one["wall_s"] / two["wall_s"], "transport_s": transport, "serial_s": serial,
            "serial_fraction": f, "amdahl_bound": 1.0 / (f + (1.0 - f) / 2.0),
            "parts": _parts(one, two, transport),
            "agreement": compare_runs(tmp / f"{toml.stem}_ranks1", tmp / f"{toml.stem}_ranks2")}


def _parts(one: dict, two: dict, transport: dict) -> dict:
    """Seconds per block on 1 rank and on each of 2 ranks, and the block's speed-up (rank 0)."""
    keys = [k for k in one["timers_s"] if one["timers_s"][k] > 0]
    out = {}
    for k in keys + ["transport"]:
        t1 = transport[1] if k == "transport" else one["timers_s"][k]
        t2 = [transport[2]] if k == "transport" else [r.get(k, 0.0) for r in two["timers_s_by_rank"]]
        out[k] = {"1_rank_s": t1, "2_ranks_s": t2, "speedup": t1 / t2[0] if t2[0] > 0 else math.nan}
    return out


def compare_runs(a: Path, b: Path, rtol: float = 1e-8) -> dict:
    """The census and timeseries of two run directories: foci per site at the last census time, whether the
    lesions are the same (time, organ, id), the largest relative difference of their numbers (|x − y| over the
    larger of |x|, |y|) and how many census rows differ by more than ``rtol``."""
    from pdemet.output.rundir import load_run

    ra, rb = load_run(a), load_run(b)
    ca, cb = ra.census(), rb.census()
    last = max((r["time"] for r in ca), default=math.nan)
    foci = [{}, {}]
    for count, rows in zip(foci, (ca, cb)):
        for r in rows:
            if r["time"] == last and r.get("focus", 1):
                count[r["organ"]] = count.get(r["organ"], 0) + 1
    same_rows = len(ca) == len(cb) and all((x["time"], x["organ"], x["focus_id"]) == (y["time"], y["organ"], y["focus_id"])
                                           for x, y in zip(ca, cb))
    worst, rows_off = 0.0, 0
    for x, y in zip(ca, cb):
        diff = max((_rel(v, y[k]) for k, v in x.items() if isinstance(v, float) and k != "time"), default=0.0)
        worst, rows_off = max(worst, diff), rows_off + (diff > rtol)
    cells = max((_rel(x["cells"], y["cells"]) for x, y in zip(ra.timeseries(), rb.timeseries())), default=0.0)
    return {"foci_last": foci[0], "foci_last_2": foci[1], "same_lesions": bool(same_rows), "census_rows": len(ca),
            "census_rows_off": rows_off, "census_max_rel_diff": worst, "cells_max_rel_diff": cells,
            "census_time": last}


def _rel(x: float, y: float) -> float:
    if not (math.isfinite(x) and math.isfinite(y)):
        return 0.0 if (x == y or (math.isnan(x) and math.isnan(y))) else math.inf
    big = max(abs(x), abs(y))
    return abs(x - y) / big if big > 0 else 0.0


def stream() -> dict:
    """Triad bandwidth of one process alone and of two at once (fresh processes, started together)."""
    alone = _stream_procs(1)
    both = _stream_procs(2)
    return {"array_mib": STREAM_N * 8 / 2**20, "one_gb_s": alone[0], "two_gb_s_each": both,
            "two_over_one": sum(both) / alone[0]}


def _stream_procs(n: int) -> list[float]:
    start = time.time() + 1.0  # each waits for the same start (after its arrays are made)
    procs = [subprocess.Popen([sys.executable, "-m", "benchmarks.adaptive_parallel", "stream", repr(start)],
                              stdout=subprocess.PIPE, text=True) for _ in range(n)]
    out = []
    for p in procs:
        stdout, _ = p.communicate(timeout=600)
        lines = [ln for ln in stdout.splitlines() if ln.startswith(RESULT)]
        if p.returncode != 0 or not lines:
            raise RuntimeError(f"stream process failed ({p.returncode})")
        out.append(json.loads(lines[-1][len(RESULT):])["gb_s"])
    return out


def triad(start: float) -> float:
    """GB/s moved by a = b + s·c, best of STREAM_REPEATS, timed from ``start`` (epoch seconds). numpy makes it
    two passes, c·s into a (read c, write a) then a + b (read a and b, write a): 5 × 8 bytes per element."""
    b, c = np.full(STREAM_N, 1.0), np.full(STREAM_N, 2.0)
    a = np.empty(STREAM_N)
    np.multiply(c, 3.0, out=a)
    while time.time() < start:
        time.sleep(0.001)
    best = math.inf
    for _ in range(STREAM_REPEATS):
        t0 = time.perf_counter()
        np.multiply(c, 3.0, out=a)
        np.add(a, b, out=a)
        best = min(best, time.perf_counter() - t0)
    return 5 * 8 * STREAM_N / best / 1e9


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "stream":
        raise SystemExit("usage: python -m benchmarks.adaptive_parallel stream START_EPOCH_S")
    print(RESULT + json.dumps({"gb_s": triad(float(sys.argv[2]))}), flush=True)
