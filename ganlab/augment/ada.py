"""ADA (Karras et al., NeurIPS 2020): augmentation applied with an adaptive probability p.

:class:`ADAPipeline` applies each op of the paper's "bgc" set to each sample independently with
probability p (``torch.rand(N) < p``, p a tensor: no host sync). Geometric ops (x-flip, 90-degree
rotations, integer translation, isotropic scale, arbitrary rotation, anisotropic scale,
fractional translation) are composed into one affine matrix per sample and applied with one
bilinear ``grid_sample`` with reflection padding; colour ops (brightness, contrast, hue,
saturation) into one 3 x 4 colour matrix per sample. Both are differentiable in the images.
A sample no op touched is returned unchanged bit for bit (so p = 0 is the identity).

:class:`ADA` adds the controller: D's logits on the (augmented) reals of every D step are
summed as ``sign(D(x_real))``; every ``interval`` D steps ``r_t = E[sign(D(x_real))]`` and
``p <- clamp(p + sign(r_t - target) * images / ramp_images, 0, 1)`` (``images`` = reals seen
since the last adjustment), so p can go from 0 to 1 in ``ramp_images`` images (paper: target
0.6, interval 4, 500k images). p and the running sums are *buffers*, so they are in the model's
``state_dict`` and in every checkpoint, and a resumed run continues exactly.

Images ``(N, C, H, W)`` float in ``[-1, 1]``, C = 1 or 3, square (geometric ops act in the
normalised ``[-1, 1]`` coordinates of ``affine_grid``). Strengths follow the official code:
integer translation up to 0.125 of the side, scale / aniso std 0.2 (log2), rotation uniform in
(-180, 180) degrees with probability ``1 - sqrt(1 - p)`` before and after aniso, fractional
translation std 0.125 of the side, brightness std 0.2, contrast std 0.5 (log2), hue uniform in
(-180, 180) degrees, saturation std 1 (log2). Not included: the luma flip and the
image-space filtering / additive noise / cutout groups.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import check_images, check_names, check_probability

__all__ = ["ADA_OPS", "ADA_GEOMETRIC", "ADA_COLOUR", "ADAPipeline", "ADA", "parse_ada_ops"]

ADA_GEOMETRIC = ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac")
ADA_COLOUR = ("brightness", "contrast", "hue", "saturation")
ADA_OPS = ADA_GEOMETRIC + ADA_COLOUR
_GROUPS = {"b": ("xflip", "rotate90", "xint"), "g": ("scale", "rotate", "aniso", "xfrac"),
           "c": ADA_COLOUR}


def parse_ada_ops(ops: Any) -> list[str]:
    """Op names from a list (:data:`ADA_OPS`) or a group string of ``b`` (blit: xflip, rotate90,
    xint), ``g`` (geometric: scale, rotate, aniso, xfrac), ``c`` (colour), e.g. ``"bgc"``.

    Raises:
        ValueError: an unknown name or group letter.
    """
    if isinstance(ops, str):
        bad = [ch for ch in ops if ch not in _GROUPS]
        if bad or not ops:
            raise ValueError(f"ADA ops {ops!r}: use group letters b, g, c (e.g. 'bgc') or a list of "
                             f"{', '.join(ADA_OPS)}")
        names = [name for ch in "bgc" if ch in ops for name in _GROUPS[ch]]
        return names
    names = check_names(ops, ADA_OPS, "ADA ops")
    return [n for n in ADA_OPS if n in names]  # the pipeline's fixed order


def _eye(n: int, k: int, like: Tensor) -> Tensor:
    return torch.eye(k, device=like.device, dtype=like.dtype).expand(n, k, k).clone()


def _translate(tx: Tensor, ty: Tensor) -> Tensor:
    m = _eye(tx.shape[0], 3, tx)
    m[:, 0, 2], m[:, 1, 2] = tx, ty
    return m


def _scale(sx: Tensor, sy: Tensor) -> Tensor:
    m = _eye(sx.shape[0], 3, sx)
    m[:, 0, 0], m[:, 1, 1] = sx, sy
    return m


def _rotate(theta: Tensor) -> Tensor:
    m = _eye(theta.shape[0], 3, theta)
    c, s = torch.cos(theta), torch.sin(theta)
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = c, -s, s, c
    return m


class ADAPipeline(nn.Module):
    """The ADA augmentations, each applied per sample with probability ``p`` (no state).

    Args:
        ops: op names or group letters (see :func:`parse_ada_ops`); default ``"bgc"``.
    """

    def __init__(self, ops: Sequence[str] | str = "bgc") -> None:
        super().__init__()
        self.ops = parse_ada_ops(ops)

    def _on(self, name: str, n: int, p: Tensor, like: Tensor) -> Tensor:
        """``(N,)`` bool: op ``name`` applies to the sample (always drawn, for a fixed RNG use)."""
        mask = torch.rand(n, device=like.device) < p
        return mask & (name in self.ops)

    def geometric(self, n: int, p: Tensor, like: Tensor) -> tuple[Tensor, Tensor]:
        """Inverse affine matrices ``(N, 3, 3)`` (output -> input coordinates) and a ``(N,)``
        mask of the samples any geometric op touched."""
        g = _eye(n, 3, like)
        touched = torch.zeros(n, dtype=torch.bool, device=like.device)
        ones, zeros = torch.ones(n, device=like.device), torch.zeros(n, device=like.device)

        def use(name: str, prob: Tensor) -> Tensor:
            nonlocal touched
            on = self._on(name, n, prob, like)
            touched = touched | on
            return on

        # x-flip: i in {0, 1}
        i = torch.randint(2, (n,), device=like.device).float()
        i = torch.where(use("xflip", p), i, zeros)
        g = g @ _scale(1 - 2 * i, ones)
        # 90-degree rotations: i in {0, 1, 2, 3}
        i = torch.randint(4, (n,), device=like.device).float()
        i = torch.where(use("rotate90", p), i, zeros)
        g = g @ _rotate(-math.pi / 2 * i)
        # integer translation: up to 0.125 of the side, whole pixels (H = W = side)
        side = like.shape[-1]
        t = (torch.rand(n, 2, device=like.device) * 2 - 1) * 0.125
        t = torch.round(t * side) * 2 / side  # pixels -> normalised coordinates
        t = torch.where(use("xint", p).unsqueeze(1), t, torch.zeros_like(t))
        g = g @ _translate(-t[:, 0], -t[:, 1])
        # isotropic scale: lognormal, std 0.2 (log2)
        s = torch.exp2(torch.randn(n, device=like.device) * 0.2)
        s = torch.where(use("scale", p), s, ones)
        g = g @ _scale(1 / s, 1 / s)
        # rotation (before and after aniso), each with 1 - sqrt(1 - p): together ~p
        p_rot = 1 - torch.sqrt((1 - p).clamp(0, 1))
        theta = (torch.rand(n, device=like.device) * 2 - 1) * math.pi
        theta = torch.where(use("rotate", p_rot), theta, zeros)
        g = g @ _rotate(-theta)
        # anisotropic scale
        s = torch.exp2(torch.randn(n, device=like.device) * 0.2)
        s = torch.where(use("aniso", p), s, ones)
        g = g @ _scale(1 / s, s)
        theta = (torch.rand(n, device=like.device) * 2 - 1) * math.pi
        theta = torch.where(use("rotate", p_rot), theta, zeros)
        g = g @ _rotate(-theta)
        # fractional translation: std 0.125 of the side
        t = torch.randn(n, 2, device=like.device) * 0.125 * 2
        t = torch.where(use("xfrac", p).unsqueeze(1), t, torch.zeros_like(t))
        g = g @ _translate(-t[:, 0], -t[:, 1])
        return g, touched

    def colour(self, n: int, p: Tensor, like: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Colour matrices ``(N, 3, 3)``, offsets ``(N, 3)`` (``x -> M x + t`` on RGB) and the
        ``(N,)`` mask of the samples any colour op touched."""
        m = _eye(n, 3, like)
        t = torch.zeros(n, 3, device=like.device, dtype=like.dtype)
        touched = torch.zeros(n, dtype=torch.bool, device=like.device)
        ones, zeros = torch.ones(n, device=like.device), torch.zeros(n, device=like.device)
        v = torch.full((3,), 1 / math.sqrt(3), device=like.device, dtype=like.dtype)
        vv = torch.outer(v, v)
        eye3 = torch.eye(3, device=like.device, dtype=like.dtype)

        def use(name: str) -> Tensor:
            nonlocal touched
            on = self._on(name, n, p, like)
            touched = touched | on
            return on

        b = torch.randn(n, device=like.device) * 0.2
        b = torch.where(use("brightness"), b, zeros)
        t = t + b.unsqueeze(1)
        c = torch.exp2(torch.randn(n, device=like.device) * 0.5)
        c = torch.where(use("contrast"), c, ones)
        m, t = m * c.view(n, 1, 1), t * c.unsqueeze(1)
        theta = (torch.rand(n, device=like.device) * 2 - 1) * math.pi
        theta = torch.where(use("hue"), theta, zeros)
        # rotation about the luma axis v (Rodrigues): R = cos I + sin [v]x + (1 - cos) v v^T
        cross = torch.tensor([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]],
                             device=like.device, dtype=like.dtype) / math.sqrt(3)
        cth, sth = torch.cos(theta).view(n, 1, 1), torch.sin(theta).view(n, 1, 1)
        r = cth * eye3 + sth * cross + (1 - cth) * vv
        m, t = r @ m, (r @ t.unsqueeze(2)).squeeze(2)
        s = torch.exp2(torch.randn(n, device=like.device) * 1.0)
        s = torch.where(use("saturation"), s, ones)
        sat = vv + (eye3 - vv) * s.view(n, 1, 1)
        m, t = sat @ m, (sat @ t.unsqueeze(2)).squeeze(2)
        return m, t, touched

    def forward(self, x: Tensor, p: Tensor | float) -> Tensor:
        """``x`` ``(N, C, H, W)`` -> augmented, each op on each sample with probability ``p``."""
        check_images(x)
        n, ch = x.shape[0], x.shape[1]
        if ch not in (1, 3):
            raise ValueError(f"ADA takes 1- or 3-channel images; got {ch} channels")
        p = torch.as_tensor(p, device=x.device, dtype=torch.float32)
        work = x.float()
        g, moved = self.geometric(n, p, work)
        grid = F.affine_grid(g[:, :2, :], list(work.shape), align_corners=False)
        warped = F.grid_sample(work, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
        work = torch.where(moved.view(n, 1, 1, 1), warped, work)
        m, t, tinted = self.colour(n, p, work)
        if ch == 3:
            out = torch.einsum("nij,njhw->nihw", m, work) + t.view(n, 3, 1, 1)
        else:  # grey: the mean row of the colour matrix (as the official code does)
            gain = m.sum(dim=2).mean(dim=1)
            out = work * gain.view(n, 1, 1, 1) + t.mean(dim=1).view(n, 1, 1, 1)
        work = torch.where(tinted.view(n, 1, 1, 1), out, work)
        return work.to(x.dtype)

    def extra_repr(self) -> str:
        return f"ops={self.ops}"


class ADA(nn.Module):
    """ADA's pipeline with the adaptive probability and its controller (state in buffers).

    Args:
        target: the r_t the controller aims at, in (0, 1) (paper 0.6).
        interval: D steps between adjustments (paper 4).
        ramp_images: real images over which p can move by 1 (paper 500,000).
        p: initial probability in [0, 1].
        ops: op names or group letters (default ``"bgc"``, see :func:`parse_ada_ops`).

    Buffers (in the ``state_dict``): ``p``, ``rt`` (the last r_t; NaN before the first
    adjustment), ``signs`` (sum of ``sign(D(x_real))`` since the last adjustment), ``count``
    (logits summed), ``images`` (real images seen), ``steps`` (D steps since the last adjustment).

    Raises:
        ValueError: target outside (0, 1), p outside [0, 1], interval < 1, ramp_images <= 0,
            unknown ops.
    """

    def __init__(self, target: float = 0.6, interval: int = 4, ramp_images: float = 500_000,
                 p: float = 0.0, ops: Sequence[str] | str = "bgc") -> None:
        super().__init__()
        if not isinstance(target, (int, float)) or isinstance(target, bool) or not 0 < target < 1:
            raise ValueError(f"ADA target must be a number in (0, 1) (paper 0.6); got {target!r}")
        if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
            raise ValueError(f"ADA interval must be an integer >= 1 (D steps; paper 4); got {interval!r}")
        if not isinstance(ramp_images, (int, float)) or isinstance(ramp_images, bool) or not ramp_images > 0:
            raise ValueError(f"ADA ramp_images must be a number > 0 (paper 500000); got {ramp_images!r}")
        self.target = float(target)
        self.interval = int(interval)
        self.ramp_images = float(ramp_images)
        self.pipeline = ADAPipeline(ops)
        self.register_buffer("p", torch.tensor(check_probability(p, "ADA initial p")))
        self.register_buffer("rt", torch.tensor(float("nan")))
        self.register_buffer("signs", torch.tensor(0.0))
        self.register_buffer("count", torch.tensor(0.0))
        self.register_buffer("images", torch.tensor(0.0))
        self.register_buffer("steps", torch.tensor(0, dtype=torch.long))

    def forward(self, x: Tensor) -> Tensor:
        """Augment ``x`` ``(N, C, H, W)`` with the current p."""
        return self.pipeline(x, self.p)

    @torch.no_grad()
    def observe(self, real_logits: Tensor, n_images: int) -> None:
        """Add D's logits on ``n_images`` (augmented) real images to the running sums."""
        logits = real_logits.detach().float()
        self.signs.add_(torch.sign(logits).sum())
        self.count.add_(logits.numel())
        self.images.add_(n_images)

    @torch.no_grad()
    def step(self) -> None:
        """After a D step: every ``interval`` steps, move p by the speed rule (no host sync)."""
        self.steps.add_(1)
        due = self.steps >= self.interval
        rt = self.signs / self.count.clamp_min(1.0)
        adjust = torch.sign(rt - self.target) * self.images / self.ramp_images
        adjust = torch.where(self.count > 0, adjust, torch.zeros_like(adjust))
        self.p.copy_(torch.where(due, (self.p + adjust).clamp(0.0, 1.0), self.p))
        self.rt.copy_(torch.where(due & (self.count > 0), rt, self.rt))
        for buf in (self.signs, self.count, self.images):
            buf.copy_(torch.where(due, torch.zeros_like(buf), buf))
        self.steps.copy_(torch.where(due, torch.zeros_like(self.steps), self.steps))

    def extra_repr(self) -> str:
        return f"target={self.target}, interval={self.interval}, ramp_images={self.ramp_images:g}"
