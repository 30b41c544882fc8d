"""Mode coverage: how many modes of a known mixture (2-D toys) or classes (images) a generator hits.

2-D Gaussian mixtures (``ring8``, ``grid25``) follow the protocol of VEEGAN (Srivastava et al.
2017) as implemented in the PacGAN code (Lin et al. 2018, ``MetricLogger`` in
``fjxmlzn/PacGAN``):

1. each sample is assigned to the mode whose mean is nearest in units of that mode's standard
   deviation, ``||x - mu_k|| / std_k``;
2. a sample is *high quality* when that normalised distance is below 3 (three standard
   deviations);
3. a mode is *captured* when at least one high-quality sample is assigned to it;
4. the *reverse KL* is ``KL(q || p)`` between ``q``, the histogram of high-quality samples over
   modes (normalised), and ``p``, the uniform distribution over the K modes of the data
   (``sum_k q_k log(q_k K)``, 0 log 0 = 0). It is 0 for perfectly balanced modes and
   ``log K`` when every high-quality sample falls into one mode; ``inf`` when no sample is
   high quality.

Note that even samples drawn from the data itself are high quality only with probability
``P(chi_2 < 3) = 1 - exp(-9/2) = 98.9 %`` under this (Euclidean, 2-D) definition.

Images with a classifier follow the Stacked-MNIST protocol (Metz et al. 2017; VEEGAN;
PacGAN): classes covered = classes predicted for at least one sample; ``KL(q || uniform)`` of
the predicted-class histogram ``q``.
"""

from __future__ import annotations

import math

import torch

from ._checks import FeatureLike, as_features

__all__ = ["mode_coverage_2d", "class_coverage", "kl_to_uniform"]


def kl_to_uniform(counts: torch.Tensor) -> float:
    """``KL(q || uniform)`` of a histogram ``counts`` ``(K,)``; ``inf`` if all counts are zero."""
    c = counts.to(torch.float64)
    total = c.sum()
    if total <= 0:
        return math.inf
    q = c / total
    k = c.numel()
    return float(torch.xlogy(q, q * k).sum().clamp_min(0.0))


def mode_coverage_2d(
    samples: FeatureLike,
    means: FeatureLike,
    std: float | FeatureLike,
    threshold: float = 3.0,
) -> dict[str, float | int | list[int]]:
    """Modes captured, share of high-quality samples and reverse KL (PacGAN protocol).

    Args:
        samples: generated points ``(N, 2)`` (any dimension d works).
        means: mode centres ``(K, d)`` (``ds.info.mode_means``).
        std: standard deviation of every mode (float) or per mode ``(K,)`` (``ds.info.mode_std``).
        threshold: high-quality radius in standard deviations (3 in the papers).

    Returns:
        ``{"modes": int, "high_quality": float in [0, 1], "reverse_kl": float >= 0,
        "counts": list of K ints}`` (``counts`` = high-quality samples per mode).
    """
    x = as_features(samples, "samples")
    mu = as_features(means, "means")
    if x.shape[1] != mu.shape[1]:
        raise ValueError(f"samples have dimension {x.shape[1]} but means have {mu.shape[1]}")
    s = torch.as_tensor(std, dtype=torch.float64).flatten()
    if s.numel() not in (1, len(mu)):
        raise ValueError(f"std must be a float or have one value per mode ({len(mu)}), got {s.numel()}")
    if not torch.isfinite(s).all() or (s <= 0).any():
        raise ValueError(f"std must be positive and finite, got {s.tolist()}")
    if threshold <= 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    dist = torch.cdist(x, mu) / s[None, :]  # (N, K), in standard deviations
    nearest_d, nearest = dist.min(dim=1)
    good = nearest_d < threshold
    counts = torch.bincount(nearest[good], minlength=len(mu))
    return {
        "modes": int((counts > 0).sum()),
        "high_quality": float(good.double().mean()),
        "reverse_kl": kl_to_uniform(counts),
        "counts": counts.tolist(),
    }


def class_coverage(labels_pred: FeatureLike, n_classes: int) -> dict[str, float | int | list[int]]:
    """Classes covered and KL to uniform of predicted labels (Stacked-MNIST protocol).

    Args:
        labels_pred: predicted class per sample, integers ``(N,)`` in ``[0, n_classes)``.
        n_classes: number of classes of the data (assumed uniformly distributed).

    Returns:
        ``{"classes_covered": int, "class_kl": float >= 0, "counts": list of n_classes ints}``.
    """
    if n_classes < 1:
        raise ValueError(f"n_classes must be >= 1, got {n_classes}")
    lab = labels_pred.detach().cpu() if isinstance(labels_pred, torch.Tensor) else torch.as_tensor(labels_pred)
    if lab.dim() != 1 or lab.numel() == 0:
        raise ValueError(f"labels_pred: expected a non-empty 1-D array, got shape {tuple(lab.shape)}")
    if lab.is_floating_point() or lab.is_complex() or lab.dtype == torch.bool:
        raise ValueError(f"labels_pred: expected integer class indices, got dtype {lab.dtype}")
    lab = lab.long()
    if lab.min() < 0 or lab.max() >= n_classes:
        raise ValueError(
            f"labels_pred: values must be in [0, {n_classes}), got range "
            f"[{int(lab.min())}, {int(lab.max())}]"
        )
    counts = torch.bincount(lab, minlength=n_classes)
    return {
        "classes_covered": int((counts > 0).sum()),
        "class_kl": kl_to_uniform(counts),
        "counts": counts.tolist(),
    }
