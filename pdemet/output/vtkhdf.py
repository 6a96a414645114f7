"""VTKHDF 2.2 time series of point fields on tetrahedral meshes (ParaView and PyVista read them).

A step either keeps the previous step's mesh (its geometry offsets point at the same part) or, after a
re-adaptation, brings its own: the new mesh is appended as a new part (points, connectivity, offsets,
types) and the step's offsets point at it. Parallel runs gather their data to rank 0 before writing,
ordered by the mesh's original node numbers, which makes the files identical whatever the number of
MPI ranks.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import h5py
import numpy as np

from pdemet.output.files import written_aside

VTK_TETRA = 10
_STEP_KEYS = ("PartOffsets", "PointOffsets", "CellOffsets", "ConnectivityIdOffsets", "NumberOfParts")


class VTKHDFWriter:
    """Appends steps (a time, one value per point for each named array, and the mesh) to a VTKHDF file.

    The file is updated as a copy then renamed: a kill never corrupts it.
    """

    def __init__(self, path: str | Path, names: Sequence[str], create: bool = True):
        self.path = Path(path)
        self.names = list(names)
        if create:
            with written_aside(self.path) as tmp:
                self._create(tmp)

    def _create(self, path):
        with h5py.File(path, "w") as f:
            g = f.create_group("VTKHDF")
            g.attrs["Version"] = np.array([2, 2], dtype=np.int32)
            g.attrs.create("Type", np.bytes_(b"UnstructuredGrid"))
            for key in ("NumberOfPoints", "NumberOfCells", "NumberOfConnectivityIds", "Connectivity", "Offsets"):
                g.create_dataset(key, shape=(0,), maxshape=(None,), dtype=np.int64, chunks=True)
            g.create_dataset("Points", shape=(0, 3), maxshape=(None, 3), dtype=np.float64, chunks=True)
            g.create_dataset("Types", shape=(0,), maxshape=(None,), dtype=np.uint8, chunks=True)
            pd = g.create_group("PointData")
            steps = g.create_group("Steps")
            steps.attrs["NSteps"] = np.array([0], dtype=np.int32)
            steps.create_dataset("Values", shape=(0,), maxshape=(None,), dtype=np.float64)
            for key in _STEP_KEYS:
                steps.create_dataset(key, shape=(0,), maxshape=(None,), dtype=np.int64)
            pdo = steps.create_group("PointDataOffsets")
            for name in self.names:
                pd.create_dataset(name, shape=(0,), maxshape=(None,), dtype=np.float64, chunks=True)
                pdo.create_dataset(name, shape=(0,), maxshape=(None,), dtype=np.int64)

    def write_step(self, time: float, arrays: Mapping[str, np.ndarray], points: np.ndarray, tets: np.ndarray) -> None:
        """Append one step on this mesh (a new part only if it differs from the last step's)."""
        with written_aside(self.path) as tmp:
            shutil.copyfile(self.path, tmp)
            _append(tmp, self.names, time, arrays, points, tets)

    def truncate(self, t_max: float) -> None:
        """Drop the steps after t_max (used when a run resumes from an earlier checkpoint)."""
        data = read_vtkhdf(self.path)
        keep = data["times"] <= t_max * (1 + 1e-12) + 1e-300
        if keep.all():
            return
        # Rebuilt aside and renamed once: a kill during a resume leaves the file as it was.
        with written_aside(self.path) as tmp:
            self._create(tmp)
            for k in np.flatnonzero(keep):
                step = data["steps"][k]
                _append(tmp, self.names, float(data["times"][k]), step["arrays"], step["points"], step["tets"])


def _grow(ds, values) -> int:
    """Append values to a resizable dataset; returns where they start."""
    n = ds.shape[0]
    ds.resize((n + len(values),) + ds.shape[1:])
    ds[n:] = values
    return n


def _append(path, names, time, arrays, points, tets) -> None:
    points = np.asarray(points, dtype=np.float64)
    tets = np.asarray(tets, dtype=np.int64)
    with h5py.File(path, "a") as f:
        g = f["VTKHDF"]
        steps = g["Steps"]
        k = int(steps.attrs["NSteps"][0])
        part = g["NumberOfPoints"].shape[0] - 1
        same = part >= 0 and _same_mesh(g, steps, k - 1, points, tets)
        if not same:
            part += 1
            point_offset = _grow(g["Points"], points)
            cell_offset = _grow(g["Types"], np.full(len(tets), VTK_TETRA, dtype=np.uint8))
            conn_offset = _grow(g["Connectivity"], tets.ravel())
            _grow(g["Offsets"], np.arange(0, tets.size + 1, 4, dtype=np.int64))
            for key, value in (("NumberOfPoints", len(points)), ("NumberOfCells", len(tets)),
                               ("NumberOfConnectivityIds", tets.size)):
                _grow(g[key], [value])
        else:
            point_offset, cell_offset, conn_offset = (int(steps[key][k - 1]) for key in
                                                      ("PointOffsets", "CellOffsets", "ConnectivityIdOffsets"))
        for key, value in (("Values", time), ("PartOffsets", part), ("PointOffsets", point_offset),
                           ("CellOffsets", cell_offset), ("ConnectivityIdOffsets", conn_offset),
                           ("NumberOfParts", 1)):
            _grow(steps[key], [value])
        for name in names:
            data = np.asarray(arrays[name], dtype=np.float64)
            if data.shape != (len(points),):
                raise ValueError(f"array {name!r} has shape {data.shape}, expected ({len(points)},)")
            _grow(steps["PointDataOffsets"][name], [_grow(g["PointData"][name], data)])
        steps.attrs["NSteps"] = np.array([k + 1], dtype=np.int32)


def _same_mesh(g, steps, k, points, tets) -> bool:
    part = int(steps["PartOffsets"][k])
    n, m = int(g["NumberOfPoints"][part]), int(g["NumberOfCells"][part])
    if (n, m) != (len(points), len(tets)):
        return False
    p0, c0 = int(steps["PointOffsets"][k]), int(steps["ConnectivityIdOffsets"][k])
    return np.array_equal(g["Points"][p0:p0 + n], points) and \
        np.array_equal(g["Connectivity"][c0:c0 + 4 * m], tets.ravel())


def read_step_mesh(g, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(points, tets) of step k of an open VTKHDF group."""
    st = g["Steps"]
    part = int(st["PartOffsets"][k])
    n, m = int(g["NumberOfPoints"][part]), int(g["NumberOfCells"][part])
    p0, c0 = int(st["PointOffsets"][k]), int(st["ConnectivityIdOffsets"][k])
    return g["Points"][p0:p0 + n], g["Connectivity"][c0:c0 + 4 * m].astype(np.int64).reshape(-1, 4)


def read_vtkhdf(path: str | Path) -> dict:
    """Read a pdemet VTKHDF file: times and per step its points, tets and {name: values}.

    When every step has the same mesh, also ``points``, ``tets`` and ``arrays`` {name: (n_steps, n_points)}.
    """
    with h5py.File(path, "r") as f:
        g = f["VTKHDF"]
        times = g["Steps"]["Values"][:]
        out = {"times": times, "steps": []}
        for k in range(len(times)):
            points, tets = read_step_mesh(g, k)
            arrays = {}
            for name in g["PointData"]:
                off = int(g["Steps"]["PointDataOffsets"][name][k])
                arrays[name] = g["PointData"][name][off:off + len(points)]
            out["steps"].append({"points": points, "tets": tets, "arrays": arrays})
    parts = {len(s["points"]) for s in out["steps"]}
    if out["steps"] and len(parts) == 1 and all(np.array_equal(s["tets"], out["steps"][0]["tets"]) for s in out["steps"]):
        out["points"], out["tets"] = out["steps"][0]["points"], out["steps"][0]["tets"]
        out["arrays"] = {name: np.array([s["arrays"][name] for s in out["steps"]]) for name in out["steps"][0]["arrays"]}
    return out
