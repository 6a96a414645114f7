"""Recorders: what a run writes at every output time, each to its own file of the run directory.

A recorder has ``record(t)`` (collective; rank 0 writes), ``finish()``, ``summary() -> dict`` (merged into
summary.json) and ``state()``/``set_state()`` (saved in checkpoints; rank 0's state is the one kept).
A new recorder is one small class (see docs/extending.md) added to the list :func:`for_simulation` makes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pdemet import census
from pdemet.output import layout
from pdemet.output.files import GrowingCsv, write_csv
from pdemet.output.seeding import write_seeding
from pdemet.output.vtkhdf import VTKHDFWriter


class Recorder:
    """Base: nothing to finish, summarize or save."""

    def record(self, t: float) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def finish(self) -> None:
        pass

    def summary(self) -> dict:
        return {}

    def state(self):
        return None

    def set_state(self, state) -> None:
        pass


class Timeseries(Recorder):
    """timeseries.csv: ∫uᵢ dx of every clone in every organ."""

    def __init__(self, sim, out):
        self.sim, self.path, self.rows = sim, out / layout.TIMESERIES, []

    def record(self, t):
        for name, organ in self.sim.organs.items():
            cells = organ.cells_per_clone()
            self.rows.extend((t, name, c, float(n)) for c, n in zip(self.sim.clone_names, cells))
        if self.sim.comm.rank == 0:
            write_csv(self.path, layout.TIMESERIES_HEADER, self.rows)

    def state(self):
        return self.rows

    def set_state(self, state):
        self.rows = [tuple(r) for r in state]


class Fields(Recorder):
    """fields/<organ>.vtkhdf: one point array per clone and their total, one step per output time."""

    def __init__(self, sim, out, resume: bool):
        self.sim, self.writers = sim, {}
        names = sim.clone_names + [layout.TOTAL]
        if sim.comm.rank == 0:
            (Path(out) / layout.FIELDS).mkdir(exist_ok=True)
            for name in sim.organs:
                self.writers[name] = VTKHDFWriter(layout.field_file(out, name), names, create=not resume)

    def record(self, t):
        for name, organ in self.sim.organs.items():
            g = self.sim.gatherer(name)
            values = [g.gather(c) for c in organ.clones]
            if self.sim.comm.rank == 0:
                arrays = dict(zip(self.sim.clone_names, values))
                arrays[layout.TOTAL] = sum(values)
                self.writers[name].write_step(t, arrays, g.points, g.tets)  # a new part if the mesh changed

    def truncate(self, t_max: float) -> None:
        """Drop the steps after t_max (a run resumed from an earlier checkpoint)."""
        for w in self.writers.values():
            w.truncate(t_max)


class Census(Recorder):
    """census.csv: the foci of every site (connected regions above the census threshold)."""

    def __init__(self, sim, out):
        self.sim, self.cfg = sim, sim.scenario.cluster_flux
        self.sites = [n for n in sim.organs if n != sim.scenario.primary]
        self.rows: list[tuple] = []
        self.last_foci: dict[str, list] = {}
        self.table = GrowingCsv(out / layout.CENSUS, (*layout.CENSUS_HEADER, *sim.clone_names))

    def record(self, t):
        for site in self.sites:
            organ = self.sim.organs[site]
            u = [self.sim.gatherer(site).gather(c) for c in organ.clones]
            nodes = self.sim.nodes(site)
            if self.sim.comm.rank == 0:
                founders = self.sim.coupling.founders(site) if self.sim.coupling.stochastic else None
                foci = census.find_foci(np.array(u), nodes.weights, nodes.points, nodes.edges,
                                        self.cfg.census_threshold * organ.capacity, self.cfg.polyclonal_fraction,
                                        tets=nodes.tets, capacity=organ.capacity,
                                        min_cells=self.cfg.focus_min_cells, founders=founders)
                self.last_foci[site] = foci
                self.rows.extend(census.census_rows(t, site, foci))
        if self.sim.comm.rank == 0:
            self.table.write(self.rows)

    def finish(self):
        if self.sim.comm.rank == 0:
            self.table.write(self.rows)

    def summary(self):
        per = {o: census.summarize(f) for o, f in self.last_foci.items()}
        return {key: {o: s[key] for o, s in per.items()}
                for key in ("foci", "lesions", "polyclonal_fraction", "polyclonal_by_one_cluster", "polyclonal_by_merger")}

    def state(self):
        return {"rows": self.rows, "last_foci": {o: [dict(f) for f in foci] for o, foci in self.last_foci.items()}}

    def set_state(self, state):
        if state is not None:
            self.rows = [tuple(r) for r in state["rows"]]
            self.last_foci = state["last_foci"]


class SeedingLog(Recorder):
    """seeding.h5: the event log of arrested clusters (pdemet.output.seeding), rewritten when it grew."""

    def __init__(self, sim, out):
        self.sim, self.path, self.written = sim, out / layout.SEEDING, None

    def record(self, t):
        log = self.sim.coupling.events
        if self.sim.comm.rank == 0 and self.written != (len(log), log.failed_seen):
            write_seeding(self.path, log.columns(), log.failed_table(), log.organs, self.sim.clone_names,
                          log.log_failed)
            self.written = (len(log), log.failed_seen)

    def finish(self):
        self.record(None)


def for_simulation(sim, out, resume: bool) -> dict[str, Recorder]:
    """The recorders of a run, by name (the names key their states in checkpoints)."""
    recorders = {"timeseries": Timeseries(sim, out)}
    if sim.scenario.simulation.write_fields:
        recorders["fields"] = Fields(sim, out, resume)
    if sim.coupling is not None:
        recorders["seeding"] = SeedingLog(sim, out)
        recorders["census"] = Census(sim, out)
    return recorders
