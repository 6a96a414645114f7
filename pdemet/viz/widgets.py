"""What a scene is drawn with: the plotter, organ and tumor surfaces, scale bar, clone legend, notes,
2-D polygons and 3-D text."""

from __future__ import annotations

import math

import numpy as np
import pyvista as pv

from pdemet.output.rundir import OrganFields, Run
from pdemet.viz import grids
from pdemet.viz.colors import BACKGROUND, NOTE_RGB, ORGAN_RGB, OUTLINE_RGB, TEXT_RGB
from pdemet.viz.text import fmt_cells, font_size
from pdemet.viz.views import VIEWS, near_bottom, screen_axes


def new_plotter(size, shape=(1, 1), off_screen=True, **kw) -> pv.Plotter:
    p = pv.Plotter(off_screen=off_screen, window_size=tuple(int(s) for s in size), shape=shape, border=False, **kw)
    p.set_background(BACKGROUND)
    return p


def finish(p: pv.Plotter, aa: bool = True):
    # No depth peeling: on Mesa/EGL (VTK 9.7) it drops translucent geometry. A single translucent organ
    # surface over opaque tumor blends correctly without it.
    if aa:
        try:
            p.enable_anti_aliasing("ssaa", all_renderers=True)
        except Exception:  # pragma: no cover
            pass


def add_organ(p, organ: OrganFields, offset=None, opacity=0.16, silhouette=True, name=None):
    """The organ's translucent surface (moved by ``offset``), with its silhouette."""
    surf = grids.surface(organ)
    if offset is not None:
        surf = surf.translate(offset, inplace=False)
    kw = dict(silhouette=dict(color=OUTLINE_RGB, line_width=2.0)) if silhouette else {}
    p.add_mesh(surf, color=ORGAN_RGB, opacity=opacity, smooth_shading=True, specular=0.1, name=name, **kw)


def add_tumor(p, surf: pv.PolyData | None, offset=None, name=None):
    """A tumor surface in its clone colors; ``None`` removes the actor ``name`` (no tumor at this step)."""
    if surf is None:
        if name:
            p.remove_actor(name, render=False)
        return
    if offset is not None:
        surf = surf.translate(offset, inplace=False)
    p.add_mesh(surf, scalars="rgb", rgb=True, smooth_shading=True, ambient=0.3, diffuse=0.7, specular=0.1,
               show_scalar_bar=False, name=name)


def note(p, text, size, name=None):
    """Small print in the lower left corner."""
    p.add_text(text, position="lower_left", font_size=font_size(size, 15), color=NOTE_RGB, name=name)


def _nice_length(x: float) -> float:
    if x <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(x))
    for m in (5, 2, 1):
        if m * e <= x:
            return m * e
    return e


def add_scale_bar(p: pv.Plotter, bounds, view: str, fs: int, frac=0.25, below=0.12, at="left", name=None):
    """Scale bar ('<L> mm') under the box ``bounds``: a thick line with end ticks and a label."""
    b = np.asarray(bounds, float).reshape(3, 2)
    ax_r, ax_u, ax_d, sgn = screen_axes(view)
    ext = b[:, 1] - b[:, 0]
    L = _nice_length(frac * ext[ax_r])
    a = near_bottom(b, view, below)
    a[ax_r] = b[ax_r, 0] if at == "left" else b[ax_r, 1] - L
    e = a.copy()
    e[ax_r] += L
    tick = np.zeros(3)
    tick[ax_u] = 0.025 * max(ext[ax_r], ext[ax_u])
    bar = pv.Line(a, e) + pv.Line(a - tick, a + tick) + pv.Line(e - tick, e + tick)
    p.add_mesh(bar, color=TEXT_RGB, line_width=max(2, fs // 6), lighting=False, name=name and f"{name}-bar")
    mid = (a + e) / 2 - 1.2 * tick
    p.add_point_labels([mid], [f"{L:g} mm"], font_size=fs, shape=None, show_points=False, text_color=TEXT_RGB,
                       always_visible=True, bold=True, justification_horizontal="center",
                       justification_vertical="top", name=name and f"{name}-label")
    return L


def _text_size(actor) -> tuple[int, int]:
    """Pixel (width, height) of a text actor's text."""
    import vtk

    bb = [0, 0, 0, 0]
    vtk.vtkTextRenderer().GetBoundingBox(actor.GetTextProperty(), actor.GetInput(), bb, 72)
    return bb[1] - bb[0], bb[3] - bb[2]


def legend(p: pv.Plotter, run: Run, cells: dict | None, size, name="legend", viewport=None):
    """Clone legend (color swatch, name, optional cell count) in the upper right corner of the viewport."""
    fs = font_size(size, 14)
    vw, vh = viewport if viewport is not None else size
    entries = [(c if not cells else f"{c}   {fmt_cells(cells.get(c, 0.0))}", tuple(run.colors[i]))
               for i, c in enumerate(run.clones)]
    texts = [p.add_text(t, position=(0, 0), font_size=fs, color=TEXT_RGB, name=f"{name}-{i}")
             for i, (t, _) in enumerate(entries)]
    sizes = [_text_size(a) for a in texts]
    line_h = max((h for _, h in sizes), default=fs) * 1.35
    sw_w = line_h * 0.9
    width = max((w for w, _ in sizes), default=0) + sw_w + 0.5 * line_h
    x = vw - width - 0.5 * line_h
    for i, ((_, col), a) in enumerate(zip(entries, texts)):
        y = vh - (i + 1) * line_h - 0.3 * line_h
        a.SetPosition(x + sw_w + 0.4 * line_h, y + 0.12 * line_h)
        pts = np.array([[x, y + 0.1 * line_h, 0], [x + sw_w, y + 0.1 * line_h, 0],
                        [x + sw_w, y + 0.95 * line_h, 0], [x, y + 0.95 * line_h, 0]])
        poly = pv.PolyData(pts, faces=[4, 0, 1, 2, 3])
        add_2d(p, poly, col, f"{name}-sw{i}")
    for i in range(len(entries), len(entries) + 64):  # remove leftovers when reusing a name
        if f"{name}-{i}" not in p.actors:
            break
        p.remove_actor([f"{name}-{i}", f"{name}-sw{i}"], render=False)


def add_2d(p: pv.Plotter, poly: pv.PolyData, color, name):
    """Filled polygon in viewport pixel coordinates, with a thin dark outline."""
    import vtk

    p.remove_actor([name, name + "-edge"], render=False)
    for nm, data, edge in ((name, poly, False), (name + "-edge", poly.extract_feature_edges(
            boundary_edges=True, feature_edges=False, manifold_edges=False, non_manifold_edges=False), True)):
        coord = vtk.vtkCoordinate()
        coord.SetCoordinateSystemToViewport()
        m = vtk.vtkPolyDataMapper2D()
        m.SetInputData(data)
        m.SetTransformCoordinate(coord)
        act = vtk.vtkActor2D()
        act.SetMapper(m)
        act.GetProperty().SetColor(*(OUTLINE_RGB if edge else color))
        act.GetProperty().SetLineWidth(1.5)
        p.add_actor(act, name=nm, reset_camera=False, render=False)


def text3d(text: str, center, height: float, view: str) -> pv.PolyData:
    """Flat 3-D text of the given height, centred at ``center``, facing the camera of ``view``.

    (Text actors are 2-D and vtk.js does not export them; 3-D text goes into the HTML scene.)
    """
    vec, up = VIEWS[view]
    v = np.asarray(vec, float) / np.linalg.norm(vec)
    r = np.cross(up, v)
    r /= np.linalg.norm(r)
    u = np.cross(v, r)
    m = pv.Text3D(text, depth=0.0)
    m.points -= np.asarray(m.center)
    h = m.bounds[3] - m.bounds[2]
    m.points *= height / max(h, 1e-12) / max(1, text.count("\n") + 1)
    m.points = m.points @ np.array([r, u, v]) + np.asarray(center, float)
    return m
