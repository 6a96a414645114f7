"""Shedding weights w(x) ∈ [0, 1]: the per-cell shedding rate at a primary node is σ₀·w."""

import numpy as np

from pdemet.flux.laws.base import SheddingWeight


class Rim(SheddingWeight):
    """4(U/κ)(1 − U/κ): the invasive edge sheds; empty and packed tissue do not."""

    name = "rim"

    def __call__(self, total, capacity, vascular):
        x = total / capacity
        return np.clip(4.0 * x * (1.0 - x), 0.0, 1.0)


class Uniform(SheddingWeight):
    """Every cell sheds at the same rate."""

    name = "uniform"

    def __call__(self, total, capacity, vascular):
        return np.ones_like(total)


class Vascular(SheddingWeight):
    """∝ the primary's vascular density v(x) (organ keys vascular_contrast, vascular_length)."""

    name = "vascular"

    def __call__(self, total, capacity, vascular):
        return vascular
