"""Interpolation strips: a row of generated images from one code to another, endpoints marked.

The layout follows the DCGAN LSUN-bedroom report (section 3.1.1): the two endpoint images and
the 8 interpolants between them in one row. :func:`compare_strips` stacks several such rows
(e.g. lerp above slerp) with the same columns so they can be compared image by image.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from ganlab.viz.export import image_sequence

__all__ = ["interpolation_strip", "compare_strips", "default_labels"]

_ENDPOINT_COLOR = "tab:orange"


def default_labels(n: int) -> list[str]:
    """Column labels for ``n`` evenly spaced positions: ``z0``, ``t=0.11``, ..., ``z1``."""
    if n < 2:
        return ["z0"][:n]
    ts = np.linspace(0.0, 1.0, n)
    return ["z0 (t=0)"] + [f"t={t:.2f}" for t in ts[1:-1]] + ["z1 (t=1)"]


def _as_strip(images: torch.Tensor | np.ndarray) -> np.ndarray:
    return image_sequence(images, "a strip's images")


def _draw(ax, arr: np.ndarray, labels: Sequence[str] | None, mark_endpoints: bool, gap: int) -> None:
    import matplotlib.patches as patches

    n, h, w, c = arr.shape
    if labels is None:
        labels = default_labels(n)
    if len(labels) != n:
        raise ValueError(f"got {len(labels)} labels for {n} images; give one label per image")
    width = n * w + (n - 1) * gap
    canvas = np.full((h, width, c), 255, dtype=np.uint8)
    for i in range(n):
        canvas[:, i * (w + gap) : i * (w + gap) + w] = arr[i]
    if c == 1:
        ax.imshow(canvas[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    else:
        ax.imshow(canvas[..., :3] if c == 4 else canvas, interpolation="nearest")
    centres = [i * (w + gap) + (w - 1) / 2 for i in range(n)]
    ax.set_xticks(centres)
    ax.set_xticklabels(list(labels), fontsize=8)
    ax.set_yticks([])
    ax.tick_params(axis="x", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if mark_endpoints and n >= 2:
        for i in (0, n - 1):
            x0 = i * (w + gap) - 0.5
            ax.add_patch(
                patches.Rectangle(
                    (x0, -0.5), w, h, fill=False, edgecolor=_ENDPOINT_COLOR, linewidth=2.5
                )
            )
        for i in (0, n - 1):
            ax.get_xticklabels()[i].set_color(_ENDPOINT_COLOR)
            ax.get_xticklabels()[i].set_fontweight("bold")


def interpolation_strip(
    images: torch.Tensor | np.ndarray,
    ax=None,
    labels: Sequence[str] | None = None,
    *,
    title: str | None = None,
    mark_endpoints: bool = True,
    gap: int = 2,
):
    """Draw one interpolation strip with matplotlib.

    Args:
        images: ``(T, C, H, W)`` float in ``[-1, 1]`` or ``(T, H, W, C)`` uint8; column 0 and
            column T-1 are the endpoints (10 columns for the report layout).
        ax: axes to draw into; ``None`` creates a figure sized for the strip.
        labels: one label per column (default: ``z0 (t=0)``, ``t=0.11``, ..., ``z1 (t=1)``).
        title: optional axes title.
        mark_endpoints: frame the two endpoint images in orange.
        gap: white pixels between images.

    Returns:
        The matplotlib ``Figure`` containing the strip.

    Raises:
        ValueError: malformed images or a label count that does not match.
    """
    import matplotlib.pyplot as plt

    arr = _as_strip(images)
    if ax is None:
        n = arr.shape[0]
        fig, ax = plt.subplots(figsize=(max(4.0, 1.15 * n), 1.7), layout="constrained")
    else:
        fig = ax.figure
    _draw(ax, arr, labels, mark_endpoints, gap)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def compare_strips(
    strips: Mapping[str, torch.Tensor | np.ndarray],
    labels: Sequence[str] | None = None,
    *,
    title: str | None = None,
    mark_endpoints: bool = True,
):
    """Several strips with the same columns, one row each, named on the left.

    Args:
        strips: row name -> images (as for :func:`interpolation_strip`), e.g.
            ``{"lerp": G(lerp codes), "slerp": G(slerp codes)}``; every row must have the same
            number of images.
        labels: column labels (default as in :func:`interpolation_strip`), shown under the last row.
        title: optional figure title.
        mark_endpoints: frame the endpoint images.

    Returns:
        The matplotlib ``Figure``.

    Raises:
        ValueError: no strips, or strips of different lengths.
    """
    import matplotlib.pyplot as plt

    if not strips:
        raise ValueError("compare_strips needs at least one strip, got an empty mapping")
    arrays = {name: _as_strip(imgs) for name, imgs in strips.items()}
    lengths = {name: a.shape[0] for name, a in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"all strips must have the same number of images, got {lengths}")
    n = next(iter(lengths.values()))
    rows = len(arrays)
    fig, axes = plt.subplots(
        rows, 1, figsize=(max(4.0, 1.15 * n), 1.3 * rows + 0.2), layout="constrained", squeeze=False
    )
    for r, (ax, (name, arr)) in enumerate(zip(axes[:, 0], arrays.items())):
        _draw(ax, arr, labels, mark_endpoints, gap=2)
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=11)
        if r < rows - 1:
            ax.tick_params(labelbottom=False)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
