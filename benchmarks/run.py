"""``main(out, quick)``: every section in order (see the package docstring), then bench.json and bench.md."""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks import adaptive_section
from benchmarks.common import T_END
from benchmarks.growth import growth
from benchmarks.machine import load_1min, machine_info
from benchmarks.newton import bandwidth_rows, solver_cases
from benchmarks.parallel import parallel
from benchmarks.pressure import FULL as PRESSURE_FULL, QUICK as PRESSURE_QUICK, pressure_section
from benchmarks.pypde import pypde_sections
from benchmarks.report import markdown, targets
from benchmarks.time_error import time_error_section
from benchmarks.whole_run import whole_run
from benchmarks.workprecision import continuum_section

K = 4  # clones, in every section but the clone series of ``growth``


@dataclass(frozen=True)
class Sizes:
    """Everything ``--quick`` makes smaller, in one place."""

    t_end: float             # days, IMEX vs Newton and py-pde
    imex_dts: tuple
    newton_dts: tuple
    dt_ref: float            # of the Richardson reference
    box: tuple               # (cells per side, Newton mode) of each box case
    lung: tuple              # (refinements, Newton mode) of each lung case
    fast_dts: tuple          # IMEX dts of the py-pde comparison at D_FAST
    parallel_cells: int
    parallel_steps: int
    parallel_repeats: int
    growth: dict             # growth()'s keyword arguments
    scenario: str            # of the whole run, in pdemet/scenarios/


QUICK = Sizes(t_end=0.5, imex_dts=(0.25, 0.125), newton_dts=(0.25, 0.125), dt_ref=1 / 32,
              box=((6, "full"), (10, "one")), lung=((0, "full"),), fast_dts=(0.125, 0.0625, 0.03125),
              parallel_cells=10, parallel_steps=4, parallel_repeats=1,
              growth=dict(cells_list=(6, 10, 14), K_values=(1, 4, 8, 16), K_cells=8, memory_cells=(6, 10),
                          steps=3, repeats=1),
              scenario="quick.toml")
FULL = Sizes(t_end=T_END, imex_dts=(0.5, 0.25, 0.125, 0.0625), newton_dts=(0.5, 0.25, 0.125), dt_ref=1 / 128,
             box=((16, "full"), (24, "one"), (48, "model")), lung=((0, "full"), (1, "one"), (2, "model")),
             fast_dts=(0.125, 0.0625, 0.03125, 0.015625), parallel_cells=48, parallel_steps=20, parallel_repeats=4,
             growth=dict(cells_list=(16, 24, 32, 48), K_values=(1, 4, 8, 16), K_cells=32, memory_cells=(24, 32, 40),
                         steps=8, repeats=3),
             scenario="default.toml")


class Progress:
    """Prints the start of each section with the time since the bench began, and samples the 1-minute
    load there (other processes on the machine) into ``loads``, keyed by the message."""

    def __init__(self, loads: dict):
        self.loads, self.t_start = loads, time.perf_counter()

    def __call__(self, msg: str) -> None:
        self.loads[msg] = load_1min()
        print(f"[bench {self.elapsed():6.1f} s] {msg}", flush=True)

    def elapsed(self) -> float:
        return time.perf_counter() - self.t_start


def main(out: Path = Path("bench"), quick: bool = False) -> dict:
    """Run the benchmarks; write out/bench.json and out/bench.md; return the results."""
    from pdemet.backend import MPI
    from pdemet.output.files import json_default
    from pdemet.scenario import PACKAGE_DIR, REPO_DIR, resolve_path

    if MPI.COMM_WORLD.size > 1:
        raise SystemExit("pdemet bench: run on one rank (it starts its own MPI runs)")
    out, s = Path(out), QUICK if quick else FULL
    res: dict = {"quick": quick}
    log = Progress(loads={})
    res["machine"] = machine_info()
    res["load_average_1min"] = log.loads
    lung = resolve_path("meshes/lung.msh", REPO_DIR)
    res["solvers"] = solver_cases(s.box, s.lung, lung, K, s.t_end, s.imex_dts, s.newton_dts, s.dt_ref, log)
    res["bandwidth"] = bandwidth_rows(res["solvers"], K)
    res.update(pypde_sections(res["solvers"], K, s.t_end, s.dt_ref, s.fast_dts, not quick, log))
    res["time_error"] = time_error_section(res["solvers"], K, s, quick, log)
    res["pressure"] = pressure_section(PRESSURE_QUICK if quick else PRESSURE_FULL, K, lung, log)
    res["continuum"] = continuum_section(quick, log, K)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        log("1 vs 2 MPI ranks")
        res["parallel"] = parallel({"box": [4.0, 4.0, 4.0], "cells": [s.parallel_cells] * 3}, K, 0.25,
                                   steps=s.parallel_steps, repeats=s.parallel_repeats, tmp=tmp)
        log("cost growth")
        res["growth"] = growth(**s.growth)
        scen = PACKAGE_DIR / "scenarios" / s.scenario
        log(f"whole run: {scen.name}")
        res["whole_run"] = whole_run(scen, tmp)
        res["adaptive"] = adaptive_section.section(quick, tmp, log)
    log("done")
    res["targets"] = targets(res)
    res["bench_wall_s"] = log.elapsed()
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(res, indent=2, default=json_default))
    md = markdown(res)
    (out / "bench.md").write_text(md)
    print(md)
    return res
