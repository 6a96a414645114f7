"""Organ meshes: geometry helpers (``geometry``), the gmsh file layout (``msh``), the built-in organ
shapes (``shapes``) and the import of meshes made elsewhere (``importer``)."""


def __getattr__(name):
    # Lazy: the geometry helpers are used without gmsh (run-directory readers, the census).
    if name in ("ORGANS", "make_mesh"):
        from pdemet.meshes import shapes

        return getattr(shapes, name)
    raise AttributeError(name)
