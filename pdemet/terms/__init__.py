"""The term registry: the right-hand side of each organ's equations, one small unit per term.

For clone i of K in an organ, pdemet solves

    ∂uᵢ/∂t = −(Σ operator terms)ᵢ(uᵢ) + (Σ reaction terms)ᵢ(u) + (Σ load terms)ᵢ,   zero flux on ∂Ω,

with three kinds of terms:

* ``Operator``: a linear, time-independent operator on one clone, given as a UFL bilinear
  form ``form(u, v, i, ctx)`` (diffusion). The solver treats it implicitly with a matrix
  assembled once and reused every step.
* ``Reaction``: a pointwise rate ``rate(u, ctx) -> [f₀, …, f_{K−1}]`` coupling the clones at
  each point (logistic growth, Allee effect, drug kill). Written with arithmetic and
  ``ctx.ops`` (exp, log, …), the same code runs on numpy dof arrays (the splitting solver)
  and on UFL expressions (the Newton reference).
* ``Load``: a UFL linear form ``form(v, i, ctx)`` that may depend on time (``ctx.t``),
  e.g. a boundary flux. Treated with the linear step.

A new term is a new file::

    from pdemet.terms import Param, Reaction, register

    @register
    class DrugKill(Reaction):
        "Kill at rate k(t) = k₀·exp(−t/τ) (first-order elimination after one dose)."
        name = "drug_kill"
        params = {"kill_rate": Param("1/day", 0.1, "k₀"), "half_life": Param("days", 2.0, "τ·ln 2")}

        def rate(self, u, ctx):
            k = ctx.p["kill_rate"] * ctx.ops.exp(-ctx.t * 0.6931471805599453 / ctx.p["half_life"])
            return [-k * ui for ui in u]

and the scenario selects it with ``terms = ["diffusion", "logistic", "drug_kill"]`` (plus
``plugins = ["my_terms.py"]`` under ``[simulation]`` if the file is outside pdemet).
Parameters are read from the organ's table, validated with their units, and reach the
term as ``ctx.p[name]`` (a float, or a tuple of K floats for ``per_clone`` parameters).
"""

from __future__ import annotations

from pdemet.terms.allee import Allee
from pdemet.terms.base import (KINDS, Context, Load, NumpyOps, Operator, Param, Reaction, Term,  # noqa: F401
                               Transport)
from pdemet.terms.diffusion import Diffusion
from pdemet.terms.logistic import Logistic
from pdemet.terms.pressure import Pressure
from pdemet.terms.pressure_growth import PressureGrowth

# The terms a scenario can select by name: the built-ins, then what plugin files register.
TERMS: dict[str, type[Term]] = {t.name: t for t in (Diffusion, Logistic, Allee, Pressure, PressureGrowth)}


def register(cls: type[Term]) -> type[Term]:
    """Class decorator for plugin files: make a term selectable by its ``name`` in scenarios."""
    if not getattr(cls, "name", None) or getattr(cls, "kind", None) not in KINDS:
        raise TypeError(f"{cls.__name__}: a term needs a name and must derive from Operator, Reaction, Load or "
                        "Transport")
    TERMS[cls.name] = cls
    return cls
