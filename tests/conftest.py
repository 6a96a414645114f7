import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
os.environ.setdefault("MPLBACKEND", "Agg")


def box_scenario(**organ):
    """A small one-organ box scenario (dict) with overridable organ keys."""
    base = {
        "simulation": {"t_end": 1.0, "dt": 0.1, "output_every": 0.5, "seed": 1},
        "clones": {"names": ["a", "b"]},
        "organs": {"tissue": {"role": "primary", "box": [2.0, 2.0, 1.0], "cells": [4, 4, 2],
                              "diffusion": 0.01, "growth_rate": 0.3, "carrying_capacity": 1.0e6,
                              "initial": {"shape": "ball", "center": [1.0, 1.0, 0.5], "radius": 0.6,
                                          "density": 5.0e5}}},
    }
    base["organs"]["tissue"].update(organ)
    return copy.deepcopy(base)


def run_cli(*args, mpi: int = 0, timeout: int = 600, cwd=None):
    """Run the pdemet CLI (optionally under mpiexec -n MPI); returns CompletedProcess."""
    cmd = [sys.executable, "-m", "pdemet.cli", *map(str, args)]
    if mpi:
        cmd = [str(VENV_BIN / "mpiexec"), "-n", str(mpi), *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd or ROOT)


@pytest.fixture
def write_toml(tmp_path):
    from pdemet.scenario import dump_toml

    def write(data, name="scenario.toml"):
        path = tmp_path / name
        path.write_text(dump_toml(data))
        return path

    return write


@pytest.fixture(scope="session")
def repro_runs(tmp_path_factory):
    """One folder of seed ensembles for the session: the reproduction and experiment scripts share their runs
    (the default scenario's ensemble above all), as they do under results/repro/runs."""
    return tmp_path_factory.mktemp("repro_runs")
