# # A new circulation law: clearance
#
# A circulating cluster of n cells is destroyed at the hazard rate(n) (1/day). The default is a power
# law of the half-life, t½(n) = t½₁ n^−β. This one saturates: every cluster of two cells or more is
# cleared with one half-life `half_life_cluster`, single cells with `half_life_single` (two measured
# numbers instead of an exponent).

import math

import numpy as np

from pdemet.flux.circulation import Hazards
from pdemet.flux.laws import ClearanceLaw, Param, register
from pdemet.scenario import parse_scenario

from common import scenario


@register
class TwoHalfLives(ClearanceLaw):
    """ln 2 / t½: t½ = half_life_single for n = 1, half_life_cluster for n ≥ 2."""

    name = "two_half_lives"
    params = {"half_life_single": Param("days", 0.0174, "single cells (25 min)", positive=True),
              "half_life_cluster": Param("days", 0.0056, "clusters (8 min; Aceto et al. 2014: 6–10)", positive=True)}

    def rate(self, n):
        n = np.asarray(n, dtype=float)
        return math.log(2.0) / np.where(n >= 2, self.p["half_life_cluster"], self.p["half_life_single"])


# Selected by `clearance = "two_half_lives"` in `[cluster_flux.circulation]`. Both engines (stochastic and
# mean field) take their hazards from the same table:

sc = parse_scenario(scenario(circulation={"clearance": "two_half_lives"}))
h = Hazards(sc.cluster_flux, ["lung"])
minutes = math.log(2) / h.table[:, h.CLEAR] * 1440
print(f"clearance half-life: single {minutes[0]:.1f} min, clusters {minutes[1]:.1f}–{minutes[-1]:.1f} min")
assert abs(minutes[0] - 25.06) < 0.1 and np.allclose(minutes[1:], minutes[1])
