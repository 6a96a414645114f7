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

import hashlib
import json
import os
import zipfile

import numpy as np

from pdemet.errors import fail, first_line
from pdemet.output import layout
from pdemet.output.files import written_aside
from pdemet.scenario import scenario_hash

DIGEST = "sha256"  # the array holding the digest of all the others


BINARY_MIN = 64  # arrays of at least this many values are stored as npz arrays, not as JSON lists


def _jsonable(obj, arrays: dict):
    """``obj`` as JSON-able data; large arrays go to ``arrays`` (stored as such: a checkpoint of a
    5·10⁵-row event log is a few arrays, not 5·10⁵ JSON lists) and leave a reference behind."""
    if isinstance(obj, dict):
        return {k: _jsonable(v, arrays) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v, arrays) for v in obj]
    if isinstance(obj, np.ndarray):
        if obj.size >= BINARY_MIN:
            key = f"state/{len(arrays)}"
            arrays[key] = obj
            return {"__npz__": key}
        return {"__array__": obj.tolist(), "dtype": str(obj.dtype), "shape": list(obj.shape)}
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _restore(obj, arrays: dict):
    if isinstance(obj, dict):
        if "__npz__" in obj:
            return arrays[obj["__npz__"]]
        if "__array__" in obj:
            a = np.asarray(obj["__array__"], dtype=obj["dtype"])
            return a.reshape(obj["shape"]) if "shape" in obj else a
        return {k: _restore(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_restore(v, arrays) for v in obj]
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
    err = None
    if sim.comm.rank == 0:
        try:
            binary = {}
            meta = json.dumps(_jsonable(states, binary)).encode()
            arrays.update(binary)
            arrays["meta"] = np.frombuffer(meta, dtype=np.uint8)
            arrays[DIGEST] = np.frombuffer(_digest(arrays).encode(), dtype=np.uint8)
            with written_aside(run_dir.out / layout.CHECKPOINT) as tmp, open(tmp, "wb") as f:
                np.savez(f, **arrays)
                f.flush()
                os.fsync(f.fileno())
        except Exception as e:  # noqa: BLE001 - shared, so that every rank raises it (no rank waits)
            err = e
    err = sim.comm.bcast(err, root=0)
    if err is not None:
        raise err


def _digest(arrays: dict) -> str:
    """SHA-256 of every array (name, dtype, shape, bytes): resume refuses a checkpoint changed on disk."""
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _read(path) -> dict | str:
    """Rank 0: the arrays and the decoded state, or the one-line reason the file cannot be used."""
    damaged = (f"{path} is damaged ({{}}); restore it from a copy, or start the run again with --overwrite")
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
        digest = data.pop(DIGEST, None)
        if digest is not None and bytes(digest).decode() != _digest(data):
            return damaged.format("its contents do not match their recorded SHA-256")
        data["meta"] = _restore(json.loads(bytes(data["meta"]).decode()), data)
    except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile, UnicodeDecodeError) as e:
        return damaged.format(first_line(e))
    return data


def _check_fields(sim, data: dict, path) -> str | None:
    """Rank 0, after the meshes are rebuilt: one array per organ and clone, one value per node."""
    for name, organ in sim.organs.items():
        n = sim.gatherer(name).n_points
        for i, clone in enumerate(organ.clones):
            values = data.get(f"{name}/{i}")
            if values is None or values.shape != (n,) or not np.all(np.isfinite(values)):
                return (f"{path} does not fit this run: the field of clone {i} in organ {name!r} is missing or "
                        f"has the wrong size or non-finite values (expected {n} nodes); start the run again "
                        "with --overwrite")
    return None


def load(sim, run_dir) -> None:
    """Restore the state saved in RUN_DIR/checkpoint.npz (collective); a damaged or foreign checkpoint is
    refused in one line before anything is changed."""
    check(sim)
    path = run_dir.out / layout.CHECKPOINT
    data = None
    if sim.comm.rank == 0:
        data = _read(path) if path.is_file() else f"no checkpoint in {run_dir.out}; run with --checkpoint-every to make one"
    data = sim.comm.bcast(data, root=0)
    if isinstance(data, str):
        fail("--resume", data)
    states = data.pop("meta")
    recorded = states.pop("scenario_sha256", None) if isinstance(states, dict) else None
    if recorded is not None and recorded != scenario_hash(sim.scenario):
        fail("--resume", f"{run_dir.out / layout.SCENARIO} changed since the checkpoint was written; put the "
             "original back, or start a new run with the edited scenario")
    objects = _stateful(sim, run_dir)
    missing = sorted(set(objects) - set(states)) if isinstance(states, dict) else ["everything"]
    if missing:
        fail("--resume", f"{path} does not hold the state of {', '.join(missing)}; start the run again with --overwrite")
    try:
        objects.pop("simulation").set_state(states["simulation"])  # first: it rebuilds the adapted meshes
    except (KeyError, TypeError, ValueError, IndexError) as e:
        fail("--resume", f"{path} does not fit this run ({first_line(e)}); start the run again with --overwrite")
    verdict = _check_fields(sim, data, path) if sim.comm.rank == 0 else None
    verdict = sim.comm.bcast(verdict, root=0)
    if verdict is not None:
        fail("--resume", verdict)
    for name, organ in sim.organs.items():
        g = sim.gatherer(name)
        for i, clone in enumerate(organ.clones):
            g.set_from_nodes(clone, data[f"{name}/{i}"])
    try:
        for key, obj in objects.items():
            obj.set_state(states[key])
    except (KeyError, TypeError, ValueError, IndexError) as e:
        fail("--resume", f"{path} does not fit this run ({first_line(e)}); start the run again with --overwrite")
