"""Notebook 05 (LSGAN): the least-squares discriminator and generator losses with the a, b, c
coding, written by hand."""

from __future__ import annotations

import torch

from ganlab.exercises import Case, register
from ganlab.losses import d_loss_ls, g_loss_ls


def _outputs(seed: int, *shape: int, shift: float = 0.0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen) + shift


# ----------------------------------------------------------------------------- 05.1
def _d_cases() -> list[Case]:
    return [Case("8 raw outputs each, a=0, b=1 (the paper's default coding)",
                 (_outputs(1, 8, shift=0.8), _outputs(2, 8, shift=0.2))),
            Case("a=-1, b=1 (the chi-squared coding)", (_outputs(3, 6, shift=0.5), _outputs(4, 6, shift=-0.5)),
                 {"a": -1.0, "b": 1.0}),
            Case("shape (5, 1) outputs, D confident (real 1, fake 0) except one sample",
                 (torch.tensor([[1.0], [1.0], [1.0], [1.0], [-2.0]]), torch.tensor([[0.0], [0.0], [3.0], [0.0], [0.0]]))),
            Case("12 real and 4 fake outputs (batches of different sizes), a=0.2, b=0.9",
                 (_outputs(5, 12, shift=1.0), _outputs(6, 4)), {"a": 0.2, "b": 0.9})]


def _d_swapped(real_out, fake_out, a=0.0, b=1.0):
    return 0.5 * (real_out - a).pow(2).mean() + 0.5 * (fake_out - b).pow(2).mean()


def _d_no_half(real_out, fake_out, a=0.0, b=1.0):
    return (real_out - b).pow(2).mean() + (fake_out - a).pow(2).mean()


def _d_sum(real_out, fake_out, a=0.0, b=1.0):
    return 0.5 * (real_out - b).pow(2).sum() + 0.5 * (fake_out - a).pow(2).sum()


def _d_sigmoid(real_out, fake_out, a=0.0, b=1.0):
    return 0.5 * (torch.sigmoid(real_out) - b).pow(2).mean() + 0.5 * (torch.sigmoid(fake_out) - a).pow(2).mean()


def _d_abs(real_out, fake_out, a=0.0, b=1.0):
    return 0.5 * (real_out - b).abs().mean() + 0.5 * (fake_out - a).abs().mean()


register(
    "05.d_loss_ls",
    title="LSGAN discriminator loss",
    hint=("regress D's raw outputs (no sigmoid) onto b for the reals and a for the fakes: "
          "½·mean of the squared error on each batch, the two halves added. a is the *fake* label."),
    reference=d_loss_ls, cases=_d_cases, wrong=(_d_swapped, _d_no_half, _d_sum, _d_sigmoid, _d_abs),
)


# ----------------------------------------------------------------------------- 05.2
def _g_cases() -> list[Case]:
    return [Case("8 raw outputs, c=1 (the paper's default)", (_outputs(7, 8, shift=-0.3),)),
            Case("c=0 (with a=-1, b=1: the chi-squared coding)", (_outputs(8, 6),), {"c": 0.0}),
            Case("fakes far on the 'real' side (outputs 4, 5, 6), c=1", (torch.tensor([4.0, 5.0, 6.0]),)),
            Case("shape (4, 1)", (_outputs(9, 4, 1, shift=0.5),))]


def _g_to_a(fake_out, c=1.0):
    return 0.5 * fake_out.pow(2).mean()  # pulled towards the fake label a = 0, whatever c says


def _g_no_half(fake_out, c=1.0):
    return (fake_out - c).pow(2).mean()


def _g_sigmoid(fake_out, c=1.0):
    return 0.5 * (torch.sigmoid(fake_out) - c).pow(2).mean()


def _g_minus_d(fake_out, c=1.0):
    return -0.5 * (fake_out - 0.0).pow(2).mean()  # "maximise D's loss on the fakes"


def _g_sum(fake_out, c=1.0):
    return 0.5 * (fake_out - c).pow(2).sum()


register(
    "05.g_loss_ls",
    title="LSGAN generator loss",
    hint=("G wants D to output c on its fakes: ½·mean (D(G(z)) - c)², on the raw outputs. It is "
          "not minus D's loss (that would be the minimax form)."),
    reference=g_loss_ls, cases=_g_cases, wrong=(_g_to_a, _g_no_half, _g_sigmoid, _g_minus_d, _g_sum),
)
