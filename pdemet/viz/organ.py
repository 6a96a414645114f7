"""Overview of one organ at one step: its translucent surface, the tumor surface in clone colors, the
largest foci labelled, title, legend and scale bar."""

from __future__ import annotations

import numpy as np
import pyvista as pv

from pdemet.errors import RenderError
from pdemet.output import layout
from pdemet.output.rundir import Run, as_run
from pdemet.viz import grids, widgets
from pdemet.viz.colors import TEXT_RGB
from pdemet.viz.grids import THRESHOLD_FRAC, tumor_surface
from pdemet.viz.text import fmt_cells, fmt_time, font_size, safe_name
from pdemet.viz.views import pad_bounds, set_camera


def organ_plotter(run, organ: str, step: int = -1, size=(1600, 1200), view: str = "oblique",
                  off_screen: bool = True, threshold_frac: float = THRESHOLD_FRAC,
                  label_foci: int = 0) -> pv.Plotter:
    """Overview of one organ: translucent organ surface, tumor surface in clone colors, legend, scale bar.

    ``label_foci``: mark the N largest census foci (site organs) with their ids.
    """
    run = as_run(run)
    if organ not in run.organs:
        raise RenderError(f"no organ {organ!r} in run (have: {', '.join(run.organs)})")
    o = run.organs[organ]
    t = run.time_of(step)
    k = o.step_at(t)
    g = grids.step_grid(o, k, run.clones)
    cells = run.cells(o, k)

    p = widgets.new_plotter(size, off_screen=off_screen)
    widgets.add_organ(p, o)
    widgets.add_tumor(p, tumor_surface(g, run.clones, run.colors, threshold_frac * o.kappa))
    if label_foci and o.role != "primary":
        _label_foci(p, run, organ, t, label_foci, size)
    p.add_text(f"{organ} ({o.role})   t = {fmt_time(o.times[k])}   {fmt_cells(cells.get(layout.TOTAL, 0.0))} cells",
               position="upper_left", font_size=font_size(size, 20), color=TEXT_RGB)
    widgets.note(p, f"tumor surface: total > {threshold_frac * o.kappa:.3g} cells/mm³ "
                    f"({threshold_frac:.0%} of carrying capacity)", size)
    widgets.legend(p, run, cells, size)
    b = grids.bounds(o)
    widgets.add_scale_bar(p, b, view, font_size(size, 24), below=0.06)
    widgets.finish(p)
    set_camera(p, pad_bounds(b, view, below=0.3), view)
    return p


def _label_foci(p: pv.Plotter, run: Run, organ: str, t: float, n: int, size):
    """Mark the ``n`` largest foci of the census at ``t`` in ``organ`` with their ids."""
    foci = sorted((r for r in run.census_at(t) if r["organ"] == organ), key=lambda r: -r["cells"])[:n]
    if foci:
        pts = np.array([[r["centroid_x"], r["centroid_y"], r["centroid_z"]] for r in foci])
        p.add_point_labels(pts, [f"#{safe_name(r['focus_id'])}" for r in foci], font_size=font_size(size, 24),
                           shape=None, show_points=True, point_color=TEXT_RGB, point_size=8,
                           text_color=TEXT_RGB, always_visible=True, bold=True)
