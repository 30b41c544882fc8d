"""PSNR, SSIM, MS-SSIM and LPIPS: the torchmetrics wrappers agree with scikit-image's reference
implementations on real photographs, and fail clearly on bad input or missing weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganlab.metrics import PerceptualWeightsUnavailable, lpips, lpips_network, ms_ssim, psnr, ssim

skimage_metrics = pytest.importorskip("skimage.metrics")
skimage_data = pytest.importorskip("skimage.data")


def _photo_pair(size: int = 128, noise: float = 0.1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A crop of scikit-image's astronaut in [-1, 1] ``(1, 3, size, size)`` and a noisy, blurred copy."""
    img = torch.from_numpy(skimage_data.astronaut()[100:100 + size, 150:150 + size]).permute(2, 0, 1).float()
    a = (img / 127.5 - 1).unsqueeze(0)
    g = torch.Generator().manual_seed(seed)
    b = torch.nn.functional.avg_pool2d(a, 3, 1, 1, count_include_pad=False)
    b = (b + noise * torch.randn(b.shape, generator=g)).clamp(-1, 1)
    return a, b


def _hwc(t: torch.Tensor) -> np.ndarray:
    return t[0].permute(1, 2, 0).double().numpy()


def test_psnr_matches_scikit_image() -> None:
    a, b = _photo_pair()
    ref = skimage_metrics.peak_signal_noise_ratio(_hwc(a), _hwc(b), data_range=2.0)
    assert psnr(a, b) == pytest.approx(ref, abs=1e-3)
    assert psnr(a, a) == math.inf


def test_ssim_matches_scikit_image() -> None:
    for noise in (0.05, 0.2):
        a, b = _photo_pair(noise=noise)
        ref = skimage_metrics.structural_similarity(
            _hwc(a), _hwc(b), data_range=2.0, channel_axis=2, gaussian_weights=True, sigma=1.5,
            use_sample_covariance=False)
        assert ssim(a, b) == pytest.approx(ref, abs=5e-3)
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-6)


def test_ms_ssim_with_one_scale_is_ssim_and_more_scales_need_larger_images() -> None:
    a, b = _photo_pair(size=176)
    assert ms_ssim(a, b, scales=1) == pytest.approx(ssim(a, b), abs=1e-4)
    full = ms_ssim(a, b)  # 176 px: all five scales fit
    assert 0 < full < 1 and ms_ssim(a, a) == pytest.approx(1.0, abs=1e-5)
    small_a, small_b = a[..., :64, :64], b[..., :64, :64]
    assert 0 < ms_ssim(small_a, small_b) < 1  # 64 px: three scales
    with pytest.raises(ValueError, match="needs images of at least 81x81 pixels"):
        ms_ssim(small_a, small_b, scales=4)
    with pytest.raises(ValueError, match="scales must be an integer in 1..5"):
        ms_ssim(a, b, scales=6)


def test_bad_pairs_are_refused() -> None:
    a, b = _photo_pair()
    with pytest.raises(ValueError, match="same shape"):
        psnr(a, b[..., :64])
    with pytest.raises(ValueError, match=r"expected a float tensor of images \(N, C, H, W\)"):
        ssim(a[0], b[0])
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(a[..., :8, :8], b[..., :8, :8])
    with pytest.raises(ValueError, match="lpips backbone 'squeeze' is not known"):
        lpips_network("squeeze")


def test_lpips_offline_names_the_backbone_file(monkeypatch) -> None:
    import torchmetrics.functional.image.lpips as lp

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(lp, "_LPIPS", offline)
    monkeypatch.setattr("ganlab.metrics.image_quality._LPIPS_CACHE", {})
    with pytest.raises(PerceptualWeightsUnavailable, match=r"alexnet-owt-[0-9a-f]+\.pth"):
        lpips(*_photo_pair(size=64))
    with pytest.raises(PerceptualWeightsUnavailable, match=r"vgg16-[0-9a-f]+\.pth"):
        lpips_network("vgg")


def test_lpips_orders_distortions_when_weights_are_present() -> None:
    try:
        lpips_network("alex")
    except PerceptualWeightsUnavailable as exc:
        pytest.skip(str(exc))
    a, slight = _photo_pair(size=64, noise=0.02)
    _, strong = _photo_pair(size=64, noise=0.3)
    assert lpips(a, a) == pytest.approx(0.0, abs=1e-6)
    assert lpips(a, slight) < lpips(a, strong)
