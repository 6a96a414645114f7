"""Run-directory writers and readers: VTKHDF fields, CSV tables, JSON summary.

Everything here is plain numpy/h5py (no DOLFINx), so rendering and analysis
work from the files alone. Parallel runs gather their data to rank 0 before
calling these writers, ordered by the mesh's original node numbers, which makes
the files identical whatever the number of MPI ranks.

Run directory layout (see README):
    scenario.toml         the resolved scenario that was run
    timeseries.csv        time,organ,clone,cells
    fields/<organ>.vtkhdf VTKHDF 2.2 unstructured grid, one point array per clone
                          plus "total", one step per output time (ParaView, PyVista)
    summary.json          run metadata and results
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import h5py
import numpy as np

VTK_TETRA = 10


def chmod_as_umask(path: str | Path) -> None:
    """Give a mkstemp file (always 0600) the mode a plainly created file would have (0666 less the umask)."""
    umask = os.umask(0o022)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def temp_beside(path: Path, suffix: str) -> str:
    """An empty temporary file next to ``path`` (same file system, for ``os.replace``), mode as umask allows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    chmod_as_umask(tmp)
    return tmp


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write a file so that readers see the old or the new content, never half of it."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        chmod_as_umask(tmp)
        with os.fdopen(fd, "w", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Atomically write a CSV table; floats are written with full precision (repr)."""
    atomic_write_text(path, format_rows([header]) + format_rows(rows))


def format_rows(rows: Iterable[Sequence]) -> str:
    """CSV text of rows, floats at full precision (as write_csv)."""
    import io as _io

    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for row in rows:
        w.writerow([repr(float(v)) if isinstance(v, (float, np.floating)) else v for v in row])
    return buf.getvalue()


class GrowingCsv:
    """A table that only grows (event logs): rows are formatted once, the file is rewritten atomically."""

    def __init__(self, path: str | Path, header: Sequence[str]):
        self.path, self.chunks, self.n, self.written = Path(path), [format_rows([header])], 0, False

    def write(self, rows: Sequence[Sequence]) -> None:
        """Write the file with all of `rows` (the full list; only rows not seen before are formatted)."""
        if self.written and len(rows) == self.n:  # nothing new (e.g. the end of a run right after an output)
            return
        self.written = True
        if len(rows) < self.n:  # restarted from a checkpoint with fewer rows: reformat
            self.chunks, self.n = self.chunks[:1], 0
        self.chunks.append(format_rows(rows[self.n:]))
        self.n = len(rows)
        atomic_write_text(self.path, "".join(self.chunks))


def read_csv(path: str | Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_json(path: str | Path, data: Mapping) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


class VTKHDFWriter:
    """Time series of point fields on a fixed tetrahedral mesh, in the VTKHDF 2.2 format.

    The mesh is written once; every step appends one value per point for each
    named array. Static-mesh steps point at the same geometry (offset 0), the
    layout DOLFINx's own ``dolfinx.io.vtkhdf`` uses and ParaView/PyVista read.
    """

    def __init__(self, path: str | Path, points: np.ndarray, tets: np.ndarray, names: Sequence[str],
                 create: bool = True):
        self.path = Path(path)
        self.names = list(names)
        self.n_points = int(points.shape[0])
        if create:
            tmp = self._tmp()
            self._create(tmp, points, tets)
            os.replace(tmp, self.path)

    def _tmp(self) -> Path:
        return self.path.with_name(f".{self.path.name}.tmp")

    def _create(self, path, points, tets):
        tets = np.asarray(tets, dtype=np.int64)
        with h5py.File(path, "w") as f:
            g = f.create_group("VTKHDF")
            g.attrs["Version"] = np.array([2, 2], dtype=np.int32)
            g.attrs.create("Type", np.bytes_(b"UnstructuredGrid"))
            g.create_dataset("NumberOfPoints", data=[self.n_points])
            g.create_dataset("NumberOfCells", data=[tets.shape[0]])
            g.create_dataset("NumberOfConnectivityIds", data=[tets.size])
            g.create_dataset("Points", data=np.asarray(points, dtype=np.float64))
            g.create_dataset("Connectivity", data=tets.ravel())
            g.create_dataset("Offsets", data=np.arange(0, tets.size + 1, 4, dtype=np.int64))
            g.create_dataset("Types", data=np.full(tets.shape[0], VTK_TETRA, dtype=np.uint8))
            pd = g.create_group("PointData")
            steps = g.create_group("Steps")
            steps.attrs["NSteps"] = np.array([0], dtype=np.int32)
            for key in ("Values",):
                steps.create_dataset(key, shape=(0,), maxshape=(None,), dtype=np.float64)
            for key in ("PartOffsets", "PointOffsets", "CellOffsets", "ConnectivityIdOffsets", "NumberOfParts"):
                steps.create_dataset(key, shape=(0,), maxshape=(None,), dtype=np.int64)
            pdo = steps.create_group("PointDataOffsets")
            for name in self.names:
                pd.create_dataset(name, shape=(0,), maxshape=(None,), dtype=np.float64, chunks=True)
                pdo.create_dataset(name, shape=(0,), maxshape=(None,), dtype=np.int64)

    def write_step(self, time: float, arrays: Mapping[str, np.ndarray]) -> None:
        """Append one step. The file is updated as a copy then renamed: a kill never corrupts it."""
        tmp = self._tmp()
        shutil.copyfile(self.path, tmp)
        self._append(tmp, time, arrays)
        os.replace(tmp, self.path)

    def truncate(self, t_max: float) -> None:
        """Drop the steps after t_max (used when a run resumes from an earlier checkpoint)."""
        data = read_vtkhdf(self.path)
        keep = data["times"] <= t_max * (1 + 1e-12) + 1e-300
        if keep.all():
            return
        # Rebuilt aside and renamed once: a kill during a resume leaves the file as it was.
        tmp = self._tmp()
        self._create(tmp, data["points"], data["tets"])
        for k in np.flatnonzero(keep):
            self._append(tmp, float(data["times"][k]), {n: data["arrays"][n][k] for n in self.names})
        os.replace(tmp, self.path)

    def _append(self, path, time, arrays) -> None:
        with h5py.File(path, "a") as f:
            g = f["VTKHDF"]
            steps = g["Steps"]
            k = int(steps.attrs["NSteps"][0])
            for key, value in (("Values", time), ("PartOffsets", 0), ("PointOffsets", 0), ("CellOffsets", 0),
                               ("ConnectivityIdOffsets", 0), ("NumberOfParts", 1)):
                steps[key].resize((k + 1,))
                steps[key][k] = value
            for name in self.names:
                data = np.asarray(arrays[name], dtype=np.float64)
                if data.shape != (self.n_points,):
                    raise ValueError(f"array {name!r} has shape {data.shape}, expected ({self.n_points},)")
                ds = g["PointData"][name]
                ds.resize((ds.shape[0] + self.n_points,))
                ds[-self.n_points:] = data
                off = steps["PointDataOffsets"][name]
                off.resize((k + 1,))
                off[k] = k * self.n_points
            steps.attrs["NSteps"] = np.array([k + 1], dtype=np.int32)


def read_vtkhdf(path: str | Path) -> dict:
    """Read a pdemet VTKHDF file: points, tets, times and {name: (n_steps, n_points)} arrays."""
    with h5py.File(path, "r") as f:
        g = f["VTKHDF"]
        n = int(g["NumberOfPoints"][0])
        times = g["Steps"]["Values"][:]
        arrays = {name: g["PointData"][name][:].reshape(len(times), n) for name in g["PointData"]}
        return {
            "points": g["Points"][:],
            "tets": g["Connectivity"][:].reshape(-1, 4),
            "times": times,
            "arrays": arrays,
        }
