"""Classes of generated samples: the predicted-class histogram (mode collapse at a glance), the
class-conditional grid, and the confusion of requested vs recognised class."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ganlab.data.transforms import to_float

__all__ = ["class_counts", "predict_classes", "plot_class_histogram", "class_conditional_grid", "plot_confusion"]


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
    labels = predict_classes(extractor, images, batch_size)
    return torch.bincount(labels, minlength=int(extractor.n_classes))


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


def predict_classes(extractor: Any, images: Tensor, batch_size: int = 500) -> Tensor:
    """The classifier's class for each of ``images`` (float [-1, 1] or uint8): int64 ``(N,)`` on the CPU.

    Raises:
        ValueError: the extractor is not a classifier, or ``images`` is not ``(N, C, H, W)``.
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
    with torch.no_grad():
        for chunk in images.split(batch_size):
            chunk = chunk.to(device)
            if chunk.dtype == torch.uint8:  # stored grids: [0, 255] -> the extractor's [-1, 1]
                chunk = to_float(chunk)
            labels.append(extractor.predict(chunk.float()).cpu())
    return torch.cat(labels)


def class_conditional_grid(model: Any, n_cols: int = 8, seed: int = 0) -> Tensor:
    """Samples of a class-conditional family: one row per class, the same z down each column.

    So a row shows one class in ``n_cols`` styles, and a column one style (stroke width, slant,
    colour...) across every class.

    Args:
        model: a family with ``n_classes`` and ``sample(inputs=...)`` (e.g. ``ConditionalGAN``).
        n_cols: samples per class.
        seed: seeds the ``n_cols`` latent codes.

    Returns:
        float images ``(n_classes * n_cols, C, H, W)`` in [-1, 1], row-major (class 0 first).

    Raises:
        ValueError: the model is not class-conditional, or ``n_cols`` < 1.
    """
    k = getattr(model, "n_classes", None)
    if not isinstance(k, int):
        raise ValueError(f"{type(model).__name__} is not class-conditional (no n_classes)")
    if isinstance(n_cols, bool) or not isinstance(n_cols, int) or n_cols < 1:
        raise ValueError(f"n_cols must be a positive int, got {n_cols!r}")
    G = model.sampling_generator()
    device = next(G.parameters()).device
    z = model.latent(n_cols, device, torch.Generator(device=device).manual_seed(seed))
    inputs = {"z": z.repeat(k, 1), "y": torch.arange(k, device=device).repeat_interleave(n_cols)}
    return model.sample(inputs=inputs)


def plot_confusion(matrix: Any, classes: Any = None, ax: Any = None, title: str | None = None) -> Any:
    """Heat map of a confusion matrix (rows: requested class, columns: recognised class), rows as shares.

    Args:
        matrix: ``(K, K)`` counts, e.g. from ``sklearn.metrics.confusion_matrix(requested, predicted)``.
        classes: K class names for the ticks (default 0..K-1).
    Returns:
        the matplotlib Axes.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"a confusion matrix must be square (K, K), got shape {m.shape}")
    share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    names = [str(c) for c in (classes if classes is not None else range(len(m)))]
    if ax is None:
        _, ax = plt.subplots(figsize=(0.5 * len(m) + 2, 0.5 * len(m) + 1.5))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(m)):
        for j in range(len(m)):
            if share[i, j] >= 0.005:
                ax.text(j, i, f"{share[i, j]:.2f}".lstrip("0"), ha="center", va="center", fontsize=7,
                        color="white" if share[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(m)), names, rotation=45 if max(map(len, names)) > 2 else 0)
    ax.set_yticks(range(len(m)), names)
    ax.set(xlabel="recognised class", ylabel="requested class",
           title=title or f"accuracy {np.trace(m) / max(m.sum(), 1):.3f}")
    return ax
