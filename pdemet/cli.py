"""Command line: ``pdemet run|render|view|bench``.

Errors a user can fix are printed as one line (``pdemet: error: ...``) with exit
status 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pdemet", description="Polyclonal metastasis: multi-clone reaction–diffusion "
                                "on organ meshes coupled by a cluster flux.")
    p.add_argument("--debug", action="store_true", help="show the Python traceback of an unexpected error")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a scenario and write a run directory")
    r.add_argument("scenario", nargs="?", help="scenario TOML file (e.g. pdemet/scenarios/default.toml)")
    r.add_argument("--out", help="output directory (must be new or empty)")
    r.add_argument("--overwrite", action="store_true", help="replace the contents of a non-empty --out")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--checkpoint-every", type=float, default=None, metavar="DAYS",
                   help="write RUN_DIR/checkpoint.npz every DAYS of simulated time (atomically)")
    r.add_argument("--resume", metavar="RUN_DIR", default=None,
                   help="continue the run in RUN_DIR from its checkpoint (scenario and --out are taken from it)")

    d = sub.add_parser("render", help="write PNG renders and plots of a run directory (no solver needed)")
    d.add_argument("run_dir")
    d.add_argument("--out", default=None, help="output folder (default RUN_DIR/renders)")
    d.add_argument("--size", type=int, nargs=2, default=(1600, 1200), metavar=("W", "H"))
    d.add_argument("--closeups", type=int, default=3, help="close-ups of the N largest foci per organ")
    d.add_argument("--step", type=int, default=-1, help="output step to render (default: last)")
    d.add_argument("--movie", action="store_true", help="also write an animation of the body overview")
    d.add_argument("--format", default="mp4", choices=("mp4", "gif"), help="animation format")

    v = sub.add_parser("view", help="interactive 3D view of a run (or --html for a self-contained HTML scene)")
    v.add_argument("run_dir")
    v.add_argument("--html", default=None, help="write an interactive HTML file instead of opening a window")
    v.add_argument("--step", type=int, default=-1)

    e = sub.add_parser("export", help="write a run's seeding event log (seeding.h5) as RUN_DIR/seeding.csv")
    e.add_argument("run_dir")
    e.add_argument("--out", default=None, help="CSV file to write (default RUN_DIR/seeding.csv)")

    m = sub.add_parser("mesh", help="import a user's mesh or remake a built-in organ mesh")
    msub = m.add_subparsers(dest="mesh_command", required=True)
    mi = msub.add_parser("import", help="check, rescale to mm and convert a tetrahedral (or STL surface) mesh")
    mi.add_argument("file")
    mi.add_argument("--organ", required=True, help="organ name (the physical group and default file name)")
    mi.add_argument("--units", default="mm", choices=("um", "mm", "cm", "m"), help="units of the input coordinates")
    mi.add_argument("--scale", type=float, default=1.0, help="extra factor applied after --units (default 1)")
    mi.add_argument("--out", default=None, help="output .msh (default meshes/ORGAN.msh)")
    mi.add_argument("--size", type=float, default=None, help="remesh a surface input at this size (mm)")
    mi.add_argument("--fix-orientation", action="store_true", help="flip inverted tetrahedra instead of refusing")
    mi.add_argument("--keep-largest", action="store_true",
                    help="keep the largest piece of a file of several (e.g. one lung of two) instead of refusing")
    mi.add_argument("--overwrite", action="store_true", help="replace an existing output mesh")
    mm = msub.add_parser("make", help="remake a built-in organ mesh with gmsh (same code as scripts/make_meshes.py)")
    mm.add_argument("organ")
    mm.add_argument("--size", type=float, default=None, help="element size in mm (default: the organ's own)")
    mm.add_argument("--out", default=None, help="output .msh (default meshes/ORGAN.msh)")

    w = sub.add_parser("sweep", help="parameter sweeps and seed ensembles (docs/sweeps.md)")
    w.add_argument("sweep", help="sweep TOML file")
    w.add_argument("--out", required=True, help="sweep directory (members/, sweep.csv, sweep_summary.csv)")
    w.add_argument("--ranks-per-member", type=int, default=1, help="MPI ranks per member under mpiexec")
    w.add_argument("--workers", type=int, default=None, help="processes without MPI (default: all cores)")
    w.add_argument("--quiet", action="store_true", help="no progress bar")

    b = sub.add_parser("bench", help="benchmarks (ratios measured in one run)")
    b.add_argument("--out", default="bench", help="directory for bench.json and bench.md")
    b.add_argument("--quick", action="store_true", help="small sizes (for tests)")
    return p


def _error(msg: str, code: int = 2) -> int:
    try:
        from mpi4py import MPI

        rank = MPI.COMM_WORLD.rank if "pdemet.backend" in sys.modules else 0
    except ImportError:  # pragma: no cover
        rank = 0
    if rank == 0:
        print(f"pdemet: error: {msg}", file=sys.stderr)
    return code


def cmd_run(args) -> int:
    from pdemet.errors import StepFailure
    from pdemet.scenario import scenario_from_toml
    from pdemet.simulation import Simulation

    if args.resume:
        if args.scenario or args.out:
            return _error("--resume RUN_DIR takes the scenario and output directory from RUN_DIR; drop them")
        args.out = args.resume
        args.scenario = str(Path(args.resume) / "scenario.toml")
        if not Path(args.scenario).is_file():
            return _error(f"--resume: {args.resume} is not a pdemet run directory (no scenario.toml)")
        from pdemet.output.rundir import read_summary

        done = read_summary(args.resume)
        if done.get("status") == "completed":
            return _error(f"--resume: {args.resume} is a completed run (t = {done.get('t'):g} days); nothing to "
                          "resume (run the scenario again with --overwrite to redo it)")
        from pdemet.output import layout

        if not (Path(args.resume) / layout.CHECKPOINT).is_file():  # killed before its first checkpoint
            print(f"pdemet: no checkpoint in {args.resume} yet: starting its run again from t = 0", file=sys.stderr)
            args.resume, args.overwrite = None, True
    elif not args.scenario or not args.out:
        return _error("run needs a SCENARIO and --out DIR (or --resume RUN_DIR)")
    if args.checkpoint_every is not None and not args.checkpoint_every > 0:
        return _error(f"--checkpoint-every: got {args.checkpoint_every}, expected a positive number of days")
    scenario = scenario_from_toml(args.scenario)
    sim = Simulation(scenario)
    try:
        summary = sim.run(out=Path(args.out), progress=not args.quiet, overwrite=args.overwrite,
                          checkpoint_every=args.checkpoint_every, resume=bool(args.resume))
    except StepFailure as e:
        return _error(f"{e}; outputs up to the last good output time are in {args.out}", 3)
    except KeyboardInterrupt as e:
        signum = getattr(e, "signum", None) or signal.SIGINT
        return _error(f"interrupted ({signal.Signals(signum).name}) at t = {sim.t:.4g} days; outputs up to then are "
                      f"in {args.out}; continue with `pdemet run --resume {args.out}`", 128 + signum)
    if sim.comm.rank == 0 and not args.quiet:
        cells = {o: f"{sum(c.values()):.4g}" for o, c in summary["cells_final"].items()}
        print(f"done: t = {summary['t']:g} days, {summary['steps']['accepted']} steps, "
              f"{summary['wall_time_s']:.1f} s; cells per organ {cells}; outputs in {args.out}")
    return 0


def cmd_render(args) -> int:
    from pdemet import viz

    paths = viz.render_run(args.run_dir, out_dir=args.out, size=tuple(args.size), n_closeups=args.closeups,
                           step=args.step, movie=args.movie, fmt=args.format)
    print(f"wrote {len(paths)} files under {Path(paths[0]).parent if paths else args.run_dir}")
    return 0


def cmd_view(args) -> int:
    from pdemet import viz

    if args.html:
        viz.export_html(args.run_dir, args.html, step=args.step)
        print(f"wrote {args.html}")
    else:
        viz.view(args.run_dir, step=args.step)
    return 0


def cmd_export(args) -> int:
    from pdemet.output import layout
    from pdemet.output.seeding import export_csv

    src = Path(args.run_dir) / layout.SEEDING
    if not src.is_file():
        return _error(f"export: no {layout.SEEDING} in {args.run_dir} (is it a run with a cluster flux?)")
    dest = Path(args.out) if args.out else Path(args.run_dir) / layout.SEEDING_CSV
    try:
        n = export_csv(src, dest)
    except OSError as e:
        return _error(f"export: cannot read {src} or write {dest} ({e.strerror or e})", 1)
    print(f"{n} rows -> {dest}")
    return 0


def cmd_mesh(args) -> int:
    from pdemet.errors import MeshError
    from pdemet.meshes.importer import format_report, import_mesh, make_organ_mesh

    try:
        if args.mesh_command == "import":
            report = import_mesh(args.file, args.organ, args.units, args.out, size=args.size,
                                 fix_orientation=args.fix_orientation, overwrite=args.overwrite, scale=args.scale,
                                 keep_largest=args.keep_largest)
        else:
            report = make_organ_mesh(args.organ, args.size, args.out)
    except (MeshError, ValueError) as e:
        return _error(str(e).splitlines()[0] if str(e) else type(e).__name__)
    print(format_report(report))
    return 0


def cmd_sweep(args) -> int:
    from pdemet.sweep import main_sweep

    return main_sweep(Path(args.sweep), Path(args.out), args.ranks_per_member, args.workers, not args.quiet)


def cmd_bench(args) -> int:
    # The benchmarks run one BLAS thread per process; that must be set before numpy loads (pdemet.scenario loads it).
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    from pdemet.errors import CheckoutError
    from pdemet.scenario import REPO_DIR

    if not (REPO_DIR / "benchmarks").is_dir():  # benchmarks/ is not installed with the wheel
        raise CheckoutError(f"pdemet bench needs a source checkout: no benchmarks/ in {REPO_DIR} "
                            "(clone the repository and `pip install -e .`)")
    if str(REPO_DIR) not in sys.path:
        sys.path.insert(0, str(REPO_DIR))
    from benchmarks.run import main

    main(out=Path(args.out), quick=args.quick)
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "render" or (args.command == "view" and args.html):
        # Off-screen rendering through EGL: no X server needed (and no warning about a missing one).
        os.environ.setdefault("PYVISTA_OFF_SCREEN", "true")
        if not os.environ.get("DISPLAY"):
            os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    from pdemet.errors import UserError, first_line

    handlers = {"run": cmd_run, "render": cmd_render, "view": cmd_view, "bench": cmd_bench, "sweep": cmd_sweep, "mesh": cmd_mesh,
                "export": cmd_export}
    try:
        return handlers[args.command](args)
    except UserError as e:  # every failure a user can fix carries a one-line message
        return _error(str(e), e.exit_code)
    except KeyboardInterrupt:  # Ctrl-C before a run's own handler is in place (loading meshes, importing DOLFINx)
        return _error(f"interrupted (SIGINT) during `{args.command}`", 128 + signal.SIGINT)
    except Exception as e:  # a plugin's bug, a full disk, no memory: one line too (a run records it as failed)
        if args.debug:
            raise
        msg = f"{first_line(e)} (unexpected; `pdemet --debug {args.command} ...` shows the traceback)"
        comm = _world()
        if comm is not None and comm.size > 1:
            from pdemet import parallel

            if not parallel.is_collective(e):  # raised on this rank only: the others would wait forever
                parallel.abort_alone(comm, msg)
        return _error(msg, 1)


def _world():
    """COMM_WORLD once the MPI backend is loaded (a command that never loads it runs on one process)."""
    if "pdemet.backend" not in sys.modules:
        return None
    from mpi4py import MPI

    return MPI.COMM_WORLD


if __name__ == "__main__":
    sys.exit(main())
