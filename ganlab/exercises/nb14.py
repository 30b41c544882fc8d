"""Notebook 14 (RealnessGAN): the KL divergence between an anchor distribution and D's outcome
distribution (from logits), and D's loss KL(A1 || D(x)) + KL(A0 || D(G(z))), written by hand."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ganlab.exercises import Case, register
from ganlab.losses import d_loss_realness, kl_to_logits, realness_anchors

# ----------------------------------------------------------------------------- 14.kl_to_logits


def _kl_cases() -> list[Case]:
    gen = torch.Generator().manual_seed(14)
    a0, _ = realness_anchors(5, "paper")
    onehot0, _ = realness_anchors(4, "onehot")
    per_sample = F.softmax(torch.randn(6, 3, generator=gen) * 2, dim=1)
    return [Case("paper anchor A0 (5 outcomes), 6 samples of logits", (a0, torch.randn(6, 5, generator=gen))),
            Case("one-hot anchor (zeros: 0 log 0 = 0), 4 outcomes", (onehot0, torch.randn(5, 4, generator=gen) * 2)),
            Case("one target distribution per sample, shape (6, 3)", (per_sample, torch.randn(6, 3, generator=gen))),
            Case("a confident D: logits spread over +-60", (a0, torch.randn(4, 5, generator=gen) * 60))]


def _kl_reversed(target, logits):
    q = F.softmax(logits, dim=1)
    return (torch.special.xlogy(q, q) - q * torch.log(target.expand_as(q))).sum(dim=1)


def _kl_cross_entropy_only(target, logits):
    return -(target * F.log_softmax(logits, dim=1)).sum(dim=1)


def _kl_plain_log(target, logits):
    return (target * (target.log() - F.log_softmax(logits, dim=1))).sum(dim=1)


def _kl_log_of_softmax(target, logits):
    p = target.expand(logits.shape)
    return (torch.special.xlogy(p, p) - p * torch.log(F.softmax(logits, dim=1))).sum(dim=1)


def _kl_softmax_wrong_axis(target, logits):
    p = target.expand(logits.shape)
    return (torch.special.xlogy(p, p) - p * F.log_softmax(logits, dim=0)).sum(dim=1)


def _kl_batch_mean(target, logits):
    return kl_to_logits(target, logits).mean()


register(
    "14.kl_to_logits",
    title="KL(anchor || softmax(logits)) per sample",
    hint=("KL(p || q) = sum_k p_k (log p_k - log q_k) over the outcomes (dim 1), one value per sample; "
          "log q = F.log_softmax(logits, dim=1) (log(softmax) underflows to -inf for a confident D), and "
          "p log p must be 0 where p = 0: torch.special.xlogy(p, p). Don't forget the p log p term."),
    reference=kl_to_logits, cases=_kl_cases,
    wrong=(_kl_reversed, _kl_cross_entropy_only, _kl_plain_log, _kl_log_of_softmax, _kl_softmax_wrong_axis,
           _kl_batch_mean),
)

# ----------------------------------------------------------------------------- 14.d_loss_realness


def _d_cases() -> list[Case]:
    gen = torch.Generator().manual_seed(41)
    paper = realness_anchors(7, "paper")
    ramp = realness_anchors(4, "ramp")
    onehot = realness_anchors(3, "onehot")
    return [Case("paper anchors, 7 outcomes, 8 reals and 8 fakes",
                 (torch.randn(8, 7, generator=gen), torch.randn(8, 7, generator=gen), *paper)),
            Case("ramp anchors, 4 outcomes, 6 reals and 10 fakes",
                 (torch.randn(6, 4, generator=gen) * 2, torch.randn(10, 4, generator=gen) * 2, *ramp)),
            Case("one-hot anchors, 3 outcomes (anchors with zeros)",
                 (torch.randn(5, 3, generator=gen), torch.randn(5, 3, generator=gen), *onehot))]


def _d_swapped(real_logits, fake_logits, a0, a1):
    return kl_to_logits(a0, real_logits).mean() + kl_to_logits(a1, fake_logits).mean()


def _d_reversed_kl(real_logits, fake_logits, a0, a1):
    def kl_from(logits: Tensor, anchor: Tensor) -> Tensor:
        q = F.softmax(logits, dim=1)
        return (q * (F.log_softmax(logits, dim=1) - anchor.clamp_min(1e-12).log())).sum(dim=1).mean()

    return kl_from(real_logits, a1) + kl_from(fake_logits, a0)


def _d_sum_over_batch(real_logits, fake_logits, a0, a1):
    return kl_to_logits(a1, real_logits).sum() + kl_to_logits(a0, fake_logits).sum()


def _d_real_term_only(real_logits, fake_logits, a0, a1):
    return kl_to_logits(a1, real_logits).mean()


def _d_minus_fake(real_logits, fake_logits, a0, a1):
    return kl_to_logits(a1, real_logits).mean() - kl_to_logits(a0, fake_logits).mean()


register(
    "14.d_loss_realness",
    title="RealnessGAN's discriminator loss",
    hint=("D pulls its outcome distribution on reals towards A1 and on fakes towards A0: "
          "mean over the reals of KL(A1 || softmax(real_logits)) + mean over the fakes of "
          "KL(A0 || softmax(fake_logits)) — the anchor is the first argument of the KL, and both "
          "terms are added (D minimises both)."),
    reference=d_loss_realness, cases=_d_cases,
    wrong=(_d_swapped, _d_reversed_kl, _d_sum_over_batch, _d_real_term_only, _d_minus_fake),
)
