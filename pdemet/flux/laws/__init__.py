"""Cluster laws, one small class per law, selected by name in the scenario:

=================  ==============================  ==========================================
kind               selected by                     built-in laws
=================  ==============================  ==========================================
sizes              ``[cluster_flux.sizes] kind``    power_law, geometric, fixed, cohesion
clearance          ``[cluster_flux.circulation]     power
                   clearance``
arrest             ``[organs.NAME] arrest_law``     power
survival           ``[cluster_flux.survival] law``  cooperation, hill
shedding_weight    ``[cluster_flux]                 rim, uniform, vascular
                   shedding_weight``
=================  ==============================  ==========================================

A law's parameters are keys of the table that selects it, declared with unit, default and source.
A new law is one file (see docs/extending.md)::

    from pdemet.flux.laws import Param, SurvivalLaw, register

    @register
    class Threshold(SurvivalLaw):
        "Clusters of at least n_min cells survive with probability s_big, smaller ones never."
        name = "threshold"
        params = {"n_min": Param("cells", 5, "smallest surviving cluster", positive=True),
                  "s_big": Param("", 0.01, "survival of a large cluster", maximum=1.0)}

        def __call__(self, n):
            return np.where(np.asarray(n) >= self.p["n_min"], self.p["s_big"], 0.0)

loaded with ``plugins = ["my_laws.py"]`` under ``[simulation]``.
"""

from __future__ import annotations

from pdemet.errors import fail
from pdemet.flux.laws.arrest import PowerArrest
from pdemet.flux.laws.base import (ArrestLaw, ClearanceLaw, Law, Param, SheddingWeight, SizeLaw,  # noqa: F401
                                   SurvivalLaw)
from pdemet.flux.laws.clearance import PowerClearance
from pdemet.flux.laws.shedding import Rim, Uniform, Vascular
from pdemet.flux.laws.sizes import Cohesion, Fixed, Geometric, PowerLaw
from pdemet.flux.laws.survival import Cooperation, Hill
from pdemet.validation import Table

LAWS: dict[str, dict[str, type[Law]]] = {
    "sizes": {c.name: c for c in (PowerLaw, Geometric, Fixed, Cohesion)},
    "clearance": {c.name: c for c in (PowerClearance,)},
    "arrest": {c.name: c for c in (PowerArrest,)},
    "survival": {c.name: c for c in (Cooperation, Hill)},
    "shedding_weight": {c.name: c for c in (Rim, Uniform, Vascular)},
}


def register(cls: type[Law]) -> type[Law]:
    """Class decorator for plugin files: make a law selectable by its ``name``."""
    if getattr(cls, "kind", None) not in LAWS or not getattr(cls, "name", None):
        raise TypeError(f"{cls.__name__}: a law needs a name and must derive from one of "
                        "SizeLaw, ClearanceLaw, ArrestLaw, SurvivalLaw, SheddingWeight")
    LAWS[cls.kind][cls.name] = cls
    return cls


def param_names(kind: str) -> set[str]:
    """Every parameter name of every law of a kind (keys a table selecting that kind may hold)."""
    return {p for cls in LAWS[kind].values() for p in cls.params}


def read_law(t: Table, kind: str, selector: str, default: str, context: dict | None = None) -> Law:
    """The law of ``kind`` named by key ``selector`` of table ``t``, its parameters read from ``t``.

    A parameter of another law of the same kind is refused with the name of the law that uses it.
    The caller calls ``t.done()`` for the keys it reads itself.
    """
    laws = LAWS[kind]
    name = t.string(selector, default, tuple(laws))
    cls = laws[name]
    law = cls(**{p: spec.read(t, 1, p) for p, spec in cls.params.items()})
    for key in t.data:
        if key in cls.params or key in t.seen:
            continue
        owners = [n for n, other in laws.items() if key in other.params]
        if owners:
            fail(t.key(key), f"is a parameter of the {kind} law {owners[0]!r}, which {selector} = {name!r} does not "
                             f"use; set {selector} = {owners[0]!r} or remove the key")
    law.check(t.path, context or {})
    return law
