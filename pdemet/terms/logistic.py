"""Logistic growth with a shared carrying capacity: ρᵢ uᵢ (1 − Σⱼ uⱼ / κ).

κ is the organ's ``carrying_capacity`` (cells/mm³), available to every term.

Clones compete for the same space: the sum of all clones saturates at κ.
"""

from pdemet.terms.base import Param, Reaction


class Logistic(Reaction):
    name = "logistic"
    params = {
        "growth_rate": Param("1/day", 0.25, "net proliferation rate ρᵢ; mouse mammary tumors double in volume "
                             "every ~2–4 days (ρ ≈ 0.2–0.35/day)", per_clone=True),
    }

    def rate(self, u, ctx):
        rho, kappa = ctx.p["growth_rate"], ctx.p["carrying_capacity"]
        crowding = 1.0 - sum(u) / kappa
        return [rho[i] * u[i] * crowding for i in range(len(u))]
