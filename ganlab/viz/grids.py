"""Sample grids: images in, a matplotlib figure out (plotted, never printed)."""

from __future__ import annotations

import math
from typing import Any

from torch import Tensor

from ganlab.data.transforms import to_unit

__all__ = ["make_grid", "show_grid", "show_grids", "show_rows", "pick_snapshots", "show_snapshots", "scatter_2d"]


def make_grid(images: Tensor, nrow: int | None = None, padding: int = 2) -> Tensor:
    """Tile ``(N, C, H, W)`` images (uint8, or float in [-1, 1]) into one ``(H', W', C)`` float [0, 1] array."""
    from torchvision.utils import make_grid as tv_grid

    if images.dim() != 4:
        raise ValueError(f"expected images of shape (N, C, H, W), got {tuple(images.shape)}")
    x = to_unit(images)
    nrow = nrow or max(1, int(math.ceil(math.sqrt(x.shape[0]))))
    grid = tv_grid(x, nrow=nrow, padding=padding, pad_value=1.0)
    return grid.permute(1, 2, 0)


def show_grid(images: Tensor, title: str | None = None, nrow: int | None = None,
              ax: Any = None, size: float = 4.0) -> Any:
    """Draw a grid of images; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    grid = make_grid(images, nrow=nrow).numpy()
    if ax is None:
        fig, ax = plt.subplots(figsize=(size, size))
    else:
        fig = ax.figure
    cmap = "gray" if grid.shape[-1] == 1 else None
    ax.imshow(grid.squeeze(-1) if cmap else grid, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig


def show_grids(grids: dict[str, Tensor], ncols: int | None = None, size: float = 3.0,
               nrow: int | None = None) -> Any:
    """Several labelled grids side by side (e.g. samples at steps 0, 300, 600...)."""
    import matplotlib.pyplot as plt

    n = len(grids)
    if n == 0:
        raise ValueError("show_grids needs at least one grid")
    ncols = ncols or n
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_axis_off()
    for ax, (label, images) in zip(axes.flat, grids.items()):
        show_grid(images, title=label, ax=ax, nrow=nrow)
    fig.tight_layout()
    return fig


def show_rows(rows: dict[str, Tensor], size: float = 0.9, title: str | None = None) -> Any:
    """Labelled rows of images in one figure: each value ``(n, C, H, W)`` (uint8 or float in
    [-1, 1]) becomes one row, its key the row's label on the left (e.g. the same digits under each
    augmentation). Rows of different lengths are padded with white; all images share one size."""
    import matplotlib.pyplot as plt
    import torch

    if not rows:
        raise ValueError("show_rows needs at least one row")
    shapes = {tuple(x.shape[1:]) for x in rows.values()}
    if any(x.dim() != 4 for x in rows.values()) or len(shapes) != 1:
        raise ValueError(f"show_rows needs (n, C, H, W) images of one shape per row; got "
                         f"{[tuple(x.shape) for x in rows.values()]}")
    width = max(x.shape[0] for x in rows.values())
    tiles = []
    for x in rows.values():
        x = to_unit(x).float().cpu()
        if x.shape[0] < width:
            x = torch.cat([x, torch.ones(width - x.shape[0], *x.shape[1:])])
        tiles.append(x)
    grid = make_grid(torch.cat(tiles), nrow=width).numpy()
    h = grid.shape[0] / len(rows)
    fig, ax = plt.subplots(figsize=(size * width + 2.0, size * len(rows)))
    cmap = "gray" if grid.shape[-1] == 1 else None
    ax.imshow(grid.squeeze(-1) if cmap else grid, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([h * (i + 0.5) for i in range(len(rows))], list(rows))
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def pick_snapshots(samples: list[tuple[int, Tensor]], k: int = 4) -> list[tuple[int, Tensor]]:
    """``k`` snapshots spread evenly over training: always the first and the last.

    Args:
        samples: ``History.samples``, a list of ``(step, images)`` in step order.
        k: how many to keep (>= 2); all of them when there are at most ``k``.
    """
    if not isinstance(k, int) or isinstance(k, bool) or k < 2:
        raise ValueError(f"k={k!r}: pick at least 2 snapshots (the first and the last)")
    if len(samples) <= k:
        return list(samples)
    idx = sorted({round(i * (len(samples) - 1) / (k - 1)) for i in range(k)})
    return [samples[i] for i in idx]


def show_snapshots(history: Any, k: int = 4, size: float = 3.2, nrow: int | None = None) -> Any:
    """The fixed-noise sample grids of a run at ``k`` steps spread over training, side by side.

    Args:
        history: a ``ganlab.train.History`` (or anything with ``.samples``: ``[(step, uint8
            (n, C, H, W))]``).
        k: snapshots to show, first and last included.

    Returns the figure; ``ValueError`` when the run kept no samples.
    """
    samples = getattr(history, "samples", None)
    if not samples:
        raise ValueError("the history holds no sample grids (was sample_every 0 and the run not finished?)")
    return show_grids({f"step {step}": grid for step, grid in pick_snapshots(samples, k)},
                      size=size, nrow=nrow)


def scatter_2d(points: Tensor, means: Tensor | None = None, ax: Any = None, title: str | None = None,
               lim: float | None = None) -> Any:
    """Scatter ``(N, 2)`` samples over the mixture's mode centres (red crosses)."""
    import matplotlib.pyplot as plt

    if points.dim() != 2 or points.shape[1] != 2:
        raise ValueError(f"expected points of shape (N, 2), got {tuple(points.shape)}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(3.5, 3.5))
    else:
        fig = ax.figure
    p = points.detach().float().cpu()
    ax.scatter(p[:, 0], p[:, 1], s=2, alpha=0.4)
    if means is not None:
        m = means.cpu()
        ax.scatter(m[:, 0], m[:, 1], marker="x", c="red", s=30)
    if lim is not None:
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return fig
