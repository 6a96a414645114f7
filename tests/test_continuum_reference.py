"""The continuum reference of the py-pde comparison (benchmarks/spectral.py, benchmarks/continuum.py) against
exact solutions: the logistic ODE, a spreading Gaussian, ETDRK4's order, exact evaluation and norms."""

import numpy as np
import pytest

from benchmarks import continuum
from benchmarks.spectral import CosineBox, CosineSeries, etdrk4

RNG = np.random.default_rng(7)


def _logistic_exact(u0, r, kappa, t):
    return kappa * u0 * np.exp(r * t) / (kappa + u0 * (np.exp(r * t) - 1))


def test_uniform_data_follow_the_logistic_ode():
    """Uniform clones: U solves U' = ρU(1 − U/κ) exactly and each clone keeps its share of U."""
    shares, U0, t = np.array([0.3, 0.1]), 0.4 * continuum.KAPPA, 2.0

    def uniform(points, K):
        return np.outer(shares / shares.sum() * U0, np.ones(len(points)))

    ref = continuum.solve(0.05, t, K=2, N=8, steps=16, initial=uniform)
    u = ref.at(RNG.uniform(0, continuum.BOX, (50, 3)))
    U = _logistic_exact(U0, continuum.RHO, continuum.KAPPA, t)
    expected = (shares / shares.sum() * U)[:, None]
    assert np.max(np.abs(u - expected)) / U < 1e-9


def test_pure_diffusion_spreads_a_gaussian_exactly():
    """ρ = 0: a Gaussian far from the walls (images < 1e-10) spreads as σ²(t) = σ² + 2Dt."""
    D, t, sigma, amp, c = 0.01, 1.0, 0.25, 1.0e5, np.array(continuum.CENTRE)

    def gaussian(points, K):
        return amp * np.exp(-np.sum((points - c) ** 2, axis=1) / (2 * sigma ** 2))[None, :]

    ref = continuum.solve(D, t, K=1, N=40, steps=4, rho=0.0, initial=gaussian)
    pts = c + RNG.uniform(-0.8, 0.8, (200, 3))
    s2 = sigma ** 2 + 2 * D * t
    exact = amp * (sigma ** 2 / s2) ** 1.5 * np.exp(-np.sum((pts - c) ** 2, axis=1) / (2 * s2))
    assert np.max(np.abs(ref.at(pts)[0] - exact)) / amp < 1e-9


def test_etdrk4_is_fourth_order_on_a_stiff_logistic_ode():
    """u' = λu + ρu(1 − u/κ) is logistic with rate λ + ρ: the error falls 16× per halving of dt."""
    lam, rho, kappa, u0, t = np.array([-3.0, -0.3]), 1.0, 1.0, 0.1, 2.0
    r = lam + rho
    exact = _logistic_exact(u0, r, kappa * r / rho, t)
    errors = [np.max(np.abs(etdrk4(np.full(2, u0), lam, lambda v: rho * v * (1 - v / kappa), t, n) - exact))
              for n in (8, 16, 32)]
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 3.7) & (orders < 4.3)), orders


def test_etdrk4_is_fourth_order_on_the_box_problem():
    """The 3-D reference itself: error against a 16× finer dt falls ~16× per halving."""
    kw = dict(K=2, N=16)
    fine = continuum.solve(0.1, 0.5, steps=64, **kw).series
    errors = [continuum.series_difference(continuum.solve(0.1, 0.5, steps=n, **kw).series, fine) for n in (2, 4)]
    assert 3.5 < np.log2(errors[0] / errors[1]) < 4.5, errors


def test_series_is_exact_at_any_point_and_its_norm_is_parseval():
    box = CosineBox(continuum.BOX, 12)
    u = RNG.standard_normal((2, 12, 12, 12))
    s = box.series(box.forward(u))
    assert np.allclose(s.at(box.points()), u.reshape(2, -1), atol=1e-12)  # the grid values back
    pts = RNG.uniform(0, continuum.BOX, (30, 3))
    k = np.arange(12)
    cx, cy, cz = (np.cos(np.pi / continuum.BOX * np.outer(pts[:, j], k)) for j in range(3))
    brute = np.einsum("cklm,pk,pl,pm->cp", s.a, cx, cy, cz)  # the series summed term by term
    assert np.allclose(s.at(pts), brute, atol=1e-12)
    # Discrete orthogonality of the DCT-II: the grid's h³-weighted norm is the L² norm of the series.
    assert continuum.l2_norm(s) == pytest.approx(np.sqrt(box.h ** 3 * np.sum(u ** 2)), rel=1e-12)


def test_truncation_drops_only_negligible_modes():
    a = np.zeros((1, 6, 6, 6))
    a[0, :3, :2, :4] = 1.0
    a[0, 5, 5, 5] = 1e-18
    t = CosineSeries(4.0, a).truncated()
    assert t.a.shape == (1, 3, 2, 4)
    assert continuum.series_difference(t, CosineSeries(4.0, a)) < 1e-17


def test_relative_error_uses_the_given_norm():
    ref = np.ones((2, 8))
    u = ref.copy()
    u[0, 0] += 0.5
    assert continuum.relative_error(u, ref, continuum.grid_norm(0.5)) == pytest.approx(0.5 / 4)
