"""Organ meshes: geometry helpers (``geometry``), gmsh sessions (``session``), the gmsh file layout
(``msh``), the built-in organ shapes (``shapes``) and the import of meshes made elsewhere (``importer``,
which reads files with ``readers`` and fills closed surfaces with ``surface``)."""


def __getattr__(name):
    # Lazy: the geometry helpers are used without gmsh (run-directory readers, the census).
    if name in ("ORGANS", "make_mesh"):
        from pdemet.meshes import shapes

        return getattr(shapes, name)
    raise AttributeError(name)
