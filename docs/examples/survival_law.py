# # A new survival law
#
# A law is one small class: a name, its parameters with unit, default and meaning, and one method. This
# one says that arrested clusters smaller than `n_min` cells never found a focus and larger ones do with
# probability `s_big` (a sharp cooperation threshold, instead of the default smooth
# s(n) = 1 − (1 − s₁)^(n^γ)). In a scenario it goes in a file named under `[simulation] plugins`;
# here it is registered directly.

import numpy as np

from pdemet.flux.laws import Param, SurvivalLaw, register
from pdemet.simulation import Simulation

from common import scenario


@register
class Threshold(SurvivalLaw):
    """s(n) = s_big for n ≥ n_min, else 0."""

    name = "threshold"
    params = {"n_min": Param("cells", 3, "smallest cluster that can found a focus", positive=True, integer=True),
              "s_big": Param("", 0.2, "survival of a cluster of at least n_min cells", maximum=1.0)}

    def __call__(self, n):
        return np.where(np.asarray(n) >= self.p["n_min"], self.p["s_big"], 0.0)


# The scenario selects it by name in `[cluster_flux.survival]`; its parameters are keys of that table and
# are validated like every other key (try `s_big = 2`: a one-line error).

sim = Simulation.from_dict(scenario(survival={"law": "threshold", "n_min": 3, "s_big": 0.2}))
sim.run()
events = sim.coupling.events.rows()[:, :2]  # (size, survived) of every arrested cluster
print(f"{len(events)} clusters arrested; survived: sizes < 3: {events[events[:, 0] < 3, 1].sum()}, "
      f"sizes ≥ 3: {events[events[:, 0] >= 3, 1].mean():.3f} of them")
assert events[events[:, 0] < 3, 1].sum() == 0
assert abs(events[events[:, 0] >= 3, 1].mean() - 0.2) < 0.1
