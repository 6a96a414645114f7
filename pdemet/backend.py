"""The one place that imports DOLFINx, PETSc and MPI.

The PyPI wheel ``dolfinx-solver-real`` must be imported before ``dolfinx`` and
``petsc4py`` (it loads the bundled PETSc/MPI libraries). A conda-forge
``fenics-dolfinx`` environment has no such module, so the import is optional.
Every other pdemet module takes DOLFINx names from here.
"""

try:  # PyPI wheel: must run first; absent under conda-forge.
    import dolfinx_solver  # noqa: F401
except ImportError:  # pragma: no cover - conda-forge install
    pass

# h5py bundles its own HDF5; load it before PETSc's HDF5 can take its symbols (with numba present,
# dolfinx.fem.petsc loads PETSc globally and a later `import h5py` fails with "Not a datatype").
import h5py  # noqa: E402,F401

import dolfinx  # noqa: E402
import dolfinx.fem.petsc  # noqa: E402
import ufl  # noqa: E402
from dolfinx import fem, mesh  # noqa: E402
from dolfinx.io import gmsh as gmshio  # noqa: E402
from mpi4py import MPI  # noqa: E402
from petsc4py import PETSc  # noqa: E402

__all__ = ["MPI", "PETSc", "dolfinx", "fem", "gmshio", "mesh", "ufl"]
