"""Size distributions P(n), n = 1..max_size, of shed clusters (per cluster, normalized by the caller)."""

from pdemet.errors import fail
from pdemet.flux.laws.base import Param, SizeLaw


class PowerLaw(SizeLaw):
    """P(n) ∝ n^−α (α = 2: 61 % singles and a mean of 2.8 cells at n_max = 50)."""

    name = "power_law"
    params = {"exponent": Param("", 2.0, "α")}

    def weights(self, n):
        return n ** (-self.p["exponent"])


class Geometric(SizeLaw):
    """P(n) ∝ (1 − 1/m)^(n−1): mean ≈ m cells."""

    name = "geometric"
    params = {"mean_size": Param("cells", 3.0, "m", positive=True)}

    def weights(self, n):
        q = 1.0 - 1.0 / self.p["mean_size"]
        return q ** (n - 1)

    def check(self, where, context):
        if self.p["mean_size"] < 1:
            fail(f"{where}.mean_size", f"got {self.p['mean_size']}, expected at least 1 cell")


class Fixed(SizeLaw):
    """Every cluster has n = size cells (single cells only with size = 1)."""

    name = "fixed"
    params = {"size": Param("", 1, "cells per cluster", positive=True, integer=True)}

    def weights(self, n):
        return (n == self.p["size"]).astype(float)

    def check(self, where, context):
        if self.p["size"] > context["max_size"]:
            fail(f"{where}.size", f"got {self.p['size']}, expected at most max_size = {context['max_size']}")


class Cohesion(SizeLaw):
    """P(n) ∝ n^−α c^(n−1): the power law of clusters whose n − 1 cell-cell bonds each hold with probability
    c (the cohesion). c = 1 is the power law; K14 knockdown, which reduces collective invasion and cluster
    formation (Cheung et al. 2016), lowers c, and c → 0 sheds single cells only. The shed cells per day are
    set by the shedding rate; only how they group changes."""

    name = "cohesion"
    params = {"exponent": Param("", 2.0, "α"),
              "cohesion": Param("", 1.0, "c, probability that a cell-cell bond holds at shedding", maximum=1.0)}

    def weights(self, n):
        return n ** (-self.p["exponent"]) * self.p["cohesion"] ** (n - 1)
