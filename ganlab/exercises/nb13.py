"""Notebook 13 (SRGAN): the SR protocol's PSNR on the Y channel of 8-bit outputs, and SRGAN's
generator loss (content + adv_weight x non-saturating adversarial), written by hand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ganlab.exercises import Case, register
from ganlab.losses import g_loss_nonsaturating
from ganlab.metrics.super_resolution import sr_psnr
from ganlab.models.srgan import content_loss
from ganlab.nets import SRDiscriminator
from ganlab.nets.srresnet import random_vgg_features

# ----------------------------------------------------------------------------- 13.psnr_y


def _psnr_y(sr: Tensor, hr: Tensor, crop: int = 0) -> Tensor:
    """Reference: ``ganlab.metrics.super_resolution.sr_psnr(sr, hr, channel="Y", crop=crop)``."""
    return sr_psnr(sr, hr, channel="Y", crop=crop)


def _images(gen: torch.Generator, levels: Tensor) -> Tensor:
    """8-bit levels (possibly outside 0..255) -> [-1, 1] images, each value moved off its level
    by up to 0.45 of a level: quantising recovers the level, skipping the quantisation does not,
    and float32 rounding cannot land on a .5 boundary."""
    jitter = (torch.rand(levels.shape, generator=gen) - 0.5) * 0.9
    return ((levels.double() + jitter) / 127.5 - 1.0).float()


def _psnr_cases() -> list[Case]:
    gen = torch.Generator().manual_seed(13)
    hr_levels = torch.randint(20, 236, (3, 3, 12, 12), generator=gen)
    noise = torch.randn(hr_levels.shape, generator=gen).mul(3).round().long()
    sr_levels = (hr_levels + noise).clamp(0, 255)
    hr, sr = _images(gen, hr_levels), _images(gen, sr_levels)
    bright = torch.randint(200, 256, (2, 3, 10, 10), generator=gen)
    over = bright + torch.randint(0, 40, bright.shape, generator=gen)      # up to 294: beyond white
    return [Case("3 RGB images 12x12, noise of ~3 levels", (sr, hr)),
            Case("bright images, sr overshoots 1.0 (as a residual net's output can)",
                 (_images(gen, over), _images(gen, bright))),
            Case("the same as the first with crop=2", (sr.clone(), hr.clone()), {"crop": 2})]


def _levels(x: Tensor) -> Tensor:
    return ((x.double() + 1) * 127.5).round().clamp(0, 255)


def _y(levels: Tensor) -> Tensor:
    w = torch.tensor([65.481, 128.553, 24.966], dtype=levels.dtype).view(1, 3, 1, 1)
    return 16.0 + (levels * w).sum(dim=1, keepdim=True) / 255.0


def _psnr_from(a: Tensor, b: Tensor, crop: int, peak: float = 255.0) -> Tensor:
    if crop:
        a, b = a[..., crop:-crop, crop:-crop], b[..., crop:-crop, crop:-crop]
    mse = (a - b).pow(2).flatten(1).mean(dim=1)
    return 10 * torch.log10(peak ** 2 / mse)


def _psnr_no_quantisation(sr, hr, crop=0):
    return _psnr_from(_y((sr.double() + 1) * 127.5), _y((hr.double() + 1) * 127.5), crop)


def _psnr_no_clamp(sr, hr, crop=0):
    lv = lambda x: ((x.double() + 1) * 127.5).round()  # noqa: E731
    return _psnr_from(_y(lv(sr)), _y(lv(hr)), crop)


def _psnr_rgb(sr, hr, crop=0):
    return _psnr_from(_levels(sr), _levels(hr), crop)


def _psnr_full_range_y(sr, hr, crop=0):
    w = torch.tensor([0.299, 0.587, 0.114], dtype=torch.float64).view(1, 3, 1, 1)
    return _psnr_from((_levels(sr) * w).sum(1, keepdim=True), (_levels(hr) * w).sum(1, keepdim=True), crop)


def _psnr_peak_one(sr, hr, crop=0):
    return _psnr_from(_y(_levels(sr)), _y(_levels(hr)), crop, peak=1.0)


def _psnr_batch_mean(sr, hr, crop=0):
    return _psnr_y(sr, hr, crop).mean()


def _psnr_no_crop(sr, hr, crop=0):
    return _psnr_from(_y(_levels(sr)), _y(_levels(hr)), 0)


register(
    "13.psnr_y",
    title="PSNR on the Y channel of 8-bit outputs",
    hint=("the protocol in four steps: 8-bit levels round((x + 1) * 127.5) clamped to 0..255 (as a "
          "saved PNG); the BT.601 luma of MATLAB's rgb2ycbcr, 16 + (65.481 R + 128.553 G + 24.966 B) / 255 "
          "(not the full-range 0.299 / 0.587 / 0.114); drop `crop` pixels at every border; then per image "
          "10 log10(255² / MSE), the MSE over that image's pixels only: one value per image, shape (N,)."),
    reference=_psnr_y, cases=_psnr_cases, atol=1e-4, rtol=1e-5,
    wrong=(_psnr_no_quantisation, _psnr_no_clamp, _psnr_rgb, _psnr_full_range_y, _psnr_peak_one,
           _psnr_batch_mean, _psnr_no_crop),
)

# ----------------------------------------------------------------------------- 13.srgan_g_loss


def _srgan_g_loss(D: torch.nn.Module, features: torch.nn.Module | None, hr: Tensor, sr: Tensor,
                  adv_weight: float) -> tuple[Tensor, Tensor, Tensor]:
    """Reference: ``content_loss(sr, hr, features)`` (``ganlab.models.srgan``) + ``adv_weight`` x
    ``g_loss_nonsaturating(D(sr))`` (``ganlab.losses``), as ``SRGAN.phase_loss("g", ...)``."""
    content = content_loss(sr, hr, features)
    adversarial = g_loss_nonsaturating(D(sr))
    return content + adv_weight * adversarial, content, adversarial


def _g_cases() -> list[Case]:
    gen = torch.Generator().manual_seed(4)
    torch.manual_seed(13)
    D = SRDiscriminator(channels=3, width=4, fc=8, stages=2, norm="none").eval()
    with torch.no_grad():  # a freshly initialised D barely tells inputs apart: make its logits spread
        D.classifier[1].weight.mul_(4.0)
        D.classifier[3].weight.mul_(20.0)
    phi = random_vgg_features(width=4, seed=0)
    hr = torch.rand(2, 3, 8, 8, generator=gen) * 2 - 1
    sr = (hr + 0.3 * torch.randn(2, 3, 8, 8, generator=gen)).clamp(-1.2, 1.2)
    return [Case("pixel content (features=None), adv_weight 1e-3", (D, None, hr, sr.clone().requires_grad_(), 1e-3)),
            Case("random VGG-like features, adv_weight 1e-3", (D, phi, hr, sr.clone().requires_grad_(), 1e-3)),
            Case("random VGG-like features, adv_weight 0.1", (D, phi, hr, sr.clone().requires_grad_(), 0.1))]


def _observe_g(fn: Callable[..., Any], case: Case) -> dict[str, Any]:
    """The three returned values and the gradient of the loss with respect to ``sr`` (what G's
    optimiser gets: both terms must reach G's output)."""
    sr = case.args[3]
    out = fn(*case.args, **case.kwargs)
    if not (isinstance(out, (tuple, list)) and len(out) == 3):
        return {"returned (loss, content, adversarial)": out}
    loss = out[0]
    grad = torch.zeros_like(sr)
    if isinstance(loss, Tensor) and loss.requires_grad:
        g = torch.autograd.grad(loss, sr, allow_unused=True)[0]
        grad = g if g is not None else grad
    vals = tuple(v.detach() if isinstance(v, Tensor) else v for v in out)
    return {"returned (loss, content, adversarial)": vals, "gradient of the loss w.r.t. sr": grad}


def _g_minimax(D, features, hr, sr, adv_weight):
    content = content_loss(sr, hr, features)
    adversarial = -F.softplus(D(sr)).mean()          # log(1 - D(G(z))): the saturating loss
    return content + adv_weight * adversarial, content, adversarial


def _g_target_zero(D, features, hr, sr, adv_weight):
    content = content_loss(sr, hr, features)
    logits = D(sr)
    adversarial = F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))   # D's target for fakes
    return content + adv_weight * adversarial, content, adversarial


def _g_pixels_always(D, features, hr, sr, adv_weight):
    return _srgan_g_loss(D, None, hr, sr, adv_weight)


def _g_d_on_hr(D, features, hr, sr, adv_weight):
    content = content_loss(sr, hr, features)
    adversarial = g_loss_nonsaturating(D(hr))
    return content + adv_weight * adversarial, content, adversarial


def _g_no_weight(D, features, hr, sr, adv_weight):
    content, adversarial = content_loss(sr, hr, features), g_loss_nonsaturating(D(sr))
    return content + adversarial, content, adversarial


def _g_detached_for_d(D, features, hr, sr, adv_weight):
    content = content_loss(sr, hr, features)
    adversarial = g_loss_nonsaturating(D(sr.detach()))  # as in D's step: G gets no adversarial gradient
    return content + adv_weight * adversarial, content, adversarial


register(
    "13.srgan_g_loss",
    title="SRGAN's generator loss: content + adv_weight x adversarial",
    hint=("content = F.mse_loss(sr, hr) when features is None, else the MSE between features(sr) and "
          "features(hr) (the HR side needs no gradient); adversarial = the non-saturating -log D(sr) "
          "from logits, -F.logsigmoid(D(sr)).mean(), on sr itself (not detached: G learns through it); "
          "return (content + adv_weight * adversarial, content, adversarial)."),
    reference=_srgan_g_loss, cases=_g_cases, observe=_observe_g,
    wrong=(_g_minimax, _g_target_zero, _g_pixels_always, _g_d_on_hr, _g_no_weight, _g_detached_for_d),
)
