"""Input checks shared by the metric functions: feature matrices in, float64 tensors out."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["as_features", "check_same_dim", "check_k"]

FeatureLike = Any  # numpy array or torch tensor of shape (N, d)


def as_features(x: FeatureLike, what: str = "features", min_rows: int = 1) -> torch.Tensor:
    """Validate a feature matrix and return it as a CPU ``float64`` tensor of shape ``(N, d)``.

    Args:
        x: numpy array or tensor of shape ``(N, d)``, any real dtype, finite values.
        what: name used in error messages (e.g. ``"real features"``).
        min_rows: the smallest N accepted.

    Raises:
        ValueError: not 2-D, fewer than ``min_rows`` rows, zero columns, or NaN/inf values.
    """
    if isinstance(x, torch.Tensor):
        t = x.detach().to("cpu")
    elif isinstance(x, (np.ndarray, list, tuple)):
        t = torch.as_tensor(np.asarray(x))
    else:
        raise ValueError(
            f"{what}: expected a numpy array or torch tensor of shape (N, d), got {type(x).__name__}"
        )
    if t.is_complex() or t.dtype == torch.bool:
        raise ValueError(f"{what}: expected real numbers, got dtype {t.dtype}")
    if t.dim() != 2:
        raise ValueError(
            f"{what}: expected shape (N, d), got {tuple(t.shape)}; "
            "flatten images with an extractor first (ganlab.metrics.get_extractor)"
        )
    n, d = t.shape
    if d == 0:
        raise ValueError(f"{what}: expected at least one feature column, got shape {tuple(t.shape)}")
    if n < min_rows:
        raise ValueError(f"{what}: needs at least {min_rows} rows (samples), got {n}")
    t = t.to(torch.float64)
    if not torch.isfinite(t).all():
        bad = int((~torch.isfinite(t)).any(dim=1).sum())
        raise ValueError(f"{what}: {bad} of {n} rows contain NaN or inf; features must be finite")
    return t


def check_same_dim(a: torch.Tensor, b: torch.Tensor, what_a: str = "real", what_b: str = "fake") -> None:
    """Raise ``ValueError`` unless both feature matrices have the same number of columns."""
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{what_a} features have dimension {a.shape[1]} but {what_b} features have "
            f"{b.shape[1]}; both must come from the same extractor"
        )


def check_k(k: int, n: int, what: str) -> int:
    """Check a neighbour count: ``1 <= k < n`` (each sample needs k other samples)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if k >= n:
        raise ValueError(
            f"k={k} nearest neighbours need at least k+1={k + 1} {what} samples, got {n}"
        )
    return int(k)
