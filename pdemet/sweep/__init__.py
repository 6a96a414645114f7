"""Parameter sweeps and seed ensembles: ``pdemet sweep SWEEP.toml --out DIR``.

A sweep file names a base scenario, the swept parameters (dotted key paths) and the seeds; every
member (parameter point × seed) is a normal run in ``DIR/members/<id>``. See docs/sweeps.md.

Members never share state, so the tables are the same whatever the number of MPI ranks or pool
workers (wall times, which are not, go to ``sweep_timing.csv``).

Re-running the same command resumes: a member whose directory holds a ``summary.json`` with status
"completed" and the same ``scenario.toml`` as the member would write now is skipped.

``spec``    the sweep file → Sweep and its Members       ``design``  parameter values, grid, Latin hypercube
``runner``  running members (pool, MPI groups)           ``tables``  sweep.csv, sweep_timing.csv, sweep_summary.csv
``plots``   sweep_<param>.png                            ``layout``  the sweep directory's file names
"""

from __future__ import annotations

import sys
from pathlib import Path

from pdemet.errors import fail
from pdemet.output.rundir import is_completed
from pdemet.sweep import layout
from pdemet.sweep.runner import progress_bar, read_record, run_members
from pdemet.sweep.spec import Member, Sweep, load_sweep, member_scenario_text
from pdemet.sweep.tables import write_tables

__all__ = ["load_sweep", "main_sweep", "run_sweep"]


def _prepare_out(out: Path, sweep: Sweep) -> None:
    if out.exists() and not out.is_dir():
        fail("--out", f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / layout.SWEEP_FILE).is_file():
        fail("--out", f"{out} is not empty and holds no {layout.SWEEP_FILE}; choose a new directory or a previous "
                      "sweep's output to resume it")
    try:
        (out / layout.MEMBERS).mkdir(parents=True, exist_ok=True)
        from pdemet.output import files as io

        io.atomic_write_text(out / layout.SWEEP_FILE, sweep.path.read_text())
    except OSError as e:
        fail("--out", f"cannot write to {out} ({e.strerror})")


def _check_options(ranks_per_member, workers, world_size: int) -> None:
    if isinstance(ranks_per_member, bool) or not isinstance(ranks_per_member, int) or ranks_per_member < 1:
        fail("--ranks-per-member", f"got {ranks_per_member!r}, expected a positive integer")
    if world_size == 1 and ranks_per_member > 1:
        fail("--ranks-per-member", f"got {ranks_per_member}, which needs MPI: run under mpiexec -n N "
                                   f"with N a multiple of {ranks_per_member}")
    if world_size % ranks_per_member:
        fail("--ranks-per-member", f"got {ranks_per_member}, expected a divisor of the {world_size} MPI ranks")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        fail("--workers", f"got {workers!r}, expected a positive integer")


def _plan(sweep_path, out: Path) -> tuple[Sweep, list[Member], list[Member]]:
    """Rank 0: the sweep, the members to run and those already completed (skipped)."""
    sweep = load_sweep(sweep_path)
    _prepare_out(out, sweep)
    todo, skipped = [], []
    for m in sweep.members:
        text = member_scenario_text(m, sweep.base.parent)
        (skipped if is_completed(out / layout.MEMBERS / m.id, text) else todo).append(m)
    return sweep, todo, skipped


def _on_rank0(world, task):
    """``task()`` on world rank 0; its result, or its exception raised, on every rank (so that all stop together)."""
    result, err = None, None
    if world.rank == 0:
        try:
            result = task()
        except Exception as e:  # noqa: BLE001 - share the verdict, so that no rank waits forever
            err = e
    result, err = world.bcast((result, err), root=0)
    if err is not None:
        raise err
    return result


def run_sweep(sweep_path: str | Path, out: str | Path, ranks_per_member: int = 1, workers: int | None = None,
              progress: bool = True) -> dict:
    """Run (or resume) a sweep; returns counts {members, ran, completed, failed, skipped} on every rank."""
    from pdemet.backend import MPI

    world = MPI.COMM_WORLD
    out = Path(out)

    def plan():
        _check_options(ranks_per_member, workers, world.size)
        return _plan(sweep_path, out)

    sweep, todo, skipped = _on_rank0(world, plan)
    bar = progress_bar(len(sweep.members), len(skipped), progress and world.rank == 0)
    try:
        records = run_members(todo, str(sweep.base.parent), out / layout.MEMBERS, world, ranks_per_member,
                              workers, bar)
    finally:
        bar.close()
    return _on_rank0(world, lambda: _finish(sweep, out, todo, skipped, records))


def _finish(sweep: Sweep, out: Path, todo: list[Member], skipped: list[Member], records: dict) -> dict:
    """Rank 0: complete the records with the skipped members, write the tables and plots, count."""
    for rec in records.values():
        rec["ran"] = True
    for m in skipped:
        prev = read_record(out / layout.MEMBERS / m.id)
        records[m.id] = {"id": m.id, "status": "completed", "error": "", "ran": False,
                         "ranks": prev.get("ranks", ""), "wall_time_s": prev.get("wall_time_s")}
    write_tables(sweep, out, records)
    ran = [records[m.id] for m in todo]
    return {"members": len(sweep.members), "ran": len(ran),
            "completed": sum(r["status"] == "completed" for r in ran),
            "failed": sum(r["status"] != "completed" for r in ran), "skipped": len(skipped),
            "failures": {r["id"]: r["error"] for r in ran if r["status"] != "completed"}}


def main_sweep(sweep_path: Path, out: Path, ranks_per_member: int = 1, workers: int | None = None,
               progress: bool = True) -> int:
    """``pdemet sweep``: run or resume a sweep; print the counts. Exit status 0, or 3 if a member failed.

    Raises ScenarioError (one line) for a bad sweep file or member scenario, before anything runs.
    """
    from pdemet.backend import MPI

    c = run_sweep(sweep_path, out, ranks_per_member=ranks_per_member, workers=workers, progress=progress)
    if MPI.COMM_WORLD.rank == 0:
        for mid, error in c["failures"].items():
            print(f"pdemet: member {mid} failed: {error}", file=sys.stderr)
        print(f"sweep: {c['members']} members: {c['ran']} run ({c['completed']} completed, {c['failed']} failed), "
              f"{c['skipped']} skipped (already completed); tables in {Path(out) / layout.TABLE}")
    return 3 if c["failed"] else 0
