"""Growth limited by the tissue pressure: ρᵢ uᵢ (1 − p(U)/p(κ)) = ρᵢ uᵢ (1 − (U/κ)^m), U = Σⱼ uⱼ.

Cells proliferate at their rate ρᵢ while the pressure is below the homeostatic pressure p(κ) and stop at
it (the growth law G(p) of Hele-Shaw tumor models: Perthame, Quirós & Vázquez 2014; Byrne & Drasdo 2009).
With the same exponent m as ``pressure`` this is the generalized (θ-)logistic law with θ = m: small
compact foci grow exponentially at ρᵢ, large tumors grow at their rim. Use it instead of ``logistic``.
"""

from pdemet.terms.base import Param, Reaction


class PressureGrowth(Reaction):
    name = "pressure_growth"
    params = {
        "growth_rate": Param("1/day", 0.25, "net proliferation rate ρᵢ; mouse mammary tumors double in volume "
                             "every ~2–4 days (ρ ≈ 0.2–0.35/day)", per_clone=True),
        "pressure_exponent": Param("", 30.0, "m, shared with the pressure term", positive=True),
    }

    def rate(self, u, ctx):
        rho, kappa, m = ctx.p["growth_rate"], ctx.p["carrying_capacity"], ctx.p["pressure_exponent"]
        total = sum(u)
        limit = 1.0 - (ctx.ops.maximum(total, 0.0) / kappa) ** m
        return [rho[i] * u[i] * limit for i in range(len(u))]
