# # A new shedding weight
#
# Where in the primary do cells leave? The weight w(x) ∈ [0, 1] multiplies the per-cell shedding rate σ₀.
# This one lets only the densest tissue shed, w = (U/κ)² (e.g. a hypoxic core that pushes cells into
# the vessels), instead of the default invasive rim 4(U/κ)(1 − U/κ).

import numpy as np

from pdemet.flux.laws import SheddingWeight, register
from pdemet.simulation import Simulation

from common import scenario


@register
class Core(SheddingWeight):
    """w = (U/κ)²: the packed core sheds."""

    name = "core"

    def __call__(self, total, capacity, vascular):
        return np.clip(total / capacity, 0.0, 1.0) ** 2


# Selected by `shedding_weight = "core"` in `[cluster_flux]`. The shed cells per day are
# σ₀ ∫ w U dx: compare with the uniform weight (w = 1).

shed = {}
for weight in ("uniform", "core"):
    sim = Simulation.from_dict(scenario(shedding_weight=weight))
    sim.run()
    shed[weight] = sim.coupling.ledger["cells"]["shed"]
print(f"cells shed in 2 days: uniform {shed['uniform']:.0f}, core {shed['core']:.0f}")
# the initial ball is at U = 0.5 κ: the core weight is 0.25 there, so about a quarter as many cells leave
assert 0.15 < shed["core"] / shed["uniform"] < 0.4
