"""Notebook 03 (vanilla MLP GAN): the discriminator loss with random label ranges and the
non-saturating generator loss, written by hand."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganlab.exercises import Case, register
from ganlab.losses import d_loss_bce, g_loss_nonsaturating, random_targets


def _d_loss_ranges(real_logits: torch.Tensor, fake_logits: torch.Tensor,
                   real_range: tuple[float, float] = (0.7, 1.0),
                   fake_range: tuple[float, float] = (0.0, 0.3)) -> torch.Tensor:
    """Reference: ``BCE(real, t_r) + BCE(fake, t_f)``, t_r ~ U(real_range), t_f ~ U(fake_range)
    per sample (``ganlab.losses.random_targets``)."""
    real_t = random_targets(real_logits.numel(), *real_range).reshape(real_logits.shape)
    fake_t = random_targets(fake_logits.numel(), *fake_range).reshape(fake_logits.shape)
    return d_loss_bce(real_logits, fake_logits, real_t, fake_t)


def _observe_d_loss(fn, case: Case) -> dict:
    """The loss on many constant logits (its value is then nearly independent of how the targets
    were drawn: BCE is linear in the target) and whether two calls draw different targets."""
    first = fn(*case.args, **case.kwargs)
    second = fn(*case.args, **case.kwargs)
    return {"loss": first.detach().reshape(()), "random targets": bool(not torch.equal(first, second))}


def _d_cases() -> list[Case]:
    n = 20_000  # mean of n random targets: standard error ~0.001 of the range
    return [Case("D confident (real logits +3, fake -3)", (torch.full((n, 1), 3.0), torch.full((n, 1), -3.0))),
            Case("D fooled (real logits -2, fake +2)", (torch.full((n, 1), -2.0), torch.full((n, 1), 2.0))),
            Case("wider ranges", (torch.full((n, 1), 1.0), torch.full((n, 1), -1.0)),
                 {"real_range": (0.5, 1.0), "fake_range": (0.0, 0.5)})]


def _d_fixed_targets(real_logits, fake_logits, real_range=(0.7, 1.0), fake_range=(0.0, 0.3)):
    return d_loss_bce(real_logits, fake_logits, 1.0, 0.0)


def _d_mean_targets(real_logits, fake_logits, real_range=(0.7, 1.0), fake_range=(0.0, 0.3)):
    return d_loss_bce(real_logits, fake_logits, sum(real_range) / 2, sum(fake_range) / 2)


def _d_swapped(real_logits, fake_logits, real_range=(0.7, 1.0), fake_range=(0.0, 0.3)):
    return _d_loss_ranges(real_logits, fake_logits, fake_range, real_range)


def _d_sigmoid_twice(real_logits, fake_logits, real_range=(0.7, 1.0), fake_range=(0.0, 0.3)):
    return _d_loss_ranges(torch.sigmoid(real_logits), torch.sigmoid(fake_logits), real_range, fake_range)


register(
    "03.d_loss_ranges",
    title="discriminator loss with random label ranges",
    hint=("draw one target per sample and per call, uniform in the range: lo + (hi - lo) * "
          "torch.rand(shape); then F.binary_cross_entropy_with_logits(real_logits, real_targets) "
          "+ the same for the fakes (the logits are not probabilities: no sigmoid first)."),
    reference=_d_loss_ranges, cases=_d_cases, observe=_observe_d_loss, atol=0.02, rtol=0.0,
    wrong=(_d_fixed_targets, _d_mean_targets, _d_swapped, _d_sigmoid_twice),
)


def _g_cases() -> list[Case]:
    gen = torch.Generator().manual_seed(3)
    return [Case("8 logits", (torch.randn(8, 1, generator=gen) * 2,)),
            Case("D rejects every sample (logits -6)", (torch.full((4, 1), -6.0),)),
            Case("a batch of 5 logits, shape (5,)", (torch.linspace(-3, 3, 5),))]


def _g_minimax(fake_logits):
    return -F.softplus(fake_logits).mean()


def _g_sign(fake_logits):
    return F.logsigmoid(fake_logits).mean()


def _g_sum(fake_logits):
    return -F.logsigmoid(fake_logits).sum()


register(
    "03.g_loss_nonsaturating",
    title="non-saturating generator loss",
    hint=("-mean log D(G(z)) with D = sigmoid(logit): -F.logsigmoid(fake_logits).mean(). The minimax "
          "loss log(1 - D(G(z))) is the one that saturates."),
    reference=g_loss_nonsaturating, cases=_g_cases, wrong=(_g_minimax, _g_sign, _g_sum),
)
