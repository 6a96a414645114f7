"""Arrest per pass through an organ's capillaries (capillaries 3–8 µm, tumor cells 10–20 µm)."""

import numpy as np

from pdemet.flux.laws.base import ArrestLaw, Param


class PowerArrest(ArrestLaw):
    """a(n) = 1 − (1 − a₁)^(n^γ): large clusters are trapped."""

    name = "power"
    params = {
        "arrest_probability": Param("", 0.0, "a₁, per-pass arrest probability of a single cell (assumption)",
                                    maximum=1.0),
        "arrest_size_exponent": Param("", 1.0, "γ"),
    }

    def __call__(self, n):
        n = np.asarray(n, dtype=float)
        return 1.0 - (1.0 - self.p["arrest_probability"]) ** (n ** self.p["arrest_size_exponent"])
