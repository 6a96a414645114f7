"""Colors of the pictures: the clone mix at each point, its fade into tissue, and the fixed scene colors.

Every clone has a color (``[clones] colors`` in the scenario). A point's color is the density-weighted mix
of the clone colors (:func:`mix_colors`), so a monoclonal region shows exactly its clone's color and a
polyclonal region an intermediate one. Tissue without tumor is drawn in a neutral tissue color;
:func:`alpha_from_density` fades between the two.
"""

from __future__ import annotations

import math

import numpy as np
import pyvista as pv

from pdemet.errors import RenderError

TISSUE_RGB = (0.925, 0.870, 0.830)  # empty tissue (slices)
ORGAN_RGB = (0.720, 0.650, 0.610)  # translucent organ surface
OUTLINE_RGB = (0.35, 0.30, 0.28)  # organ silhouette
TEXT_RGB = (0.10, 0.10, 0.10)
NOTE_RGB = (0.35, 0.35, 0.35)  # small print under a picture
BACKGROUND = "white"


def to_rgb(color) -> tuple[float, float, float]:
    """Any color spec PyVista understands ('#e41a1c', 'red', (r, g, b)) -> floats in [0, 1]."""
    try:
        return tuple(float(c) for c in pv.Color(color).float_rgb)
    except Exception as exc:  # pragma: no cover - message only
        raise RenderError(f"invalid color {color!r}: {exc}") from None


def hex_color(rgb) -> str:
    """Floats in [0, 1] -> '#rrggbb' (for HTML)."""
    return pv.Color(tuple(rgb)).hex_rgb


def mix_colors(densities, colors, tissue=TISSUE_RGB) -> np.ndarray:
    """Density-weighted mix of clone colors.

    ``densities`` (K, n) clone densities, ``colors`` (K, 3) floats in [0, 1].
    Returns (n, 3) floats: sum_i d_i c_i / sum_i d_i. A point holding a single
    clone gets exactly that clone's color, an equal mix the mean color, and
    points with no cells (total <= 0) the neutral ``tissue`` color. Negative
    densities (finite-element undershoot) are treated as zero.
    """
    d = np.clip(np.asarray(densities, dtype=np.float64), 0.0, None)
    if d.ndim == 1:
        d = d[:, None]
    c = np.asarray(colors, dtype=np.float64).reshape(-1, 3)
    if d.shape[0] != c.shape[0]:
        raise ValueError(f"{d.shape[0]} density rows but {c.shape[0]} colors")
    total = d.sum(axis=0)
    out = np.empty((d.shape[1], 3))
    out[:] = np.asarray(tissue, dtype=np.float64)
    ok = total > 0
    if ok.any():
        out[ok] = (d[:, ok].T @ c) / total[ok, None]
    return np.clip(out, 0.0, 1.0)


def alpha_from_density(total, kappa, full=0.05, faint=None) -> np.ndarray:
    """Tumor opacity/brightness in [0, 1] from total density.

    Linear ramp ``clip(total / (full * kappa), 0, 1)``: empty tissue 0, fully vivid
    from ``full`` x carrying capacity on. With ``faint`` (e.g. 1e-4) the ramp is
    logarithmic between ``faint * kappa`` and ``full * kappa``, which makes small
    micrometastases visible.
    """
    total = np.clip(np.asarray(total, dtype=np.float64), 0.0, None)
    kappa = float(kappa) if kappa and kappa > 0 else 1.0
    if faint is None:
        return np.clip(total / (full * kappa), 0.0, 1.0)
    lo, hi = math.log(faint * kappa), math.log(full * kappa)
    with np.errstate(divide="ignore"):
        a = (np.log(np.maximum(total, 1e-300)) - lo) / (hi - lo)
    return np.clip(a, 0.0, 1.0)


def blend_tissue(densities, colors, kappa, full=0.05, faint=1e-4, tissue=TISSUE_RGB) -> np.ndarray:
    """uint8 (n, 3) colors fading from tissue color (no tumor) to the clone mix (dense tumor)."""
    d = np.asarray(densities, dtype=np.float64)
    mix = mix_colors(d, colors, tissue)
    a = alpha_from_density(np.clip(d, 0, None).sum(axis=0), kappa, full, faint)[:, None]
    rgb = (1.0 - a) * np.asarray(tissue) + a * mix
    return u8(rgb)


def u8(rgb) -> np.ndarray:
    """Floats in [0, 1] -> uint8 in 0..255 (PyVista's ``rgb=True`` point colors)."""
    return np.clip(np.rint(np.asarray(rgb) * 255.0), 0, 255).astype(np.uint8)
