"""Camera views: the named view directions, which world axes they put right/up/deep on screen, and the
camera placement that makes a box fill the viewport."""

from __future__ import annotations

import numpy as np
import pyvista as pv

from pdemet.errors import RenderError

# Camera directions (camera position relative to the focal point) and view-up vectors.
VIEWS = {
    "oblique": ((0.45, -1.0, 0.55), (0.0, 0.0, 1.0)),
    "iso": ((1.0, 1.0, 1.0), (0.0, 0.0, 1.0)),
    "xy": ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0)),
    "xz": ((0.0, -1.0, 0.0), (0.0, 0.0, 1.0)),
    "yz": ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
}


def check_view(view: str) -> None:
    if view not in VIEWS:
        raise RenderError(f"unknown view {view!r}; choose from {', '.join(VIEWS)}")


def screen_axes(view: str):
    """World axes that run (right, up) on screen for a view, and the depth axis with its near side sign."""
    vec, up = VIEWS[view]
    v = np.asarray(vec, float)
    u = np.asarray(up, float)
    right = np.cross(u, v)  # camera looks along -v
    ax_r = int(np.argmax(np.abs(right)))
    ax_u = int(np.argmax(np.abs(u)))
    ax_d = 3 - ax_r - ax_u
    return ax_r, ax_u, ax_d, (1.0 if v[ax_d] >= 0 else -1.0)


def near_bottom(b, view, below=0.0):
    """Point at the near, bottom edge of box ``b`` (3x2), centred horizontally, ``below`` x height lower."""
    ax_r, ax_u, ax_d, sgn = screen_axes(view)
    ext = b[:, 1] - b[:, 0]
    pt = b.mean(axis=1)
    pt[ax_u] = b[ax_u, 0] - below * max(ext.max(), 1e-9)
    pt[ax_d] = b[ax_d, 1] if sgn > 0 else b[ax_d, 0]
    return pt


def pad_bounds(b, view, below=0.0, above=0.0, side=0.0):
    """Box ``b`` grown on screen: ``below``/``above`` x its height, ``side`` x its width on both sides."""
    b = np.asarray(b, float).reshape(3, 2).copy()
    ext = b[:, 1] - b[:, 0]
    ax_r, ax_u, _, _ = screen_axes(view)
    b[ax_u] += np.array([-below, above]) * ext[ax_u]
    b[ax_r] += np.array([-side, side]) * ext[ax_r]
    return b.ravel()


def set_camera(p: pv.Plotter, bounds, view: str, fill=(0.86, 0.74), parallel=None):
    """Look along ``view`` and zoom so the box ``bounds`` fills ``fill`` (width, height) of the viewport."""
    check_view(view)
    vec, up = VIEWS[view]
    p.view_vector(vec, viewup=up, render=False)
    if parallel if parallel is not None else view in ("xy", "xz", "yz"):
        p.enable_parallel_projection()
    p.reset_camera(bounds=bounds, render=False)
    ren = p.renderer
    b = np.asarray(bounds, float).reshape(3, 2)
    corners = np.array(np.meshgrid(*b, indexing="ij")).reshape(3, -1).T
    x0, y0, x1, y1 = ren.GetViewport()
    w, h = p.window_size
    vw, vh = (x1 - x0) * w, (y1 - y0) * h
    cx, cy = (x0 + x1) / 2 * w, (y0 + y1) / 2 * h
    dx = dy = 1e-9
    for c in corners:
        ren.SetWorldPoint(*c, 1.0)
        ren.WorldToDisplay()
        X, Y, _ = ren.GetDisplayPoint()
        dx, dy = max(dx, abs(X - cx)), max(dy, abs(Y - cy))
    zoom = min(fill[0] * vw / (2 * dx), fill[1] * vh / (2 * dy))
    if np.isfinite(zoom) and zoom > 0:
        p.camera.zoom(zoom)
