"""What a run will need, estimated before the work starts, against what the machine has.

A uniformly refined mesh grows 8× per level: ``refine = 4`` on a 10⁵-node mesh asks for ~4·10⁹ bytes before
anything is solved, and a run that dies of ``MemoryError`` (or a C++ ``bad_alloc``) half-way through its
set-up helps nobody. The estimates are deliberately simple and on the safe side:

- memory: ``BYTES_PER_DOF`` per degree of freedom, measured with ``ru_maxrss`` on box organs
  (1.9–2.2 kB per dof for 1 and 4 clones with diffusion and logistic growth; ~3.7 kB per dof in an adaptive
  site with the pressure term and 4 clones), whatever the number of ranks (they share one machine here);
- disk: one float64 per node, clone and output time in the field files.

"Available" is the least of the kernel's MemAvailable, the address-space limit (``ulimit -v``) less what
this process maps already, and a cgroup v2 memory limit less its usage (containers, batch jobs).
"""

from __future__ import annotations

import ctypes
import math
import resource
import shutil
from pathlib import Path

BYTES_PER_DOF = 4.0e3  # bytes; see the module docstring
GiB = 2.0**30


def _meminfo_available() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024.0
    except OSError:
        pass
    return math.inf


def _address_space_left() -> float:
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return math.inf
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return soft - float(line.split()[1]) * 1024.0
    except OSError:
        pass
    return float(soft)


def _cgroup_left() -> float:
    try:
        rel = Path("/proc/self/cgroup").read_text().strip().split("::", 1)[1]
        base = Path("/sys/fs/cgroup") / rel.lstrip("/")
        limit = (base / "memory.max").read_text().strip()
        if limit == "max":
            return math.inf
        return float(limit) - float((base / "memory.current").read_text())
    except (OSError, IndexError, ValueError):
        return math.inf


def available_memory() -> float:
    """Bytes this process may still allocate (inf when nothing says otherwise)."""
    return min(_meminfo_available(), _address_space_left(), _cgroup_left())


def memory_shortfall(dofs: float, what: str, fix: str) -> str | None:
    """The one-line reason a set-up whose ``dofs`` would not fit in the memory left, or None."""
    need, have = dofs * BYTES_PER_DOF, available_memory()
    if need <= have:
        return None
    return (f"{what} would have ~{dofs:.3g} degrees of freedom, needing ~{need / GiB:.3g} GiB of memory, and "
            f"{have / GiB:.3g} GiB is available; {fix}")


def disk_shortfall(out: Path, nodes: int, clones: int, outputs: int) -> str | None:
    """The one-line reason the field files of a run cannot fit on the output's file system, or None
    (a lower bound: adapted meshes add nodes)."""
    need = 8.0 * nodes * clones * outputs
    probe = next((p for p in [Path(out), *Path(out).absolute().parents] if p.exists()), Path("."))
    free = shutil.disk_usage(probe).free
    if need <= free:
        return None
    return (f"the field files need at least {need / GiB:.3g} GiB ({nodes} nodes x {clones} clones x {outputs} "
            f"output times) and {probe} has {free / GiB:.3g} GiB free; raise simulation.output_every or choose "
            "another directory")


def give_back_freed_memory() -> None:
    """Return the heap pages freed since the last call to the operating system (glibc's ``malloc_trim``; a no-op
    where there is no glibc). A re-adaptation frees a whole mesh's worth of arrays of sizes that the next one
    cannot reuse exactly; glibc keeps such holes, so without this the resident memory of a run ratchets up
    by one mesh's temporaries per re-adaptation (measured: docs/performance.md, adaptive meshes)."""
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL("libc.so.6")
            _libc.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _libc = False
    if _libc:
        _libc.malloc_trim(0)


_libc = None  # glibc, loaded at the first call (False where there is none)
