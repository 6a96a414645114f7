"""Method of manufactured solutions: spatial order (P1 ≈ 2, P2 ≈ 3) and time order (≈ 2).

The exact solution uᵢ = cᵢ(t)(1 + aᵢψ(x)) is written once in UFL; the source
∂ₜuᵢ − ∇·(Dᵢ∇uᵢ) − fᵢ(u) and the boundary flux Dᵢ∇uᵢ·n are derived from it by UFL,
and enter through a Load term registered here — the same way a researcher adds a term.
"""

import math

import numpy as np
import pytest

from pdemet.backend import MPI, fem, ufl
from pdemet.simulation import Simulation
from pdemet.terms import Load, register

from conftest import box_scenario

K = 3
A = (0.5, -0.3, 0.4)
B = (0.2, 0.15, 0.1)
OMEGA = (1.0, 2.0, 1.5)
RHO = (0.8, 0.5, 1.1)
D = (0.05, 0.02, 0.08)
KAPPA = 1.0


def c(i, t, ops=math):
    return B[i] * (1.0 + 0.5 * ops.sin(OMEGA[i] * t))


def dc(i, t, ops=math):
    return B[i] * 0.5 * OMEGA[i] * ops.cos(OMEGA[i] * t)


def psi(x, L):
    return ufl.cos(math.pi * x[0] / L[0]) * ufl.cos(math.pi * x[1] / L[1]) * ufl.cos(math.pi * x[2] / L[2])


class _MMS:
    L = (2.0, 1.0, 1.0)

    @classmethod
    def exact(cls, i, x, t):
        return c(i, t, ufl) * (1.0 + A[i] * psi(x, cls.L))


@register
class MMSLoad(Load):
    """Source and boundary flux that make _MMS.exact solve diffusion + logistic exactly."""

    name = "mms_load"

    def form(self, v, i, ctx):
        x, t = ctx.x, ctx.t
        u = [_MMS.exact(j, x, t) for j in range(K)]
        dudt = dc(i, t, ufl) * (1.0 + A[i] * psi(x, _MMS.L))
        growth = RHO[i] * u[i] * (1.0 - sum(u) / KAPPA)
        source = dudt - ufl.div(D[i] * ufl.grad(u[i])) - growth
        q = {"quadrature_degree": 6}  # the smooth data need no more; UFL's estimate would be far higher
        return source * v * ctx.dx(metadata=q) + D[i] * ufl.dot(ufl.grad(u[i]), ctx.n) * v * ctx.ds(metadata=q)


def mms_sim(degree, cells=None, mesh=None, refine=0, dt=0.01, t_end=0.2, solver="imex"):
    organ = {"element_degree": degree, "diffusion": list(D), "growth_rate": list(RHO), "carrying_capacity": KAPPA,
             "terms": ["diffusion", "logistic", "mms_load"], "initial": {"shape": "none"}, "refine": refine}
    data = box_scenario(**organ)
    data["clones"]["names"] = ["c0", "c1", "c2"]
    org = data["organs"]["tissue"]
    if mesh is None:
        org["box"], org["cells"] = list(_MMS.L), cells
    else:
        del org["box"], org["cells"]
        org["mesh"] = mesh
    data["simulation"].update(t_end=t_end, dt=dt, output_every=t_end, adaptive=False, solver=solver)
    sim = Simulation.from_dict(data)
    organ_obj = sim.organs["tissue"]
    for i, fn in enumerate(organ_obj.clones):  # exact initial state
        expr = fem.Expression(_MMS.exact(i, ufl.SpatialCoordinate(organ_obj.mesh), 0.0),
                              organ_obj.V.element.interpolation_points)
        fn.interpolate(expr)
    return sim


def l2_error(sim, t):
    organ = sim.organs["tissue"]
    x = ufl.SpatialCoordinate(organ.mesh)
    err = 0.0
    for i, fn in enumerate(organ.clones):
        e = fem.form((fn - _MMS.exact(i, x, t)) ** 2 * ufl.dx(metadata={"quadrature_degree": 8}))
        err += organ.comm.allreduce(fem.assemble_scalar(e), op=MPI.SUM)
    return math.sqrt(err)


def run_to_end(sim):
    while sim.t < sim.cfg.t_end - 1e-12:
        sim.advance(sim.cfg.t_end)
    return l2_error(sim, sim.t)


def orders(errors):
    return [math.log2(errors[k] / errors[k + 1]) for k in range(len(errors) - 1)]


@pytest.mark.parametrize("degree, sizes, expected", [(1, [2, 4, 8], 2.0), (2, [1, 2, 4], 3.0)])
def test_space_order_box(degree, sizes, expected):
    errors = [run_to_end(mms_sim(degree, cells=[2 * n, n, n], dt=0.0025, t_end=0.05)) for n in sizes]
    rates = orders(errors)
    print(f"P{degree} box errors {errors} orders {rates}")
    assert abs(rates[-1] - expected) < 0.3, rates


def test_time_order_box():
    # Self-convergence in dt on a fixed mesh isolates the time error of the Strang/Crank–Nicolson scheme.
    sols = []
    for dt in (0.1, 0.05, 0.025):
        sim = mms_sim(1, cells=[4, 2, 2], dt=dt, t_end=0.4)
        run_to_end(sim)
        sols.append(np.concatenate([f.x.array.copy() for f in sim.organs["tissue"].clones]))
    d1, d2 = np.linalg.norm(sols[0] - sols[1]), np.linalg.norm(sols[1] - sols[2])
    order = math.log2(d1 / d2)
    print(f"time self-convergence differences {d1:.3e} {d2:.3e} order {order:.3f}")
    assert abs(order - 2.0) < 0.2


def test_space_order_organ_mesh(monkeypatch):
    """P1 on the brain mesh, uniformly refined: boundary fluxes of the exact solution enter as a load."""
    monkeypatch.setattr(_MMS, "L", (13.0, 10.0, 6.0))  # one half-wave across the brain (13 x 10 x 6 mm)
    errors = [run_to_end(mms_sim(1, mesh="meshes/brain.msh", refine=r, dt=0.0025, t_end=0.02)) for r in (1, 2)]
    rate = orders(errors)[0]
    print(f"P1 brain errors {errors} order {rate}")
    assert abs(rate - 2.0) < 0.2


def test_imex_and_newton_agree_to_second_order():
    """Both discretize the same semi-discrete system: their difference is O(dt²)."""
    diffs = []
    for dt in (0.1, 0.05):
        a = mms_sim(1, cells=[4, 2, 2], dt=dt, t_end=0.4)
        b = mms_sim(1, cells=[4, 2, 2], dt=dt, t_end=0.4, solver="newton")
        run_to_end(a), run_to_end(b)
        ua = np.concatenate([f.x.array for f in a.organs["tissue"].clones])
        ub = np.concatenate([f.x.array for f in b.organs["tissue"].clones])
        diffs.append(np.linalg.norm(ua - ub) / np.linalg.norm(ub))
    order = math.log2(diffs[0] / diffs[1])
    print(f"IMEX vs Newton relative differences {diffs}, order {order:.3f}")
    assert diffs[-1] < 1e-3 and abs(order - 2.0) < 0.3
