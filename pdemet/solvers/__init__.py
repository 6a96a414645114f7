"""Time steppers for one organ's K-clone system; ``SOLVERS`` maps ``simulation.solver`` to a class.

``splitting`` (``"imex"``, production): Strang splitting of ``reaction`` and ``linear`` steps, the linear
one with ``block_cg``. ``newton`` (reference): monolithic θ-scheme. ``step_control``: accepting,
rejecting and growing steps for all organs together. ``time_error``: step doubling, its error estimate and
Richardson extrapolation (``simulation.time_rtol > 0``).
"""

from pdemet.solvers.newton import NewtonSolver
from pdemet.solvers.splitting import SplittingSolver

SOLVERS = {"imex": SplittingSolver, "newton": NewtonSolver}
