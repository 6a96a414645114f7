"""pdemet: polyclonal metastasis as multi-clone reaction–diffusion on organ meshes."""

import os as _os

__version__ = "0.1.0"

# Under mpiexec every rank already has its core: OpenBLAS threads (numpy starts them for dot products above
# ~10⁴ entries) would only contend with the other ranks (3× slower steps measured at 1e5 dofs on 2 ranks).
# Must happen before numpy is imported; an explicit user setting wins.
if int(_os.environ.get("PMI_SIZE") or _os.environ.get("OMPI_COMM_WORLD_SIZE") or 1) > 1:
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        _os.environ.setdefault(_var, "1")


def __getattr__(name):
    # Lazy: `import pdemet` (and rendering) must not need DOLFINx.
    if name == "Simulation":
        from pdemet.simulation import Simulation

        return Simulation
    raise AttributeError(name)

