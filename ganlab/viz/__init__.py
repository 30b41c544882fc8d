"""Figures: sample grids, curves, interpolation strips, GIF/MP4 export (never metrics)."""

from ganlab.viz.classes import (
    class_conditional_grid,
    class_counts,
    plot_class_histogram,
    plot_confusion,
    predict_classes,
)
from ganlab.viz.codes import code_grid, code_traversal
from ganlab.viz.curves import plot_losses, plot_metric, smoothness
from ganlab.viz.export import save_gif, save_mp4, save_video, to_uint8_hwc
from ganlab.viz.grids import (
           make_grid,
           pick_snapshots,
           scatter_2d,
           show_grid,
           show_grids,
           show_rows,
           show_snapshots,
)
from ganlab.viz.strips import compare_strips, interpolation_strip
from ganlab.viz.styles import latent_paths, style_mixing_grid

__all__ = ["make_grid", "show_grid", "show_grids", "show_rows", "pick_snapshots", "show_snapshots", "scatter_2d",
           "class_counts", "plot_class_histogram", "predict_classes", "class_conditional_grid",
           "plot_confusion", "code_grid", "code_traversal", "plot_losses", "plot_metric",
           "smoothness", "save_gif", "save_mp4", "save_video", "to_uint8_hwc",
           "interpolation_strip", "compare_strips", "latent_paths", "style_mixing_grid"]
