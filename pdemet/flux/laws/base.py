"""Base classes of the cluster laws. A law declares its ``name``, its ``params`` and one method."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

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


class SizeLaw(Law):
    """P(n) of shed clusters up to a normalization: ``weights(n)`` for n = 1..max_size (floats)."""

    kind = "sizes"

    def weights(self, n: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


class SurvivalLaw(Law):
    """s(n): probability that an arrested cluster of n cells founds a focus."""

    kind = "survival"

    def __call__(self, n) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


class ClearanceLaw(Law):
    """Destruction hazard (1/day) of a circulating cluster of n cells."""

    kind = "clearance"

    def rate(self, n) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


class ArrestLaw(Law):
    """a(n): per-pass probability that a cluster of n cells stops in an organ's capillaries."""

    kind = "arrest"

    def __call__(self, n) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


class SheddingWeight(Law):
    """w(x) in [0, 1]: where in the primary cells leave, from the total density and the vascular density."""

    kind = "shedding_weight"

    def __call__(self, total: np.ndarray, capacity: float, vascular: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError
