"""The predicted-class histogram of generated samples: mode collapse at a glance."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ganlab.data.transforms import to_float

__all__ = ["class_counts", "plot_class_histogram"]


def class_counts(extractor: Any, images: Tensor, batch_size: int = 500) -> Tensor:
    """How many of ``images`` the classifier assigns to each class.

    Args:
        extractor: a ``ganlab.metrics`` feature extractor that classifies (``n_classes`` set,
            e.g. ``mnist_cnn``, ``shapes_cnn``).
        images: ``(N, C, H, W)`` float in [-1, 1] (generator output) or uint8 in [0, 255].
        batch_size: images per forward pass.

    Returns:
        ``(n_classes,)`` int64 counts summing to N.
    """
    n_classes = getattr(extractor, "n_classes", None)
    if not n_classes:
        name = getattr(extractor, "name", type(extractor).__name__)
        raise ValueError(f"extractor {name!r} is not a classifier (n_classes={n_classes!r}); "
                         "accepted: one with classes, e.g. 'mnist_cnn' or 'shapes_cnn'")
    if not isinstance(images, Tensor) or images.ndim != 4:
        raise ValueError(f"images must be a (N, C, H, W) tensor, got "
                         f"{tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__}")
    device = next(extractor.parameters()).device if hasattr(extractor, "parameters") else "cpu"
    labels = []
    for chunk in images.split(batch_size):
        chunk = chunk.to(device)
        if chunk.dtype == torch.uint8:  # stored grids: [0, 255] -> the extractor's [-1, 1]
            chunk = to_float(chunk)
        labels.append(extractor.predict(chunk.float()).cpu())
    return torch.bincount(torch.cat(labels), minlength=n_classes)


def plot_class_histogram(extractor: Any, images: Tensor, ax: Any = None,
                         title: str | None = None) -> Tensor:
    """Bar chart of :func:`class_counts` with the uniform level dashed; returns the counts.

    A model that covers every class evenly has bars near the dashed line; a collapsed one
    has a few tall bars and empty classes.
    """
    import matplotlib.pyplot as plt

    counts = class_counts(extractor, images)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 2.6))
    ax.bar(range(len(counts)), counts.tolist())
    ax.axhline(len(images) / len(counts), ls="--", color="gray", lw=0.8, label="uniform")
    ax.set_xticks(range(len(counts)))
    ax.set(xlabel=f"predicted class ({getattr(extractor, 'name', 'classifier')})", ylabel="samples",
           title=title or f"{int((counts > 0).sum())} of {len(counts)} classes present")
    ax.legend()
    return counts
