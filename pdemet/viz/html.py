"""Standalone interactive HTML of the body overview: the vtk.js scene (a vtksz export) in trame's offline
viewer, with the title and legend as an HTML overlay."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pyvista as pv

from pdemet.errors import RenderError
from pdemet.output.files import atomic_write_text
from pdemet.output.rundir import Run, load_run
from pdemet.viz.body import BodyScene
from pdemet.viz.colors import hex_color
from pdemet.viz.text import esc, fmt_cells, fmt_time

_MISSING = object()


def export_html(run_dir, html_path, step: int = -1, view: str = "oblique") -> Path:
    """Standalone interactive HTML (vtk.js embedded, works offline) of the body overview at ``step``.

    Text overlays (title, legend, labels) are 2-D actors that vtk.js does not export; the HTML holds the
    organs and the colored tumor surfaces, to rotate and zoom in a browser.
    """
    try:
        import trame_vtk  # noqa: F401
        from trame_vtk.tools.vtksz2html import write_html
    except ImportError:
        raise RenderError("export_html needs trame: pip install trame trame-vtk trame-vuetify trame-pyvista "
                          "nest_asyncio2") from None
    run = load_run(run_dir)
    # silhouettes are not serialised by vtk.js; the translucent surfaces outline the organs
    scene = BodyScene(run, size=(1200, 900), view=view, silhouette=False, text3d=True)
    p = scene.update(step)
    html_path = Path(html_path)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = _export_vtksz(p)
    finally:
        p.close()
    buf = io.StringIO()
    write_html(data, buf)
    html = buf.getvalue()
    overlay = _html_overlay(run, scene)
    i = html.rfind("</body>")
    html = html[:i] + overlay + html[i:] if i >= 0 else html + overlay
    html = html.replace("<title>VTK.js | Example - OfflineLocalView</title>",
                        f"<title>pdemet: {esc(run.name)}</title>", 1)
    atomic_write_text(html_path, html)
    return html_path


def _export_vtksz(p: pv.Plotter) -> bytes:
    """vtk.js scene of a plotter (zip bytes), through PyVista's trame component or the older API.

    The export runs a local trame server; its optional trame-vtklocal module would download the
    VTK.wasm bundle from the internet at start-up, which export does not need, so it is hidden then.
    """
    blocked = "trame.widgets.vtklocal"
    saved = sys.modules.get(blocked, _MISSING)
    sys.modules[blocked] = None  # makes `from trame.widgets import vtklocal` raise ImportError
    try:
        comp = getattr(p, "trame", None)
        if comp is not None and hasattr(comp, "export_vtksz"):
            return comp.export_vtksz(filename=None)
        return p.export_vtksz(filename=None)  # PyVista < 0.49
    finally:
        if saved is _MISSING:
            sys.modules.pop(blocked, None)
        else:
            sys.modules[blocked] = saved


def _html_overlay(run: Run, scene: BodyScene) -> str:
    """Title, clone legend and organ cell counts as an HTML box over the vtk.js view."""
    info = scene.info
    rows = "".join(
        f'<div><span style="display:inline-block;width:0.9em;height:0.9em;margin-right:0.4em;'
        f'vertical-align:-0.1em;border:1px solid #555;background:{hex_color(run.colors[i])}">'
        f'</span>{esc(c)} &nbsp;{fmt_cells(info.get("clones", {}).get(c, 0.0))}</div>'
        for i, c in enumerate(run.clones))
    box = (
        '<div id="pdemet-overlay" style="position:fixed;top:8px;left:10px;z-index:10;pointer-events:none;'
        'font:14px/1.35 sans-serif;color:#1a1a1a;background:rgba(255,255,255,0.8);padding:6px 10px;'
        'border-radius:4px">'
        f'<div style="font-size:17px;font-weight:bold">{esc(run.name)} &nbsp; t = {esc(fmt_time(info.get("time", 0)))}'
        f' &nbsp; {fmt_cells(info.get("total", 0.0))} cells</div>{rows}'
        f'<div style="margin-top:4px;color:#555">'
        f'tumor surfaces: total &gt; {scene.threshold_frac:.0%} of carrying capacity; '
        f'scale bar {scene.scale_mm:g} mm. Drag to rotate, scroll to zoom.</div></div>')
    # the vtk.js viewer rebuilds <body> once loaded: (re)attach the box whenever it is missing
    return ("<script>(function(){var html=" + json.dumps(box) + ";"
            "function ensure(){if(document.body&&!document.getElementById('pdemet-overlay')){"
            "var d=document.createElement('div');d.innerHTML=html;document.body.appendChild(d.firstChild);}}"
            "document.addEventListener('DOMContentLoaded',ensure);window.addEventListener('load',ensure);"
            "new MutationObserver(ensure).observe(document.documentElement,{childList:true,subtree:true});"
            "})();</script>\n")
