"""Pressure-driven growth ∂uᵢ/∂t = ∇·(uᵢ∇p(U)) + fᵢ: exact porous-medium and traveling-front solutions,
positivity without clipping, exact cells per clone, clones carried apart, and the Newton reference."""

import math

import numpy as np
import pytest

from pdemet.simulation import Simulation

KAPPA = 1.0e6


def _box(L, n, terms, dt, t_end, clones=("a",), **organ):
    return {"simulation": {"t_end": t_end, "dt": dt, "output_every": t_end},
            "clones": {"names": list(clones)},
            "organs": {"tissue": {"role": "primary", "box": L, "cells": n, "terms": terms,
                                  "carrying_capacity": KAPPA, "adapt": {"enabled": False}, **organ}}}


def _run(sim):
    while sim.t < sim.cfg.t_end * (1 - 1e-12):
        sim.advance(sim.cfg.t_end)
    return sim


# ∂U/∂t = ∇·(D_p (U/κ)^m ∇U), i.e. u_τ = Δ(u^M) for u = U/κ, M = m + 1, τ = D_p t/(m + 1): Barenblatt.
M_EXP, DIM, C_B = 2.0, 3, 0.2
ALPHA = DIM / (DIM * (M_EXP - 1) + 2)
BETA = ALPHA / DIM
K_B = ALPHA * (M_EXP - 1) / (2 * M_EXP * DIM)


def barenblatt(r, tau):
    return tau ** -ALPHA * np.maximum(C_B - K_B * r ** 2 * tau ** (-2 * BETA), 0.0) ** (1 / (M_EXP - 1))


def _barenblatt_error(n):
    tau0, tau1 = 1.0, 3.0
    t_end = (tau1 - tau0) * M_EXP  # D_p = 1
    L = 1.25 * math.sqrt(C_B / K_B) * tau1 ** BETA  # the octant x, y, z ≥ 0 (symmetry planes are zero-flux)
    sim = Simulation.from_dict(_box([L] * 3, [n] * 3, ["pressure"], 0.8 / n, t_end, pressure_diffusivity=1.0,
                                    pressure_exponent=M_EXP - 1))
    o = sim.organs["tissue"]
    r = np.linalg.norm(o.x, axis=0)
    o.clones[0].x.array[:] = KAPPA * barenblatt(r, tau0)
    before = o.cells_per_clone()[0]
    _run(sim)
    u = o.clones[0].x.array[: o.n_owned] / KAPPA
    exact = barenblatt(r[: o.n_owned], tau1)
    err = float(np.sum(o.weights * np.abs(u - exact)) / np.sum(o.weights * exact))
    return err, before, o.cells_per_clone()[0], float(u.min()), sim.clipped_cells


def test_porous_medium_converges_to_barenblatt_without_clipping():
    errors = []
    for n in (8, 16, 24):
        err, before, after, u_min, clipped = _barenblatt_error(n)
        errors.append(err)
        print(f"n = {n}: L1 relative error {err:.4e}, cells {before:.12e} -> {after:.12e}, min {u_min:.1e}")
        assert abs(after - before) <= 1e-10 * before
        assert u_min >= 0.0 and clipped == 0.0
    orders = [math.log(errors[i] / errors[i + 1]) / math.log(m / n) for i, (n, m) in enumerate([(8, 16), (16, 24)])]
    print(f"observed orders {orders}")
    assert errors[-1] < 0.02 and min(orders) > 1.3


def _barenblatt_run(n, dt, extrapolate, **simulation):
    """The Barenblatt octant of _barenblatt_error at a fixed dt: (final density, cells before, cells after, sim)."""
    tau0, tau1 = 1.0, 3.0
    t_end = (tau1 - tau0) * M_EXP
    L = 1.25 * math.sqrt(C_B / K_B) * tau1 ** BETA
    data = _box([L] * 3, [n] * 3, ["pressure"], dt, t_end, pressure_diffusivity=1.0, pressure_exponent=M_EXP - 1)
    data["simulation"].update(transport_extrapolate=extrapolate, **simulation)
    sim = Simulation.from_dict(data)
    o = sim.organs["tissue"]
    o.clones[0].x.array[:] = KAPPA * barenblatt(np.linalg.norm(o.x, axis=0), tau0)
    before = o.cells_per_clone()[0]
    _run(sim)
    return o.clones[0].x.array[: o.n_owned].copy(), before, o.cells_per_clone()[0], sim


def test_transport_step_is_first_order_and_second_order_extrapolated():
    """Time error on a fixed mesh (against a fine extrapolated run): backward Euler ∝ dt, the Richardson-
    extrapolated step 2·T(dt/2)² − T(dt) ∝ dt², cells kept, undershoots only clipped slightly, no fallback."""
    ref, *_ = _barenblatt_run(8, 0.0125, True)
    errors = {}
    for extrapolate in (False, True):
        for dt in (0.2, 0.1, 0.05):
            u, before, after, sim = _barenblatt_run(8, dt, extrapolate)
            errors[extrapolate, dt] = float(np.linalg.norm(u - ref) / np.linalg.norm(ref))
            assert abs(after - before) <= 1e-10 * before and u.min() >= 0.0
            stats = sim.solvers["tissue"].stats
            if extrapolate:
                assert stats["transport_fallbacks"] == 0 and sim.clipped_cells < 1e-6 * before
            else:
                assert "transport_fallbacks" not in stats and sim.clipped_cells == 0.0
    order = {e: [math.log2(errors[e, dt] / errors[e, dt / 2]) for dt in (0.2, 0.1)] for e in (False, True)}
    print(f"errors {errors}; orders {order}")
    assert all(0.9 < p < 1.2 for p in order[False])
    assert all(1.7 < p < 2.3 for p in order[True])
    assert errors[True, 0.2] < 0.1 * errors[False, 0.2]


def test_step_doubling_extrapolates_transport_steps_to_second_order():
    """Under error control (every attempt accepted: huge atol) an organ with the transport and no operator terms
    takes 2u₂ − u₁ (order 2) with time_extrapolate, u₂ (order 1) without; cells kept either way."""
    ref, *_ = _barenblatt_run(8, 0.0125, True)
    errors = {}
    for extrapolate in (False, True):
        for dt in (0.2, 0.1, 0.05):
            u, before, after, sim = _barenblatt_run(8, dt, False, time_rtol=0.1, time_atol=1e30,
                                                    time_extrapolate=extrapolate)
            errors[extrapolate, dt] = float(np.linalg.norm(u - ref) / np.linalg.norm(ref))
            assert abs(after - before) <= 1e-10 * before and u.min() >= 0.0 and sim.steps["rejected"] == 0
            assert sim.doubling.stats["extrapolated"] == (sim.steps["accepted"] if extrapolate else 0)
            assert sim.doubling.order("tissue") == 1
    order = {e: [math.log2(errors[e, dt] / errors[e, dt / 2]) for dt in (0.2, 0.1)] for e in (False, True)}
    print(f"errors {errors}; orders {order}")
    assert all(0.9 < p < 1.2 for p in order[False]) and all(1.7 < p < 2.3 for p in order[True])


def _front(sim, kappa=KAPPA):
    o = sim.organs["tissue"]
    line = (np.abs(o.x[1]) < 1e-9) & (np.abs(o.x[2]) < 1e-9)  # the edge y = z = 0 (coordinates to round-off)
    order = np.argsort(o.x[0, line])
    xs, us = o.x[0, line][order], o.clones[0].x.array[line][order] / kappa
    k = np.flatnonzero(us >= 0.5)[-1]
    return xs[k] + (us[k] - 0.5) / (us[k] - us[k + 1]) * (xs[k + 1] - xs[k]), xs, us


def test_sharp_traveling_front_of_porous_fisher():
    """u_t = ∇·(u∇u) + u(1 − u): speed 1/√2 and profile 1 − exp(ξ/√2) behind the front (Newman 1980)."""
    t_end = 16.0
    sim = Simulation.from_dict(_box([30.0, 0.2, 0.2], [300, 1, 1], ["pressure", "logistic"], 0.05, t_end,
                                    growth_rate=1.0, pressure_diffusivity=1.0, pressure_exponent=1.0,
                                    initial={"shape": "box", "center": [0.0, 0.1, 0.1], "extent": [10.0, 1.0, 1.0],
                                             "density": KAPPA}))
    times, pos = [], []
    while sim.t < t_end * (1 - 1e-12):
        sim.advance(t_end)
        times.append(sim.t)
        pos.append(_front(sim)[0])
    late = np.array(times) > t_end / 2
    speed = np.polyfit(np.array(times)[late], np.array(pos)[late], 1)[0]
    x_half, xs, us = _front(sim)
    xi = xs - (x_half + math.sqrt(2) * math.log(2))  # the exact profile is 1/2 at ξ = −√2 ln 2
    behind = (xi < 0) & (xi > -6)
    profile = float(np.max(np.abs(us[behind] - (1 - np.exp(xi[behind] / math.sqrt(2))))))
    print(f"front speed {speed:.5f} (exact {1 / math.sqrt(2):.5f}), profile max error {profile:.4f}")
    assert abs(speed * math.sqrt(2) - 1) < 0.02
    assert profile < 0.02
    assert us.min() >= 0 and sim.clipped_cells == 0.0
    ahead = xi > 0.3  # compact support: nothing three nodes ahead of the front
    assert np.all(us[ahead] == 0.0)


def _packed_focus_sim(n, rho=0.25, m=30.0, dt=0.25, t_end=3.0):
    """A focus of the sites' law (m = 30, D_p = 1 mm²/day) from a ball of 60 µm at 0.86 κ in the octant of a
    0.25 mm box (symmetry planes: zero flux) on n³ cells, at the shipped dt."""
    return Simulation.from_dict(_box([0.25] * 3, [n] * 3, ["pressure", "pressure_growth"], dt, t_end,
                                     growth_rate=rho, pressure_diffusivity=1.0, pressure_exponent=m,
                                     initial={"shape": "ball", "center": [0.0, 0.0, 0.0], "radius": 0.06,
                                              "density": 0.86 * KAPPA}))


def _packed_focus(n, rho=0.25, m=30.0, dt=0.25, t_end=3.0):
    """The packed focus grown for t_end: (growth rate, center density/κ, radius of the region above κ/2)."""
    sim = _packed_focus_sim(n, rho, m, dt, t_end)
    o = sim.organs["tissue"]
    before = o.cells_per_clone()[0]
    _run(sim)
    u = o.clones[0].x.array[: o.n_owned]
    radius = (3 * 8 * float(o.weights @ (u > 0.5 * KAPPA)) / (4 * math.pi)) ** (1 / 3)
    assert sim.steps["rejected"] == 0
    return math.log(o.cells_per_clone()[0] / before) / t_end, float(u.max()) / KAPPA, radius


def test_packed_focus_keeps_growing_at_the_hele_shaw_density():
    """Hele-Shaw limit (Perthame, Quirós & Vázquez 2014): inside a small focus −Δp ≈ ρ, so p(0) = ρR²/6 and the
    center density is κ(p(0)/p(κ))^(1/m), p(κ) = D_p/m, ≈ 0.85 κ here; the focus grows at ≈ ρ. The state is
    reported after the step's last half reaction, which raises it by e^(ρ·dt/2). A transport step that does not
    solve its nonlinear equation fails this: the lagged-diffusivity Picard iteration used before gave 0.75 and
    0.81 κ on 10³ and 20³ cells (and on the lung's 6 µm sites locked large foci at κ: docs/convergence.md)."""
    rho, m, dt = 0.25, 30.0, 0.25
    for n, tolerance in ((10, 0.015), (20, 0.005)):
        rate, center, radius = _packed_focus(n, rho, m, dt)
        hele_shaw = (rho * radius ** 2 / 6 / (1.0 / m)) ** (1 / m) * math.exp(rho * dt / 2)
        print(f"{n}³: growth rate {rate:.4f}/day, center {center:.4f} κ, Hele-Shaw {hele_shaw:.4f} κ "
              f"(R = {radius * 1e3:.1f} µm)")
        assert abs(center / hele_shaw - 1) < tolerance
        assert abs(rate / rho - 1) < 0.02


def test_transport_step_keeps_an_undershoot_it_was_given():
    """A node of the moving region that starts below 0 (an undershoot another sub-step left, e.g. a
    Crank–Nicolson diffusion step under error control) and receives nothing keeps its value: the Newton
    iterates are bounded below by min(Uⁿ, 0), not 0 (bounded by 0, that node's residual could never fall below
    the tolerance and every retry at dt/2 would fail)."""
    sim = _packed_focus_sim(10, t_end=0.25)
    step = sim.solvers["tissue"].transport
    u = np.array([step.g.gather(c) for c in sim.organs["tissue"].clones])
    r = np.linalg.norm(step.points, axis=1)
    u[0, (r > 0.065) & (r < 0.1)] = 1e-4 * KAPPA  # a sparse shell around the focus: in the region, Φ ≈ 0
    region = step._active(u.sum(axis=0))
    U = u.sum(axis=0)[region.nodes]
    high = np.zeros(len(U), dtype=bool)  # nodes with a neighbour that moves (Φ > 0 there)
    np.logical_or.at(high, region.i, U[region.j] > 0.1 * KAPPA)
    np.logical_or.at(high, region.j, U[region.i] > 0.1 * KAPPA)
    lonely = region.nodes[(U == 0) & ~high]
    assert len(lonely), "no node of the region without a moving neighbour"
    u[0, lonely[0]] = -1e-3 * KAPPA
    ok, nodes, values = step._advance_once(u, 0.25)
    assert ok
    k = np.flatnonzero(nodes == lonely[0])[0]
    assert values[k, 0] == pytest.approx(-1e-3 * KAPPA, rel=1e-9)
    assert np.all(values[np.arange(len(nodes)) != k] >= 0)
    after = u.copy()
    after[:, nodes] = values.T
    assert step.m @ after.sum(axis=0) == pytest.approx(step.m @ u.sum(axis=0), rel=1e-12)  # cells kept


def _sectors(terms, **params):
    """Two clones in the halves of a ball (y > 1: a, y < 1: b) after 2 days: cells, spread, misplaced cells."""
    data = _box([2.0, 2.0, 1.0], [24, 24, 6], terms, 0.1, 2.0, clones=("a", "b"), **params,
                initial={"shape": "ball", "center": [1.0, 1.0, 0.5], "radius": 0.4, "density": 0.9 * KAPPA,
                         "mixing": "sectors"})
    sim = Simulation.from_dict(data)
    o = sim.organs["tissue"]
    before = o.cells_per_clone()
    _run(sim)
    u = o.densities()[:, : o.n_owned]
    total = u.sum(axis=0)
    r2 = np.sum((o.x[:2, : o.n_owned] - 1.0) ** 2, axis=0)
    spread = float(np.sqrt((o.weights * total) @ r2 / (o.weights @ total)))  # radius of gyration in x–y, mm
    y, h = o.x[1, : o.n_owned] - 1.0, 2.0 / 24
    wrong = (o.weights * (u[0] * (y < -2 * h) + u[1] * (y > 2 * h))).sum() / (o.weights @ total)
    return sim, before, o.cells_per_clone(), spread, wrong, u.min()


def test_clones_move_with_one_velocity_and_keep_their_cells():
    """Pushed outward together, each clone keeps its cells and its half; diffusion would mix them."""
    sim, before, after, spread, wrong, u_min = _sectors(["pressure"], pressure_diffusivity=0.5, pressure_exponent=4.0)
    _, _, _, d_spread, d_wrong, _ = _sectors(["diffusion"], diffusion=0.002)
    print(f"pressure: cells {before} -> {after}; radius of gyration {spread:.3f} mm; cells more than two elements "
          f"into the other clone's half {wrong:.2e}; diffusion (radius of gyration {d_spread:.3f} mm): {d_wrong:.2e}")
    assert np.allclose(after, before, rtol=1e-10, atol=0)
    assert spread > 0.3 and u_min >= 0 and sim.clipped_cells == 0.0
    assert d_spread < spread and wrong < 0.3 * d_wrong  # less mixing while moving the cells farther


def test_newton_reference_solves_the_same_pressure_equation():
    """Newton (monolithic, Galerkin ∫u p'(U)∇U·∇v) and the splitting solver (mass-lumped Kirchhoff form,
    upwinded) discretize space differently: extrapolated in dt (both are backward Euler: 2u(dt/2) − u(dt)),
    their totals differ by the spatial error only, which falls as O(h²) (measured 5.6·10⁻⁴ on 8³, 8.5·10⁻⁵ on
    16³)."""
    def run(solver, step, n):
        data = _box([1.0, 1.0, 1.0], [n, n, n], ["pressure", "pressure_growth"], step, 0.5, clones=("a", "b"),
                    growth_rate=0.5, pressure_diffusivity=0.2, pressure_exponent=2.0)
        data["simulation"].update(solver=solver, theta=1.0, transport_tol=1e-12)
        data["organs"]["tissue"]["carrying_capacity"] = 1.0
        sim = Simulation.from_dict(data)
        o = sim.organs["tissue"]
        o.clones[0].x.array[:] = 0.3 + 0.4 * np.exp(-np.sum((o.x - 0.3) ** 2, axis=0) / 0.05)
        o.clones[1].x.array[:] = 0.2 + 0.3 * np.exp(-np.sum((o.x - 0.7) ** 2, axis=0) / 0.05)
        return _run(sim).organs["tissue"].densities().sum(axis=0)

    diffs = []
    for n in (8, 16):
        newton, split = ((2 * run(solver, 0.025, n) - run(solver, 0.05, n)) for solver in ("newton", "imex"))
        diffs.append(float(np.max(np.abs(newton - split)) / np.max(newton)))
    print(f"max relative difference of the dt-extrapolated totals: {diffs} (8³, 16³)")
    assert diffs[0] < 1e-3 and diffs[1] < diffs[0] / 3


def test_newton_jacobian_of_the_pressure_term_is_exact_for_m_1():
    """UFL/FFCx integrate a vertex-rule integral (the lumped mass) and a default-rule one of the same degree with
    one rule; with m = 1 the pressure term's Jacobian has degree 1 and was integrated at the vertices: Newton
    then converged linearly (30 iterations, no convergence). With the degrees kept apart the assembled Jacobian
    is the derivative of the residual (finite differences agree to O(ε)) and Newton converges in a few steps."""
    from dolfinx.fem.petsc import assemble_matrix, assemble_vector

    from pdemet.backend import PETSc

    data = _box([2.0, 2.0, 2.0], [4, 4, 4], ["pressure", "pressure_growth"], 0.0625, 0.0625, clones=("a", "b"),
                growth_rate=0.25, pressure_diffusivity=0.08, pressure_exponent=1.0)
    data["simulation"].update(solver="newton", adaptive=False)
    sim = Simulation.from_dict(data)
    o = sim.organs["tissue"]
    o.clones[0].x.array[:] = 0.4 * KAPPA * np.exp(-np.sum((o.x - 0.8) ** 2, axis=0) / 0.1)
    o.clones[1].x.array[:] = 0.3 * KAPPA * np.exp(-np.sum((o.x - 1.2) ** 2, axis=0) / 0.1)
    s = sim.solvers["tissue"]
    for i, c in enumerate(o.clones):
        s.U.x.array.reshape(-1, 2)[:, i] = s.U0.x.array.reshape(-1, 2)[:, i] = c.x.array
    s.dt.value = 0.0625

    def residual():
        b = assemble_vector(s.problem.F)
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        return b.array.copy()

    J = assemble_matrix(s.problem.J)
    J.assemble()
    r0, x0 = residual(), s.U.x.array.copy()
    d = np.random.default_rng(0).standard_normal(x0.size) * 1e-3 * KAPPA
    dv, jd = J.createVecRight(), J.createVecLeft()
    dv.array[:] = d
    J.mult(dv, jd)
    errors = []
    for eps in (1e-2, 1e-3):
        s.U.x.array[:] = x0 + eps * d
        fd = (residual() - r0) / eps
        errors.append(np.linalg.norm(fd - jd.array) / np.linalg.norm(fd))
    s.U.x.array[:] = x0
    assert errors[1] < 1e-5 and errors[1] < 0.2 * errors[0], errors  # O(ε): the exact derivative
    _run(sim)
    assert sim.steps["rejected"] == 0 and s.stats["newton_iterations"] <= 4
