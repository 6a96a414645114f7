"""The entry points: PNG renders of a run (:func:`render_run`), the body movie (:func:`render_movie`) and
the interactive window (:func:`view`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pyvista as pv

from pdemet.errors import RenderError
from pdemet.output import layout
from pdemet.output.files import written_aside
from pdemet.output.rundir import as_run, load_run, norm_step
from pdemet.viz.body import BodyScene, body_plotter
from pdemet.viz.closeup import closeup_plotter
from pdemet.viz.grids import THRESHOLD_FRAC
from pdemet.viz.organ import organ_plotter
from pdemet.viz.plots import plot_run
from pdemet.viz.text import safe_name


def render_run(run_dir, out_dir=None, size=(1600, 1200), n_closeups: int = 3, step: int = -1,
               movie: bool = False, fmt: str = "mp4", *, view: str = "oblique", plots: bool = True,
               threshold_frac: float = THRESHOLD_FRAC, fps: int = 8) -> list[Path]:
    """Write PNG renders of a run (default into ``run_dir/renders``); returns the written paths.

    - ``organ_<organ>_step<k>.png``: one overview per organ;
    - ``body_step<k>.png``: all organs side by side at a common scale;
    - ``closeup_<organ>_focus<id>_step<k>.png``: the ``n_closeups`` largest foci of each site organ
      (from census.csv at that time);
    - ``body.<fmt>`` with ``movie=True`` (``mp4`` or ``gif``): the body overview over all steps;
    - with ``plots=True`` the matplotlib plots of :mod:`pdemet.viz.plots`.
    """
    run = load_run(run_dir)
    out = Path(out_dir) if out_dir is not None else run.path / layout.RENDERS
    out.mkdir(parents=True, exist_ok=True)
    if fmt not in ("mp4", "gif"):
        raise RenderError(f"movie format must be mp4 or gif, not {fmt!r}")
    k = norm_step(step, len(run.times), "run")
    tag = f"step{k:04d}"
    written: list[Path] = []
    for name in run.organs:
        p = organ_plotter(run, name, k, size=size, view=view, threshold_frac=threshold_frac,
                          label_foci=n_closeups)
        written.append(_screenshot(p, out / f"organ_{name}_{tag}.png"))
    written.append(_screenshot(body_plotter(run, k, size=size, view=view, threshold_frac=threshold_frac),
                               out / f"body_{tag}.png"))
    for name, r in _largest_foci(run, float(run.times[k]), n_closeups):
        p = closeup_plotter(run, name, r, k, size=size, view=view, threshold_frac=threshold_frac)
        written.append(_screenshot(p, out / f"closeup_{name}_focus{safe_name(r['focus_id'])}_{tag}.png"))
    if movie:
        written.append(render_movie(run, out / f"body.{fmt}", size=size, view=view, fps=fps,
                                    threshold_frac=threshold_frac))
    if plots:
        written += plot_run(run, out)  # the loaded run: tables and fields are not read again
    return written


def _largest_foci(run, t: float, n: int) -> list[tuple[str, dict]]:
    """(organ, census row) of the ``n`` largest foci with a centroid in each site organ at time ``t``."""
    if n <= 0:
        return []
    rows = run.census_at(t)
    out = []
    for name, o in run.organs.items():
        if o.role == "primary":
            continue
        foci = sorted((r for r in rows if r["organ"] == name and np.isfinite(r.get("centroid_x", np.nan))),
                      key=lambda r: -r.get("cells", 0.0))[:n]
        out += [(name, r) for r in foci]
    return out


def _screenshot(p: pv.Plotter, path: Path) -> Path:
    try:
        with written_aside(path) as tmp:
            p.screenshot(tmp)
    finally:
        p.close()
    return path


def render_movie(run_dir, path, size=(1600, 1200), view: str = "oblique", fps: int = 8,
                 threshold_frac: float = THRESHOLD_FRAC) -> Path:
    """Body overview over all output steps as MP4 (imageio-ffmpeg) or GIF, chosen by the suffix."""
    run = as_run(run_dir)
    path = Path(path)
    size = tuple(int(16 * round(s / 16)) for s in size)  # H.264 macro blocks
    scene = BodyScene(run, size=size, view=view, threshold_frac=threshold_frac)
    p = scene.p
    try:
        with written_aside(path) as tmp:
            if path.suffix.lower() == ".gif":
                p.open_gif(tmp, fps=fps)
            else:
                p.open_movie(tmp, framerate=fps, quality=7)
            for k in range(len(run.times)):
                scene.update(k)
                p.write_frame()
            if getattr(p, "mwriter", None) is not None:  # finish the file before it is renamed
                p.mwriter.close()
                p.mwriter = None
    finally:
        p.close()
    return path


def view(run_dir, step: int = -1, organ: str | None = None, view: str = "oblique") -> None:
    """Interactive window of the body overview (or of one organ). Needs a display."""
    if os.name == "posix" and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY") \
            and sys.platform != "darwin":
        raise RenderError("no display available (DISPLAY is not set); use --html out.html for an interactive "
                          "HTML view, or render PNGs")
    run = load_run(run_dir)
    if organ is None:
        p = body_plotter(run, step, size=(1400, 1000), view=view, off_screen=False)
    else:
        p = organ_plotter(run, organ, step, size=(1400, 1000), view=view, off_screen=False)
    p.show()
