"""What both solvers share: the UFL view of the terms, the (lumped) mass measure, the terms by kind."""

from __future__ import annotations

from pdemet.backend import ufl
from pdemet.terms import Context
from pdemet.terms.base import math_ops

UflOps = math_ops("UflOps", ufl, log="ln", maximum="max_value", minimum="min_value")
UflOps.ufl = ufl  # operator and load terms build their forms from ctx.ops.ufl


def mass_measure(organ):
    """dx for the time derivative and reactions: vertex quadrature (the lumped mass) for P1."""
    if organ.degree == 1:
        return ufl.dx(domain=organ.mesh, metadata={"quadrature_rule": "vertex", "quadrature_degree": 1})
    return ufl.dx(domain=organ.mesh)


def ufl_context(organ, terms_params, t):
    ctx = Context(p=terms_params, t=t, x=ufl.SpatialCoordinate(organ.mesh), ops=UflOps, n_clones=organ.n_clones,
                  organ=organ.name)
    ctx.dx = ufl.dx(domain=organ.mesh)
    ctx.ds = ufl.ds(domain=organ.mesh)
    ctx.n = ufl.FacetNormal(organ.mesh)
    return ctx


def is_zero(form) -> bool:
    return all(isinstance(i.integrand(), ufl.constantvalue.Zero) for i in form.integrals())


class TermsByKind:
    """An organ's terms split by kind, with the parameters and step settings the solvers read."""

    def __init__(self, organ, terms, sim_cfg):
        self.organ = organ
        self.params = organ.cfg.params
        self.operators = [t for t in terms if t.kind == "operator"]
        self.reactions = [t for t in terms if t.kind == "reaction"]
        self.loads = [t for t in terms if t.kind == "load"]
        self.transports = [t for t in terms if t.kind == "transport"]
        self.theta = sim_cfg.theta
        self.cfg = sim_cfg
