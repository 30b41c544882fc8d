"""Tensor-level conversions shared by every loader: scaling, resizing, channels, subsets, seeds.

All functions here work on stored images, i.e. ``torch.uint8`` tensors of shape ``(N, C, H, W)``
with values 0..255, and never change the order of the images unless they say so. The three
scalings between stored and model-facing images live here and nowhere else: :func:`to_float`
(uint8 -> ``[-1, 1]``), :func:`to_uint8` (``[-1, 1]`` -> uint8) and :func:`to_unit` (either ->
float ``[0, 1]`` for plotting).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "to_float",
    "to_uint8",
    "to_unit",
    "resize_u8",
    "convert_channels",
    "convert_images",
    "stratified_order",
    "make_generator",
]

# ITU-R 601-2 luma, the weights Pillow uses for RGB -> "L".
_LUMA = (0.299, 0.587, 0.114)
_CHUNK = 4096  # images per interpolate call: bounds the float32 working memory


def to_float(u8: torch.Tensor) -> torch.Tensor:
    """uint8 images (any shape) -> float32 in ``[-1, 1]``: ``u8 / 127.5 - 1``, on ``u8``'s device."""
    return u8.to(torch.float32).div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Float images in ``[-1, 1]`` (any shape) -> uint8 on the CPU: ``round((x + 1) * 127.5)``.

    Computed in float32 (on ``images``' device, then moved); values outside ``[-1, 1]`` are
    clipped, halves round to even (``torch.round``). The exact inverse of :func:`to_float`:
    ``to_uint8(to_float(u8)) == u8``.
    """
    return ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """Images -> float32 in ``[0, 1]`` on the CPU, for plotting (not quantised).

    uint8 images map as ``u8 / 255``; float images in ``[-1, 1]`` as ``(x + 1) / 2``, clipped.
    """
    if images.dtype == torch.uint8:
        return images.cpu().float() / 255.0
    return ((images.detach().float().cpu() + 1) / 2).clamp(0, 1)


def resize_u8(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize uint8 ``(N, C, H, W)`` to ``(N, C, size, size)``.

    Non-square inputs are centre-cropped to a square first. Uses bilinear interpolation with
    antialiasing (uint8 -> float32 -> rounded uint8), in chunks so memory stays bounded.
    """
    n, c, h, w = images.shape
    if h != w:
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        images = images[:, :, top : top + side, left : left + side]
        h = w = side
    if h == size:
        return images.contiguous()
    out = torch.empty((n, c, size, size), dtype=torch.uint8, device=images.device)
    for start in range(0, n, _CHUNK):
        part = images[start : start + _CHUNK].to(torch.float32)
        part = F.interpolate(part, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        out[start : start + _CHUNK] = part.round_().clamp_(0, 255).to(torch.uint8)
    return out


def convert_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """Convert uint8 ``(N, C, H, W)`` between 1 (grey) and 3 (RGB) channels.

    1 -> 3 repeats the grey value; 3 -> 1 uses the ITU-R 601 luma (as Pillow's ``"L"``).
    """
    c = images.shape[1]
    if c == channels:
        return images
    if c == 1 and channels == 3:
        return images.repeat(1, 3, 1, 1)
    if c == 3 and channels == 1:
        w = torch.tensor(_LUMA, dtype=torch.float32, device=images.device).view(1, 3, 1, 1)
        out = torch.empty((images.shape[0], 1, *images.shape[2:]), dtype=torch.uint8, device=images.device)
        for start in range(0, images.shape[0], _CHUNK):
            grey = (images[start : start + _CHUNK].to(torch.float32) * w).sum(1, keepdim=True)
            out[start : start + _CHUNK] = grey.round_().clamp_(0, 255).to(torch.uint8)
        return out
    raise ValueError(f"cannot convert images with {c} channels to {channels}; accepted channels: 1 or 3")


def convert_images(images: torch.Tensor, size: int | None, channels: int | None) -> torch.Tensor:
    """Apply :func:`convert_channels` and :func:`resize_u8` where ``channels`` / ``size`` are given.

    The resize runs on the side with fewer channels (grey before 1 -> 3, after 3 -> 1).
    """
    if channels is not None and channels < images.shape[1]:
        images = convert_channels(images, channels)
    if size is not None:
        images = resize_u8(images, size)
    if channels is not None:
        images = convert_channels(images, channels)
    return images


def make_generator(*ints: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded from a tuple of non-negative ints (e.g. ``(seed, epoch)``).

    The tuple is mixed with NumPy's ``SeedSequence``, so ``(0, 1)`` and ``(1, 0)`` give unrelated
    streams and nearby seeds are not correlated.
    """
    state = np.random.SeedSequence([int(i) & 0xFFFFFFFFFFFFFFFF for i in ints]).generate_state(2, np.uint32)
    g = torch.Generator(device="cpu")
    g.manual_seed((int(state[0]) << 31) ^ int(state[1]))
    return g


def stratified_order(n: int, labels: torch.Tensor | None, generator: torch.Generator) -> torch.Tensor:
    """A shuffled order of ``range(n)`` whose every prefix is (close to) class-stratified.

    Without labels it is a plain random permutation. With labels, items are shuffled, then sorted
    by their relative position inside their own class (``(rank + 0.5) / class_count``, ties broken
    by the shuffle), so taking the first ``k`` gives each class a share proportional to its size,
    and every class appears once ``k >= n_classes`` on a balanced set.

    Returns:
        int64 ``(n,)`` on the CPU.
    """
    perm = torch.randperm(n, generator=generator)
    if labels is None or n == 0:
        return perm
    lab = labels.detach().cpu().to(torch.int64)[perm]
    order = torch.argsort(lab, stable=True)  # shuffled items grouped by class
    counts = torch.bincount(lab)
    starts = torch.cumsum(counts, 0) - counts
    sorted_lab = lab[order]
    rank = torch.arange(n) - starts[sorted_lab]
    key = torch.empty(n, dtype=torch.float64)
    key[order] = (rank.to(torch.float64) + 0.5) / counts[sorted_lab].to(torch.float64)
    return perm[torch.argsort(key, stable=True)]
