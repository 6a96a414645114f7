"""Matplotlib plots of a pdemet run from its tables (timeseries.csv, census.csv, summary.json), read
through :mod:`pdemet.output.rundir`.

Every function returns the list of files it wrote (empty when the data it needs
is missing, e.g. an empty census early in a run) and never raises for missing data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pdemet.output import layout
from pdemet.output.files import written_aside
from pdemet.output.rundir import Run, as_run

__all__ = ["plot_timeseries", "plot_polyclonal_fraction", "plot_foci_histograms", "plot_run"]


def _mpl():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _setup(run_dir, out_dir) -> tuple[Run, Path]:
    run = as_run(run_dir)
    out = Path(out_dir) if out_dir is not None else run.path / layout.RENDERS
    out.mkdir(parents=True, exist_ok=True)
    return run, out


def _line_kw(rgb):
    """Light colors (yellow) get a dark outline so they stay visible on white."""
    import matplotlib.patheffects as pe

    lum = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]
    if lum > 0.65:
        return {"path_effects": [pe.Stroke(linewidth=3.2, foreground="0.35"), pe.Normal()]}
    return {}


def _save(plt, fig, path: Path) -> Path:
    """Lay out, write (aside, then renamed) and close the figure."""
    fig.tight_layout()
    with written_aside(path) as tmp:
        fig.savefig(tmp, dpi=130, format="png")
    plt.close(fig)
    return path


def _organ_order(run: Run, names) -> list[str]:
    order = [o for o in run.organs if o in names]
    return order + sorted(n for n in names if n not in order)


def plot_timeseries(run_dir, out_dir=None) -> list[Path]:
    """Cells per organ (one panel each) and clone (clone colors) over time, log scale."""
    run, out = _setup(run_dir, out_dir)
    rows = run.timeseries()
    if not rows:
        return []
    plt = _mpl()
    organs = _organ_order(run, {r["organ"] for r in rows})
    n = len(organs)
    ncols = 1 if n == 1 else 2
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(6.2 * ncols, 3.4 * nrows + 0.6), sharex=True, squeeze=False)
    rgb = run.clone_rgb()
    for ax, organ in zip(axes.ravel(), organs):
        data = [r for r in rows if r["organ"] == organ]
        clones = [c for c in run.clones if any(r["clone"] == c for r in data)]
        clones += sorted({r["clone"] for r in data} - set(clones) - {layout.TOTAL})
        any_pos = False
        tot: dict[float, float] = {}
        for c in clones:
            d = sorted((r["time"], r["cells"]) for r in data if r["clone"] == c)
            t, y = np.array(d).T if d else (np.array([]), np.array([]))
            for ti, yi in zip(t, y):
                tot[ti] = tot.get(ti, 0.0) + yi
            y = np.where(y > 0, y, np.nan)
            any_pos |= bool(np.any(np.isfinite(y)))
            col = rgb.get(c, (0.5, 0.5, 0.5))
            ax.plot(t, y, color=col, lw=2, label=c, **_line_kw(col))
        if len(clones) > 1 and tot:
            t = np.array(sorted(tot))
            y = np.array([tot[x] for x in t])
            ax.plot(t, np.where(y > 0, y, np.nan), color="k", lw=1.3, ls="--", label="total")
        if any_pos:
            ax.set_yscale("log")
        role = run.organs[organ].role if organ in run.organs else ""
        ax.set_title(f"{organ} ({role})" if role else organ)
        ax.set_ylabel("cells")
        ax.grid(True, which="major", alpha=0.3)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("time (days)")
    axes.ravel()[0].legend(frameon=True, framealpha=0.85, fontsize=9, loc="best")
    fig.suptitle(f"{run.name}: cells per organ and clone", fontsize=13)
    return [_save(plt, fig, out / "timeseries.png")]


def _site_organs(run: Run, census) -> list[str]:
    return _organ_order(run, {r["organ"] for r in census})


def plot_polyclonal_fraction(run_dir, out_dir=None) -> list[Path]:
    """Fraction of foci that are polyclonal over time, per site organ (from census.csv)."""
    run, out = _setup(run_dir, out_dir)
    census = run.census()
    if not census:
        return []
    plt = _mpl()
    summary = run.summary.get("polyclonal_fraction", {}) if isinstance(run.summary, dict) else {}
    fig, ax = plt.subplots(figsize=(7, 4.2))
    cmap = plt.get_cmap("tab10")
    for i, organ in enumerate(_site_organs(run, census)):
        rows = [r for r in census if r["organ"] == organ]
        ts = np.unique([r["time"] for r in rows])
        frac = np.array([np.nanmean([r.get("polyclonal", np.nan) for r in rows if r["time"] == t]) for t in ts])
        nfoci = np.array([sum(1 for r in rows if r["time"] == t) for t in ts])
        label = f"{organ} ({nfoci[-1]} foci at end)"
        if isinstance(summary, dict) and organ in summary:
            try:
                label += f", summary {float(summary[organ]):.2f}"
            except (TypeError, ValueError):
                pass
        ax.plot(ts, frac, "-o", ms=3.5, color=cmap(i % 10), lw=2, label=label)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("time (days)")
    ax.set_ylabel("fraction of foci polyclonal")
    ax.set_title(f"{run.name}: polyclonal foci")
    ax.grid(True, alpha=0.3)
    ax.legend(frameon=False, fontsize=9)
    return [_save(plt, fig, out / "polyclonal_fraction.png")]


def plot_foci_histograms(run_dir, out_dir=None, time: float | None = None) -> list[Path]:
    """Histograms of foci sizes (cells, log bins; mono- vs polyclonal) and of clones per focus.

    Uses the census at ``time`` (last census time <= time), default the last one.
    """
    run, out = _setup(run_dir, out_dir)
    census = run.census()
    if not census:
        return []
    ts = np.unique([r["time"] for r in census])
    tc = ts[-1] if time is None else (ts[ts <= time][-1] if np.any(ts <= time) else ts[0])
    rows = [r for r in census if r["time"] == tc]
    cells = np.array([r.get("cells", np.nan) for r in rows], float)
    poly = np.array([r.get("polyclonal", 0) == 1 for r in rows])
    ncl = np.array([r.get("n_clones", np.nan) for r in rows], float)
    ok = np.isfinite(cells) & (cells > 0)
    if not ok.any():
        return []
    plt = _mpl()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    lo, hi = np.log10(cells[ok].min()) - 0.05, np.log10(cells[ok].max()) + 0.05
    if hi - lo < 0.5:
        lo, hi = lo - 0.25, hi + 0.25
    bins = np.logspace(lo, hi, min(30, max(5, int(ok.sum() ** 0.5) + 3)))
    a1.hist([cells[ok & ~poly], cells[ok & poly]], bins=bins, stacked=True, color=["#9e9e9e", "#6a3d9a"],
            label=[f"monoclonal ({int((ok & ~poly).sum())})", f"polyclonal ({int((ok & poly).sum())})"])
    a1.set_xscale("log")
    from matplotlib.ticker import MaxNLocator

    a1.yaxis.set_major_locator(MaxNLocator(integer=True))
    a2.yaxis.set_major_locator(MaxNLocator(integer=True))
    a1.set_xlabel("cells per focus")
    a1.set_ylabel("foci")
    a1.legend(frameon=False)
    a1.set_title("focus sizes")
    organs = _site_organs(run, rows)
    kmax = int(np.nanmax(ncl)) if np.any(np.isfinite(ncl)) else 1
    ks = np.arange(1, max(kmax, len(run.clones), 1) + 1)
    width = 0.8 / max(len(organs), 1)
    cmap = plt.get_cmap("tab10")
    for i, organ in enumerate(organs):
        sel = np.array([r["organ"] == organ for r in rows])
        counts = [int(np.sum(sel & (ncl == k))) for k in ks]
        a2.bar(ks + (i - (len(organs) - 1) / 2) * width, counts, width=width, color=cmap(i % 10), label=organ)
    a2.set_xticks(ks)
    a2.set_xlabel("clones per focus")
    a2.set_ylabel("foci")
    if len(organs) > 1:
        a2.legend(frameon=False)
    a2.set_title("clonality" if len(organs) != 1 else f"clonality ({organs[0]})")
    fig.suptitle(f"{run.name}: foci at t = {tc:.4g} d ({len(rows)} foci)")
    return [_save(plt, fig, out / "foci_histograms.png")]


def plot_run(run_dir, out_dir=None) -> list[Path]:
    """All plots; returns the written paths."""
    run, out = _setup(run_dir, out_dir)
    written: list[Path] = []
    for f in (plot_timeseries, plot_polyclonal_fraction, plot_foci_histograms):
        written += f(run, out)
    return written
