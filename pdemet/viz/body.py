"""The body overview: every organ of a run side by side at one mm scale, each labelled with its cells."""

from __future__ import annotations

import math

import numpy as np
import pyvista as pv

from pdemet.output import layout
from pdemet.output.rundir import Run, as_run
from pdemet.viz import grids, widgets
from pdemet.viz.colors import TEXT_RGB
from pdemet.viz.grids import THRESHOLD_FRAC, tumor_surface
from pdemet.viz.text import fmt_cells, fmt_time, font_size
from pdemet.viz.views import check_view, near_bottom, pad_bounds, screen_axes, set_camera


class BodyScene:
    """Primary and site organs side by side at a common scale; :meth:`update` redraws another step.

    ``text3d``: labels as 3-D text (for the HTML export, which drops 2-D text actors).
    After :meth:`update`, ``info`` holds the time, total and per-clone cells and the organ labels drawn.
    """

    def __init__(self, run, size=(1600, 1200), view: str = "oblique", off_screen: bool = True,
                 threshold_frac: float = THRESHOLD_FRAC, silhouette: bool = True, text3d: bool = False):
        self.run = as_run(run)
        self.text3d = text3d
        self.info: dict = {}
        check_view(view)
        self.size = size
        self.view = view
        self.threshold_frac = threshold_frac
        self.offsets = _layout(self.run, view)
        self.p = widgets.new_plotter(size, off_screen=off_screen)
        self.boxes = {}
        for n, o in self.run.organs.items():
            widgets.add_organ(self.p, o, self.offsets[n], silhouette=silhouette, name=f"organ-{n}")
            self.boxes[n] = grids.bounds(o) + self.offsets[n][:, None]
        bb = np.array(list(self.boxes.values()))
        self.bounds = np.column_stack([bb[:, :, 0].min(axis=0), bb[:, :, 1].max(axis=0)]).ravel()
        self.organ_ext = float(np.max(bb[:, :, 1] - bb[:, :, 0]))  # the largest organ extent, for 3-D text
        self.scale_mm = widgets.add_scale_bar(self.p, self.bounds, view, font_size(size, 24), frac=0.1, below=0.05)
        if text3d:
            self._scale_label3d()
        widgets.finish(self.p)
        set_camera(self.p, pad_bounds(self.bounds, view, below=0.3, above=0.3), view, fill=(0.9, 0.72))

    def _scale_label3d(self):
        """The scale bar's 'L mm' as 3-D text under it."""
        ext, view = self.organ_ext, self.view
        b = self.bounds.reshape(3, 2)
        ax_r, ax_u, _, _ = screen_axes(view)
        pt = near_bottom(b, view, 0.05)
        pt[ax_r] = b[ax_r, 0] + self.scale_mm / 2
        pt[ax_u] -= 0.09 * ext
        self.p.add_mesh(widgets.text3d(f"{self.scale_mm:g} mm", pt, 0.05 * ext, view), color=TEXT_RGB,
                        lighting=False)

    def update(self, step: int = -1) -> pv.Plotter:
        """Draw the tumors, organ labels, title and legend of ``step``; returns the plotter."""
        run, p, size = self.run, self.p, self.size
        t = run.time_of(step)
        grand = {c: 0.0 for c in run.clones}
        labels = []
        for n, o in run.organs.items():
            k = o.step_at(t)
            g = grids.step_grid(o, k, run.clones)
            cells = run.cells(o, k)
            for c in run.clones:
                grand[c] += cells.get(c, 0.0)
            widgets.add_tumor(p, tumor_surface(g, run.clones, run.colors, self.threshold_frac * o.kappa),
                              self.offsets[n], name=f"tumor-{n}")
            labels.append(f"{n}: {fmt_cells(cells.get(layout.TOTAL, 0.0))} cells")
        self._organ_labels(labels)
        total = sum(grand.values())
        self.info = {"time": t, "total": total, "clones": grand, "labels": labels}
        p.add_text(f"{run.name}   t = {fmt_time(t)}   {fmt_cells(total)} cells", position="upper_left",
                   font_size=font_size(size, 20), color=TEXT_RGB, name="title")
        widgets.legend(p, run, grand, size, name="legend")
        widgets.note(p, f"tumor surfaces: total > {self.threshold_frac:.0%} of carrying capacity", size,
                     name="note")
        return p

    def _organ_labels(self, labels: list[str]):
        """One label per organ, above it on screen (at its far top edge)."""
        p, view = self.p, self.view
        _, ax_u, ax_d, sgn = screen_axes(view)
        pts = []
        for b in self.boxes.values():
            top = b.mean(axis=1)
            top[ax_u] = b[ax_u, 1] + 0.05 * float((b[:, 1] - b[:, 0]).max())
            top[ax_d] = b[ax_d, 0] if sgn > 0 else b[ax_d, 1]
            pts.append(top)
        if self.text3d:
            ext = self.organ_ext
            for i, (pt, lab) in enumerate(zip(pts, labels)):
                pt[ax_u] += 0.05 * ext
                p.add_mesh(widgets.text3d(lab, pt, 0.065 * ext, view), color=TEXT_RGB, lighting=False,
                           name=f"organ-label3d-{i}")
        else:
            p.add_point_labels(np.array(pts), labels, font_size=font_size(self.size, 30), shape=None,
                               show_points=False, text_color=TEXT_RGB, always_visible=True, bold=True,
                               name="organ-labels", justification_horizontal="center",
                               justification_vertical="bottom")


def body_plotter(run, step: int = -1, size=(1600, 1200), view: str = "oblique", off_screen: bool = True,
                 threshold_frac: float = THRESHOLD_FRAC) -> pv.Plotter:
    """Body overview: all organs side by side at a common mm scale, labelled with their cell counts."""
    scene = BodyScene(run, size=size, view=view, off_screen=off_screen, threshold_frac=threshold_frac)
    return scene.update(step)


def _layout(run: Run, view: str) -> dict[str, np.ndarray]:
    """Translations placing organs side by side (primary first); over 4 organs, two rows."""
    ax_r, ax_u, _, _ = screen_axes(view)
    names = list(run.organs)
    bounds = {n: grids.bounds(run.organs[n]) for n in names}
    exts = np.array([bounds[n][:, 1] - bounds[n][:, 0] for n in names])
    gap = 0.35 * float(np.median(exts[:, ax_r]))
    ncols = len(names) if len(names) <= 4 else math.ceil(len(names) / 2)
    row_h = float(exts[:, ax_u].max()) * 1.8
    result, cursor = {}, {}
    for i, n in enumerate(names):
        r = i // ncols
        b = bounds[n]
        off = -b.mean(axis=1)
        w = b[ax_r, 1] - b[ax_r, 0]
        x0 = cursor.get(r, 0.0)
        off[ax_r] += x0 + w / 2
        off[ax_u] -= r * row_h
        cursor[r] = x0 + w + gap
        result[n] = off
    return result
