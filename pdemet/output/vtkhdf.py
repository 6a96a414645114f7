"""VTKHDF 2.2 time series of point fields on tetrahedral meshes (ParaView and PyVista read them).

Parallel runs gather their data to rank 0 before writing, ordered by the mesh's original node numbers,
which makes the files identical whatever the number of MPI ranks.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import h5py
import numpy as np

VTK_TETRA = 10


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
