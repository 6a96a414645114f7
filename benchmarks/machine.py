"""The machine a bench ran on (CPU, memory, versions, load) and this process's resident memory."""

from __future__ import annotations

import math
import os
import platform
from pathlib import Path

import numpy as np


def rss_mib() -> dict:
    """Peak and current resident memory of this process (MiB) from /proc/self/status."""
    out = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(("VmHWM:", "VmRSS:")):
                out[line.split(":")[0]] = int(line.split()[1]) / 1024.0
    except OSError:
        import resource

        out["VmHWM"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"peak_rss_mib": out.get("VmHWM", math.nan), "rss_mib": out.get("VmRSS", math.nan)}


def load_1min() -> float:
    """The 1-minute load average (other processes on the machine), NaN where the OS has none."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan


def machine_info() -> dict:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = (math.nan,) * 3
    try:
        mem = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 ** 2
    except (OSError, ValueError, IndexError):
        mem = math.nan
    from pdemet.backend import PETSc, dolfinx

    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem, "load_average_at_start": list(load),
            "python": platform.python_version(), "dolfinx": dolfinx.__version__,
            "petsc": ".".join(map(str, PETSc.Sys.getVersion())), "numpy": np.__version__}
