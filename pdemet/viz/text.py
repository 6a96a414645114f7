"""How numbers, times and names are written in titles, labels, file names and HTML, and the font sizes."""

from __future__ import annotations

import html

import numpy as np


def fmt_cells(x: float) -> str:
    """Cell counts for titles: 12,345 / 1.23e6."""
    if not np.isfinite(x):
        return "?"
    if abs(x) < 1e5:
        return f"{x:,.0f}"
    m, e = f"{x:.2e}".split("e")
    return f"{m}e{int(e)}"


def fmt_time(t: float) -> str:
    return f"{t:.4g} d"


def safe_name(s) -> str:
    """A focus id as it appears in labels and file names: integral floats without '.0', only [A-Za-z0-9-_.]."""
    s = str(s)
    try:
        f = float(s)
        if f.is_integer():
            s = str(int(f))
    except ValueError:
        pass
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in s)


def esc(s) -> str:
    """HTML-escaped text."""
    return html.escape(str(s))


def font_size(size, base: float) -> int:
    """Font size scaled with the window (base is for 1600 x 1200)."""
    return max(7, int(round(base * min(size[0] / 1600, size[1] / 1200) ** 0.75)))
