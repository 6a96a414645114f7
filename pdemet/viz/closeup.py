"""Close-up of one focus (a census row): a title bar, a 3-D view of a box around the focus and a section
through its centroid, like a histology slide."""

from __future__ import annotations

import math

import numpy as np
import pyvista as pv

from pdemet.output import layout
from pdemet.output.rundir import OrganFields, Run, as_run
from pdemet.viz import grids, widgets
from pdemet.viz.colors import ORGAN_RGB, OUTLINE_RGB, TEXT_RGB, blend_tissue
from pdemet.viz.grids import THRESHOLD_FRAC, tumor_surface
from pdemet.viz.text import fmt_cells, fmt_time, font_size, safe_name
from pdemet.viz.views import pad_bounds, set_camera


def closeup_plotter(run, organ: str, focus: dict, step: int = -1, size=(1600, 1200), view: str = "oblique",
                    off_screen: bool = True, threshold_frac: float = THRESHOLD_FRAC) -> pv.Plotter:
    """Close-up of one focus (a census row): 3-D view of a box around it and a section through its centroid."""
    run = as_run(run)
    o = run.organs[organ]
    t = run.time_of(step)
    k = o.step_at(t)
    g = grids.step_grid(o, k, run.clones)
    c, box = _focus_box(o, focus)
    sub = g.clip_box(box, invert=False, crinkle=False)

    p = widgets.new_plotter(size, shape=(2, 2), off_screen=off_screen, groups=[(0, np.s_[:])],
                            row_weights=[1, 5.5])
    p.subplot(0, 0)
    p.add_text(_title(run, organ, focus, o.times[k]), position="upper_left", font_size=font_size(size, 20),
               color=TEXT_RGB)
    p.subplot(1, 0)
    _box_view(p, run, o, sub, box, view, size, threshold_frac)
    p.subplot(1, 1)
    _section_view(p, run, o, sub, box, c, size)
    cells = {c: focus.get("cells", 0.0) * focus.get(c, 0.0) for c in run.clones}  # the legend gives each clone's cells
    widgets.legend(p, run, cells, size, viewport=(size[0] / 2, size[1] * 5.5 / 6.5))
    widgets.finish(p)
    return p


def _focus_box(o: OrganFields, focus: dict) -> tuple[np.ndarray, np.ndarray]:
    """The focus centroid and a cube around it (flat bounds): 1.8 x the equivalent radius of its support
    (the region above the census threshold), at least 20 µm (two cells), at most half the organ."""
    c = np.array([focus["centroid_x"], focus["centroid_y"], focus["centroid_z"]], float)
    ob = grids.bounds(o)
    oext = float((ob[:, 1] - ob[:, 0]).max())
    vol = focus.get("support_mm3", focus.get("volume_mm3", float("nan")))
    r_eq = (3 * vol / (4 * math.pi)) ** (1 / 3) if np.isfinite(vol) and vol > 0 else 0.0
    h = min(max(1.8 * r_eq, 0.02), 0.5 * oext)
    return c, np.array([c - h, c + h]).T.ravel()


def _title(run: Run, organ: str, focus: dict, t: float) -> str:
    """Two lines: organ, focus id, time, cells and volume; clonality, clone fractions and Shannon index."""
    fr = sorted(((focus.get(x, 0.0), x) for x in run.clones), reverse=True)
    fr_txt = "   ".join(f"{x} {v:.0%}" for v, x in fr if np.isfinite(v) and v > 0.005) or "no clone fractions"
    poly = focus.get("polyclonal", float("nan"))
    kind = "polyclonal" if poly == 1 else "monoclonal" if poly == 0 else "clonality ?"
    ncl = focus.get("n_clones", float("nan"))
    ncl_txt = f" ({int(ncl)} clone{'' if ncl == 1 else 's'})" if np.isfinite(ncl) else ""
    sh = focus.get("shannon", float("nan"))
    sh_txt = f"   Shannon {sh:.2f}" if np.isfinite(sh) else ""
    vol = focus.get("volume_mm3", float("nan"))
    vol_txt = f"   {vol:.3g} mm³" if np.isfinite(vol) else ""
    return (f"{organ}  focus #{safe_name(focus.get('focus_id', '?'))}   t = {fmt_time(t)}   "
            f"{fmt_cells(focus.get('cells', float('nan')))} cells{vol_txt}\n"
            f"{kind}{ncl_txt}:   {fr_txt}{sh_txt}")


def _box_view(p: pv.Plotter, run: Run, o: OrganFields, sub, box, view: str, size, threshold_frac: float):
    """3-D view of the box: organ tissue in it, the tumor surface at half its peak density (the edge the census
    measures the focus's volume at), outline."""
    if sub.n_cells:
        p.add_mesh(sub.extract_surface(algorithm="dataset_surface"), color=ORGAN_RGB, opacity=0.12)
        peak = float(np.max(sub.point_data[layout.TOTAL]))
        thr = 0.5 * peak if peak > 0 else threshold_frac * o.kappa
        widgets.add_tumor(p, tumor_surface(sub, run.clones, run.colors, thr))
        widgets.note(p, f"3-D: surface at {thr:.3g} cells/mm³", size)
    p.add_mesh(pv.Box(box).outline(), color=OUTLINE_RGB, line_width=2)
    widgets.add_scale_bar(p, box, view, font_size(size, 22), frac=0.4, below=0.08)
    set_camera(p, pad_bounds(box, view, below=0.25), view, fill=(0.85, 0.8))


def _section_view(p: pv.Plotter, run: Run, o: OrganFields, sub, box, c, size):
    """Section of the box through the centroid ``c`` (normal z), tissue fading into the clone colors."""
    sl = sub.slice(normal="z", origin=c) if sub.n_cells else pv.PolyData()
    if sl.n_points:
        sl.point_data["rgb"] = blend_tissue(grids.densities(sl, run.clones), run.colors, o.kappa)
        p.add_mesh(sl, scalars="rgb", rgb=True, lighting=False, show_scalar_bar=False)
    sq = box.copy()
    sq[4] = sq[5] = c[2]
    p.add_mesh(pv.Box(sq).outline(), color=OUTLINE_RGB, line_width=2)
    widgets.note(p, f"section z = {c[2]:.3g} mm", size)
    widgets.add_scale_bar(p, sq, "xy", font_size(size, 22), frac=0.4, below=0.08)
    set_camera(p, pad_bounds(sq, "xy", below=0.25), "xy", fill=(0.8, 0.8))
