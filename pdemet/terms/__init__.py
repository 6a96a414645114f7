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

import importlib.util
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

TERMS: dict[str, type["Term"]] = {}


@dataclass(frozen=True)
class Param:
    """A term parameter: unit, default (None = required), meaning and source."""

    unit: str
    default: Any
    doc: str = ""
    per_clone: bool = False
    positive: bool = False
    nonneg: bool = True

    def read(self, table, n_clones: int, name: str):
        if self.per_clone:
            value = table.numbers(name, n_clones, self.default, positive=self.positive, nonneg=self.nonneg,
                                  unit=self.unit)
            return tuple(value) if isinstance(value, list) else (value,) * n_clones
        return table.number(name, self.default, positive=self.positive, nonneg=self.nonneg, unit=self.unit)


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


def register(cls: type[Term]) -> type[Term]:
    """Class decorator: make a term selectable by its ``name`` in scenarios."""
    if not getattr(cls, "name", None) or cls.kind not in ("operator", "reaction", "load"):
        raise TypeError(f"{cls.__name__}: a term needs a name and must derive from Operator, Reaction or Load")
    TERMS[cls.name] = cls
    return cls


def load_plugin(path: Path, where: str = "plugin") -> None:
    """Import a user's Python file of terms (its @register calls fill the registry)."""
    from pdemet.config import fail

    module_name = f"pdemet_plugin_{abs(hash(str(path)))}"
    if module_name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # a user's file: report it in one line
        fail(where, f"importing {path} failed: {type(e).__name__}: {e}")
    sys.modules[module_name] = module


class NumpyOps:
    """Math functions for reaction terms evaluated on numpy arrays."""

    import numpy as _np

    exp = staticmethod(_np.exp)
    log = staticmethod(_np.log)
    sqrt = staticmethod(_np.sqrt)
    sin = staticmethod(_np.sin)
    cos = staticmethod(_np.cos)
    tanh = staticmethod(_np.tanh)
    maximum = staticmethod(_np.maximum)
    minimum = staticmethod(_np.minimum)
    pi = math.pi


@dataclass
class Context:
    """What a term sees: parameters, time, coordinates, and math functions for its mode."""

    p: dict[str, Any]      # parameters by name (float or per-clone tuple)
    t: Any                 # time in days: a float (numpy mode) or a DOLFINx Constant (UFL mode)
    x: Any                 # coordinates in mm: (3, n) dof coordinates or ufl.SpatialCoordinate
    ops: Any               # NumpyOps or UflOps
    n_clones: int
    organ: str = ""


# Built-in terms (importing registers them).
from pdemet.terms import allee, diffusion, logistic  # noqa: E402,F401
