"""Simulation: wires scenario → organs → solvers → couplings → run directory, and runs the time loop."""

from __future__ import annotations

import math
import sys
import time as _time
from pathlib import Path

import numpy as np

from pdemet import parallel, sanity
from pdemet import scenario as _scenario
from pdemet.adaptive import OrganRefinement
from pdemet.backend import MPI
from pdemet.errors import StepFailure, first_line
from pdemet.flux.coupling import ClusterFlux
from pdemet.nodes import FieldGatherer, OrganNodes
from pdemet.organ import Organ
from pdemet.output import checkpoint
from pdemet.output.run_directory import RunDirectory
from pdemet.readaptation import AdaptiveResolution
from pdemet.solvers import SOLVERS
from pdemet.solvers.step_control import StepControl
from pdemet.solvers.time_error import StepDoubling
from pdemet.terms import TERMS


# Wall-time accumulators (s) in summary.json's "timers_s". "adapt" is all of the re-adaptation; the adapt.* parts
# split it: refine (gathering the fields, where to refine and the refinement itself, on rank 0), transfer (the
# fields to the new mesh), mesh (the distributed DOLFINx mesh), organ (function space, lumped masses), nodes
# (gatherer and rank-0 node data), solver (the organ's new solver), seed (founders placed on the new mesh).
TIMERS = ("solve", "coupling", "output", "adapt", "adapt.refine", "adapt.transfer", "adapt.mesh", "adapt.organ",
          "adapt.nodes", "adapt.solver", "adapt.seed")


class Simulation(AdaptiveResolution):
    """A multi-organ, multi-clone run.

    >>> sim = Simulation.from_toml("pdemet/scenarios/default.toml")
    >>> sim.run(out="results")
    >>> sim.total_cells("fat_pad", "red")
    """

    def __init__(self, scenario: _scenario.Scenario, comm=MPI.COMM_WORLD):
        self.scenario, self.comm = scenario, comm
        self.cfg = scenario.simulation
        self.clone_names = scenario.clone_names
        self.organs: dict[str, Organ] = {}
        self.solvers = {}
        self._gatherers: dict[str, FieldGatherer] = {}
        self._nodes: dict[str, OrganNodes] = {}
        for name, ocfg in scenario.organs.items():
            organ = Organ(ocfg, scenario.clone_names, comm)
            organ.set_initial()
            self.organs[name] = organ
        # The base meshes on rank 0 (the arrest points are drawn on them, refinement starts from them).
        # (gatherer() is collective: build every organ's on all ranks before picking rank 0's arrays.)
        gatherers = {n: self.gatherer(n) for n in self.organs}
        self.base_meshes = {n: (g.points, g.tets) if comm.rank == 0 else None for n, g in gatherers.items()}
        self.warnings = comm.bcast(sanity.start_warnings(scenario, self.base_meshes) if comm.rank == 0 else None)
        if comm.rank == 0:
            for line in self.warnings:
                print(f"pdemet: warning: {line}", file=sys.stderr, flush=True)
        self.refinements: dict[str, OrganRefinement | None] = {}
        self.adapt_next: dict[str, float] = {}
        self.timers = dict.fromkeys(TIMERS, 0.0)
        for name, ocfg in scenario.organs.items():
            if ocfg.adapt.enabled:
                self._start_refinement(name)
        for name in self.organs:
            self.solvers[name] = self._solver(name)
        self.t = 0.0
        fronts = {n for n, o in scenario.organs.items() if any(TERMS[t].kind == "transport" for t in o.terms)}
        self.control = StepControl(self.cfg, self.organs, comm, fronts)
        self.doubling = StepDoubling(self.cfg, self.organs, self.solvers, comm) if self.cfg.error_control else None
        flux = scenario.cluster_flux
        self.coupling = (ClusterFlux(flux, self.organs, scenario.primary, self.gatherer, self.nodes,
                                     self.base_meshes, self.cfg.seed, comm, adaptive=set(self.refinements))
                         if flux is not None and flux.enabled else None)
        self.couplings = [self.coupling] if self.coupling is not None else []

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    def from_toml(cls, path, comm=MPI.COMM_WORLD) -> "Simulation":
        return cls(_scenario.scenario_from_toml(path), comm)

    @classmethod
    def from_dict(cls, data: dict, base_dir=".", comm=MPI.COMM_WORLD) -> "Simulation":
        return cls(_scenario.parse_scenario(data, base_dir), comm)

    def _solver(self, name: str):
        terms = [TERMS[t]() for t in self.scenario.organs[name].terms]
        needs_nodes = any(t.kind == "transport" for t in terms)
        nodes = self.nodes(name) if needs_nodes else None
        return SOLVERS[self.cfg.solver](self.organs[name], terms, self.cfg, nodes, self.gatherer(name) if nodes else None)

    def gatherer(self, organ: str) -> FieldGatherer:
        """The organ's FieldGatherer (node arrays on rank 0 in original order), built on first use."""
        if organ not in self._gatherers:
            # An adapted organ's mesh is made from its refinement's arrays, rank 0's node arrays already.
            adapted = organ in getattr(self, "refinements", {})
            arrays = ((self.refinements[organ].points, self.refinements[organ].tets) if self.comm.rank == 0 else ()
                      ) if adapted else None
            self._gatherers[organ] = FieldGatherer(self.organs[organ], arrays)
        return self._gatherers[organ]

    def nodes(self, organ: str) -> OrganNodes:
        """The organ's rank-0 node data (coordinates, weights, edges), built on first use (collective)."""
        if organ not in self._nodes:
            self._nodes[organ] = OrganNodes(self.organs[organ], self.gatherer(organ))
        return self._nodes[organ]

    # -- queries ----------------------------------------------------------------------------------
    @property
    def dt(self) -> float:
        return self.control.dt

    @property
    def steps(self) -> dict:
        return self.control.steps

    @property
    def clipped_cells(self) -> float:
        return self.control.clipped_cells

    def lesions(self, organ: str) -> list[dict]:
        """Every lesion of a site at the last output time (census recorder of the last run with ``out``),
        largest first; each a dict of the census.csv columns."""
        census = self.run_dir.recorders.get("census") if getattr(self, "run_dir", None) else None
        return census.last_foci.get(organ, []) if census is not None else []

    def foci(self, organ: str) -> list[dict]:
        """The foci of a site at the last output time: lesions of at least ``cluster_flux.focus_min_cells``."""
        return [f for f in self.lesions(organ) if f.get("focus", 1)]

    def clone_index(self, clone) -> int:
        if isinstance(clone, (int, np.integer)):
            return int(clone)
        return self.clone_names.index(clone)

    def total_cells(self, organ: str, clone=None) -> float:
        """Cells (∫u dx) of one clone (name or index) in an organ, or of all clones if clone is None."""
        cells = self.organs[organ].cells_per_clone()
        return float(cells.sum() if clone is None else cells[self.clone_index(clone)])

    # -- time stepping ---------------------------------------------------------------------------
    def advance(self, t_stop: float) -> float:
        """Take one accepted step towards t_stop (never past it); return its length."""
        while True:
            dt = min(self.control.dt, t_stop - self.t)
            before = {n: o.densities() for n, o in self.organs.items()}
            t0 = _time.perf_counter()
            if self.doubling is None:
                ok = all([s.step(self.t, dt) for s in self.solvers.values()])
                ok = self.comm.allreduce(int(ok), op=MPI.MIN) == 1
            else:
                ok, err, order = self.doubling.attempt(self.t, dt, before)
            reason = self.control.check(before) if ok else "solver did not converge"
            self.timers["solve"] += _time.perf_counter() - t0
            if reason is None and (self.doubling is None or self.control.judge(self.t, dt, err, order)):
                break
            for n, o in self.organs.items():
                o.set_densities(before[n])
            if reason is not None:
                self.control.reject(self.t, dt, reason)
        if self.doubling is not None:
            self.doubling.accepted(err)
        self.control.clip()
        self.t = t_stop if math.isclose(self.t + dt, t_stop, rel_tol=1e-12, abs_tol=1e-14) else self.t + dt
        self.control.accept()
        t0 = _time.perf_counter()
        for coupling in self.couplings:
            coupling.after_step(self.t - dt, dt)
        self.timers["coupling"] += _time.perf_counter() - t0
        for name in self.refinements:
            if self.t >= self.adapt_next[name] - 1e-9:
                self.adapt(name)
                self.adapt_next[name] = self.t + self.scenario.organs[name].adapt.every
        self.control.grow()
        return dt

    def output_times(self) -> list[float]:
        n = int(math.floor(self.cfg.t_end / self.cfg.output_every + 1e-9))
        times = [k * self.cfg.output_every for k in range(n + 1)]
        if times[-1] < self.cfg.t_end * (1 - 1e-12):
            times.append(self.cfg.t_end)
        return times

    def run(self, out: str | Path | None = None, progress: bool = False, overwrite: bool = False,
            checkpoint_every: float | None = None, resume: bool = False, recorders: dict | None = None) -> dict:
        """Run to t_end; with ``out``, write the run directory. Returns the summary dict.

        ``recorders``: {name: factory(sim, out)} of extra recorders (see pdemet.output.recorders) to run with
        the built-in ones at every output time.
        ``checkpoint_every`` (days) writes ``out/checkpoint.npz`` atomically; ``resume=True`` continues
        the run found in ``out`` from its checkpoint. Ctrl-C stops after the current step with
        consistent outputs (status "interrupted", exit 130 from the CLI); a step that cannot be
        taken stops with the last good state checkpointed (status "failed").
        """
        if checkpoint_every or resume:
            checkpoint.check(self)  # before the output directory is touched
        run_dir = RunDirectory(self, out, overwrite=overwrite, resume=resume, extra=recorders) if out is not None else None
        self.run_dir = run_dir
        if resume:
            try:
                checkpoint.load(self, run_dir)
            except BaseException:
                run_dir.close()
                raise
        bar = _progress(self, progress)
        wall0 = _time.perf_counter()
        status, error, good_state = "completed", None, True
        interrupted = parallel.InterruptFlag(self.comm)
        agreement = self.comm.Dup()  # for failure agreement only (see pdemet.parallel)
        # The handler stays installed through the final writes, so a late Ctrl-C cannot cut them short.
        with interrupted:
            try:
                if run_dir and not resume:
                    self._timed_output(run_dir, self.t)
                status = self._loop(run_dir, bar, interrupted, checkpoint_every)
            except Exception as e:  # a step failure, a plugin's error, a full disk: never "completed"
                status, error = "failed", first_line(e)
                good_state = isinstance(e, StepFailure)  # rolled back to the last accepted step
                if not parallel.all_failing(agreement):  # the other ranks wait in a collective: stop them
                    self._write_failed(run_dir, error)
                    parallel.abort_alone(self.comm, f"{error}; outputs up to the last good output time are in {out}")
                parallel.mark_collective(e)
                raise
            finally:
                agreement.Free()
                if bar is not None:
                    bar.close()
                self.wall_time = _time.perf_counter() - wall0
                self._close_run(run_dir, status, error, save=bool(checkpoint_every) or status != "completed",
                                good_state=good_state)
        if status == "interrupted":
            stop = KeyboardInterrupt()
            stop.signum = interrupted.signum  # the CLI exits 128 + signal number, as the shell expects
            raise stop
        return self.summary

    def _close_run(self, run_dir, status: str, error: str | None, save: bool, good_state: bool) -> None:
        """The last checkpoint (only of a good state: a failure mid-step keeps the previous checkpoint),
        the summary, and the directory released. After a failure, a second error (the disk is still full)
        must not hide the first one."""
        self.summary = {"status": status, "error": error}
        try:
            if run_dir and save and good_state and checkpoint.supported(self):
                checkpoint.save(self, run_dir)  # P2 runs: summary and outputs only
            self.summary = self.make_summary(status, run_dir)
            if error is not None:
                self.summary["error"] = error
            if run_dir:
                run_dir.finish(self.summary)
        except Exception:
            if error is None:
                raise
            self._write_failed(run_dir, error)
        finally:
            if run_dir:
                run_dir.close()

    def _write_failed(self, run_dir, error: str) -> None:
        """A minimal summary.json of a failed run, from whichever rank failed (best effort: the disk may be
        full); it replaces a stale one, so neither ``render`` nor a sweep takes the run for complete."""
        if run_dir is None:
            return
        from pdemet.output import layout
        from pdemet.output.files import write_json

        rank = f"rank {self.comm.rank}: " if self.comm.size > 1 else ""
        try:
            write_json(run_dir.out / layout.SUMMARY, {"status": "failed", "error": rank + error, "t": self.t,
                                                       "t_end": self.cfg.t_end, "ranks": self.comm.size})
        except Exception:  # noqa: BLE001 - nothing more can be done; the error is still reported
            pass

    def _loop(self, run_dir, bar, interrupted, checkpoint_every) -> str:
        """Step through the output times; returns "completed" or "interrupted"."""
        next_ckpt = self.t + checkpoint_every if checkpoint_every else math.inf
        for t_out in self.output_times():
            while self.t < t_out * (1 - 1e-12) and not interrupted.is_set():
                dt = self.advance(t_out)
                if bar is not None:
                    bar.update(dt)
                    bar.set_postfix_str(f"t={self.t:.3g} d, dt={dt:.2g} d", refresh=False)
                if run_dir and self.t >= next_ckpt * (1 - 1e-12):
                    checkpoint.save(self, run_dir)
                    next_ckpt = self.t + checkpoint_every
            if interrupted.is_set():
                return "interrupted"
            if run_dir and t_out > run_dir.last_output_time:
                self._timed_output(run_dir, self.t)
        return "completed"

    def _timed_output(self, run_dir, t):
        t0 = _time.perf_counter()
        run_dir.record(t)
        self.timers["output"] += _time.perf_counter() - t0

    def state(self) -> dict:
        refinements = {n: (r.state() if r is not None else None) for n, r in self.refinements.items()}
        state = {"t": self.t, "control": self.control.state(), "timers": self.timers, "adapt_next": self.adapt_next,
                 "refinements": refinements}
        if self.doubling is not None:
            state["time_error"] = self.doubling.state()
        return state

    def set_state(self, state: dict) -> None:
        """Restore time, step control and the adapted meshes (their fields are set by the checkpoint next)."""
        self.t, self.adapt_next = state["t"], dict(state["adapt_next"])
        self.timers = {**dict.fromkeys(TIMERS, 0.0), **state["timers"]}  # (a checkpoint may predate a timer)
        self.control.set_state(state["control"])
        if self.doubling is not None:
            self.doubling.set_state(state["time_error"])
        for name, ref in self.refinements.items():
            with self._timed("adapt"):
                if ref is not None:
                    with self._timed("adapt.refine"):  # the rebuild by bisection
                        ref.set_state(state["refinements"][name])
                n = self.comm.bcast(len(ref.points) if ref is not None else None, root=0)
                self._remesh(name, np.zeros((len(self.clone_names), n)), initial=False)

    def make_summary(self, status: str, run_dir=None) -> dict:
        from pdemet import __version__
        from pdemet.backend import PETSc, dolfinx

        cells = {name: dict(zip(self.clone_names, map(float, o.cells_per_clone())))
                 for name, o in self.organs.items()}
        summary = {
            "status": status,
            "t": self.t,
            "t_end": self.cfg.t_end,
            "solver": self.cfg.solver,
            "seed": self.cfg.seed,
            "ranks": self.comm.size,
            "wall_time_s": getattr(self, "wall_time", None),
            "steps": dict(self.steps),
            "final_dt": self.dt,
            "clipped_cells": self.clipped_cells,
            "timers_s": dict(self.timers),
            "timers_s_by_rank": self.comm.allgather(dict(self.timers)) if self.comm.size > 1 else None,
            "dofs": {name: o.V.dofmap.index_map.size_global for name, o in self.organs.items()},
            "cells_final": cells,
            "solver_stats": {name: dict(s.stats) for name, s in self.solvers.items()},
            "versions": {"pdemet": __version__, "dolfinx": dolfinx.__version__,
                         "petsc": ".".join(map(str, PETSc.Sys.getVersion()))},
            "scenario_sha256": _scenario.scenario_hash(self.scenario),
            "meshes": _scenario.files.mesh_files(self.scenario),
            "warnings": list(self.warnings),
        }
        if self.doubling is not None:
            summary["time_error"] = {"rtol": self.cfg.time_rtol,
                                     "atol": {n: self.doubling.atol(n) for n in self.organs},
                                     "order": {n: self.doubling.order(n) for n in self.organs},
                                     **self.doubling.stats}
        for coupling in self.couplings:
            summary.update(coupling.summary())
        if run_dir is not None:
            summary.update(run_dir.summary())
        return summary

    def resolved_scenario(self) -> dict:
        return _scenario.resolved(self.scenario)


def _progress(sim, enabled):
    if not enabled or sim.comm.rank != 0:
        return None
    from tqdm import tqdm

    bar = tqdm(total=sim.cfg.t_end, unit="day", bar_format="{l_bar}{bar}| {n:.3g}/{total:.3g} days "
               "[{elapsed}<{remaining}{postfix}]", dynamic_ncols=True)
    bar.update(sim.t)
    return bar
