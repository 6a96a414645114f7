"""The run directory while a run writes it: refuses to mix runs, writes scenario.toml, drives the recorders
at output times and writes summary.json at the end (layout in :mod:`pdemet.output.layout`)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

from pdemet import resources
from pdemet.errors import fail
from pdemet.output import layout, recorders
from pdemet.output.files import atomic_write_text, write_json
from pdemet.output.lock import RunLock
from pdemet.scenario.files import dump_toml


def prepare_out_dir(out: Path, overwrite: bool) -> None:
    """Refuse to mix runs: the output directory must be new, empty, or explicitly overwritten."""
    if out.exists() and not out.is_dir():
        fail("--out", f"{out} exists and is not a directory; choose another output directory")
    if out.is_dir() and any(p.name != layout.LOCK for p in out.iterdir()):
        if not overwrite:
            fail("--out", f"{out} is not empty; pass --overwrite to replace it or choose another directory")
        if not layout.is_run_directory(out):  # --overwrite replaces a pdemet run, never a user's folder
            fail("--out", f"{out} is not empty and is not a pdemet run directory (no {layout.SCENARIO} or "
                 f"{layout.SUMMARY}); --overwrite only replaces a run: choose a new or empty directory")
        for name in layout.OUTPUTS:  # only what pdemet writes; anything else the user put there stays
            child = out / name
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            elif child.exists() or child.is_symlink():
                child.unlink()
    try:
        out.mkdir(parents=True, exist_ok=True)  # fields/ is the fields recorder's (absent without fields)
        probe = out / ".write_test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        fail("--out", f"cannot write to {out} ({e.strerror}); choose a writable directory")


class RunDirectory:
    """Records the run at output times (its recorders) and writes scenario.toml and summary.json."""

    def __init__(self, sim, out, overwrite=False, resume=False, extra: dict | None = None):
        self.sim, self.out = sim, Path(out)
        self.rank0 = sim.comm.rank == 0
        self.last_output_time = -1.0
        self.lock = RunLock(self.out) if self.rank0 else None
        err = None
        if self.rank0:
            try:
                if self.out.exists() and not self.out.is_dir():
                    fail("--out", f"{self.out} exists and is not a directory; choose another output directory")
                self.lock.acquire()  # one writer per run directory, a resume included
                if resume:  # a killed writer's half-written copies: never read, never to be renamed
                    for tmp in layout.stale_temporaries(self.out):
                        tmp.unlink(missing_ok=True)
                else:
                    prepare_out_dir(self.out, overwrite)
                    self._check_disk()
            except Exception as e:  # share the verdict so that all ranks stop together
                self.lock.release()
                err = e
        err = sim.comm.bcast(err, root=0)
        if err is not None:
            raise err
        if self.rank0 and not resume:
            atomic_write_text(self.out / layout.SCENARIO, dump_toml(sim.resolved_scenario()))
        self.recorders = recorders.for_simulation(sim, self.out, resume)
        for name, factory in (extra or {}).items():
            self.recorders[name] = factory(sim, self.out)

    def record(self, t: float) -> None:
        self.last_output_time = t
        for rec in self.recorders.values():
            rec.record(t)

    def summary(self) -> dict:
        out = {}
        for rec in self.recorders.values():
            out.update(rec.summary())
        return out

    def finish(self, summary: dict) -> None:
        for rec in self.recorders.values():
            rec.finish()
        if self.rank0:
            write_json(self.out / layout.SUMMARY, summary)

    def _check_disk(self) -> None:
        cfg = self.sim.cfg
        outputs = math.floor(cfg.t_end / cfg.output_every + 1e-9) + 1  # t = 0 and each output time
        nodes = sum(len(points) for points, _ in self.sim.base_meshes.values())
        short = resources.disk_shortfall(self.out, nodes, len(self.sim.clone_names), outputs)
        if short is not None:
            fail("--out", short)

    def close(self) -> None:
        """Release the directory for the next writer (the end of the process does it too)."""
        if self.lock is not None:
            self.lock.release()

    def state(self) -> dict:
        return {"last_output_time": self.last_output_time,
                "recorders": {name: rec.state() for name, rec in self.recorders.items()}}

    def set_state(self, state: dict) -> None:
        self.last_output_time = state["last_output_time"]
        for name, rec in self.recorders.items():
            rec.set_state(state["recorders"].get(name))
        if "fields" in self.recorders:
            self.recorders["fields"].truncate(self.last_output_time)
