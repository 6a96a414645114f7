"""sweep_<param>.png: the headline results (mean ± 95 % CI over the seeds) against each numeric swept parameter."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from pdemet.sweep.design import is_number
from pdemet.sweep.spec import Sweep

PANEL_LABELS = {"cells_sites": "cells in all sites", "foci_sites": "foci (all sites)",
                "polyclonal_sites": "polyclonal fraction of foci"}


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name)


def plot_sweep(sweep: Sweep, out: Path, stats: dict, organs, sites, flux) -> list[Path]:
    """One figure per numeric swept parameter: headline results (mean ± 95 % CI over seeds) against it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    primary = next(o for o in organs if o not in sites)
    panels = [f"cells_{primary}"] + (["cells_sites"] if sites else []) + (["foci_sites", "polyclonal_sites"] if flux else [])
    paths = []
    for p in sweep.parameters:
        if not all(is_number(pt[p]) for pt in sweep.points):
            continue
        others = [q for q in sweep.parameters if q != p]
        groups: dict[tuple, list[int]] = {}
        for i, pt in enumerate(sweep.points):
            key = () if sweep.design != "grid" else tuple(pt[q] for q in others)
            groups.setdefault(key, []).append(i)
        fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
        for ax, h in zip(axes[0], panels):
            _panel(ax, sweep, stats, p, h, others, groups)
        handles, labels = axes[0][0].get_legend_handles_labels()
        if 1 < len(labels) <= 8:
            fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=8, frameon=False)
            fig.subplots_adjust(bottom=0.28)
        fig.suptitle(f"{sweep.path.name}: mean ± 95 % CI over {len(sweep.seeds)} seed(s)", fontsize=10)
        fig.tight_layout(rect=(0, 0.12 if 1 < len(labels) <= 8 else 0, 1, 1))
        path = out / f"sweep_{_safe(p)}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def _panel(ax, sweep: Sweep, stats: dict, p: str, h: str, others: list[str], groups: dict[tuple, list[int]]) -> None:
    """Headline ``h`` against parameter ``p``: one line per combination of the other parameters (grid)."""
    point_ids = sweep.point_ids
    for key, idx in groups.items():
        idx = sorted(idx, key=lambda i: sweep.points[i][p])
        pts = [(sweep.points[i][p], *stats[point_ids[i]][h]) for i in idx if stats[point_ids[i]][h][0] is not None]
        if not pts:
            continue
        x, y, e = map(np.asarray, zip(*pts))
        label = ", ".join(f"{q.split('.')[-1]}={v:g}" if is_number(v) else f"{q.split('.')[-1]}={v}"
                          for q, v in zip(others, key)) or None
        ax.errorbar(x, y, yerr=e, marker="o", ms=4, capsize=3, label=label,
                    linestyle="-" if sweep.design == "grid" else "none")
    if p in sweep.log_params:
        ax.set_xscale("log")
    ax.set_xlabel(p)
    ax.set_title(PANEL_LABELS.get(h, h.replace("cells_", "cells in ")), fontsize=10)
    ax.grid(alpha=0.3)
