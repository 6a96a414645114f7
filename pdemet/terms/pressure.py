"""Pressure-driven motion: ∂uᵢ/∂t = ∇·(uᵢ ∇p(U)), U = Σⱼ uⱼ, with the porous-medium pressure law

    p(U) = (D_p/m) (U/κ)^m        (mm²/day)

Tumor cells are pushed down the gradient of the tissue pressure, which rises steeply as the total density
approaches the carrying capacity κ; every clone moves with the same velocity −∇p, so a clone's patch is
carried, not blurred (Byrne & Drasdo, J Math Biol 58:657, 2009; Perthame, Quirós & Vázquez, ARMA 212:93,
2014: as m → ∞ the model tends to a Hele-Shaw free boundary problem with U = κ inside the tumor). Summed
over the clones, U solves the porous-medium equation ∂U/∂t = ∇·(D(U)∇U) with D(U) = U p'(U) = D_p (U/κ)^m:
compact support, a sharp front and a density near κ inside. Pair it with ``pressure_growth``
(proliferation stops at the homeostatic pressure p(κ)).
"""

from pdemet.terms.base import Param, Transport


class Pressure(Transport):
    name = "pressure"
    params = {
        "pressure_diffusivity": Param("mm²/day", 1.0, "D_p: sets the pressure scale p(κ) = D_p/m and with the growth "
                                      "rate the front speed, ≈ 1.1·√(ρ D_p/m) for large m (docs/model.md)",
                                      positive=True),
        "pressure_exponent": Param("", 30.0, "m: stiffness of the pressure law; large m = nearly incompressible "
                                   "tissue (Hele-Shaw limit), density ≈ κ inside foci", positive=True),
    }

    def pressure(self, U, ctx):
        d, m, kappa = ctx.p["pressure_diffusivity"], ctx.p["pressure_exponent"], ctx.p["carrying_capacity"]
        return d / m * (ctx.ops.maximum(U, 0.0) / kappa) ** m

    def diffusivity(self, U, ctx):
        d, m, kappa = ctx.p["pressure_diffusivity"], ctx.p["pressure_exponent"], ctx.p["carrying_capacity"]
        return d * (ctx.ops.maximum(U, 0.0) / kappa) ** m

    def potential(self, U, ctx):
        d, m, kappa = ctx.p["pressure_diffusivity"], ctx.p["pressure_exponent"], ctx.p["carrying_capacity"]
        return d * kappa / (m + 1.0) * (ctx.ops.maximum(U, 0.0) / kappa) ** (m + 1.0)
