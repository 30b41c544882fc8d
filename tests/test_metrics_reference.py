"""ganlab.metrics feature-level metrics validated against reference implementations.

References: pytorch-fid and scipy (FID), an independent numpy KID with the same subset draws,
torch-fidelity (IS), prdc (precision/recall/density/coverage). All offline and fast.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from ganlab.metrics import (
    class_coverage,
    density_coverage,
    frechet_distance,
    frechet_distance_from_stats,
    inception_score,
    kernel_inception_distance,
    kid_subset_indices,
    knn_radii,
    manifold_metrics,
    mode_coverage_2d,
    precision_recall,
)

pytorch_fid = pytest.importorskip("pytorch_fid.fid_score")
prdc = pytest.importorskip("prdc")

pytestmark = pytest.mark.filterwarnings("ignore:The `disp` argument:DeprecationWarning")


def _stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x.mean(axis=0), np.cov(x, rowvar=False)


def _scipy_fid(mu1, s1, mu2, s2) -> float:
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = np.real(covmean)
    d = mu1 - mu2
    return float(d @ d + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


# ---------------------------------------------------------------- FID


@pytest.mark.parametrize("d", [8, 64])
def test_fid_matches_pytorch_fid_and_scipy(d: int) -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, d))
    b = rng.normal(size=(400, d)) @ rng.normal(size=(d, d)) * 0.3 + 0.5
    ours = frechet_distance(a, b)
    ref = float(pytorch_fid.calculate_frechet_distance(*_stats(a), *_stats(b)))
    ref_scipy = _scipy_fid(*_stats(a), *_stats(b))
    assert ours == pytest.approx(ref, rel=1e-6)
    assert ours == pytest.approx(ref_scipy, rel=1e-6)
    # torchmetrics' (private) FID formula on the same statistics
    from torchmetrics.image.fid import _compute_fid

    stats = [torch.from_numpy(v) for v in (*_stats(a), *_stats(b))]
    assert ours == pytest.approx(float(_compute_fid(*stats)), rel=1e-6)
    # torch tensors (float32) give the same number as numpy float64
    assert frechet_distance(torch.tensor(a), torch.tensor(b)) == pytest.approx(ours, rel=1e-12)


def test_fid_identical_sets_is_zero() -> None:
    a = np.random.default_rng(1).normal(size=(300, 32)) * 5
    assert abs(frechet_distance(a, a)) < 1e-6
    assert frechet_distance(a, a) >= 0


def test_fid_closed_form_shifted_means_from_stats() -> None:
    d = 16
    mu1, mu2 = np.zeros(d), np.full(d, 0.5)
    assert frechet_distance_from_stats(mu1, np.eye(d), mu2, np.eye(d)) == pytest.approx(
        float(((mu1 - mu2) ** 2).sum()), rel=1e-12
    )


def test_fid_closed_form_diagonal_covariances() -> None:
    rng = np.random.default_rng(2)
    d = 10
    s1, s2 = rng.uniform(0.1, 3, d), rng.uniform(0.1, 3, d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    expected = ((mu1 - mu2) ** 2).sum() + (s1 + s2 - 2 * np.sqrt(s1 * s2)).sum()
    assert frechet_distance_from_stats(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected, rel=1e-10)


def test_fid_large_sample_gaussians_approach_closed_form() -> None:
    g = torch.Generator().manual_seed(0)
    a = torch.randn(20000, 4, generator=g)
    b = torch.randn(20000, 4, generator=g) + torch.tensor([1.0, 0, 0, 0])
    assert frechet_distance(a, b) == pytest.approx(1.0, abs=0.03)


def test_fid_fewer_samples_than_dims_is_finite_and_nonnegative() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(20, 64)), rng.normal(size=(30, 64)) + 0.1
    v = frechet_distance(a, b)
    assert math.isfinite(v) and v >= 0
    # pytorch-fid needs its epsilon fallback here; it agrees to a loose tolerance
    ref = float(pytorch_fid.calculate_frechet_distance(*_stats(a), *_stats(b)))
    assert v == pytest.approx(ref, rel=1e-3)
    # rank-deficient identical sets
    assert abs(frechet_distance(a, a)) < 1e-6


def test_fid_rejects_bad_input() -> None:
    a = np.zeros((10, 4))
    with pytest.raises(ValueError, match="dimension"):
        frechet_distance(a, np.zeros((10, 5)))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(a, np.full((10, 4), np.nan))
    with pytest.raises(ValueError, match="shape"):
        frechet_distance(np.zeros((10, 4, 1)), a)
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(np.zeros((1, 4)), a)
    with pytest.raises(ValueError, match="fit together"):
        frechet_distance_from_stats(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


# ---------------------------------------------------------------- KID


def _numpy_kid(real, fake, draws, degree=3, gamma=None, coef0=1.0):
    gamma = 1.0 / real.shape[1] if gamma is None else gamma
    vals = []
    for ir, if_ in draws:
        x, y = real[ir.numpy()], fake[if_.numpy()]
        m = len(x)
        kxx = (x @ x.T * gamma + coef0) ** degree
        kyy = (y @ y.T * gamma + coef0) ** degree
        kxy = (x @ y.T * gamma + coef0) ** degree
        mmd = (
            (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
            + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
            - 2 * kxy.mean()
        )
        vals.append(mmd)
    return float(np.mean(vals)), float(np.std(vals))


def test_kid_matches_numpy_with_same_subsets() -> None:
    rng = np.random.default_rng(4)
    real, fake = rng.normal(size=(300, 12)), rng.normal(size=(250, 12)) * 1.2 + 0.2
    mean, std = kernel_inception_distance(real, fake, subsets=20, subset_size=100, seed=7)
    ref_mean, ref_std = _numpy_kid(real, fake, kid_subset_indices(300, 250, 20, 100, seed=7))
    assert mean == pytest.approx(ref_mean, rel=1e-10)
    assert std == pytest.approx(ref_std, rel=1e-8)
    assert mean > 0.01
    # other kernel parameters
    m2, _ = kernel_inception_distance(real, fake, subsets=5, subset_size=50, degree=2, gamma=0.5, coef0=0.0)
    r2, _ = _numpy_kid(real, fake, kid_subset_indices(300, 250, 5, 50, 0), degree=2, gamma=0.5, coef0=0.0)
    assert m2 == pytest.approx(r2, rel=1e-10)


def test_kid_per_subset_path_equals_full_kernel_path(monkeypatch: pytest.MonkeyPatch) -> None:
    import ganlab.metrics.kid as kid_mod

    rng = np.random.default_rng(5)
    real, fake = rng.normal(size=(120, 6)), rng.normal(size=(110, 6)) + 0.3
    full = kernel_inception_distance(real, fake, subsets=10, subset_size=50)
    monkeypatch.setattr(kid_mod, "_FULL_KERNEL_MAX_ENTRIES", 0)
    per_subset = kernel_inception_distance(real, fake, subsets=10, subset_size=50)
    assert full == pytest.approx(per_subset, rel=1e-10)


def test_kid_clips_subset_size_with_warning_and_same_sets_near_zero() -> None:
    rng = np.random.default_rng(6)
    real = rng.normal(size=(200, 8))
    fake = rng.normal(size=(200, 8))
    with pytest.warns(UserWarning, match="subset_size"):
        mean, std = kernel_inception_distance(real, fake, subsets=10, subset_size=1000)
    ref_mean, _ = _numpy_kid(real, fake, kid_subset_indices(200, 200, 1, 200, 0))
    assert mean == pytest.approx(ref_mean, rel=1e-10)
    assert std == 0.0
    assert abs(mean) < 0.05


# ---------------------------------------------------------------- IS


def test_inception_score_limits() -> None:
    n_classes = 10
    confident = torch.eye(n_classes).repeat(50, 1)  # each class equally often, one-hot
    mean, std = inception_score(confident, splits=5)
    assert mean == pytest.approx(n_classes, rel=1e-12) and std == pytest.approx(0, abs=1e-12)
    constant = torch.full((500, n_classes), 1.0 / n_classes)
    assert inception_score(constant, splits=5)[0] == pytest.approx(1.0, rel=1e-12)
    one_class = torch.zeros(100, n_classes)
    one_class[:, 3] = 1
    assert inception_score(one_class, splits=2)[0] == pytest.approx(1.0, rel=1e-12)


def test_inception_score_matches_torch_fidelity() -> None:
    from torch_fidelity.metric_isc import isc_features_to_metric

    logits = torch.randn(1000, 20, generator=torch.Generator().manual_seed(0)) * 3
    ref = isc_features_to_metric(logits, splits=10, shuffle=False)
    mean, std = inception_score(logits.softmax(dim=1), splits=10)
    assert mean == pytest.approx(ref["inception_score_mean"], rel=1e-6)
    assert std == pytest.approx(ref["inception_score_std"], rel=1e-4)


def test_inception_score_rejects_logits() -> None:
    with pytest.raises(ValueError, match="logits"):
        inception_score(torch.randn(10, 5))


# ---------------------------------------------------------------- precision/recall/density/coverage


@pytest.mark.parametrize("k", [3, 5])
def test_prdc_matches_reference_package(k: int) -> None:
    rng = np.random.default_rng(8)
    real = rng.normal(size=(400, 16))
    fake = rng.normal(size=(300, 16)) * 1.3 + 0.4
    ref = prdc.compute_prdc(real_features=real, fake_features=fake, nearest_k=k)
    ours = manifold_metrics(real, fake, k_pr=k, k_dc=k)
    for key in ("precision", "recall", "density", "coverage"):
        assert ours[key] == pytest.approx(float(ref[key]), abs=1e-12), key
    assert precision_recall(real, fake, k=k) == {"precision": ours["precision"], "recall": ours["recall"]}
    assert density_coverage(real, fake, k=k) == {"density": ours["density"], "coverage": ours["coverage"]}


def test_prdc_small_blocks_and_cached_radii_change_nothing() -> None:
    rng = np.random.default_rng(9)
    real, fake = rng.normal(size=(200, 5)), rng.normal(size=(150, 5)) + 0.5
    big = manifold_metrics(real, fake, k_pr=3, k_dc=5)
    small = manifold_metrics(real, fake, k_pr=3, k_dc=5, max_block_entries=1100)
    cached = manifold_metrics(real, fake, k_pr=3, k_dc=5, real_radii=knn_radii(real, [3, 5]))
    assert big == small == cached


def test_knn_radii_against_brute_force() -> None:
    x = torch.randn(50, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    d = torch.cdist(x, x)
    d.fill_diagonal_(float("inf"))
    expected = d.sort(dim=1).values[:, 2]  # 3rd nearest other sample
    assert torch.allclose(knn_radii(x, 3)[3], expected, atol=1e-12)


def test_prdc_identical_sets_and_disjoint_sets() -> None:
    rng = np.random.default_rng(10)
    real = rng.normal(size=(200, 4))
    same = manifold_metrics(real, real, k_pr=3, k_dc=5)
    assert same["precision"] == same["recall"] == same["coverage"] == 1.0
    far = manifold_metrics(real, real + 100.0, k_pr=3, k_dc=5)
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_prdc_rejects_k_too_large() -> None:
    with pytest.raises(ValueError, match="k=5"):
        precision_recall(np.zeros((5, 2)), np.zeros((10, 2)), k=5)


# ---------------------------------------------------------------- mode / class coverage


def _ring8(n: int, std: float = 0.02, radius: float = 2.0, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    angles = torch.arange(8) * (2 * math.pi / 8)
    means = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    idx = torch.randint(0, 8, (n,), generator=g)
    return means[idx] + std * torch.randn(n, 2, generator=g), means


def test_mode_coverage_on_data_itself() -> None:
    x, means = _ring8(20000)
    out = mode_coverage_2d(x, means, 0.02)
    assert out["modes"] == 8
    # P(chi_2 < 3) = 1 - exp(-4.5) = 98.89 % for samples of the data
    assert out["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.005)
    assert out["reverse_kl"] < 0.01
    assert sum(out["counts"]) == round(out["high_quality"] * 20000)


def test_mode_coverage_all_samples_at_one_mean() -> None:
    _, means = _ring8(1)
    x = means[2].repeat(100, 1)
    out = mode_coverage_2d(x, means, 0.02)
    assert out == {"modes": 1, "high_quality": 1.0, "reverse_kl": pytest.approx(math.log(8)), "counts": [0, 0, 100, 0, 0, 0, 0, 0]}


def test_mode_coverage_far_samples_are_low_quality() -> None:
    _, means = _ring8(1)
    out = mode_coverage_2d(torch.zeros(10, 2), means, 0.02)
    assert out["modes"] == 0 and out["high_quality"] == 0.0 and out["reverse_kl"] == math.inf


def test_class_coverage_known_labels() -> None:
    out = class_coverage(torch.arange(10).repeat(7), 10)
    assert out["classes_covered"] == 10 and out["class_kl"] == pytest.approx(0.0, abs=1e-12)
    out = class_coverage(np.array([0, 0, 1, 1]), 4)
    assert out["classes_covered"] == 2 and out["class_kl"] == pytest.approx(math.log(2))
    assert out["counts"] == [2, 2, 0, 0]
    assert class_coverage([5] * 3, 10)["class_kl"] == pytest.approx(math.log(10))
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        class_coverage([0, 10], 10)
    with pytest.raises(ValueError, match="integer"):
        class_coverage(torch.tensor([0.5]), 10)
