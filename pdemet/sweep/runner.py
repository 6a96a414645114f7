"""Running members: one member on a communicator, then all of them in a process pool, in MPI groups or in turn.

Parallelism is static: under ``mpiexec -n P`` the world communicator is split into groups of
``ranks_per_member`` ranks and the members still to run are dealt round-robin to the groups; without
MPI (P = 1) a ``ProcessPoolExecutor`` runs one member per process on ``MPI.COMM_SELF``. Each run writes
its record (status, error, wall time, ranks) to ``members/<id>/member.json``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from pdemet import scenario as _config
from pdemet.errors import first_line
from pdemet.sweep import layout
from pdemet.sweep.spec import Member

_TAG = 71  # point-to-point tag of the member records sent to world rank 0


def run_member(member: Member, base_dir: str | Path, run_dir: str | Path, comm) -> dict:
    """Run one member on `comm`; never raises (except KeyboardInterrupt). Returns its record."""
    from pdemet.simulation import Simulation

    run_dir = Path(run_dir)
    t0 = time.perf_counter()
    status, error = "failed", ""
    try:
        scenario = _config.parse_scenario(member.data, base_dir)
        sim = Simulation(scenario, comm)
        summary = sim.run(out=run_dir, progress=False, overwrite=True)
        status = summary.get("status", "failed")
        if status != "completed":
            error = f"run ended with status {status!r}"
    except KeyboardInterrupt:
        raise
    except Exception as e:  # noqa: BLE001 - a failing member never stops the others
        status, error = "failed", first_line(e)
    record = {"id": member.id, "status": status, "error": error,
              "wall_time_s": time.perf_counter() - t0, "ranks": comm.size}
    if comm.rank == 0:
        from pdemet.output import files as io

        run_dir.mkdir(parents=True, exist_ok=True)
        io.write_json(run_dir / layout.MEMBER_FILE, {**record, "values": member.values, "seed": member.seed})
    return record


def read_record(run_dir: Path) -> dict:
    """The member.json a previous run of the member wrote; {} when it is absent or unreadable."""
    try:
        return json.loads((run_dir / layout.MEMBER_FILE).read_text())
    except (OSError, ValueError):
        return {}


def progress_bar(total: int, initial: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="member", desc="sweep", disable=not enabled,
                dynamic_ncols=True, file=sys.stderr)


def run_members(todo: list[Member], base_dir: str, members_dir: Path, world, ranks_per_member: int,
                workers: int | None, bar) -> dict[str, dict]:
    """Run the members on every rank of `world`; world rank 0 gets the records (id -> record)."""
    from pdemet.backend import MPI

    if world.size > 1:
        return _run_mpi(todo, base_dir, members_dir, world, ranks_per_member, bar)
    n = min(workers or os.cpu_count() or 1, len(todo))
    if n > 1:
        return _run_pool(todo, base_dir, members_dir, n, bar)
    records = {}
    for m in todo:
        records[m.id] = run_member(m, base_dir, members_dir / m.id, MPI.COMM_SELF)
        bar.update(1)
    return records


def _worker_init() -> None:
    """Pool workers: one thread each, and a fresh singleton MPI (not the launcher's PMI, if any)."""
    for k in list(os.environ):
        if k.startswith(("PMI_", "PMIX_", "HYDRA_", "HYDI_", "MPIR_", "OMPI_")):
            del os.environ[k]
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(k, "1")
    _die_with_parent()


def _die_with_parent() -> None:
    """Linux: the kernel kills this worker when the sweep that started it dies (even by SIGKILL), so a killed
    sweep never leaves members running on; elsewhere the pool's own shutdown is all there is."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))
    if os.getppid() == 1:  # the parent died before the call: nobody is left to collect this worker
        os._exit(1)


def _pool_member(member: Member, base_dir: str, run_dir: str) -> dict:
    from pdemet.backend import MPI

    return run_member(member, base_dir, run_dir, MPI.COMM_SELF)


def _run_pool(todo: list[Member], base_dir: str, members_dir: Path, workers: int, bar) -> dict[str, dict]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    records = {}
    ctx = multiprocessing.get_context("spawn")  # fork after MPI/PETSc initialisation is unsafe
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init) as pool:
        futures = {pool.submit(_pool_member, m, base_dir, str(members_dir / m.id)): m for m in todo}
        try:
            for fut in as_completed(futures):
                m = futures[fut]
                try:
                    records[m.id] = fut.result()
                except Exception as e:  # noqa: BLE001 - a dead worker (BrokenProcessPool) fails its member only
                    records[m.id] = {"id": m.id, "status": "failed", "error": first_line(e),
                                     "wall_time_s": float("nan"), "ranks": 1}
                bar.update(1)
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return records


def _run_mpi(todo: list[Member], base_dir: str, members_dir: Path, world, rpm: int, bar) -> dict[str, dict]:
    """Static round-robin over groups of `rpm` ranks; group leaders send their records to world rank 0."""
    from pdemet.backend import MPI

    n_groups = world.size // rpm
    color = world.rank // rpm
    group = world.Split(color=color, key=world.rank)
    msg = world.Dup()
    records, requests = {}, []
    mine = [m for i, m in enumerate(todo) if i % n_groups == color]

    def drain(block: bool) -> None:
        while len(records) < len(todo) and (block or msg.iprobe(source=MPI.ANY_SOURCE, tag=_TAG)):
            rec = msg.recv(source=MPI.ANY_SOURCE, tag=_TAG)
            records[rec["id"]] = rec
            bar.update(1)

    try:
        for m in mine:
            rec = run_member(m, base_dir, members_dir / m.id, group)
            if group.rank == 0:
                if world.rank == 0:
                    records[m.id] = rec
                    bar.update(1)
                else:
                    requests.append(msg.isend(rec, dest=0, tag=_TAG))
            if world.rank == 0:
                drain(block=False)
        if world.rank == 0:
            drain(block=True)
        MPI.Request.Waitall(requests)
    finally:
        group.Free()
        msg.Free()
    return records
