"""Strong Allee effect: ρᵢ uᵢ (1 − U/κ)(U/A − 1), with U = Σⱼ uⱼ.

Below the threshold density A a small focus shrinks (too few cells to sustain
itself: cooperation, immune escape); above it the focus grows logistically. This
is the continuum counterpart of "clusters colonize, single cells die". Use it
instead of ``logistic`` (not in addition).
"""

from pdemet.terms.base import Param, Reaction


class Allee(Reaction):
    name = "allee"
    params = {
        "growth_rate": Param("1/day", 0.25, "net proliferation rate ρᵢ", per_clone=True),
        "allee_threshold": Param("cells/mm³", 1.0e4, "A, density below which a focus declines", positive=True),
    }

    def rate(self, u, ctx):
        rho, kappa, a = ctx.p["growth_rate"], ctx.p["carrying_capacity"], ctx.p["allee_threshold"]
        total = sum(u)
        factor = (1.0 - total / kappa) * (total / a - 1.0)
        return [rho[i] * u[i] * factor for i in range(len(u))]
