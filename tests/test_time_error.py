"""Error-controlled time steps (simulation.time_rtol > 0, pdemet/solvers/time_error.py): the global error follows
the tolerance, extrapolated step doubling is 4th order (2nd without), cells are conserved and densities stay
positive, 1 and 2 ranks take the same steps, kill + --resume is bitwise, bad keys fail in one line."""

import csv
import json
import signal
import subprocess
import time

import numpy as np
import pytest

from benchmarks.common import KAPPA, bench_scenario, central_vertex, initial_density
from pdemet.scenario import ScenarioError, parse_scenario
from pdemet.simulation import Simulation

from conftest import ROOT, box_scenario, run_cli
from test_reliability import _cmd, _compare_runs

T_END, K = 2.0, 2
BOX = {"box": [4.0, 4.0, 4.0], "cells": [12, 12, 12]}  # the bench problem, smaller: smooth Gaussians, D = 0.01


def _bench_sim(dt, diffusion=0.01, **simulation):
    """The bench's diffusion–logistic box (benchmarks/common.py) with error-control keys."""
    scenario = bench_scenario(BOX, K, "imex", dt, T_END, diffusion)
    scenario["simulation"].update(adaptive=True, **simulation)
    sim = Simulation.from_dict(scenario)
    for o in sim.organs.values():
        o.set_densities(initial_density(o.x.T, central_vertex(o), K, "box"))
    return sim


def _run(sim, t_end=None):
    t_end = sim.cfg.t_end if t_end is None else t_end
    while sim.t < t_end * (1 - 1e-12):
        sim.advance(t_end)
    return sim


def _state(sim):
    o = sim.organs["tissue"]
    return np.stack([c.x.array[: o.n_owned] for c in o.clones])


@pytest.fixture(scope="module")
def reference():
    """Extrapolated step doubling at a fixed dt = 1/32 day (4th order: ~10⁻¹¹ relative error, see the order test)."""
    return _state(_run(_bench_sim(1 / 32, time_rtol=0.1, time_atol=1e30)))


def _weighted(u, ref, rtol):
    """The global error in the controller's own norm: max |u − ref| / (atol + rtol·|ref|), default atol."""
    return float(np.max(np.abs(u - ref) / (rtol * 1e-3 * KAPPA + rtol * np.abs(ref))))


@pytest.mark.parametrize("extrapolate, slope_band, factor", [(True, (1.0, 1.6), 1.0), (False, (0.45, 0.9), 10.0)])
def test_global_error_follows_the_tolerance(reference, extrapolate, slope_band, factor):
    """Error per step ≤ tol gives dt ∝ tol^(1/3) (the estimate is of the 2nd-order u₂), so the global error is
    ∝ dt⁴ ∝ tol^(4/3) for the extrapolated state and ∝ tol^(2/3) for u₂ (HNW I §II.4). The extrapolated error
    stays below the tolerance at every node; u₂'s accumulates over the steps, within 10× of it."""
    tols, errors, weighted, steps = (1e-3, 1e-4, 1e-5, 1e-6), [], [], []
    for tol in tols:
        sim = _run(_bench_sim(0.5, time_rtol=tol, time_extrapolate=extrapolate))
        u = _state(sim)
        errors.append(float(np.max(np.abs(u - reference))))
        weighted.append(_weighted(u, reference, tol))
        steps.append(sim.steps["accepted"])
    slope = np.polyfit(np.log(tols), np.log(errors), 1)[0]
    print(f"extrapolate={extrapolate}: max errors {errors}, weighted {weighted}, steps {steps}, slope {slope:.2f}")
    assert slope_band[0] <= slope <= slope_band[1]
    assert max(weighted) <= factor
    assert steps == sorted(steps) and steps[0] < steps[-1]  # tighter tolerance, more steps


@pytest.mark.parametrize("extrapolate, order", [(True, 4.0), (False, 2.0)])
def test_order_of_step_doubling_at_fixed_dt(reference, extrapolate, order):
    """A tolerance that every step meets and dt capped by the scenario: the controller cannot change dt."""
    errors = []
    for dt in (0.5, 0.25, 0.125):
        sim = _run(_bench_sim(dt, time_rtol=0.1, time_atol=1e30, time_extrapolate=extrapolate))
        assert sim.steps == {"accepted": round(T_END / dt), "rejected": 0}
        errors.append(float(np.linalg.norm(_state(sim) - reference) / np.linalg.norm(reference)))
    observed = np.polyfit(np.log([0.5, 0.25, 0.125]), np.log(errors), 1)[0]
    print(f"extrapolate={extrapolate}: errors {errors}, order {observed:.3f}")
    assert abs(observed - order) < 0.15


def _sharp_ball(tol, terms, **organ):
    scenario = box_scenario(terms=list(terms), **organ)
    tissue = scenario["organs"]["tissue"]
    tissue.pop("growth_rate")
    if "diffusion" not in terms:
        tissue.pop("diffusion")
    scenario["simulation"].update(t_end=2.0, dt=0.5, output_every=2.0, time_rtol=tol)
    return Simulation.from_dict(scenario)


@pytest.mark.parametrize("terms", [("diffusion",), ("pressure",)])
def test_cells_conserved_and_positive_under_error_control(terms):
    """A sharp ball: diffusion alone (Crank–Nicolson, extrapolated where stable, undershoots clipped) or the
    pressure term alone (transport fronts, first order, counted in the norm). Each clone's cells are exact,
    no density is negative after any step, and looser tolerances take fewer steps."""
    extra = {"pressure_diffusivity": 0.2, "pressure_exponent": 1.0, "adapt": {"enabled": False}} if "pressure" in terms else {}
    steps = []
    for tol in (1e-2, 1e-3, 1e-4):
        sim = _sharp_ball(tol, terms, **extra)
        o = sim.organs["tissue"]
        before = o.cells_per_clone()
        while sim.t < sim.cfg.t_end * (1 - 1e-12):
            sim.advance(sim.cfg.t_end)
            assert min(float(c.x.array.min()) for c in o.clones) >= 0.0
        after = o.cells_per_clone()
        assert np.all(np.abs(after - before) <= 1e-10 * before), (before, after)
        steps.append(sim.steps["accepted"] + sim.steps["rejected"])
        assert sim.doubling.order("tissue") == (1 if "pressure" in terms else 2)
    print(f"{terms}: steps {steps}")
    assert steps[0] < steps[1] < steps[2]


def test_extrapolation_only_where_the_step_damps_every_mode():
    """Extrapolated Crank–Nicolson multiplies a mode of dt·λ = z by (4R(z/2)² − R(z))/3 → 5/3 (z → ∞): above
    dt·λ_max = 25 the step keeps u₂. The bound on λ_max (Gershgorin, or 1.02 × a 40-step Lanczos estimate)
    lies between the largest eigenvalue of M⁻¹A and 1.02 times it; on the 12³ box at D = 1 mm²/day it is
    ~10²/day, so a step of 2 days is far too stiff, and u₂ (damped: R(z/2)² ≥ 0) is accepted, positive."""
    from scipy.sparse import csr_matrix, diags
    from scipy.sparse.linalg import eigsh

    sim = _bench_sim(2.0, time_rtol=0.1, time_atol=1e30, diffusion=1.0)
    linear = sim.solvers["tissue"].linear
    M, A = linear._base_matrices(linear.group_of[0])
    m = M.getDiagonal().array
    S = diags(m ** -0.5) @ csr_matrix(A.getValuesCSR()[::-1], shape=A.getSize()) @ diags(m ** -0.5)
    true = float(eigsh(S, k=1, which="LA", return_eigenvectors=False)[0])
    lam = sim.solvers["tissue"].stiffness()
    print(f"largest eigenvalue of M⁻¹A {true:.6g}/day, bound {lam:.6g}/day")
    assert true <= lam <= 1.021 * true and 0.25 * lam > 25
    _run(sim)
    stats = sim.doubling.stats  # (Crank–Nicolson's undershoots at dt ≥ 0.5 are rejected by the safety net)
    assert stats["stiffness_limited"] == sim.steps["accepted"] > 0 and stats["extrapolated"] == 0
    u = _state(sim)
    assert np.all(np.isfinite(u)) and u.min() >= 0.0


def test_newton_runs_under_error_control():
    """The monolithic reference works under step doubling too (u₂ accepted, order 2): within 10× of the
    tolerance against the splitting's reference (both solve the same semi-discrete system)."""
    scenario = bench_scenario({"box": [4.0, 4.0, 4.0], "cells": [6, 6, 6]}, K, "newton", 0.5, T_END)
    scenario["simulation"].update(adaptive=True, time_rtol=1e-3)
    sims = {}
    for solver in ("newton", "imex"):
        scenario["simulation"]["solver"] = solver
        if solver == "imex":
            scenario["simulation"].update(time_rtol=0.1, time_atol=1e30, dt=1 / 32)
        sim = Simulation.from_dict(scenario)
        for o in sim.organs.values():
            o.set_densities(initial_density(o.x.T, central_vertex(o), K, "box"))
        sims[solver] = _run(sim)
    assert sims["newton"].doubling.order("tissue") == 2 and sims["newton"].doubling.stats["extrapolated"] == 0
    err = _weighted(_state(sims["newton"]), _state(sims["imex"]), 1e-3)
    print(f"newton: steps {sims['newton'].steps}, weighted global error {err:.3g}")
    assert err <= 10.0 and sims["newton"].steps["accepted"] > 2


@pytest.mark.parametrize("key, value, message", [
    ("time_rtol", -1e-3, "expected a non-negative number"),
    ("time_rtol", float("nan"), "(finite)"),
    ("time_rtol", 0.5, "at most 0.1"),
    ("time_rtol", "1e-3", "expected a non-negative number"),
    ("time_atol", 0.0, "expected a positive number in cells/mm³"),
    ("time_atol", -1.0, "expected a positive number in cells/mm³"),
    ("time_atol", 1.0, "given without error control"),
    ("time_extrapolate", False, "given without error control"),
    ("time_extrapolate", "yes", "expected true or false"),
])
def test_bad_error_control_keys_fail_in_one_line(key, value, message):
    scenario = box_scenario()
    scenario["simulation"][key] = value
    if key != "time_rtol" and message != "given without error control":
        scenario["simulation"]["time_rtol"] = 1e-3
    with pytest.raises(ScenarioError) as e:
        parse_scenario(scenario)
    text = str(e.value)
    assert text.startswith(f"simulation.{key}: ") and message in text and "\n" not in text


def test_error_control_needs_adaptive_steps():
    scenario = box_scenario()
    scenario["simulation"].update(time_rtol=1e-3, adaptive=False)
    with pytest.raises(ScenarioError, match=r"^simulation\.time_rtol: got 0\.001 with adaptive = false"):
        parse_scenario(scenario)


def _two_organs(write):
    """A diffusion–logistic primary (extrapolated) shedding clusters into a pressure site (transport fronts,
    order 1, refined where foci are seeded): the cluster flux and re-meshing act between the controlled steps."""
    scenario = box_scenario()
    scenario["simulation"].update(t_end=2.0, dt=0.5, output_every=0.5, time_rtol=1e-2)
    scenario["organs"]["site"] = {"role": "site", "box": [2.0, 2.0, 2.0], "cells": [4, 4, 4],
                                  "terms": ["pressure", "pressure_growth"], "pressure_diffusivity": 0.1,
                                  "pressure_exponent": 1.0, "growth_rate": 0.3, "first_pass": True,
                                  "arrest_probability": 0.5, "adapt": {"size": 0.1, "every": 1.0},
                                  "initial": {"shape": "ball", "radius": 0.4, "density": 5.0e5}}
    scenario["cluster_flux"] = {"mode": "stochastic", "shedding_rate": 5e-5, "focus_min_cells": 1,
                                "survival": {"single": 0.9, "exponent": 0.5}}
    return write(scenario)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The two-organ scenario and its uninterrupted one-rank run directory."""
    from pdemet.scenario import dump_toml

    tmp = tmp_path_factory.mktemp("two_organs")
    path = _two_organs(lambda data: (tmp / "scenario.toml").write_text(dump_toml(data)) and tmp / "scenario.toml")
    r = run_cli("run", path, "--out", tmp / "ref", "--quiet")
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp / "ref" / "summary.json").read_text())
    assert summary["clusters"]["seeded"] > 0 and summary["time_error"]["limiting"]
    return path, tmp / "ref", summary


def test_one_and_two_ranks_take_the_same_steps(tmp_path, uninterrupted):
    path, ref, one = uninterrupted
    r = run_cli("run", path, "--out", tmp_path / "r2", "--quiet", mpi=2)
    assert r.returncode == 0, r.stderr
    two = json.loads((tmp_path / "r2" / "summary.json").read_text())
    assert one["steps"] == two["steps"]
    for key in ("limiting", "extrapolated", "undershoot_fallbacks", "stiffness_limited"):
        assert one["time_error"][key] == two["time_error"][key], key
    assert one["final_dt"] == pytest.approx(two["final_dt"], rel=1e-10)
    for organ, cells in one["cells_final"].items():
        for clone, value in cells.items():
            assert two["cells_final"][organ][clone] == pytest.approx(value, rel=1e-10)
    _same_to_round_off(ref, tmp_path / "r2")


def _same_to_round_off(a, b):
    """Seeding log, census and fields of two run directories equal to round-off (as in test_flux)."""
    from pdemet.output.seeding import export_csv
    from pdemet.output.vtkhdf import read_vtkhdf

    for d in (a, b):
        export_csv(d / "seeding.h5", d / "seeding.csv")
    for name in ("seeding.csv", "census.csv", "timeseries.csv"):
        x, y = (list(csv.reader((d / name).read_text().splitlines())) for d in (a, b))
        assert len(x) == len(y) > 1 and x[0] == y[0], name
        for rx, ry in zip(x[1:], y[1:]):
            nums = [i for i, v in enumerate(rx) if _is_number(v)]
            assert [rx[i] for i in range(len(rx)) if i not in nums] == [ry[i] for i in range(len(ry)) if i not in nums]
            assert np.allclose([float(rx[i]) for i in nums], [float(ry[i]) for i in nums], rtol=1e-9, atol=1e-9), name
    for f in sorted((a / "fields").glob("*.vtkhdf")):
        x, y = read_vtkhdf(f), read_vtkhdf(b / "fields" / f.name)
        for sx, sy in zip(x["steps"], y["steps"]):
            assert np.array_equal(sx["tets"], sy["tets"])
            for key in sx["arrays"]:
                assert np.allclose(sx["arrays"][key], sy["arrays"][key], rtol=1e-9, atol=1e-4), (f.name, key)


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_kill_and_resume_reproduce_the_error_controlled_run(tmp_path, uninterrupted, sig):
    """The controller's state (next dt, hold after a rejection, counts) is in the checkpoint: a run stopped by
    SIGKILL or Ctrl-C after its first checkpoint and resumed gives the uninterrupted run bit for bit."""
    path, ref, summary = uninterrupted
    run = tmp_path / "stopped"
    proc = subprocess.Popen(_cmd("run", path, "--out", run, "--quiet", "--checkpoint-every", "0.25"), cwd=ROOT,
                            start_new_session=True)
    deadline = time.monotonic() + 300
    while not (run / "checkpoint.npz").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before its first checkpoint"
    proc.send_signal(sig)
    proc.wait(timeout=120)
    assert json.loads((run / "summary.json").read_text())["status"] != "completed" if (run / "summary.json").exists() \
        else True
    r = run_cli("run", "--resume", run, "--quiet", "--checkpoint-every", "0.25")
    assert r.returncode == 0, r.stderr
    resumed = json.loads((run / "summary.json").read_text())
    for key in ("steps", "time_error", "final_dt", "cells_final", "clusters"):
        assert resumed[key] == summary[key], key
    assert _compare_runs(ref, run) == 0.0


def test_transport_extrapolate_is_a_setting_of_the_imex_solver():
    scenario = box_scenario(terms=["pressure", "pressure_growth"])
    scenario["simulation"].update(solver="newton", transport_extrapolate=True)
    with pytest.raises(ScenarioError, match=r'^simulation\.transport_extrapolate: is a setting of the imex solver, '
                                            r'got solver = "newton"'):
        parse_scenario(scenario)


def test_off_by_default_keys_leave_the_resolved_scenario_as_before():
    """Keys added later that are off (fixed dt, first-order transport) are not written to the resolved scenario,
    so its hash — what a checkpoint's resume compares — is that of runs made before the keys existed."""
    from pdemet.scenario.parse import resolved

    sim = resolved(parse_scenario(box_scenario()))["simulation"]
    assert not {"time_rtol", "time_atol", "time_extrapolate", "transport_extrapolate"} & set(sim)
    on = box_scenario()
    on["simulation"].update(transport_extrapolate=True)
    assert resolved(parse_scenario(on))["simulation"]["transport_extrapolate"] is True


@pytest.mark.parametrize("terms, order", [(["pressure", "pressure_growth"], 2),
                                          (["pressure", "pressure_growth", "diffusion"], 1)])
def test_extrapolated_transport_is_second_order_only_without_operator_terms(terms, order):
    """R(dt/2)·T(dt)·R(dt/2) with the extrapolated T is symmetric to second order; with diffusion T(dt) and
    L(dt) follow each other (a first-order splitting), so the error estimate must use p = 1 there."""
    scenario = box_scenario(terms=terms, adapt={"enabled": False})
    if "diffusion" not in terms:
        del scenario["organs"]["tissue"]["diffusion"]
    scenario["simulation"].update(transport_extrapolate=True)
    assert Simulation.from_dict(scenario).solvers["tissue"].order == order
