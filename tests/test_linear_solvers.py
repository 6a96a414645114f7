"""The linear step's solvers: the block Jacobi-CG over the clones of a group solves the same systems as
PETSc's KSPCG/PCJacobi and as MUMPS, on one and two ranks, with loads and several clone groups."""

import json
import subprocess
import sys

import numpy as np
import pytest

from pdemet.backend import PETSc
from pdemet.simulation import Simulation

from conftest import ROOT, VENV_BIN, box_scenario

DIFFUSION = [0.01, 0.05, 0.01, 0.01]  # two groups: clones {0, 2, 3} share one matrix, clone 1 has its own


def _sim(linear_solver="cg", rtol=1e-12):
    data = box_scenario(diffusion=DIFFUSION, growth_rate=0.3, cells=[8, 8, 4])
    data["clones"]["names"] = ["a", "b", "c", "d"]
    data["simulation"].update(linear_solver=linear_solver, rtol=rtol, adaptive=False)
    sim = Simulation.from_dict(data)
    organ = sim.organs["tissue"]
    rng = np.random.default_rng(7)
    for fn in organ.clones:  # rough data: many CG iterations, every column converging at its own pace
        fn.x.array[:] = rng.uniform(0.0, 5e5, fn.x.array.size)
        fn.x.scatter_forward()
    return sim, organ


def _clones(organ):
    return np.array([fn.x.array[: organ.n_owned].copy() for fn in organ.clones])


def test_block_cg_equals_one_petsc_ksp_solve_per_clone():
    dt = 0.5
    sim, organ = _sim()
    solver = sim.solvers["tissue"]
    x0 = _clones(organ)
    assert solver.linear.step(0.0, dt)
    block = _clones(organ)
    assert len(solver.linear.groups) == 2 and sorted(map(len, solver.linear.groups.values())) == [1, 3]
    worst = 0.0
    for i in range(organ.n_clones):
        op = solver.linear.operators(solver.linear.group_of[i], dt)
        ksp = PETSc.KSP().create(organ.comm)
        ksp.setOperators(op.lhs)
        ksp.setType("cg")
        ksp.getPC().setType("jacobi")
        ksp.setTolerances(rtol=1e-12, atol=1e-300, max_it=10000)
        ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
        ksp.setInitialGuessNonzero(True)
        x, b = op.lhs.createVecs()
        x.array[:] = x0[i]
        op.rhs.mult(x, b)
        ksp.solve(b, x)
        assert ksp.getConvergedReason() > 0
        worst = max(worst, float(np.max(np.abs(x.array - block[i])) / np.max(np.abs(x.array))))
        # and the residual of the block solution itself
        y = x.duplicate()
        y.array[:] = block[i]
        r = b.duplicate()
        op.lhs.mult(y, r)
        r.axpy(-1.0, b)
        assert r.norm() <= 1.01e-12 * b.norm()
        for obj in (ksp, x, b, y, r):
            obj.destroy()
    print(f"block CG vs KSPCG per clone: max relative difference {worst:.2e}")
    assert worst < 1e-13


def test_block_cg_and_mumps_agree_over_steps():
    results = {}
    for linear_solver in ("cg", "lu"):
        sim, organ = _sim(linear_solver)
        sim.advance(0.5)
        results[linear_solver] = _clones(organ)
    diff = np.max(np.abs(results["cg"] - results["lu"])) / np.max(np.abs(results["lu"]))
    print(f"block CG vs MUMPS after 5 steps: max relative difference {diff:.2e}")
    assert diff < 1e-9


_MMS_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
from test_convergence import mms_sim, run_to_end
from pdemet.backend import MPI
out = {{}}
for linear_solver in ("cg", "lu"):
    sim = mms_sim(1, cells=[8, 4, 4], dt=0.0025, t_end=0.05)
    sim.cfg.linear_solver = linear_solver
    for s in sim.solvers.values():
        s.cfg.linear_solver = linear_solver
    out[linear_solver] = run_to_end(sim)
if MPI.COMM_WORLD.rank == 0:
    print(json.dumps(out))
"""


@pytest.mark.parametrize("ranks", [1, 2])
def test_loads_with_both_linear_solvers_on_one_and_two_ranks(ranks):
    """A Load term (the MMS source and boundary flux, three clone groups) with CG and with MUMPS."""
    script = _MMS_SCRIPT.format(tests=str(ROOT / "tests"))
    cmd = [str(VENV_BIN / "mpiexec"), "-n", str(ranks), sys.executable, "-c", script]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    errors = json.loads(r.stdout.strip().splitlines()[-1])
    print(f"{ranks} rank(s): MMS L2 errors {errors}")
    # P1 at 8×4×4: the convergence test's sequence gives 8.28e-3 here, on any number of ranks
    assert abs(errors["cg"] - 8.28e-3) < 0.01 * 8.28e-3
    assert abs(errors["cg"] - errors["lu"]) <= 1e-8 * errors["lu"]
