"""Clearance of circulating clusters: destruction hazard ln 2 / t½(n)."""

import math

import numpy as np

from pdemet.flux.laws.base import ClearanceLaw, Param


class PowerClearance(ClearanceLaw):
    """t½(n) = t½₁ · n^(−β): clusters are cleared faster than single cells (Aceto et al., Cell 2014)."""

    name = "power"
    params = {
        "half_life_single": Param("days", 0.0174, "t½₁ (25 min; Aceto et al. 2014, unconfirmed: 25–30 min)",
                                  positive=True),
        "half_life_exponent": Param("", 0.7, "β (8 min at n = 5; Aceto: 6–10 min for clusters)"),
    }

    def rate(self, n):
        n = np.asarray(n, dtype=float)
        return math.log(2.0) / (self.p["half_life_single"] * n ** (-self.p["half_life_exponent"]))
