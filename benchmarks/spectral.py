"""A Neumann cosine pseudo-spectral method with ETDRK4 in time: the continuum reference of the benchmarks.

On the box [0, L]³ with zero flux, a field is the cosine series

    u(x, y, z) = Σ_{k,l,m ≥ 0} a_klm cos(kπx/L) cos(lπy/L) cos(mπz/L),

each term of which has zero normal derivative on every face, so the boundary condition holds exactly. On the
cell-centred grid x_j = (j + ½)·L/N (j = 0..N−1) the type-2 discrete cosine transform is exactly this series
truncated to k, l, m < N (scipy.fft.dctn(type=2) and its inverse), and the Laplacian is diagonal with
eigenvalues −(π/L)²(k² + l² + m²). The nonlinear terms are evaluated on the grid (pseudo-spectral).

Time: the exponential time-differencing Runge–Kutta scheme of order 4 (ETDRK4, Cox & Matthews,
J Comput Phys 176:430, 2002) for v' = Λv + N(v) with Λ diagonal: the stiff linear part is integrated exactly,
and the φ-function coefficients are computed by the contour integral of Kassam & Trefethen (SIAM J Sci
Comput 26:1214, 2005), which avoids the cancellation of their closed forms for small |Λ·dt|.

Evaluation at arbitrary points is exact (no interpolation): the series is summed there, separably
(:meth:`CosineSeries.at`), after dropping the modes whose coefficients are below 10⁻¹⁶ of the largest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft


class CosineBox:
    """The cell-centred N³ grid on [0, L]³, its cosine transforms and the Laplacian's eigenvalues."""

    def __init__(self, L: float, N: int):
        self.L, self.N = float(L), int(N)
        self.h = self.L / self.N
        self.x = (np.arange(self.N) + 0.5) * self.h  # the grid coordinate along each axis
        k2 = (np.pi / self.L * np.arange(self.N)) ** 2
        self.laplacian = -(k2[:, None, None] + k2[None, :, None] + k2[None, None, :])  # (N, N, N)

    def points(self) -> np.ndarray:
        """(N³, 3) grid points in C order (x slowest)."""
        g = np.meshgrid(self.x, self.x, self.x, indexing="ij")
        return np.stack([c.ravel() for c in g], axis=1)

    @staticmethod
    def forward(u: np.ndarray) -> np.ndarray:
        """Grid values (…, N, N, N) → orthonormal DCT-II coefficients (the ETDRK4 state)."""
        return scipy.fft.dctn(u, type=2, axes=(-3, -2, -1), norm="ortho")

    @staticmethod
    def backward(v: np.ndarray) -> np.ndarray:
        return scipy.fft.idctn(v, type=2, axes=(-3, -2, -1), norm="ortho")

    def series(self, v: np.ndarray) -> "CosineSeries":
        """The cosine-series coefficients a_klm of orthonormal DCT-II coefficients v (…, N, N, N)."""
        # Orthonormal DCT-II: v_k = √(2/N)·s_k·Σ_j u_j cos(kπx_j/L), s_0 = 1/√2, else 1; the inverse gives
        # u(x) = Σ_k √(2/N)·s_k·v_k·cos(kπx/L), so a_k = √(2/N)·s_k·v_k per axis.
        s = np.full(self.N, np.sqrt(2.0 / self.N))
        s[0] /= np.sqrt(2.0)
        a = v * s[:, None, None] * s[None, :, None] * s[None, None, :]
        return CosineSeries(self.L, a)


@dataclass
class CosineSeries:
    """Σ a_klm cos(kπx/L)cos(lπy/L)cos(mπz/L) for each leading index of ``a`` (…, Mx, My, Mz)."""

    L: float
    a: np.ndarray

    def truncated(self, tol: float = 1e-16) -> "CosineSeries":
        """The same series without the trailing modes (per axis) whose |a| are all ≤ tol × max|a|:
        the dropped terms sum to at most (number dropped) × tol × max|a|."""
        mag = np.abs(self.a).reshape(-1, *self.a.shape[-3:]).max(axis=0)
        keep = mag > tol * mag.max()
        ends = [int(np.nonzero(keep.any(axis=tuple(j for j in range(3) if j != ax)))[0].max()) + 1
                for ax in range(3)]
        return CosineSeries(self.L, np.ascontiguousarray(self.a[..., : ends[0], : ends[1], : ends[2]]))

    def _cos(self, coords: np.ndarray, modes: int) -> np.ndarray:
        return np.cos(np.pi / self.L * np.outer(coords, np.arange(modes)))

    def at(self, points: np.ndarray, chunk: int = 4096) -> np.ndarray:
        """The series at points (n, 3): (…, n). Separable: contracted along z at the distinct z values,
        then along y at the distinct (y, z) pairs, then along x at each point — a tensor grid of
        nx·ny·nz points costs three small matrix products."""
        points = np.asarray(points, float)
        lead, (mx, my, mz) = self.a.shape[:-3], self.a.shape[-3:]
        a = self.a.reshape(-1, mx, my, mz)
        zs, iz = np.unique(points[:, 2], return_inverse=True)
        b = a @ self._cos(zs, mz).T                                    # (K, mx, my, nz)
        yz, ipair = np.unique(np.stack([points[:, 1], iz], axis=1), axis=0, return_inverse=True)
        ipair = ipair.ravel()
        cy = self._cos(yz[:, 0], my)                                   # (pairs, my)
        g = np.empty((a.shape[0], mx, len(yz)))
        for s in range(0, len(yz), chunk):                             # (K, mx, pairs): summed over y
            sl = slice(s, s + chunk)
            g[:, :, sl] = np.einsum("kxlp,pl->kxp", b[..., yz[sl, 1].astype(int)], cy[sl], optimize=True)
        out = np.empty((a.shape[0], len(points)))
        for s in range(0, len(points), chunk):                         # summed over x at each point
            sl = slice(s, s + chunk)
            out[:, sl] = np.einsum("kxp,px->kp", g[:, :, ipair[sl]], self._cos(points[sl, 0], mx))
        return out.reshape(*lead, len(points))


def phi_coefficients(z: np.ndarray, contour_points: int = 64) -> dict:
    """ETDRK4's coefficients at z = Λ·dt (real, any shape), divided by dt: e^z, e^{z/2} and Kassam &
    Trefethen's Q, f1, f2, f3 (each a mean over points on the unit circle around z, real part)."""
    z = np.asarray(z, float)
    flat, inverse = np.unique(z.ravel(), return_inverse=True)  # few distinct eigenvalues: compute each once
    r = np.exp(1j * np.pi * (np.arange(1, contour_points + 1) - 0.5) / (contour_points / 2))
    lr = flat[:, None] + r[None, :]
    e, e2 = np.exp(lr), np.exp(lr / 2)
    coef = {
        "E": np.exp(flat), "E2": np.exp(flat / 2),
        "Q": np.mean((e2 - 1) / lr, axis=1).real,
        "f1": np.mean((-4 - lr + e * (4 - 3 * lr + lr ** 2)) / lr ** 3, axis=1).real,
        "f2": np.mean((2 + lr + e * (-2 + lr)) / lr ** 3, axis=1).real,
        "f3": np.mean((-4 - 3 * lr - lr ** 2 + e * (4 - lr)) / lr ** 3, axis=1).real,
    }
    return {k: v[inverse].reshape(z.shape) for k, v in coef.items()}


def etdrk4(v: np.ndarray, lam: np.ndarray, nonlinear, t_end: float, steps: int) -> np.ndarray:
    """Integrate v' = lam·v + nonlinear(v) (lam diagonal, broadcast against v) from 0 to t_end in
    ``steps`` equal ETDRK4 steps (Cox & Matthews 2002, eq. 26–29); returns the final v (v is not changed)."""
    dt = t_end / steps
    c = phi_coefficients(lam * dt)
    E, E2 = c["E"], c["E2"]
    Q, f1, f2, f3 = (dt * c[k] for k in ("Q", "f1", "f2", "f3"))
    v = v.copy()
    for _ in range(steps):
        nv = nonlinear(v)
        a = E2 * v + Q * nv
        na = nonlinear(a)
        b = E2 * v + Q * na
        nb = nonlinear(b)
        cc = E2 * a + Q * (2 * nb - nv)
        nc = nonlinear(cc)
        v = E * v + f1 * nv + 2 * f2 * (na + nb) + f3 * nc
    return v
