"""Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD² with a polynomial kernel.

    k(x, y) = (gamma * x·y + coef0) ** degree,  gamma = 1/d by default

averaged over ``subsets`` random subsets of ``subset_size`` rows drawn without replacement
from each set. The per-subset estimator is torchmetrics' ``maximum_mean_discrepancy`` (the
unbiased estimator of the KID paper); this module draws reproducible subsets (a seeded
``torch.Generator``) and, when the full kernel matrices fit in memory, evaluates the same
estimator for all subsets at once from them (indicator vectors instead of gathered
submatrices; validated against an independent numpy implementation). Everything is float64.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from ._checks import FeatureLike, as_features, check_same_dim

__all__ = ["kernel_inception_distance", "kid_subset_indices", "polynomial_kernel"]

# Above this many kernel entries ((N_real + N_fake)²) the kernels are computed per subset.
_FULL_KERNEL_MAX_ENTRIES = 1 << 25  # 256 MB of float64 kernels


def polynomial_kernel(
    a: torch.Tensor, b: torch.Tensor, degree: int = 3, gamma: float | None = None, coef0: float = 1.0
) -> torch.Tensor:
    """Kernel matrix ``(gamma * a @ b.T + coef0) ** degree`` of shape ``(len(a), len(b))``
    (torchmetrics' ``poly_kernel``; gamma = 1/d when None)."""
    from torchmetrics.image.kid import poly_kernel  # on use: torchmetrics is slow to import

    return poly_kernel(a, b, degree=degree, gamma=gamma, coef=coef0)


def kid_subset_indices(
    n_real: int, n_fake: int, subsets: int, subset_size: int, seed: int = 0
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The row indices used by :func:`kernel_inception_distance`.

    For each subset, in order: ``randperm(n_real)[:subset_size]`` then
    ``randperm(n_fake)[:subset_size]`` from one ``torch.Generator`` seeded with ``seed``.
    """
    gen = torch.Generator().manual_seed(int(seed))
    out = []
    for _ in range(subsets):
        ir = torch.randperm(n_real, generator=gen)[:subset_size]
        if_ = torch.randperm(n_fake, generator=gen)[:subset_size]
        out.append((ir, if_))
    return out


def _subset_mmd_from_full_kernels(
    r: torch.Tensor,
    f: torch.Tensor,
    draws: list[tuple[torch.Tensor, torch.Tensor]],
    m: int,
    kern: dict[str, Any],
) -> torch.Tensor:
    """Per-subset unbiased MMD² from the full kernel matrices, all subsets at once.

    With 0/1 indicator rows ``W`` (one per subset), the sum of a kernel over a subset's
    block is ``w^T K w``: no m x m submatrix is gathered. Same estimator as
    ``maximum_mean_discrepancy``: off-diagonal means of K_rr and K_ff minus twice the mean of K_rf.
    """
    k_rr = polynomial_kernel(r, r, **kern)
    k_ff = polynomial_kernel(f, f, **kern)
    k_rf = polynomial_kernel(r, f, **kern)
    s = len(draws)
    w_r = torch.zeros(s, len(r), dtype=torch.float64)
    w_f = torch.zeros(s, len(f), dtype=torch.float64)
    for i, (ir, if_) in enumerate(draws):
        w_r[i, ir] = 1.0
        w_f[i, if_] = 1.0
    sum_rr = ((w_r @ k_rr) * w_r).sum(1) - w_r @ torch.diagonal(k_rr)
    sum_ff = ((w_f @ k_ff) * w_f).sum(1) - w_f @ torch.diagonal(k_ff)
    sum_rf = ((w_r @ k_rf) * w_f).sum(1)
    return (sum_rr + sum_ff) / (m * (m - 1)) - 2 * sum_rf / (m * m)


def kernel_inception_distance(
    real: FeatureLike,
    fake: FeatureLike,
    subsets: int = 100,
    subset_size: int = 1000,
    degree: int = 3,
    gamma: float | None = None,
    coef0: float = 1.0,
    seed: int = 0,
) -> tuple[float, float]:
    """KID between feature sets ``real`` ``(N1, d)`` and ``fake`` ``(N2, d)``.

    Args:
        subsets: number of random subsets averaged.
        subset_size: rows per subset; clipped (with a warning) to ``min(N1, N2)``; >= 2.
        degree, gamma, coef0: polynomial kernel ``(gamma x·y + coef0)^degree``; gamma 1/d if None.
        seed: seeds the subset draws (same seed, same subsets: see :func:`kid_subset_indices`).

    Returns:
        ``(mean, std)`` of the per-subset unbiased MMD² estimates (std with ddof=0, as in
        torchmetrics and torch-fidelity). The mean can be slightly negative for matching sets.
    """
    r = as_features(real, "real features", min_rows=2)
    f = as_features(fake, "fake features", min_rows=2)
    check_same_dim(r, f)
    if subsets < 1:
        raise ValueError(f"subsets must be >= 1, got {subsets}")
    if subset_size < 2:
        raise ValueError(f"subset_size must be >= 2, got {subset_size}")
    n_min = min(len(r), len(f))
    if subset_size > n_min:
        warnings.warn(
            f"KID subset_size={subset_size} is larger than the smaller set "
            f"(real {len(r)}, fake {len(f)}); using subset_size={n_min}",
            stacklevel=2,
        )
        subset_size = n_min
    kern = dict(degree=degree, gamma=gamma, coef0=coef0)
    from torchmetrics.image.kid import maximum_mean_discrepancy

    if subset_size == len(r) == len(f):
        # Every subset is a permutation of the full sets and the estimator is permutation
        # invariant: all subsets give the same value.
        value = maximum_mean_discrepancy(
            polynomial_kernel(r, r, **kern), polynomial_kernel(r, f, **kern), polynomial_kernel(f, f, **kern)
        )
        return float(value), 0.0

    draws = kid_subset_indices(len(r), len(f), subsets, subset_size, seed)
    if (len(r) + len(f)) ** 2 <= _FULL_KERNEL_MAX_ENTRIES:
        scores = _subset_mmd_from_full_kernels(r, f, draws, subset_size, kern)
    else:
        scores = torch.empty(subsets, dtype=torch.float64)
        for i, (ir, if_) in enumerate(draws):
            a, b = r[ir], f[if_]
            scores[i] = maximum_mean_discrepancy(
                polynomial_kernel(a, a, **kern), polynomial_kernel(a, b, **kern), polynomial_kernel(b, b, **kern)
            )
    return float(scores.mean()), float(scores.std(unbiased=False))
