# # A new output recorder
#
# A recorder is called at every output time. This one writes `peaks.csv`: the highest density of each
# organ relative to its carrying capacity (is the tumor packed, or a diffuse cloud?). It gathers the
# fields to rank 0 (collective), and rank 0 writes; `state()` makes it survive a checkpoint and a resume.

from pathlib import Path
import tempfile

import numpy as np

from pdemet.output.files import write_csv
from pdemet.output.recorders import Recorder
from pdemet.simulation import Simulation

from common import scenario


class Peaks(Recorder):
    def __init__(self, sim, out):
        self.sim, self.path, self.rows = sim, Path(out) / "peaks.csv", []

    def record(self, t):
        for name, organ in self.sim.organs.items():
            u = [self.sim.gatherer(name).gather(c) for c in organ.clones]
            if self.sim.comm.rank == 0:
                self.rows.append((t, name, float(np.sum(u, axis=0).max() / organ.capacity)))
        if self.sim.comm.rank == 0:
            write_csv(self.path, ("time", "organ", "peak_over_capacity"), self.rows)

    def summary(self):
        return {"peak_over_capacity": {o: p for _, o, p in self.rows}}  # the last time's, into summary.json

    def state(self):
        return self.rows

    def set_state(self, state):
        self.rows = [tuple(r) for r in state]


# Recorders are given to `Simulation.run` by name, as factories (sim, run directory) -> recorder.

with tempfile.TemporaryDirectory() as out:
    summary = Simulation.from_dict(scenario()).run(out=out, recorders={"peaks": Peaks})
    print((Path(out) / "peaks.csv").read_text())
    assert summary["peak_over_capacity"]["primary"] > 0.5
