"""gmsh ``.msh`` files as pdemet writes and reads them: one physical volume (tag 1, named after the organ)
and one physical boundary surface (tag 2, ``"boundary"``); coordinates in mm.

Writing needs gmsh, reading also DOLFINx; both are imported lazily, so that the geometry helpers
and mesh making and import work without DOLFINx.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from pdemet.meshes.geometry import degenerate
from pdemet.meshes.session import gmsh_model, model_tets
from pdemet.output.files import temp_beside

VOLUME_TAG = 1
BOUNDARY_TAG = 2
MSH_OPTIONS = {"Mesh.MshFileVersion": 4.1, "Mesh.Binary": 0, "Mesh.SaveAll": 0}  # 4.1 ASCII, physical groups only


def add_physical_groups(organ: str, volume: int, surfaces: list[int]) -> None:
    """Name the current gmsh model's ``volume`` (a 3D entity tag) physical volume 1 ``organ`` and its
    ``surfaces`` (2D entity tags) physical surface 2 ``"boundary"``: all that :func:`write_atomically` saves.

    Add them before meshing a geometry: gmsh numbers the elements differently when they come after.
    """
    import gmsh

    gmsh.model.addPhysicalGroup(3, [volume], tag=VOLUME_TAG, name=organ)
    gmsh.model.addPhysicalGroup(2, surfaces, tag=BOUNDARY_TAG, name="boundary")


def write_atomically(path: Path) -> None:
    """Write the current gmsh model to ``path`` aside and rename it: never a half-written mesh.

    The model's session must have :data:`MSH_OPTIONS` set.
    """
    import gmsh

    tmp = temp_beside(path, ".msh")  # gmsh picks the format from the suffix
    try:
        gmsh.write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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
        x, tets = model_tets()
        flat = int(degenerate(x, tets).sum()) if len(tets) else 0
        if flat:  # DOLFINx would abort inside its mesh construction (no message) on these
            return (f"{flat} of {len(tets)} tetrahedra are degenerate (zero volume: flat or with a repeated vertex); "
                    "remesh the organ")
    except Exception as e:  # gmsh raises plain Exceptions
        return str(e).splitlines()[0] if str(e) else type(e).__name__
    return None
