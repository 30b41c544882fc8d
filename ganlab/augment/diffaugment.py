"""DiffAugment (Zhao et al., NeurIPS 2020): differentiable augmentation of every image D sees.

Applied to real *and* fake images in both the D and the G step; every op is a differentiable
function of its input (gradients reach G through the augmented fakes). Parameters are drawn per
sample from torch's global RNG. Images ``(N, C, H, W)`` float in ``[-1, 1]``; as in the paper's
code, colour ops can leave that range and translation / cutout fill with 0 (mid-grey).

Ops (the paper's settings):

* ``color``: brightness ``x + U(-0.5, 0.5)``, saturation (channel mean kept, deviation
  ``x U(0, 2)``), contrast (image mean kept, deviation ``x U(0.5, 1.5)``), in that order;
* ``translation``: shift by up to ``ratio`` = 1/8 of the side (integer pixels, each axis
  U{-s..s}, ``s = round(ratio * side)``), zero padding;
* ``cutout``: zero one square of ``ratio`` = 1/2 of the side, its centre uniform over the image
  (it may be clipped by the border).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import check_images, check_names

__all__ = ["DIFFAUGMENT_OPS", "DiffAugment", "parse_policy", "brightness", "saturation", "contrast",
           "color", "translation", "cutout", "cutout_mask"]

DIFFAUGMENT_OPS = ("color", "translation", "cutout")


def _per_sample(x: Tensor) -> tuple[int, ...]:
    return (x.shape[0],) + (1,) * (x.dim() - 1)


def brightness(x: Tensor, b: Tensor | None = None) -> Tensor:
    """``x + b``, ``b`` ``(N,)`` ~ U(-0.5, 0.5) per sample unless given."""
    if b is None:
        b = torch.rand(x.shape[0], device=x.device, dtype=x.dtype) - 0.5
    return x + b.view(_per_sample(x))


def saturation(x: Tensor, s: Tensor | None = None) -> Tensor:
    """Deviation from the per-pixel channel mean times ``s`` ``(N,)`` ~ U(0, 2) (grey images: identity)."""
    if s is None:
        s = torch.rand(x.shape[0], device=x.device, dtype=x.dtype) * 2
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * s.view(_per_sample(x)) + mean


def contrast(x: Tensor, c: Tensor | None = None) -> Tensor:
    """Deviation from the image mean (over C, H, W) times ``c`` ``(N,)`` ~ U(0.5, 1.5)."""
    if c is None:
        c = torch.rand(x.shape[0], device=x.device, dtype=x.dtype) + 0.5
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * c.view(_per_sample(x)) + mean


def color(x: Tensor) -> Tensor:
    """Brightness, then saturation, then contrast (each drawn per sample)."""
    return contrast(saturation(brightness(x)))


def translation(x: Tensor, ratio: float = 0.125, shifts: Tensor | None = None) -> Tensor:
    """Shift each image's content by ``shifts[i] = (dy, dx)`` pixels, filling with zeros.

    Args:
        x: ``(N, C, H, W)``.
        ratio: the largest shift as a fraction of the side (``s = int(ratio * side + 0.5)``).
        shifts: ``(N, 2)`` int64 ``(dy, dx)``: output pixel ``(h, w)`` is input ``(h - dy, w - dx)``
            (0 outside); default: each axis uniform over ``-s..s``.
    """
    n, _, h, w = x.shape
    if shifts is None:
        sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
        dy = torch.randint(-sy, sy + 1, (n,), device=x.device)
        dx = torch.randint(-sx, sx + 1, (n,), device=x.device)
    else:
        dy, dx = shifts[:, 0].to(x.device), shifts[:, 1].to(x.device)
    # indices into the image padded by one zero pixel on each side; out-of-range -> the padding
    gy = (torch.arange(h, device=x.device).view(1, h, 1) - dy.view(n, 1, 1) + 1).clamp(0, h + 1)
    gx = (torch.arange(w, device=x.device).view(1, 1, w) - dx.view(n, 1, 1) + 1).clamp(0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)
    out = padded[torch.arange(n, device=x.device).view(n, 1, 1), gy, gx]  # (N, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()


def cutout_mask(n: int, h: int, w: int, ratio: float = 0.5, centres: Tensor | None = None,
                device: torch.device | str | None = None) -> Tensor:
    """``(N, H, W)`` float mask, 0 inside each sample's square, 1 elsewhere.

    The square has side ``(int(ratio * h + 0.5), int(ratio * w + 0.5))`` and covers rows
    ``[cy - sh // 2, cy - sh // 2 + sh)`` (likewise columns) clipped to the image; ``centres``
    ``(N, 2)`` int64 ``(cy, cx)``, default uniform over ``0..h - (sh % 2 == 1 ? 1 : 0)`` as in
    the paper's code.
    """
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    if centres is None:
        cy = torch.randint(0, h + (1 - sh % 2), (n,), device=device)
        cx = torch.randint(0, w + (1 - sw % 2), (n,), device=device)
    else:
        cy, cx = centres[:, 0].to(device), centres[:, 1].to(device)
    rows = torch.arange(h, device=device).view(1, h)
    cols = torch.arange(w, device=device).view(1, w)
    y0, x0 = (cy - sh // 2).view(n, 1), (cx - sw // 2).view(n, 1)
    in_y = (rows >= y0) & (rows < y0 + sh)
    in_x = (cols >= x0) & (cols < x0 + sw)
    return (~(in_y.unsqueeze(2) & in_x.unsqueeze(1))).float()


def cutout(x: Tensor, ratio: float = 0.5, centres: Tensor | None = None) -> Tensor:
    """Zero one square of ``ratio`` of the side per sample (see :func:`cutout_mask`)."""
    n, _, h, w = x.shape
    mask = cutout_mask(n, h, w, ratio, centres, device=x.device).to(x.dtype)
    return x * mask.unsqueeze(1)


def parse_policy(policy: Any) -> list[str]:
    """``"color,translation,cutout"`` -> ``["color", "translation", "cutout"]`` (``""``: none).

    Raises:
        ValueError: not a string, or a name that is not one of :data:`DIFFAUGMENT_OPS`.
    """
    if not isinstance(policy, str):
        raise ValueError(f"DiffAugment policy must be a string like 'color,translation,cutout'; got {policy!r}")
    names = [p.strip() for p in policy.split(",") if p.strip()]
    return check_names(names, DIFFAUGMENT_OPS, f"DiffAugment policy {policy!r}")


class DiffAugment(nn.Module):
    """The ops of ``policy`` in order, differentiable, drawn per sample (no state).

    Args:
        policy: comma-separated op names (:data:`DIFFAUGMENT_OPS`); ``""`` is the identity.
        translation_ratio: largest shift, fraction of the side (paper 1/8).
        cutout_ratio: side of the cut square, fraction of the image side (paper 1/2).

    Raises:
        ValueError: unknown op name, or a ratio outside (0, 1].
    """

    def __init__(self, policy: str = "color,translation,cutout", translation_ratio: float = 0.125,
                 cutout_ratio: float = 0.5) -> None:
        super().__init__()
        self.names = parse_policy(policy)
        self.policy = ",".join(self.names)
        for what, r in (("translation_ratio", translation_ratio), ("cutout_ratio", cutout_ratio)):
            if not isinstance(r, (int, float)) or isinstance(r, bool) or not 0 < r <= 1:
                raise ValueError(f"DiffAugment {what} must be a fraction of the side in (0, 1]; got {r!r}")
        self.translation_ratio = float(translation_ratio)
        self.cutout_ratio = float(cutout_ratio)

    def forward(self, x: Tensor) -> Tensor:
        """``x`` ``(N, C, H, W)`` -> augmented ``(N, C, H, W)`` (differentiable in ``x``)."""
        check_images(x)
        for name in self.names:
            if name == "color":
                x = color(x)
            elif name == "translation":
                x = translation(x, self.translation_ratio)
            else:
                x = cutout(x, self.cutout_ratio)
        return x

    def extra_repr(self) -> str:
        return f"policy={self.policy!r}"
