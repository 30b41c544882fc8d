"""Paired image-quality measures for image-to-image notebooks (pix2pix, SRGAN): thin wrappers
around torchmetrics for the course's [-1, 1] images.

* :func:`psnr`, :func:`ssim`, :func:`ms_ssim`: distortion measures (higher = closer to the
  reference), validated against scikit-image in ``tests/test_image_quality.py``;
* :func:`lpips`: a learned perceptual distance (lower = closer; Zhang et al. 2018) with AlexNet or
  VGG16 features. torchmetrics ships LPIPS's linear layers; the backbone comes from torchvision's
  download cache, so offline :func:`lpips_network` raises :class:`PerceptualWeightsUnavailable`
  naming the file to place by hand.
"""

from __future__ import annotations

import os
from typing import Any

import torch

__all__ = ["psnr", "ssim", "ms_ssim", "lpips", "lpips_network", "LPIPS_NETS", "PerceptualWeightsUnavailable"]

#: Backbones of :func:`lpips`.
LPIPS_NETS: tuple[str, ...] = ("alex", "vgg")


class PerceptualWeightsUnavailable(RuntimeError):
    """LPIPS needs pretrained backbone weights that are not on this machine (and cannot be fetched)."""


def _check_pair(a: torch.Tensor, b: torch.Tensor) -> None:
    for name, t in (("a", a), ("b", b)):
        if not isinstance(t, torch.Tensor) or t.dim() != 4:
            raise ValueError(
                f"{name}: expected a float tensor of images (N, C, H, W) in [-1, 1], got "
                f"{tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__}"
            )
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB between image batches ``a``, ``b`` ``(N, C, H, W)`` in [-1, 1].

    The peak is the range of the images (2.0); the MSE is averaged over the whole batch.
    Identical images give ``inf``.
    """
    from torchmetrics.functional.image import peak_signal_noise_ratio

    _check_pair(a, b)
    a, b = a.detach().float(), b.detach().float()
    if torch.equal(a, b):
        return float("inf")
    return float(peak_signal_noise_ratio(a, b, data_range=(-1.0, 1.0)))


def ssim(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean structural similarity (Gaussian window 11, sigma 1.5) of ``(N, C, H, W)`` images in
    [-1, 1]; 1.0 for identical images. Images must be at least 11 pixels high and wide."""
    from torchmetrics.functional.image import structural_similarity_index_measure

    _check_pair(a, b)
    if min(a.shape[-2:]) < 11:
        raise ValueError(f"ssim needs images of at least 11x11 pixels, got {tuple(a.shape[-2:])}")
    return float(structural_similarity_index_measure(a.detach().float(), b.detach().float(), data_range=(-1.0, 1.0)))


#: MS-SSIM's scale weights (Wang, Simoncelli & Bovik 2003), finest scale first.
_MS_BETAS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def ms_ssim(a: torch.Tensor, b: torch.Tensor, scales: int | None = None) -> float:
    """Multi-scale SSIM of ``(N, C, H, W)`` images in [-1, 1] (Gaussian window 11, sigma 1.5).

    ``scales``: how many of the published five scales (weights renormalised to sum to 1); by
    default as many as the image size allows (each scale halves the side, and the coarsest must
    still hold the 11-pixel window: 5 scales need at least 161 px). One scale is SSIM.

    Raises:
        ValueError: images smaller than the scales need, or ``scales`` outside 1..5.
    """
    from torchmetrics.functional.image import multiscale_structural_similarity_index_measure

    _check_pair(a, b)
    side = min(a.shape[-2:])
    fits = max((s for s in range(1, 6) if side > 10 * 2 ** (s - 1)), default=0)
    if scales is None:
        scales = fits
    if isinstance(scales, bool) or not isinstance(scales, int) or not 1 <= scales <= 5:
        raise ValueError(f"scales must be an integer in 1..5, got {scales!r}")
    if scales > fits:
        need = 10 * 2 ** (scales - 1) + 1
        raise ValueError(f"ms_ssim with {scales} scales needs images of at least {need}x{need} pixels, "
                         f"got {tuple(a.shape[-2:])}")
    betas = _MS_BETAS[:scales]
    betas = tuple(x / sum(betas) for x in betas)
    return float(multiscale_structural_similarity_index_measure(
        a.detach().float(), b.detach().float(), data_range=(-1.0, 1.0), betas=betas, normalize="relu"))


def _backbone_file(net: str) -> str:
    """Where torchvision looks for ``net``'s ImageNet weights."""
    import torch.hub
    from torchvision.models import AlexNet_Weights, VGG16_Weights

    url = (AlexNet_Weights if net == "alex" else VGG16_Weights).IMAGENET1K_V1.url
    return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(url))


_LPIPS_CACHE: dict[tuple[str, str], Any] = {}


def lpips_network(net: str = "alex", device: torch.device | str = "cpu") -> Any:
    """torchmetrics' LPIPS module (eval mode, frozen) with backbone ``net`` (``alex`` | ``vgg``):
    ``module(x0, x1) -> (N, 1, 1, 1)`` distances of images in [-1, 1]. Cached per (net, device).

    Raises:
        ValueError: unknown backbone.
        PerceptualWeightsUnavailable: the backbone's weights cannot be loaded (offline); the
            message names the file to place by hand.
    """
    if net not in LPIPS_NETS:
        raise ValueError(f"lpips backbone {net!r} is not known; accepted: {', '.join(LPIPS_NETS)}")
    key = (net, str(device))
    if key not in _LPIPS_CACHE:
        try:
            from torchmetrics.functional.image.lpips import _LPIPS

            module = _LPIPS(pretrained=True, net=net).to(device).eval()
        except Exception as exc:  # offline: torchvision cannot fetch the backbone
            raise PerceptualWeightsUnavailable(
                f"LPIPS ({net}) needs torchvision's pretrained {'AlexNet' if net == 'alex' else 'VGG16'} "
                f"weights (downloaded on first use); they could not be loaded here "
                f"({type(exc).__name__}: {str(exc).splitlines()[0][:160]}). Place the file by hand at "
                f"{_backbone_file(net)}, or offline use a domain distance (shapes_cnn, mnist_cnn)."
            ) from None
        for p in module.parameters():
            p.requires_grad_(False)
        _LPIPS_CACHE[key] = module
    return _LPIPS_CACHE[key]


def lpips(a: torch.Tensor, b: torch.Tensor, net: str = "alex") -> float:
    """Mean LPIPS distance between ``(N, C, H, W)`` images in [-1, 1] (grey images are repeated to
    RGB); 0 for identical images. See :func:`lpips_network` for the weights."""
    _check_pair(a, b)
    module = lpips_network(net, a.device)
    if a.shape[1] == 1:
        a, b = a.expand(-1, 3, -1, -1), b.expand(-1, 3, -1, -1)
    with torch.no_grad():
        return float(module(a.float(), b.float()).mean())
