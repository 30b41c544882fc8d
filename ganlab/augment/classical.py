"""Classical augmentation of the *real* images (notebook 15's report: blur, flip, affine).

Every op draws its parameters per sample from torch's global RNG (checkpointed by the trainer,
so a resumed run draws the same ones). Images are ``(N, C, H, W)`` float in ``[-1, 1]``; every op
returns the same shape and keeps values in ``[-1, 1]`` (blur and bilinear resampling are convex
combinations of pixels; the affine warp pads with the border pixels, not with 0 = grey).

>>> aug = classical(["blur", "flip", "affine"])     # [] -> identity
>>> x_aug = aug(x)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import check_images, check_names, check_probability, check_range

__all__ = ["CLASSICAL_OPS", "CLASSICAL_DEFAULTS", "GaussianBlur", "Classical", "classical",
           "classical_settings"]

CLASSICAL_OPS = ("blur", "flip", "affine")

#: settings of :func:`classical` (what a recipe stores: every value, so it names the run exactly)
CLASSICAL_DEFAULTS: dict[str, Any] = {
    "blur_p": 1.0, "blur_kernel": (3, 7), "blur_sigma": (0.1, 2.0),
    "flip_p": 0.5,
    "affine_p": 1.0, "affine_degrees": 10.0, "affine_translate": 0.1, "affine_scale": (0.9, 1.1),
}


def _apply_where(mask: Tensor, new: Tensor, old: Tensor) -> Tensor:
    """Per sample: ``new`` where ``mask`` ``(N,)`` is True, else ``old``."""
    return torch.where(mask.view(-1, *([1] * (old.dim() - 1))), new, old)


class GaussianBlur(nn.Module):
    """Gaussian blur with a random odd kernel size and sigma *per sample*.

    Kernel size k uniform over the odd sizes in ``kernel`` (default 3, 5, 7), sigma ~ U(``sigma``);
    a size-k blur is the size-7 Gaussian truncated to radius k // 2 and renormalised, so one
    separable grouped convolution blurs the whole batch. Reflection padding (replicate for images
    smaller than the kernel). Applied to each sample with probability ``p``.

    Args:
        kernel: (min, max) odd kernel sizes, 1 <= min <= max.
        sigma: (min, max) standard deviation in pixels, > 0.
        p: probability per sample.

    Raises:
        ValueError: even or out-of-order kernel sizes, sigma not > 0, p outside [0, 1].
    """

    def __init__(self, kernel: Sequence[int] = (3, 7), sigma: Sequence[float] = (0.1, 2.0),
                 p: float = 1.0) -> None:
        super().__init__()
        ok = (isinstance(kernel, Sequence) and len(kernel) == 2
              and all(isinstance(k, int) and not isinstance(k, bool) and k >= 1 and k % 2 == 1 for k in kernel)
              and kernel[0] <= kernel[1])
        if not ok:
            raise ValueError(f"blur kernel must be (min, max) odd sizes >= 1 with min <= max, e.g. (3, 7); got {kernel!r}")
        lo, hi = check_range(sigma, "blur sigma", 0.0, float("inf"))
        if lo <= 0:
            raise ValueError(f"blur sigma must be (min, max) with 0 < min <= max; got {sigma!r}")
        self.kernel = (int(kernel[0]), int(kernel[1]))
        self.sigma = (lo, hi)
        self.p = check_probability(p, "blur probability p")

    def sample(self, n: int, device: torch.device) -> tuple[Tensor, Tensor]:
        """Per-sample kernel sizes ``(n,)`` int64 (odd) and sigmas ``(n,)`` float."""
        sizes = torch.arange(self.kernel[0], self.kernel[1] + 1, 2, device=device)
        k = sizes[torch.randint(len(sizes), (n,), device=device)]
        s = torch.rand(n, device=device) * (self.sigma[1] - self.sigma[0]) + self.sigma[0]
        return k, s

    @staticmethod
    def blur(x: Tensor, k: Tensor, sigma: Tensor, radius: int | None = None) -> Tensor:
        """Blur sample i of ``x`` ``(N, C, H, W)`` with kernel size ``k[i]`` and ``sigma[i]``.

        ``radius``: half-width of the shared kernel (>= every ``k[i] // 2``; default read from
        ``k``, which costs a host sync on a GPU; :meth:`forward` passes the configured maximum).
        """
        n, c, h, w = x.shape
        r = int(k.max()) // 2 if radius is None else int(radius)
        if r == 0:
            return x
        offsets = torch.arange(-r, r + 1, device=x.device, dtype=x.dtype)
        weights = torch.exp(-offsets ** 2 / (2 * sigma.to(x.dtype).view(-1, 1) ** 2))
        weights = weights * (offsets.abs() <= (k // 2).view(-1, 1)).to(x.dtype)
        weights = weights / weights.sum(dim=1, keepdim=True)  # (N, 2r + 1)
        weights = weights.repeat_interleave(c, dim=0)  # (N * C, 2r + 1)
        mode = "reflect" if min(h, w) > r else "replicate"
        y = F.pad(x.reshape(1, n * c, h, w), (r, r, r, r), mode=mode)
        y = F.conv2d(y, weights.view(n * c, 1, 1, -1), groups=n * c)
        y = F.conv2d(y, weights.view(n * c, 1, -1, 1), groups=n * c)
        return y.view(n, c, h, w)

    def forward(self, x: Tensor) -> Tensor:
        check_images(x)
        k, s = self.sample(x.shape[0], x.device)
        mask = torch.rand(x.shape[0], device=x.device) < self.p
        return _apply_where(mask, self.blur(x, k, s, radius=self.kernel[1] // 2), x)


def classical_settings(**settings: Any) -> dict[str, Any]:
    """:data:`CLASSICAL_DEFAULTS` updated by ``settings`` (unknown keys -> ValueError)."""
    unknown = sorted(set(settings) - set(CLASSICAL_DEFAULTS))
    if unknown:
        raise ValueError(f"classical augmentation: unknown setting(s) {unknown}; accepted: {', '.join(CLASSICAL_DEFAULTS)}")
    return {**CLASSICAL_DEFAULTS, **settings}


class Classical(nn.Module):
    """The ops of ``names`` in order (an empty list: the identity). See :func:`classical`."""

    def __init__(self, names: Sequence[str] = (), **settings: Any) -> None:
        super().__init__()
        import kornia.augmentation as K  # here: ``import ganlab.models`` needs no kornia

        self.names = check_names(names, CLASSICAL_OPS, "classical augmentation")
        s = classical_settings(**settings)
        self.settings = s
        ops: dict[str, nn.Module] = {}
        for name in self.names:
            if name == "blur":
                ops[name] = GaussianBlur(s["blur_kernel"], s["blur_sigma"], s["blur_p"])
            elif name == "flip":
                ops[name] = K.RandomHorizontalFlip(p=check_probability(s["flip_p"], "flip probability flip_p"))
            else:
                deg = s["affine_degrees"]
                if not isinstance(deg, (int, float)) or isinstance(deg, bool) or not 0 <= deg <= 180:
                    raise ValueError(f"affine_degrees must be a number in [0, 180]; got {deg!r}")
                t = s["affine_translate"]
                if not isinstance(t, (int, float)) or isinstance(t, bool) or not 0 <= t <= 1:
                    raise ValueError(f"affine_translate must be a fraction of the image side in [0, 1]; got {t!r}")
                scale = check_range(s["affine_scale"], "affine_scale", 1e-3, 10.0)
                ops[name] = K.RandomAffine(degrees=float(deg), translate=(float(t), float(t)), scale=scale,
                                           padding_mode="border",
                                           p=check_probability(s["affine_p"], "affine probability affine_p"))
        self.ops = nn.ModuleDict(ops)

    def forward(self, x: Tensor) -> Tensor:
        """``x`` ``(N, C, H, W)`` in [-1, 1] -> same shape, each op drawn per sample."""
        check_images(x)
        for name in self.names:
            x = self.ops[name](x)
        return x

    def extra_repr(self) -> str:
        return f"names={self.names}"


def classical(names: Sequence[str] = (), **settings: Any) -> Classical:
    """Classical augmentation from op names, applied in the order given.

    Args:
        names: any of ``"blur"`` (Gaussian, odd kernel 3-7, sigma in [0.1, 2], per sample),
            ``"flip"`` (horizontal, p = 0.5, kornia), ``"affine"`` (rotation +-10 degrees,
            translation +-10 % of the side, scale 0.9-1.1, border padding, kornia); ``[]`` is the
            identity.
        **settings: overrides of :data:`CLASSICAL_DEFAULTS` (``blur_kernel=(3, 5)``, ``flip_p``...).

    Raises:
        ValueError: an unknown name or setting, a probability outside [0, 1], a bad kernel or sigma.
    """
    return Classical(names, **settings)
