"""Exact results for the multi-clone core: logistic ODE, conservation, positivity, rank independence, bad input."""

import csv
import math

import numpy as np
import pytest

from pdemet.simulation import Simulation

from conftest import box_scenario, run_cli


def test_zero_diffusion_is_the_logistic_ode():
    """D = 0, uniform start: every dof follows U(t) = κ/(1 + (κ/U₀ − 1)e^{−ρt}), clone fractions fixed."""
    data = box_scenario(diffusion=0.0, growth_rate=0.7, initial={"shape": "box", "center": [1, 1, 0.5],
                                                                 "extent": [3, 3, 2], "density": 2.0e4,
                                                                 "clones": [1.0, 3.0]})
    data["simulation"].update(t_end=10.0, dt=0.25, output_every=10.0, adaptive=False)
    sim = Simulation.from_dict(data)
    sim.run()
    kappa, rho, u0 = 1.0e6, 0.7, 2.0e4
    exact = kappa / (1 + (kappa / u0 - 1) * math.exp(-rho * 10.0))
    u = sim.organs["tissue"].densities()
    total = u.sum(axis=0)
    rel = np.max(np.abs(total - exact)) / exact
    print(f"logistic ODE: max relative error {rel:.2e} at dt = 0.25 (RK4 sub-steps)")
    assert rel < 1e-6
    assert np.allclose(u[1] / total, 0.75, rtol=1e-12)
    volume = 2.0 * 2.0 * 1.0
    assert sim.total_cells("tissue") == pytest.approx(exact * volume, rel=1e-6)


@pytest.mark.parametrize("solver", ["imex", "newton"])
def test_cells_conserved_without_growth(solver):
    data = box_scenario(terms=["diffusion"], diffusion=[0.05, 0.2],
                        initial={"shape": "ball", "center": [0.5, 0.7, 0.5], "radius": 0.8, "density": 3.0e5,
                                 "mixing": "sectors"})
    del data["organs"]["tissue"]["growth_rate"]
    data["simulation"].update(t_end=2.0, dt=0.05, output_every=1.0, solver=solver)
    sim = Simulation.from_dict(data)
    before = sim.organs["tissue"].cells_per_clone()
    minimum = np.inf
    while sim.t < 2.0 - 1e-12:
        sim.advance(2.0)
        minimum = min(minimum, sim.organs["tissue"].densities().min())
    after = sim.organs["tissue"].cells_per_clone()
    rel = np.max(np.abs(after - before) / before)
    print(f"{solver}: relative change of cells per clone {rel:.2e}, min density {minimum:.3e}")
    assert rel < 1e-10
    assert minimum >= 0.0
    assert sim.clipped_cells == 0.0


def test_one_and_two_ranks_give_the_same_timeseries(tmp_path, write_toml):
    data = box_scenario(cells=[6, 6, 3], initial={"shape": "ball", "center": [1.0, 1.0, 0.5], "radius": 0.7,
                                                  "density": 5.0e5, "mixing": "sectors"})
    data["clones"]["names"] = ["a", "b", "c", "d"]
    path = write_toml(data)
    tables = []
    for n in (1, 2):
        out = tmp_path / f"out{n}"
        r = run_cli("run", path, "--out", out, "--quiet", mpi=n)
        assert r.returncode == 0, r.stderr
        with open(out / "timeseries.csv") as f:
            tables.append(list(csv.DictReader(f)))
    assert len(tables[0]) == len(tables[1]) == 3 * 4
    for a, b in zip(*tables):
        assert (a["time"], a["organ"], a["clone"]) == (b["time"], b["organ"], b["clone"])
        assert float(a["cells"]) == pytest.approx(float(b["cells"]), rel=1e-10)


def test_step_rejection_halves_dt_and_recovers():
    """A step that would change densities by more than max_change·κ is rejected and retried with dt/2."""
    data = box_scenario(growth_rate=3.0, initial={"shape": "box", "center": [1, 1, 0.5], "extent": [3, 3, 2],
                                                  "density": 4.0e5})
    data["simulation"].update(t_end=1.0, dt=0.5, output_every=1.0, max_change=0.05)
    sim = Simulation.from_dict(data)
    sim.run()
    assert sim.steps["rejected"] > 0
    assert sim.t == 1.0
    kappa, u0 = 1.0e6, 4.0e5
    exact = kappa / (1 + (kappa / u0 - 1) * math.exp(-3.0))
    assert sim.organs["tissue"].densities().sum(axis=0).max() == pytest.approx(exact, rel=1e-4)


@pytest.mark.parametrize("repeats", [1, 3])
def test_sector_repeats_give_each_clone_that_many_sectors(repeats):
    """``sector_repeats = r``: walking around the center, the dominant clone changes 4·r times (4 clones)
    and every clone holds the same share of the cells."""
    data = box_scenario(cells=[16, 16, 2], initial={"shape": "ball", "center": [1.0, 1.0, 0.5], "radius": 0.9,
                                                    "density": 5.0e5, "mixing": "sectors", "sector_repeats": repeats})
    data["clones"]["names"] = ["a", "b", "c", "d"]
    organ = Simulation.from_dict(data).organs["tissue"]
    u, x = organ.densities(), organ.x
    inside = u.sum(axis=0) > 0
    angle = np.mod(np.arctan2(x[1, inside] - 1.0, x[0, inside] - 1.0), 2 * np.pi)
    bins = np.floor(angle / (2 * np.pi) * 8 * repeats).astype(int)  # 2 bins per sector
    dominant = [np.bincount(np.argmax(u[:, inside][:, bins == b], axis=0), minlength=4).argmax()
                for b in range(8 * repeats)]
    changes = sum(dominant[i] != dominant[i - 1] for i in range(len(dominant)))
    assert changes == 4 * repeats
    cells = organ.cells_per_clone()
    assert np.ptp(cells) / cells.mean() < 0.25
