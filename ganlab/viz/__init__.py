"""Figures: sample grids, curves, interpolation strips, GIF/MP4 export (never metrics)."""

from ganlab.viz.curves import plot_losses, plot_metric, smoothness
from ganlab.viz.grids import make_grid, scatter_2d, show_grid, show_grids

__all__ = ["make_grid", "show_grid", "show_grids", "scatter_2d", "plot_losses", "plot_metric",
           "smoothness"]
