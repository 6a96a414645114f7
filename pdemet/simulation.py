"""Simulation: wires scenario → organs → solvers → coupling → outputs, and runs the time loop."""

from __future__ import annotations

import dataclasses
import math
import time as _time
from pathlib import Path

import numpy as np

from pdemet import config as _config
from pdemet.backend import MPI
from pdemet.organs import Organ
from pdemet.solver import SOLVERS
from pdemet.terms import TERMS


class StepFailure(RuntimeError):
    """The time step fell below dt_min: the run cannot proceed."""


class Simulation:
    """A multi-organ, multi-clone run.

    >>> sim = Simulation.from_toml("pdemet/scenarios/default.toml")
    >>> sim.run(out="results")
    >>> sim.total_cells("fat_pad", "red")
    """

    def __init__(self, scenario: _config.Scenario, comm=MPI.COMM_WORLD):
        self.scenario, self.comm = scenario, comm
        self.cfg = scenario.simulation
        self.clone_names = scenario.clone_names
        self.organs: dict[str, Organ] = {}
        self.solvers = {}
        for name, ocfg in scenario.organs.items():
            organ = Organ(ocfg, scenario.clone_names, comm)
            organ.set_initial()
            self.organs[name] = organ
            terms = [TERMS[t]() for t in ocfg.terms]
            self.solvers[name] = SOLVERS[self.cfg.solver](organ, terms, self.cfg)
        self.t = 0.0
        self.dt = self.cfg.dt
        self.steps = {"accepted": 0, "rejected": 0}
        self._successes = 0  # accepted steps since dt was last reduced
        self.clipped_cells = 0.0
        self.timers = {"solve": 0.0, "coupling": 0.0, "output": 0.0}
        self.coupling = None
        self._gatherers = {}
        for hook in COUPLING_FACTORIES:
            obj = hook(self)
            if obj is not None:
                self.coupling = obj

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    def from_toml(cls, path, comm=MPI.COMM_WORLD) -> "Simulation":
        return cls(_config.scenario_from_toml(path), comm)

    @classmethod
    def from_dict(cls, data: dict, base_dir=".", comm=MPI.COMM_WORLD) -> "Simulation":
        return cls(_config.parse_scenario(data, base_dir), comm)

    def gatherer(self, organ: str):
        """The organ's FieldGatherer (node arrays on rank 0 in original order), built on first use."""
        from pdemet.organs import FieldGatherer

        if organ not in self._gatherers:
            self._gatherers[organ] = FieldGatherer(self.organs[organ])
        return self._gatherers[organ]

    # -- queries ----------------------------------------------------------------------------------
    def clone_index(self, clone) -> int:
        if isinstance(clone, (int, np.integer)):
            return int(clone)
        return self.clone_names.index(clone)

    def total_cells(self, organ: str, clone=None) -> float:
        """Cells (∫u dx) of one clone (name or index) in an organ, or of all clones if clone is None."""
        cells = self.organs[organ].cells_per_clone()
        return float(cells.sum() if clone is None else cells[self.clone_index(clone)])

    # -- time stepping ---------------------------------------------------------------------------
    def _check(self, before: dict) -> str | None:
        """Why the candidate state is unacceptable (None if it is fine); collective over ranks."""
        bad = 0
        for name, organ in self.organs.items():
            u = organ.densities()
            kappa = organ.capacity
            if not np.all(np.isfinite(u)):
                bad |= 1
            elif u.size and u.min() < -self.cfg.negative_tolerance * kappa:
                bad |= 2
            elif u.size and np.max(np.abs(u - before[name])) > self.cfg.max_change * kappa:
                bad |= 4
        bad = self.comm.allreduce(bad, op=MPI.BOR)
        if bad & 1:
            return "non-finite density"
        if bad & 2:
            return "negative density"
        if bad & 4:
            return "change too large"
        return None

    def _clip(self) -> None:
        """Remove small negative undershoots without changing any clone's number of cells.

        P1 stiffness matrices of unstructured meshes have positive off-diagonal entries at obtuse
        angles, so sharp fronts and freshly seeded clusters undershoot slightly below zero. Those
        values (above -negative_tolerance·κ, else the step was rejected) are set to zero and the
        clone's field is rescaled to its previous total: positivity with exact conservation.
        The cells moved this way are counted in ``clipped_cells``.
        """
        for organ in self.organs.values():
            negative = self.comm.allreduce(int(any(np.any(c.x.array < 0) for c in organ.clones)), op=MPI.MAX)
            if not negative:
                continue
            n = organ.n_owned
            sums = np.empty((len(organ.clones), 3))  # cells before, after, moved; one reduction for all clones
            for i, c in enumerate(organ.clones):
                a = c.x.array
                sums[i, 0] = organ.weights @ a[:n]
                sums[i, 2] = -(organ.weights @ np.minimum(a[:n], 0.0))
                np.maximum(a, 0.0, out=a)
                sums[i, 1] = organ.weights @ a[:n]
            sums = self.comm.allreduce(sums, op=MPI.SUM)
            for c, (before, after, moved) in zip(organ.clones, sums):
                if after > 0 and before > 0:
                    c.x.array[:] *= before / after
                self.clipped_cells += float(moved)

    def advance(self, t_stop: float) -> float:
        """Take one accepted step towards t_stop (never past it); return its length."""
        while True:
            dt = min(self.dt, t_stop - self.t)
            before = {n: o.densities() for n, o in self.organs.items()}
            t0 = _time.perf_counter()
            ok = all([s.step(self.t, dt) for s in self.solvers.values()])
            ok = self.comm.allreduce(int(ok), op=MPI.MIN) == 1
            reason = self._check(before) if ok else "solver did not converge"
            self.timers["solve"] += _time.perf_counter() - t0
            if reason is None:
                break
            for n, o in self.organs.items():
                o.set_densities(before[n])
            self.steps["rejected"] += 1
            if not self.cfg.adaptive or dt / 2 < self.cfg.dt_min:
                raise StepFailure(f"step rejected at t = {self.t:.6g} days ({reason}) with dt = {dt:.3g} days; "
                                  f"reduce simulation.dt or check the parameters")
            self.dt = dt / 2
            self._successes = 0
        self._clip()
        self.t = t_stop if math.isclose(self.t + dt, t_stop, rel_tol=1e-12, abs_tol=1e-14) else self.t + dt
        self.steps["accepted"] += 1
        if self.coupling is not None:
            t0 = _time.perf_counter()
            self.coupling.after_step(self.t - dt, dt)
            self.timers["coupling"] += _time.perf_counter() - t0
        if self.cfg.adaptive and self.dt < self.cfg.dt:
            self._successes += 1
            if self._successes >= 4:
                self.dt, self._successes = min(2 * self.dt, self.cfg.dt), 0
        return dt

    def output_times(self) -> list[float]:
        n = int(math.floor(self.cfg.t_end / self.cfg.output_every + 1e-9))
        times = [k * self.cfg.output_every for k in range(n + 1)]
        if times[-1] < self.cfg.t_end * (1 - 1e-12):
            times.append(self.cfg.t_end)
        return times

    def run(self, out: str | Path | None = None, progress: bool = False, overwrite: bool = False,
            checkpoint_every: float | None = None, resume: bool = False) -> dict:
        """Run to t_end; with ``out``, write the run directory. Returns the summary dict.

        ``checkpoint_every`` (days) writes ``out/checkpoint.npz`` atomically; ``resume=True`` continues
        the run found in ``out`` from its checkpoint. Ctrl-C stops after the current step with
        consistent outputs (status "interrupted", exit 130 from the CLI); a step that cannot be
        taken stops with the last good state checkpointed (status "failed").
        """
        from pdemet import checkpoint
        from pdemet.outputs import RunWriter

        if checkpoint_every or resume:
            checkpoint.check(self)  # before the output directory is touched
        writer = RunWriter(self, out, overwrite=overwrite, resume=resume) if out is not None else None
        if resume:
            checkpoint.load(self, writer)
        elif writer:
            self._timed_output(writer, self.t)
        bar = _progress(self, progress)
        if bar is not None:
            bar.update(self.t)
        wall0 = _time.perf_counter()
        status = "completed"
        interrupted = _InterruptFlag(self.comm)
        next_ckpt = self.t + checkpoint_every if checkpoint_every else math.inf
        # The handler stays installed through the final writes, so a late Ctrl-C cannot cut them short.
        with interrupted:
            try:
                for t_out in self.output_times():
                    while self.t < t_out * (1 - 1e-12) and not interrupted.is_set():
                        dt = self.advance(t_out)
                        if bar is not None:
                            bar.update(dt)
                            bar.set_postfix_str(f"t={self.t:.3g} d, dt={dt:.2g} d", refresh=False)
                        if writer and self.t >= next_ckpt * (1 - 1e-12):
                            checkpoint.save(self, writer)
                            next_ckpt = self.t + checkpoint_every
                    if interrupted.is_set():
                        status = "interrupted"
                        break
                    if writer and t_out > writer.last_output_time:
                        self._timed_output(writer, self.t)
            except StepFailure:
                status = "failed"
                raise
            finally:
                if bar is not None:
                    bar.close()
                if writer and (checkpoint_every or status != "completed") and checkpoint.supported(self):
                    checkpoint.save(self, writer)  # the last good state (P2 runs: summary and outputs only)
                self.wall_time = _time.perf_counter() - wall0
                self.summary = self.make_summary(status)
                if writer:
                    writer.finish(self.summary)
        if status == "interrupted":
            raise KeyboardInterrupt
        return self.summary

    def _timed_output(self, writer, t):
        t0 = _time.perf_counter()
        writer.record(t)
        self.timers["output"] += _time.perf_counter() - t0

    def make_summary(self, status: str) -> dict:
        from pdemet import __version__
        from pdemet.backend import PETSc, dolfinx

        cells = {name: dict(zip(self.clone_names, map(float, o.cells_per_clone())))
                 for name, o in self.organs.items()}
        solver_stats = {name: dict(s.stats) for name, s in self.solvers.items()}
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
            "dofs": {name: o.V.dofmap.index_map.size_global for name, o in self.organs.items()},
            "cells_final": cells,
            "solver_stats": solver_stats,
            "versions": {"pdemet": __version__, "dolfinx": dolfinx.__version__,
                         "petsc": ".".join(map(str, PETSc.Sys.getVersion()))},
            "scenario_sha256": _config.scenario_hash(self.scenario),
        }
        if self.coupling is not None:
            summary.update(self.coupling.summary())
        return summary

    def resolved_scenario(self) -> dict:
        return _config.resolved(self.scenario)


# Modules that couple organs (the cluster flux) register a factory(sim) -> object | None here.
COUPLING_FACTORIES: list = []
from pdemet import seeding as _seeding  # noqa: E402,F401  (registers the cluster flux)


class _InterruptFlag:
    """SIGINT sets a flag (all ranks agree on it each step) instead of raising mid-step."""

    def __init__(self, comm):
        self.comm, self.flag, self.previous = comm, False, None

    def __enter__(self):
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        self.flag = True

    def is_set(self) -> bool:
        return bool(self.comm.allreduce(int(self.flag), op=MPI.MAX))

    def __exit__(self, *exc):
        import signal

        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


def _progress(sim, enabled):
    if not enabled or sim.comm.rank != 0:
        return None
    from tqdm import tqdm

    return tqdm(total=sim.cfg.t_end, unit="day", bar_format="{l_bar}{bar}| {n:.3g}/{total:.3g} days "
                "[{elapsed}<{remaining}{postfix}]", dynamic_ncols=True)
