"""Base classes of the cluster laws. A law declares its ``name``, its ``params`` and one method."""

from __future__ import annotations

from typing import Any, ClassVar

from pdemet.validation import Param


class Law:
    """A named law with declared parameters; ``self.p[name]`` holds their values (defaults filled in)."""

    kind: ClassVar[str]
    name: ClassVar[str]
    params: ClassVar[dict[str, Param]] = {}

    def __init__(self, **values: Any):
        unknown = set(values) - set(self.params)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown parameters {sorted(unknown)}")
        self.p = {k: values.get(k, spec.default) for k, spec in self.params.items()}

    def check(self, where: str, context: dict) -> None:
        """Reject parameter combinations a law cannot use (one-line ScenarioError); context: shared values."""

    def to_dict(self) -> dict:
        return dict(self.p)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.p.items())})"


# The kinds of law and the one method each defines (n: float array of cluster sizes 1..max_size).
class SizeLaw(Law):
    """``weights(n)``: P(n) of shed clusters up to a normalization."""

    kind = "sizes"


class SurvivalLaw(Law):
    """``__call__(n)``: s(n), the probability that an arrested cluster of n cells founds a focus."""

    kind = "survival"


class ClearanceLaw(Law):
    """``rate(n)``: destruction hazard (1/day) of a circulating cluster of n cells."""

    kind = "clearance"


class ArrestLaw(Law):
    """``__call__(n)``: a(n), per-pass probability that a cluster of n cells stops in an organ's capillaries."""

    kind = "arrest"


class SheddingWeight(Law):
    """``__call__(total, capacity, vascular)``: w(x) in [0, 1] at the primary's nodes, from the total density
    (cells/mm³), the carrying capacity and the vascular density."""

    kind = "shedding_weight"
