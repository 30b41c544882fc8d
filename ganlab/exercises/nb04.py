"""Notebook 04 (DCGAN): the output size of a transposed convolution, and the DCGAN weight
initialisation N(0, 0.02), written by hand."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ganlab.exercises import Case, register
from ganlab.nets import init_dcgan_weights


# ----------------------------------------------------------------------------- 04.1
def conv_transpose_out(size: int, kernel: int, stride: int = 1, padding: int = 0,
                       output_padding: int = 0) -> int:
    """Reference: the side of ``nn.ConvTranspose2d``'s output (dilation 1),
    ``(size - 1) * stride - 2 * padding + kernel + output_padding``."""
    return (size - 1) * stride - 2 * padding + kernel + output_padding


def _size_cases() -> list[Case]:
    return [Case("DCGAN's first layer, 1x1 z -> 4x4 (kernel 4, stride 1, padding 0)", (1, 4, 1, 0)),
            Case("the 28 px generator's first layer, 1x1 -> 7x7 (kernel 7)", (1, 7, 1, 0)),
            Case("a doubling block 4 -> 8 (kernel 4, stride 2, padding 1)", (4, 4, 2, 1)),
            Case("a doubling block 7 -> 14 (kernel 4, stride 2, padding 1)", (7, 4, 2, 1)),
            Case("kernel 3, stride 2, padding 1, output_padding 1 (CycleGAN's up-sampling)", (5, 3, 2, 1),
                 {"output_padding": 1}),
            Case("kernel 5, stride 3, padding 2", (3, 5, 3, 2))]


def _size_conv_formula(size, kernel, stride=1, padding=0, output_padding=0):
    return (size + 2 * padding - kernel) // stride + 1  # the *forward* convolution's formula


def _size_off_by_one(size, kernel, stride=1, padding=0, output_padding=0):
    return (size - 1) * stride - 2 * padding + (kernel - 1) + output_padding


def _size_times_stride(size, kernel, stride=1, padding=0, output_padding=0):
    return size * stride - 2 * padding + kernel + output_padding


def _size_padding_once(size, kernel, stride=1, padding=0, output_padding=0):
    return (size - 1) * stride - padding + kernel + output_padding


def _size_no_output_padding(size, kernel, stride=1, padding=0, output_padding=0):
    return (size - 1) * stride - 2 * padding + kernel


register(
    "04.conv_transpose_out",
    title="output size of a transposed convolution",
    hint=("a transposed convolution runs the convolution's size rule backwards: the input's "
          "size - 1 gaps are stretched by the stride, the kernel adds its width, the padding is "
          "removed from both sides, output_padding is added once. Check it on DCGAN's 4 -> 8 block."),
    reference=conv_transpose_out, cases=_size_cases, atol=0.0, rtol=0.0,
    wrong=(_size_conv_formula, _size_off_by_one, _size_times_stride, _size_padding_once,
           _size_no_output_padding),
)


# ----------------------------------------------------------------------------- 04.2
def _reset(net: nn.Module) -> nn.Module:
    """PyTorch's default initialisation of every layer (what a student's function starts from)."""
    for m in net.modules():
        if m is not net and hasattr(m, "reset_parameters"):
            m.reset_parameters()
    return net


def _init_cases() -> list[Case]:
    with torch.random.fork_rng():
        torch.manual_seed(4)
        mixed = _reset(nn.Sequential(
            nn.ConvTranspose2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(2048), nn.ReLU(),
            nn.Conv2d(128, 64, 4, 2, 1), nn.LeakyReLU(0.2), nn.Linear(256, 64), nn.Tanh()))
        from ganlab.nets import DCGANDiscriminator, DCGANGenerator
        gen = _reset(DCGANGenerator(nz=100, image_size=28, channels=1, ngf=32))
        disc = _reset(DCGANDiscriminator(image_size=28, channels=1, ndf=32, norm="none"))
    return [Case("ConvTranspose2d + BatchNorm2d + Conv2d (with bias) + Linear", (mixed,)),
            Case("a DCGAN generator at 28 px (ngf 32), PyTorch's default init", (gen,)),
            Case("a DCGAN discriminator without batch norm (convolutions with bias)", (disc,))]


def _observe_init(fn: Any, case: Case) -> dict[str, float]:
    """Per layer with parameters: mean and standard deviation of its weight (layers of at least
    2,000 weights), largest |bias|.

    Statistics over thousands of weights, not the weights themselves: any order of the random
    draws (``nn.init.normal_``, ``.normal_``, ``torch.randn * std``) gives the same numbers to
    well within the tolerance."""
    (net,) = case.args
    fn(net)
    out: dict[str, float] = {}
    for name, m in net.named_modules():
        w = getattr(m, "weight", None)
        if m is net or not isinstance(w, torch.Tensor):
            continue
        label = f"{name} ({type(m).__name__})"
        w = w.detach().float()
        if w.numel() >= 2000:  # enough draws for the statistics to be sharp (std error < 5e-4)
            out[f"{label} weight mean"] = float(w.mean())
            out[f"{label} weight std"] = float(w.std())
        b = getattr(m, "bias", None)
        if isinstance(b, torch.Tensor):
            out[f"{label} largest |bias|"] = float(b.detach().abs().max())
    return out


def _init_only_conv2d(net):
    for m in net.modules():  # isinstance(m, nn.Conv2d) misses ConvTranspose2d (and Linear)
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def _init_variance(net):
    init_dcgan_weights(net, std=0.02 ** 0.5)  # 0.02 taken as the variance


def _init_norm_like_conv(net):
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)  # batch-norm gains near 0: every activation ~ 0
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def _init_keep_bias(net):
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def _init_uniform(net):
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.uniform_(m.weight, -0.02, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.98, 1.02)
            nn.init.zeros_(m.bias)


register(
    "04.dcgan_init",
    title="DCGAN weight initialisation",
    hint=("loop over net.modules(): convolutions, *transposed* convolutions and linear layers get "
          "weight ~ N(0, std 0.02) and bias = 0; batch-norm layers weight ~ N(1, 0.02) and bias = 0. "
          "Change the tensors in place (nn.init.normal_ / nn.init.zeros_)."),
    reference=init_dcgan_weights, cases=_init_cases, observe=_observe_init, atol=3e-3, rtol=0.0,
    wrong=(_init_only_conv2d, _init_variance, _init_norm_like_conv, _init_keep_bias, _init_uniform),
)
