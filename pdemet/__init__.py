"""pdemet: polyclonal metastasis as multi-clone reaction–diffusion on organ meshes."""

__version__ = "0.1.0"


def __getattr__(name):
    # Lazy: `import pdemet` (and rendering) must not need DOLFINx.
    if name == "Simulation":
        from pdemet.simulation import Simulation

        return Simulation
    raise AttributeError(name)

