"""gmsh sessions: a scratch model that leaves the caller's gmsh as it was, and the tetrahedra of a model.

gmsh is imported when a model is opened, so that importing this module costs nothing.
"""

from __future__ import annotations

import contextlib

import numpy as np


@contextlib.contextmanager
def gmsh_model(name: str, options: dict[str, float] | None = None, *, interruptible: bool = False):
    """A new gmsh model ``name`` with ``options`` set and the terminal silenced; yields the ``gmsh`` module.

    Runs in a session of its own if gmsh is not initialised (``interruptible`` as
    in ``gmsh.initialize``: Ctrl-C then ends the process at once); otherwise in the
    caller's session, whose values of these options and current model are restored
    afterwards. The model is removed on exit.
    """
    import gmsh

    options = {"General.Terminal": 0, **(options or {})}
    own_session = not gmsh.isInitialized()
    if own_session:
        gmsh.initialize(readConfigFiles=False, interruptible=interruptible)
        saved, previous_model = {}, None
    else:  # a caller's session: restore its options and current model afterwards
        saved = {option: gmsh.option.getNumber(option) for option in options}
        previous_model = gmsh.model.getCurrent()
    try:
        for option, value in options.items():
            gmsh.option.setNumber(option, value)
        gmsh.model.add(name)
        try:
            yield gmsh
        finally:
            gmsh.model.remove()
    finally:
        if own_session:
            gmsh.finalize()
        else:
            for option, value in saved.items():
                gmsh.option.setNumber(option, value)
            if previous_model in gmsh.model.list():
                gmsh.model.setCurrent(previous_model)


def model_tets() -> tuple[np.ndarray, np.ndarray]:
    """Nodes (n, 3) and linear tetrahedra (m, 4, 0-based node indices) of the current gmsh model."""
    import gmsh

    _, tet_nodes = gmsh.model.mesh.getElementsByType(4)
    node_tags, coords, _ = gmsh.model.mesh.getNodes()
    index = np.zeros(int(node_tags.max()) + 1 if len(node_tags) else 1, dtype=np.int64)
    index[node_tags.astype(np.int64)] = np.arange(len(node_tags))
    return coords.reshape(-1, 3), index[tet_nodes.astype(np.int64)].reshape(-1, 4)
