"""gmsh ``.msh`` files as pdemet writes and reads them: one physical volume (tag 1, named after the organ)
and one physical boundary surface (tag 2, ``"boundary"``); coordinates in mm.

Reading needs DOLFINx and is imported lazily, so that mesh making and import work without it.
"""

from __future__ import annotations

VOLUME_TAG = 1
BOUNDARY_TAG = 2


def read_quietly(path: str, comm):
    """``dolfinx.io.gmsh`` mesh data of ``path`` without gmsh's console output: rank 0 reads, all ranks
    distribute. Raises ValueError with gmsh's first message line (on every rank) if the file is unusable."""
    import gmsh

    from pdemet.backend import gmshio

    error = None
    if comm.rank == 0:
        gmsh.initialize(readConfigFiles=False)
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("pdemet")
        try:
            gmsh.merge(path)
            if not gmsh.model.getEntities(3):
                error = "it has no volume (3D) elements"
        except Exception as e:  # gmsh raises plain Exceptions
            error = str(e).splitlines()[0] if str(e) else type(e).__name__
    error = comm.bcast(error, root=0)  # every rank must know before the collective call
    try:
        if error is not None:
            raise ValueError(error)
        return gmshio.model_to_mesh(gmsh.model, comm, 0, gdim=3)
    finally:
        if comm.rank == 0:
            gmsh.finalize()
