"""MiFID: memorisation-informed FID (Kaggle "Generative Dog Images"; torchmetrics'
``MemorizationInformedFrechetInceptionDistance``).

    MiFID = FID(real, fake) / d_thr,   d = mean over generated features f of
            min over training features t of (1 - |cos(f, t)|),
    d_thr = d if d < eps else 1        (eps = 0.1)

so a generator whose samples lie (in feature space) on top of training images is penalised by
up to 1 / d; a FID <= 1e-8 gives 0 (as torchmetrics does). Feature rows that sum to 0 are left
out of the distance (as both reference implementations do). The memorisation reference is the
*training* set; the FID reference is whatever ``real`` is (the Evaluator's split).

Calibration: eps = 0.1 was set for Inception pool features. On ``mnist_cnn`` features (128-d,
ReLU, so non-negative and close in cosine) real *test* digits of mnist5k are at a mean minimum
distance of 0.024 from 1000 train digits, and uniform noise at 0.028: the penalty fires (x ~40)
for data that memorises nothing. Compare against that real-test baseline (or pass a smaller
``eps``) before reading a domain MiFID as memorisation.

Direction: Kaggle takes, for every generated feature, its nearest training feature (what this
module does). torchmetrics 1.x computes the distance with the roles swapped (for every *real*
feature its nearest generated one); the test feeds torchmetrics generated images as "real" and
training images as "fake" to get Kaggle's direction (FID is symmetric).
"""

from __future__ import annotations

from ._checks import FeatureLike, as_features, check_same_dim
from .frechet import feature_statistics, frechet_distance_from_stats

__all__ = ["MIFID_EPS", "min_cosine_distance", "memorization_distance", "memorization_informed_fid",
           "mifid_from_fid"]

MIFID_EPS = 0.1


def _check_eps(eps: float) -> float:
    if not isinstance(eps, (int, float)) or isinstance(eps, bool) or not 0 < eps <= 1:
        raise ValueError(f"MiFID cosine-distance threshold eps must be in (0, 1] (Kaggle 0.1); got {eps!r}")
    return float(eps)


def min_cosine_distance(fake: FeatureLike, train: FeatureLike) -> float:
    """Mean over generated features of the cosine distance ``1 - |cos|`` to the nearest training
    feature (unthresholded; rows summing to 0 left out). Small: samples sit on training images.

    Args:
        fake: generated features ``(N, d)``.
        train: training features ``(M, d)``.
    """
    f = as_features(fake, "fake features")
    t = as_features(train, "train features")
    check_same_dim(f, t, "fake", "train")
    f, t = f[f.sum(dim=1) != 0], t[t.sum(dim=1) != 0]
    if len(f) == 0 or len(t) == 0:
        raise ValueError("MiFID: every fake or every train feature row sums to 0; no cosine distance")
    f = f / f.norm(dim=1, keepdim=True)
    t = t / t.norm(dim=1, keepdim=True)
    return float((1.0 - (f @ t.T).abs()).min(dim=1).values.mean())


def memorization_distance(fake: FeatureLike, train: FeatureLike, eps: float = MIFID_EPS) -> float:
    """Thresholded mean minimum cosine distance from each generated feature to the training set.

    Args:
        fake: generated features ``(N, d)``.
        train: training features ``(M, d)``.
        eps: threshold: the mean distance when below it, else 1 (no penalty).

    Returns:
        ``d`` in ``(0, eps)`` (memorising) or ``1.0``.
    """
    eps = _check_eps(eps)
    d = min_cosine_distance(fake, train)
    return d if d < eps else 1.0


def mifid_from_fid(fid: float, distance: float) -> float:
    """MiFID from a FID and a :func:`memorization_distance` (0 when FID <= 1e-8)."""
    return fid / (distance + 1e-14) if fid > 1e-8 else 0.0


def memorization_informed_fid(real: FeatureLike, fake: FeatureLike, train: FeatureLike | None = None,
                              eps: float = MIFID_EPS) -> float:
    """MiFID of generated features ``fake`` ``(N, d)`` against ``real`` ``(M, d)``.

    Args:
        real: FID reference features.
        fake: generated features.
        train: memorisation reference (the training set's features); default ``real``.
        eps: cosine-distance threshold (Kaggle 0.1).
    """
    r = as_features(real, "real features", min_rows=2)
    f = as_features(fake, "fake features", min_rows=2)
    check_same_dim(r, f)
    fid = frechet_distance_from_stats(*feature_statistics(r), *feature_statistics(f))
    return mifid_from_fid(fid, memorization_distance(f, r if train is None else train, eps))


