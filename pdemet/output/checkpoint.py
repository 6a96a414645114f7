"""Checkpoint and restart, independent of the number of MPI ranks.

A checkpoint is one ``checkpoint.npz`` in the run directory, written by rank 0 as a temporary file then
renamed (a kill leaves the previous checkpoint intact). It holds the clone fields as node arrays in the
mesh's original numbering (P1: exactly the dof values) and, as JSON, the ``state()`` of every stateful
object of the run: the simulation (time, step control, timers), the cluster flux (random generator,
circulating clusters, ledger, event log) and the run directory's recorders. No pickle. Resuming restores
all of it, truncates field files to the last output time and continues; the result is the same as an
uninterrupted run.
"""

from __future__ import annotations

import json
import os

import numpy as np

from pdemet.errors import fail
from pdemet.output import layout
from pdemet.scenario import scenario_hash


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return {"__array__": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _restore(obj):
    if isinstance(obj, dict):
        if "__array__" in obj:
            return np.asarray(obj["__array__"], dtype=obj["dtype"])
        return {k: _restore(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_restore(v) for v in obj]
    return obj


def supported(sim) -> bool:
    """Checkpoints store nodal (P1) fields."""
    return all(organ.degree == 1 for organ in sim.organs.values())


def check(sim) -> None:
    """One-line error before any work when a run asks for checkpoints it cannot have."""
    for name, organ in sim.organs.items():
        if organ.degree != 1:
            fail(f"organs.{name}.element_degree", "checkpoints (--checkpoint-every, --resume) need element_degree = 1")


def _stateful(sim, run_dir) -> dict:
    objects = {"simulation": sim, "run": run_dir}
    if sim.coupling is not None:
        objects["coupling"] = sim.coupling
    return objects


def save(sim, run_dir) -> None:
    """Write the current (accepted) state to RUN_DIR/checkpoint.npz atomically (collective)."""
    check(sim)
    arrays = {}
    for name, organ in sim.organs.items():
        g = sim.gatherer(name)
        for i, clone in enumerate(organ.clones):
            values = g.gather(clone)
            if sim.comm.rank == 0:
                arrays[f"{name}/{i}"] = values
    states = {key: obj.state() for key, obj in _stateful(sim, run_dir).items()}
    states["scenario_sha256"] = scenario_hash(sim.scenario)  # resume refuses an edited scenario
    if sim.comm.rank != 0:
        sim.comm.barrier()
        return
    arrays["meta"] = np.frombuffer(json.dumps(_jsonable(states)).encode(), dtype=np.uint8)
    path = run_dir.out / layout.CHECKPOINT
    tmp = path.with_name(f".{layout.CHECKPOINT}.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    sim.comm.barrier()


def load(sim, run_dir) -> None:
    """Restore the state saved in RUN_DIR/checkpoint.npz (collective)."""
    check(sim)
    path = run_dir.out / layout.CHECKPOINT
    data = None
    if sim.comm.rank == 0:
        if not path.is_file():
            data = f"no checkpoint in {run_dir.out}; run with --checkpoint-every to make one"
        else:
            with np.load(path) as f:
                data = {k: f[k] for k in f.files}
    data = sim.comm.bcast(data, root=0)
    if isinstance(data, str):
        fail("--resume", data)
    states = _restore(json.loads(bytes(data.pop("meta")).decode()))
    recorded = states.pop("scenario_sha256", None)
    if recorded is not None and recorded != scenario_hash(sim.scenario):
        fail("--resume", f"{run_dir.out / layout.SCENARIO} changed since the checkpoint was written; put the "
             "original back, or start a new run with the edited scenario")
    objects = _stateful(sim, run_dir)
    objects.pop("simulation").set_state(states["simulation"])  # first: it rebuilds the adapted meshes
    for name, organ in sim.organs.items():
        g = sim.gatherer(name)
        for i, clone in enumerate(organ.clones):
            g.set_from_nodes(clone, data[f"{name}/{i}"])
    for key, obj in objects.items():
        obj.set_state(states[key])
