"""Paired image-quality measures for image-to-image notebooks (pix2pix, SRGAN): thin wrappers
around torchmetrics' functional PSNR and SSIM for the course's [-1, 1] images."""

from __future__ import annotations

import torch

__all__ = ["psnr", "ssim"]


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
