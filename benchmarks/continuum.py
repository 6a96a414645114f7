"""The box problem of benchmarks/common.py as a continuum problem, its spectral reference, and the error metric.

Problem: on Ω = [0, 4 mm]³ with zero flux, K clones, ∂uᵢ/∂t = D Δuᵢ + ρ uᵢ (1 − U/κ), U = Σⱼ uⱼ; uᵢ(0) one
Gaussian each (σ = 0.25 mm, peak 0.4 κ), the K centres on a circle of radius 0.3 mm around the box centre
(2, 2, 2) in the x–y plane (the central vertex of every even box mesh). ρ = 0.25/day, κ = 10⁶ cells/mm³;
D = 0.01 mm²/day to t = 2 days, or D = 0.1 mm²/day to t = 0.5 days.

Reference (independent of both tools): the cosine pseudo-spectral method + ETDRK4 of
:mod:`benchmarks.spectral` on the cell-centred N³ grid of Ω (N = 64 by default: the Gaussians' spectra, and
their products', fall below 10⁻¹⁶ of their peak before the last mode; 32 ETDRK4 steps). :func:`convergence` measures what
halving dt and refining N change, in the continuum L² norm (Parseval on the cosine series).

Error metric (docs/performance.md): the relative L² error of all clones at t_end,
‖u_h − Π_h u‖ / ‖Π_h u‖, where Π_h u is the reference at the tool's own points (no interpolation error is
charged to a tool) and the norm is the tool's own: for finite elements ‖e‖² = Σᵢ eᵢᵀ M eᵢ with the mass
matrix of the element space (the L² norm of the finite-element function eᵢ), for cell-centred finite
differences ‖e‖² = h³ Σ e² (the L² norm of the piecewise-constant cell function).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.common import AMPLITUDE, GAUSSIANS, KAPPA, RHO
from benchmarks.spectral import CosineBox, CosineSeries, etdrk4

BOX = 4.0                       # mm, edge of the cube
CENTRE = (BOX / 2,) * 3         # mm, the clones' Gaussians sit on a circle around it
REFERENCE_N = 48                # cosine modes per axis of the reference
REFERENCE_STEPS = 32            # ETDRK4 steps of the reference (to either t_end)


def initial_density(points: np.ndarray, K: int) -> np.ndarray:
    """(K, n) initial densities at points (n, 3), cells/mm³."""
    sigma, offset = GAUSSIANS["box"]
    ang = 2 * np.pi * np.arange(K) / K
    centres = np.asarray(CENTRE)[None, :] + offset * np.stack([np.cos(ang), np.sin(ang), np.zeros(K)], axis=1)
    r2 = np.sum((np.asarray(points)[None, :, :] - centres[:, None, :]) ** 2, axis=2)
    return AMPLITUDE * KAPPA * np.exp(-r2 / (2 * sigma ** 2))


def logistic(u: np.ndarray, rho: float = RHO, kappa: float = KAPPA) -> np.ndarray:
    """ρ uᵢ (1 − U/κ) for u (K, …)."""
    return rho * u * (1.0 - u.sum(axis=0) / kappa)


@dataclass
class Reference:
    """The reference solution at t_end: ``at(points)`` gives (K, n) densities at any points in Ω."""

    diffusion: float
    t_end: float
    N: int
    steps: int
    series: CosineSeries   # (K, …) coefficients, trailing modes below 10⁻¹⁶ of the largest dropped

    def at(self, points: np.ndarray) -> np.ndarray:
        return self.series.at(points)


def solve(diffusion: float, t_end: float, K: int = 4, N: int = REFERENCE_N, steps: int | None = None,
          rho: float = RHO, kappa: float = KAPPA, initial=initial_density) -> Reference:
    """ETDRK4 on the N³ cosine grid from t = 0 to t_end in ``steps`` (default REFERENCE_STEPS) equal steps."""
    steps = steps or REFERENCE_STEPS
    box = CosineBox(BOX, N)
    u0 = initial(box.points(), K).reshape(K, N, N, N)

    def nonlinear(v):
        return box.forward(logistic(box.backward(v), rho, kappa))

    v = etdrk4(box.forward(u0), diffusion * box.laplacian, nonlinear, t_end, steps)
    return Reference(diffusion, t_end, N, steps, box.series(v).truncated())


_CACHE: dict = {}


def reference(diffusion: float, t_end: float, K: int = 4) -> Reference:
    """The reference at the default resolution, computed once per (D, t_end, K) in a process."""
    key = (diffusion, t_end, K)
    if key not in _CACHE:
        _CACHE[key] = solve(diffusion, t_end, K)
    return _CACHE[key]


def l2_norm(s: CosineSeries) -> float:
    """‖u‖_{L²(Ω)} of all leading components together, exactly (Parseval: ∫cos² = L/2, L for the 0 mode)."""
    w = [np.where(np.arange(m) == 0, 1.0, 0.5) * s.L for m in s.a.shape[-3:]]
    weight = w[0][:, None, None] * w[1][None, :, None] * w[2][None, None, :]
    return float(np.sqrt(np.sum(s.a ** 2 * weight)))


def series_difference(a: CosineSeries, b: CosineSeries) -> float:
    """‖a − b‖/‖b‖ in L²(Ω), exactly (the shorter series padded with zero modes)."""
    shape = np.maximum(a.a.shape, b.a.shape)

    def pad(s):
        return np.pad(s.a, [(0, n - m) for n, m in zip(shape, s.a.shape)])

    return l2_norm(CosineSeries(a.L, pad(a) - pad(b))) / l2_norm(b)


def convergence(diffusion: float, t_end: float, K: int = 4, N: int = REFERENCE_N, steps: int | None = None) -> dict:
    """What the reference's two resolutions change: dt halved, and N × 1.5 (relative L² differences)."""
    base = solve(diffusion, t_end, K, N, steps)
    half_dt = solve(diffusion, t_end, K, N, 2 * base.steps)
    finer = solve(diffusion, t_end, K, 3 * N // 2, base.steps)
    return {"N": N, "steps": base.steps, "dt": t_end / base.steps,
            "modes_kept": list(base.series.a.shape[-3:]),
            "change_dt_halved": series_difference(base.series, half_dt.series),
            "change_N_finer": series_difference(base.series, finer.series), "N_finer": 3 * N // 2}


def relative_error(u: np.ndarray, ref: np.ndarray, norm) -> float:
    """‖u − ref‖/‖ref‖ over all clones, u and ref (K, n), with ``norm(e)`` = ‖e‖² of one clone's values."""
    e2 = sum(norm(ui - ri) for ui, ri in zip(u, ref))
    r2 = sum(norm(ri) for ri in ref)
    return float(np.sqrt(e2 / r2))


def grid_norm(h: float):
    """The squared L² norm of a cell-centred grid function (h³-weighted sum of squares)."""
    return lambda e: h ** 3 * float(np.dot(e.ravel(), e.ravel()))
