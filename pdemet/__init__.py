"""pdemet: polyclonal metastasis as multi-clone reaction–diffusion on organ meshes."""

import os as _os

__version__ = "0.1.0"

# One BLAS thread, always: a threaded OpenBLAS (numpy starts threads for dot products above ~10⁴ entries)
# sums in a thread-count-dependent order, so the same member of a sweep gave last-bit different tables in a
# process pool and under mpiexec; and under mpiexec every rank already has its core (threads only contend:
# 3× slower steps measured at 1e5 dofs on 2 ranks). Must happen before numpy is imported; a user setting wins.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
    _os.environ.setdefault(_var, "1")


def __getattr__(name):
    # Lazy: `import pdemet` (and rendering) must not need DOLFINx.
    if name == "Simulation":
        from pdemet.simulation import Simulation

        return Simulation
    raise AttributeError(name)

