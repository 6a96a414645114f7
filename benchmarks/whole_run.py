"""A whole scenario run with outputs: wall time split by the run's timers and the solvers' linear and
reaction time."""

from __future__ import annotations

import time
from pathlib import Path


def whole_run(scenario: Path, tmp: Path) -> dict:
    """Run ``scenario`` into tmp/run; its wall time, timers, steps and dofs."""
    from pdemet.simulation import Simulation

    sim = Simulation.from_toml(scenario)
    t0 = time.perf_counter()
    summary = sim.run(out=tmp / "run", overwrite=True)
    wall = time.perf_counter() - t0
    stats = summary.get("solver_stats", {})
    lin = sum(s.get("linear_s", 0.0) for s in stats.values())
    rea = sum(s.get("reaction_s", 0.0) for s in stats.values())
    return {"scenario": str(scenario), "wall_s": wall, "timers_s": summary["timers_s"], "steps": summary["steps"],
            "dofs": summary["dofs"], "linear_s": lin, "reaction_s": rea,
            "other_s": wall - sum(v for k, v in summary["timers_s"].items() if "." not in k)}  # adapt.* split adapt
