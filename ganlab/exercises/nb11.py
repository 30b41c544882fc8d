"""Notebook 11 (StyleGAN-lite): adaptive instance normalisation, style mixing and the truncation
trick, written by hand."""

from __future__ import annotations

import torch

from ganlab.exercises import Case, register
from ganlab.nets.stylegan import adain


# ----------------------------------------------------------------------------- 11.adain
def _adain_cases() -> list[Case]:
    gen = torch.Generator().manual_seed(11)

    def styles(n: int, c: int) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.rand(n, c, generator=gen) + 0.5, torch.randn(n, c, generator=gen)

    flat = torch.randn(2, 3, 4, 4, generator=gen)
    flat[1, 2] = 0.7  # one channel of one sample is constant: variance 0
    return [Case("4 samples, 8 channels, 16 x 16 maps", (torch.randn(4, 8, 16, 16, generator=gen) * 3 + 1, *styles(4, 8))),
            Case("2 x 2 maps (few positions: the variance must be the biased one)",
                 (torch.randn(3, 5, 2, 2, generator=gen) * 2, *styles(3, 5))),
            Case("a constant channel (variance 0: eps keeps it finite)", (flat, *styles(2, 3))),
            Case("one sample, 4 x 8 maps, eps 0.1", (torch.randn(1, 6, 4, 8, generator=gen), *styles(1, 6)),
                 {"eps": 0.1})]


def _adain_unbiased(x, style_scale, style_bias, eps=1e-5):
    mu = x.mean(dim=(2, 3), keepdim=True)
    sigma = (x.var(dim=(2, 3), keepdim=True, unbiased=True) + eps).sqrt()
    return style_scale[:, :, None, None] * (x - mu) / sigma + style_bias[:, :, None, None]


def _adain_layer_norm(x, style_scale, style_bias, eps=1e-5):
    mu = x.mean(dim=(1, 2, 3), keepdim=True)
    sigma = (x.var(dim=(1, 2, 3), keepdim=True, unbiased=False) + eps).sqrt()
    return style_scale[:, :, None, None] * (x - mu) / sigma + style_bias[:, :, None, None]


def _adain_batch_norm(x, style_scale, style_bias, eps=1e-5):
    mu = x.mean(dim=(0, 2, 3), keepdim=True)
    sigma = (x.var(dim=(0, 2, 3), keepdim=True, unbiased=False) + eps).sqrt()
    return style_scale[:, :, None, None] * (x - mu) / sigma + style_bias[:, :, None, None]


def _adain_no_eps(x, style_scale, style_bias, eps=1e-5):
    mu = x.mean(dim=(2, 3), keepdim=True)
    return style_scale[:, :, None, None] * (x - mu) / x.std(dim=(2, 3), keepdim=True, unbiased=False) \
        + style_bias[:, :, None, None]


def _adain_swapped(x, style_scale, style_bias, eps=1e-5):
    return adain(x, style_bias, style_scale, eps)


def _adain_no_centring(x, style_scale, style_bias, eps=1e-5):
    sigma = (x.var(dim=(2, 3), keepdim=True, unbiased=False) + eps).sqrt()
    return style_scale[:, :, None, None] * x / sigma + style_bias[:, :, None, None]


register(
    "11.adain",
    title="adaptive instance normalisation (AdaIN)",
    hint=("per sample and per channel, over the H x W positions only (dim=(2, 3), keepdim=True): subtract the "
          "mean, divide by sqrt(biased variance + eps) (unbiased=False; eps inside the root), then multiply by "
          "style_scale and add style_bias, both reshaped (N, C) -> (N, C, 1, 1)."),
    reference=adain, cases=_adain_cases,
    wrong=(_adain_unbiased, _adain_layer_norm, _adain_batch_norm, _adain_no_eps, _adain_swapped, _adain_no_centring),
)


# ----------------------------------------------------------------------------- 11.mix_styles
def _mix_styles(w1: torch.Tensor, w2: torch.Tensor, crossover: int, n_layers: int) -> torch.Tensor:
    """Reference: styles ``(N, L, w_dim)``, layer ``i < crossover`` from ``w1``, the rest from ``w2``
    (:meth:`ganlab.nets.StyleGenerator.mix` with ``L = n_layers``)."""
    layer = torch.arange(n_layers).view(1, -1, 1)
    return torch.where(layer < crossover, w1.unsqueeze(1), w2.unsqueeze(1))


def _mix_cases() -> list[Case]:
    gen = torch.Generator().manual_seed(12)

    def pair(n: int, d: int) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.randn(n, d, generator=gen), torch.randn(n, d, generator=gen)

    return [Case("3 codes, w_dim 4, 6 layers, crossover 2", (*pair(3, 4), 2, 6)),
            Case("crossover 0: every layer from w2", (*pair(2, 3), 0, 5)),
            Case("crossover = L: every layer from w1", (*pair(2, 3), 5, 5)),
            Case("one code, 8 layers, crossover 7", (*pair(1, 2), 7, 8))]


def _mix_off_by_one(w1, w2, crossover, n_layers):
    return _mix_styles(w1, w2, crossover + 1, n_layers)


def _mix_swapped(w1, w2, crossover, n_layers):
    return _mix_styles(w2, w1, crossover, n_layers)


def _mix_coarse_from_w2(w1, w2, crossover, n_layers):
    return _mix_styles(w2, w1, n_layers - crossover, n_layers)


def _mix_layers_last(w1, w2, crossover, n_layers):
    return _mix_styles(w1, w2, crossover, n_layers).transpose(1, 2)


register(
    "11.mix_styles",
    title="style mixing: one w per layer from two codes",
    hint=("build (N, L, w_dim) styles: w.unsqueeze(1) gives (N, 1, w_dim); layers 0 .. crossover - 1 (the coarse, "
          "low-resolution ones) take w1, layers crossover .. L - 1 take w2, e.g. torch.where on "
          "torch.arange(n_layers).view(1, -1, 1) < crossover."),
    reference=_mix_styles, cases=_mix_cases,
    wrong=(_mix_off_by_one, _mix_swapped, _mix_coarse_from_w2, _mix_layers_last),
)


# ----------------------------------------------------------------------------- 11.truncate
def _truncate(w: torch.Tensor, w_avg: torch.Tensor, psi: float) -> torch.Tensor:
    """Reference: ``w_avg + psi * (w - w_avg)`` (:meth:`ganlab.nets.StyleGenerator.truncate`)."""
    return w_avg + psi * (w - w_avg)


def _trunc_cases() -> list[Case]:
    gen = torch.Generator().manual_seed(13)

    def w_and_avg(*shape: int) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.randn(*shape, generator=gen), torch.randn(shape[-1], generator=gen) + 2

    return [Case("8 codes, w_dim 4, psi 0.7", (*w_and_avg(8, 4), 0.7)),
            Case("psi 0: every code becomes the mean", (*w_and_avg(3, 5), 0.0)),
            Case("psi 1: no truncation", (*w_and_avg(3, 5), 1.0)),
            Case("per-layer styles (N, L, w_dim) = (2, 6, 3), psi 0.5", (*w_and_avg(2, 6, 3), 0.5))]


def _trunc_towards_zero(w, w_avg, psi):
    return psi * w


def _trunc_no_mean_back(w, w_avg, psi):
    return psi * (w - w_avg)


def _trunc_one_minus_psi(w, w_avg, psi):
    return w + psi * (w_avg - w)


def _trunc_scales_mean(w, w_avg, psi):
    return w + psi * w_avg


register(
    "11.truncate",
    title="the truncation trick",
    hint=("pull each w towards the tracked mean by the factor psi: start from w_avg and add psi times the "
          "offset w - w_avg (psi = 1 leaves w as it is, psi = 0 gives w_avg for every code; w_avg broadcasts over "
          "the leading dimensions)."),
    reference=_truncate, cases=_trunc_cases,
    wrong=(_trunc_towards_zero, _trunc_no_mean_back, _trunc_one_minus_psi, _trunc_scales_mean),
)
