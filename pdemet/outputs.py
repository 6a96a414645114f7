"""Writes a simulation's run directory (layout in pdemet.io)."""

from __future__ import annotations

import shutil
from pathlib import Path

from pdemet import io
from pdemet.config import dump_toml, fail


def prepare_out_dir(out: Path, overwrite: bool) -> None:
    """Refuse to mix runs: the output directory must be new, empty, or explicitly overwritten."""
    if out.exists() and not out.is_dir():
        fail("--out", f"{out} exists and is not a directory; choose another output directory")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            fail("--out", f"{out} is not empty; pass --overwrite to replace it or choose another directory")
        for child in out.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    try:
        (out / "fields").mkdir(parents=True, exist_ok=True)
        probe = out / ".write_test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        fail("--out", f"cannot write to {out} ({e.strerror}); choose a writable directory")


class RunWriter:
    """Records time series and fields at output times; writes scenario.toml and summary.json."""

    def __init__(self, sim, out, overwrite=False, resume=False):
        self.sim, self.out = sim, Path(out)
        self.rank0 = sim.comm.rank == 0
        self.last_output_time = -1.0
        err = None
        if self.rank0:
            try:
                if not resume:
                    prepare_out_dir(self.out, overwrite)
            except Exception as e:  # share the verdict so that all ranks stop together
                err = e
        err = sim.comm.bcast(err, root=0)
        if err is not None:
            raise err
        self.rows: list[tuple] = []
        self.gatherers = {name: sim.gatherer(name) for name in sim.organs}
        self.fields = {}
        names = sim.clone_names + ["total"]
        if self.rank0:
            if not resume:
                io.atomic_write_text(self.out / "scenario.toml", dump_toml(sim.resolved_scenario()))
            for name, g in self.gatherers.items():
                self.fields[name] = io.VTKHDFWriter(self.out / "fields" / f"{name}.vtkhdf", g.points, g.tets, names,
                                                    create=not resume)

    def record(self, t: float) -> None:
        sim = self.sim
        self.last_output_time = t
        for name, organ in sim.organs.items():
            cells = organ.cells_per_clone()
            self.rows.extend((t, name, c, float(n)) for c, n in zip(sim.clone_names, cells))
            values = [self.gatherers[name].gather(c) for c in organ.clones]
            if self.rank0:
                arrays = dict(zip(sim.clone_names, values))
                arrays["total"] = sum(values)
                self.fields[name].write_step(t, arrays)
        if sim.coupling is not None:
            sim.coupling.record(t, self)
        if self.rank0:
            io.write_csv(self.out / "timeseries.csv", ("time", "organ", "clone", "cells"), self.rows)

    def finish(self, summary: dict) -> None:
        if self.sim.coupling is not None:
            self.sim.coupling.finish(self)
        if self.rank0:
            io.write_json(self.out / "summary.json", summary)
