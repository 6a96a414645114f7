"""Pictures, movies, interactive views and plots of a pdemet run, from its output files alone.

The run directory is read through :mod:`pdemet.output.rundir`; nothing here imports DOLFINx or the
solver, so it runs anywhere PyVista/VTK can render off screen.

Main entry points: :func:`render_run` (PNG overviews, close-ups of the largest foci, optional movie,
plots), :func:`export_html` (standalone interactive HTML) and :func:`view` (interactive window).
"""

from pdemet.errors import RenderError
from pdemet.output.rundir import Run, load_run
from pdemet.viz.body import body_plotter
from pdemet.viz.closeup import closeup_plotter
from pdemet.viz.colors import TISSUE_RGB, alpha_from_density, blend_tissue, mix_colors
from pdemet.viz.grids import tumor_surface
from pdemet.viz.html import export_html
from pdemet.viz.organ import organ_plotter
from pdemet.viz.plots import plot_foci_histograms, plot_polyclonal_fraction, plot_run, plot_timeseries
from pdemet.viz.render import render_movie, render_run, view

__all__ = [
    "RenderError",
    "Run",
    "load_run",
    "TISSUE_RGB",
    "mix_colors",
    "alpha_from_density",
    "blend_tissue",
    "tumor_surface",
    "organ_plotter",
    "body_plotter",
    "closeup_plotter",
    "render_run",
    "render_movie",
    "export_html",
    "view",
    "plot_timeseries",
    "plot_polyclonal_fraction",
    "plot_foci_histograms",
    "plot_run",
]
