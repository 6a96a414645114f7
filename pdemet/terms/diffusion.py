"""Fickian diffusion −∇·(Dᵢ∇uᵢ): random motility of tumor cells, one coefficient per clone."""

from pdemet.terms.base import Operator, Param


class Diffusion(Operator):
    name = "diffusion"
    params = {
        "diffusion": Param("mm²/day", 0.01, "cell motility coefficient Dᵢ; glioma fits span 0.0013–0.13 "
                           "mm²/day (Swanson et al.); 0.01 is mid-range", per_clone=True),
    }

    def form(self, u, v, i, ctx):
        ufl = ctx.ops.ufl
        return ctx.p["diffusion"][i] * ufl.inner(ufl.grad(u), ufl.grad(v)) * ctx.dx
