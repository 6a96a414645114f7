"""Base classes of the terms, and what a term sees when it runs (:class:`Context`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from pdemet.validation import Param  # noqa: F401  (terms declare their parameters with it)


class Term:
    """Base of all terms. Subclasses set ``name``, ``params`` and ``kind`` and one method."""

    name: ClassVar[str]
    kind: ClassVar[str]
    params: ClassVar[dict[str, Param]] = {}


class Operator(Term):
    kind = "operator"

    def form(self, u, v, i: int, ctx):  # pragma: no cover - interface
        raise NotImplementedError

    def key(self, i: int, ctx) -> tuple:
        """Clones with equal keys share one matrix and one preconditioner."""
        return (self.name,) + tuple(ctx.p[n][i] if spec.per_clone else ctx.p[n] for n, spec in self.params.items())


class Reaction(Term):
    kind = "reaction"

    def rate(self, u: list, ctx) -> list:  # pragma: no cover - interface
        raise NotImplementedError


class Load(Term):
    kind = "load"

    def form(self, v, i: int, ctx):  # pragma: no cover - interface
        raise NotImplementedError


class Transport(Term):
    """Motion of all clones with one velocity −∇p(U), U = Σⱼ uⱼ: ∂uᵢ/∂t = ∇·(uᵢ∇p(U)).

    ``pressure(U, ctx)`` is p(U) (mm²/day), ``diffusivity(U, ctx)`` is D(U) = U p'(U) and ``potential(U, ctx)``
    its Kirchhoff transform Φ(U) = ∫₀ᵁ D(s) ds (mm²/day · cells/mm³), written with ``ctx.ops`` so that they run
    on numpy arrays (the splitting solver's transport step solves M(U − Uⁿ) + dt·KΦ(U) = 0 by Newton, with
    Φ' = D) and p also on UFL expressions (the Newton reference uses p). p, D and Φ are functions of U alone
    (the Kirchhoff form assumes it: a law that varies in space needs another discretization).
    """

    kind = "transport"

    def pressure(self, U, ctx):  # pragma: no cover - interface
        raise NotImplementedError

    def diffusivity(self, U, ctx):  # pragma: no cover - interface
        raise NotImplementedError

    def potential(self, U, ctx):  # pragma: no cover - interface
        raise NotImplementedError

    def form(self, u: list, v: list, ctx):
        """Σᵢ ∫ uᵢ ∇p(U)·∇vᵢ dx: the weak form of −∇·(uᵢ∇p) (the Newton reference)."""
        ufl = ctx.ops.ufl
        grad_p = ufl.grad(self.pressure(sum(u), ctx))
        return sum(ui * ufl.inner(grad_p, ufl.grad(vi)) for ui, vi in zip(u, v)) * ctx.dx


KINDS = ("operator", "reaction", "load", "transport")


def math_ops(name: str, module, **renamed) -> type:
    """A namespace of the math functions a reaction may call (``ctx.ops.exp`` …), taken from ``module``.

    ``renamed`` maps a function name to the module's own name for it (UFL: ``log`` is ``ln``).
    """
    names = ("exp", "log", "sqrt", "sin", "cos", "tanh", "maximum", "minimum")
    namespace = {n: staticmethod(getattr(module, renamed.get(n, n))) for n in names}
    namespace["pi"] = math.pi
    return type(name, (), namespace)


NumpyOps = math_ops("NumpyOps", np)


@dataclass
class Context:
    """What a term sees: parameters, time, coordinates, and math functions for its mode."""

    p: dict[str, Any]      # parameters by name (float or per-clone tuple)
    t: Any                 # time in days: a float (numpy mode) or a DOLFINx Constant (UFL mode)
    x: Any                 # coordinates in mm: (3, n) dof coordinates or ufl.SpatialCoordinate
    ops: Any               # NumpyOps or UflOps
    n_clones: int
    organ: str = ""
