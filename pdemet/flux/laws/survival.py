"""Colonization: the probability s(n) that an arrested cluster of n cells founds a focus."""

import numpy as np

from pdemet.flux.laws.base import Param, SurvivalLaw


class Cooperation(SurvivalLaw):
    """s(n) = 1 − (1 − s₁)^(n^γ): each cell's chance grows with the number of cells it arrives with."""

    name = "cooperation"
    params = {
        "single": Param("", 1e-4, "s₁, a single arrested cell founds a focus (Gupta & Massagué 2006: < 0.01 %)",
                        maximum=1.0),
        "exponent": Param("", 3.0, "γ, calibrated on Cheung et al. 2016 (> 100× per cell at n ≈ 10)"),
    }

    def __call__(self, n):
        n = np.asarray(n, dtype=float)
        return 1.0 - (1.0 - self.p["single"]) ** (n ** self.p["exponent"])


class Hill(SurvivalLaw):
    """s(n) = s_max nʰ/(nʰ + n₅₀ʰ)."""

    name = "hill"
    params = {
        "s_max": Param("", 1.0, "largest survival probability", maximum=1.0),
        "n50": Param("cells", 10.0, "cluster size of half-maximal survival", positive=True),
        "hill": Param("", 3.0, "Hill coefficient h", positive=True),
    }

    def __call__(self, n):
        n = np.asarray(n, dtype=float)
        return self.p["s_max"] * n ** self.p["hill"] / (n ** self.p["hill"] + self.p["n50"] ** self.p["hill"])
