"""Fréchet distance between Gaussians fitted to two feature sets (FID when features are Inception's).

    d² = ||mu1 - mu2||² + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^{1/2})

The trace of the matrix square root is computed from the eigenvalues of the symmetric
positive semi-definite matrix ``R S2 R`` with ``R = S1^{1/2}`` (it has the same eigenvalues as
``S1 S2``). Unlike ``scipy.linalg.sqrtm(S1 @ S2)`` this needs no epsilon offset when the
covariances are rank-deficient (N < d, dead feature units) and cannot produce complex
values; tiny negative eigenvalues from rounding are clipped to zero, and so is the final
result. Everything is float64. Tests check agreement with ``pytorch_fid`` and scipy to 1e-6.
"""

from __future__ import annotations

import numpy as np
import torch

from ._checks import FeatureLike, as_features, check_same_dim

__all__ = ["feature_statistics", "frechet_distance", "frechet_distance_from_stats"]


def feature_statistics(features: FeatureLike) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean ``(d,)`` and unbiased covariance ``(d, d)`` (float64) of features ``(N, d)``, N >= 2.

    Same convention as ``numpy.cov(features, rowvar=False)`` (divides by N - 1).
    """
    x = as_features(features, "features", min_rows=2)
    mu = x.mean(dim=0)
    xc = x - mu
    sigma = xc.T @ xc / (x.shape[0] - 1)
    return mu, sigma


def _as_stat(a: FeatureLike, ndim: int, what: str) -> torch.Tensor:
    t = a.detach().to("cpu") if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a))
    t = t.to(torch.float64)
    if t.dim() != ndim:
        raise ValueError(f"{what}: expected a {ndim}-D array, got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{what}: contains NaN or inf")
    return t


def _sqrt_psd(s: torch.Tensor) -> torch.Tensor:
    """Symmetric square root of a PSD matrix (negative rounding eigenvalues clipped to 0)."""
    w, v = torch.linalg.eigh((s + s.T) / 2)
    return (v * w.clamp_min(0).sqrt()) @ v.T


def trace_sqrt_product(sigma1: torch.Tensor, sigma2: torch.Tensor) -> torch.Tensor:
    """``Tr((S1 S2)^{1/2})`` for PSD ``S1, S2`` (float64 scalar tensor)."""
    r = _sqrt_psd(sigma1)
    m = r @ sigma2 @ r
    eig = torch.linalg.eigvalsh((m + m.T) / 2)
    return eig.clamp_min(0).sqrt().sum()


def frechet_distance_from_stats(
    mu1: FeatureLike, sigma1: FeatureLike, mu2: FeatureLike, sigma2: FeatureLike
) -> float:
    """Fréchet distance between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``.

    Args:
        mu1, mu2: means, shape ``(d,)``.
        sigma1, sigma2: covariances, shape ``(d, d)``, symmetric positive semi-definite.

    Returns:
        The squared Fréchet distance (what papers call FID), a float >= 0.

    Raises:
        ValueError: shapes disagree or values are not finite.
    """
    m1, m2 = _as_stat(mu1, 1, "mu1"), _as_stat(mu2, 1, "mu2")
    s1, s2 = _as_stat(sigma1, 2, "sigma1"), _as_stat(sigma2, 2, "sigma2")
    d = m1.shape[0]
    if m2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(
            f"statistics do not fit together: mu1 {tuple(m1.shape)}, sigma1 {tuple(s1.shape)}, "
            f"mu2 {tuple(m2.shape)}, sigma2 {tuple(s2.shape)}; expected (d,), (d, d) for one d"
        )
    diff = m1 - m2
    value = diff @ diff + torch.trace(s1) + torch.trace(s2) - 2 * trace_sqrt_product(s1, s2)
    return max(float(value), 0.0)


def frechet_distance(real: FeatureLike, fake: FeatureLike) -> float:
    """Fréchet distance between Gaussians fitted to ``real`` ``(N1, d)`` and ``fake`` ``(N2, d)``.

    Works for N < d (rank-deficient covariances) and for identical sets (returns ~0).
    Both sets need at least 2 rows.
    """
    r = as_features(real, "real features", min_rows=2)
    f = as_features(fake, "fake features", min_rows=2)
    check_same_dim(r, f)
    mu1, s1 = feature_statistics(r)
    mu2, s2 = feature_statistics(f)
    return frechet_distance_from_stats(mu1, s1, mu2, s2)
