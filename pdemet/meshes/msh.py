"""gmsh ``.msh`` files as pdemet writes and reads them: one physical volume (tag 1, named after the organ)
and one physical boundary surface (tag 2, ``"boundary"``); coordinates in mm.

Reading needs DOLFINx and is imported lazily, so that mesh making and import work without it.
"""

from __future__ import annotations

import contextlib

from pdemet.meshes.session import gmsh_model

VOLUME_TAG = 1
BOUNDARY_TAG = 2


def read_quietly(path: str, comm):
    """``dolfinx.io.gmsh`` mesh data of ``path`` without gmsh's console output: rank 0 reads, all ranks
    distribute. Raises ValueError with gmsh's first message line (on every rank) if the file is unusable."""
    import gmsh

    from pdemet.backend import gmshio

    session = gmsh_model("pdemet", interruptible=True) if comm.rank == 0 else contextlib.nullcontext()
    with session:
        error = _merge(path) if comm.rank == 0 else None
        error = comm.bcast(error, root=0)  # every rank must know before the collective call
        if error is not None:
            raise ValueError(error)
        return gmshio.model_to_mesh(gmsh.model, comm, 0, gdim=3)


def _merge(path: str) -> str | None:
    """Merge ``path`` into the current gmsh model; the reason it is unusable, or None."""
    import gmsh

    try:
        gmsh.merge(path)
        if not gmsh.model.getEntities(3):
            return "it has no volume (3D) elements"
    except Exception as e:  # gmsh raises plain Exceptions
        return str(e).splitlines()[0] if str(e) else type(e).__name__
    return None
