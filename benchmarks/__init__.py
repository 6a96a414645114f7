"""Benchmarks, reported as ratios measured in the same run (the machines here are shared and noisy).

``pdemet bench [--quick] --out DIR`` (or ``make bench``) prints and writes ``DIR/bench.json`` and
``DIR/bench.md`` with:

* ``solvers``: the splitting solver (IMEX: Strang + Crank–Nicolson, RK4 reactions) against the monolithic
  Newton/MUMPS reference, 4 clones, on a box and on the lung mesh at several sizes: time per step and
  time-to-solution at equal accuracy. Accuracy is the relative l2 error of all clone dof values at
  ``t_end`` against a reference on the same mesh (Richardson extrapolation of two fine-dt IMEX runs): both
  solvers discretize the same semi-discrete system, so this is their time error. Error-vs-dt power laws
  are fitted per solver and case; each solver's time-to-solution at the target error is
  ⌈t_end/dt*⌉ × its step time at that dt.
* ``bandwidth``: IMEX step time / (K × one PETSc MatMult with the step's own matrix M + θ·dt·A).
* ``pypde``: the same 4-clone logistic reaction–diffusion with py-pde (CartesianGrid, Neumann BCs, numba)
  on the cube case; time-to-solution at equal error against the shared pdemet reference.
* ``pressure``: IMEX (first-order transport, extrapolated transport, error control) vs Newton with the pressure
  terms on the box and the lung: each solver's time error against its own fine-dt reference (upwind vs
  Galerkin space), time-to-solution at 1e-3 and 1e-4 in CPU seconds.
* ``time_error``: error-controlled steps (``time_rtol``: step doubling, Richardson extrapolation) against
  fixed-dt Strang/Crank–Nicolson on the py-pde box case at both diffusivities: error reached against the
  tolerance, steps, CG iterations, time to the target error and its ratio.
* ``continuum``: pdemet (P1/P2, uniform and graded box meshes, several dt) against py-pde (several grids and
  solvers) at equal error against a continuum reference (cosine pseudo-spectral + ETDRK4, independent of both):
  each tool's work–precision front and the time ratio at errors 1e-2, 1e-3, 1e-4, at D = 0.01 and 0.1.
* ``parallel``: the same run on 1 and 2 MPI ranks (subprocesses under mpiexec): speed-up and largest
  difference of the final fields.
* ``growth``: time per step and peak RSS (VmHWM, one subprocess per point) against dofs and K, fitted
  exponents, and the memory extrapolated to 4 clones × 5 organs × 10⁶ dofs.
* ``whole_run``: wall time of the default scenario with outputs, split by ``summary["timers_s"]`` and the
  solvers' linear/reaction timers.
* ``targets``: the issue's targets, measured value and whether each is met.

All timings exclude the first step (form compilation, assembly, factorization) and numba compilation;
they are wall-clock times on one core unless said otherwise. ``python -m benchmarks.worker JSON``
is the subprocess entry point used for the RSS and MPI measurements.

This package lives in the source checkout, not in the wheel; ``pdemet bench`` imports it from there.
Its modules, in the order a run uses them:

``common``    the benchmark scenario, smooth initial data, timed runs, errors, power-law fits
``machine``   CPU, memory, versions, load; this process's resident memory
``accuracy``  the Richardson reference, IMEX error curves, time-to-solution at a target error
``newton``    IMEX vs monolithic Newton at equal accuracy (``solvers`` and ``bandwidth``)
``pypde``     the py-pde comparison (``pypde``, ``pypde_fast``)
``time_error`` error-controlled steps against fixed dt (``time_error``)
``pressure``  IMEX vs Newton with the pressure term, each against its own reference (``pressure``)
``spectral``  cosine pseudo-spectral + ETDRK4      ``continuum`` the box problem, its reference, the error metric
``continuum_pdemet``, ``continuum_pypde``  each tool's runs; ``workprecision`` fronts, ratios, the section;
``continuum_report`` its bench.md text and target row
``worker``    one measurement in a fresh process (``python -m benchmarks.worker JSON``), and its launcher
``parallel``  1 vs 2 MPI ranks                  ``growth``    cost and memory against dofs and K
``whole_run`` the default scenario end to end   ``report``    targets and bench.md
``run``       ``main(out, quick)``: every section in order, then bench.json and bench.md
"""

import os

# One thread per process: the comparisons are one core against one core (or one per MPI rank), and
# OpenBLAS's threads (numpy's `weights @ u` dot products in Simulation._clip and cells_per_clone start
# them above 10⁴ entries) only contend with the other rank or process. Effective when numpy is not yet
# imported (`pdemet bench` sets them itself before it loads numpy; the worker subprocesses inherit them).
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
for _var in THREAD_VARS:
    os.environ.setdefault(_var, "1")
