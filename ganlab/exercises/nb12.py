"""Notebook 12 (image to image): pix2pix's generator objective (cGAN + lambda L1) and CycleGAN's
cycle-consistency loss, written by hand."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganlab.exercises import Case, register
from ganlab.losses import g_loss_nonsaturating


# ----------------------------------------------------------------------------- 12.pix2pix_g_loss
def _pix2pix_g_loss(fake_logits: torch.Tensor, fake: torch.Tensor, target: torch.Tensor,
                    l1_weight: float = 100.0) -> torch.Tensor:
    """Reference: ``BCE(D(s, G(s)), 1) + l1_weight * mean |target - G(s)|``, the generator loss of
    :meth:`ganlab.models.pix2pix.Pix2Pix.phase_loss`."""
    return g_loss_nonsaturating(fake_logits) + l1_weight * F.l1_loss(fake.float(), target.float())


def _p2p_cases() -> list[Case]:
    gen = torch.Generator().manual_seed(12)

    def images(n: int, c: int, s: int) -> torch.Tensor:
        return torch.rand(n, c, s, s, generator=gen) * 2 - 1

    return [Case("2 pairs of 3 x 8 x 8 images, a 3 x 3 PatchGAN map each (flattened: (2, 9))",
                 (torch.randn(2, 9, generator=gen) * 2, images(2, 3, 8), images(2, 3, 8))),
            Case("l1_weight 0: the cGAN term alone", (torch.randn(4, 4, generator=gen), images(4, 3, 4), images(4, 3, 4)),
                 {"l1_weight": 0.0}),
            Case("D rejects every patch (logits -5), l1_weight 10",
                 (torch.full((3, 16), -5.0), images(3, 1, 6), images(3, 1, 6)), {"l1_weight": 10.0}),
            Case("an ImageGAN: one logit per image (4, 1)", (torch.randn(4, 1, generator=gen), images(4, 3, 8),
                                                               images(4, 3, 8)))]


def _p2p_minimax(fake_logits, fake, target, l1_weight=100.0):
    return -F.softplus(fake_logits).mean() + l1_weight * F.l1_loss(fake, target)


def _p2p_fake_label(fake_logits, fake, target, l1_weight=100.0):
    bce = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return bce + l1_weight * F.l1_loss(fake, target)


def _p2p_l2(fake_logits, fake, target, l1_weight=100.0):
    return g_loss_nonsaturating(fake_logits) + l1_weight * F.mse_loss(fake, target)


def _p2p_weight_on_gan(fake_logits, fake, target, l1_weight=100.0):
    return l1_weight * g_loss_nonsaturating(fake_logits) + F.l1_loss(fake, target)


def _p2p_l1_sum(fake_logits, fake, target, l1_weight=100.0):
    return g_loss_nonsaturating(fake_logits) + l1_weight * (fake - target).abs().sum()


register(
    "12.pix2pix_g_loss",
    title="pix2pix's generator objective: cGAN + lambda L1",
    hint=("two terms: the non-saturating GAN loss of D's patch logits on (source, G(source)) — BCE with logits "
          "against target 1, i.e. -F.logsigmoid(fake_logits).mean() — plus l1_weight times the mean absolute "
          "difference between G's output and the paired target (F.l1_loss)."),
    reference=_pix2pix_g_loss, cases=_p2p_cases,
    wrong=(_p2p_minimax, _p2p_fake_label, _p2p_l2, _p2p_weight_on_gan, _p2p_l1_sum),
)


# ----------------------------------------------------------------------------- 12.cycle_loss
def _cycle_loss(G_AB: nn.Module, G_BA: nn.Module, a: torch.Tensor, b: torch.Tensor,  # noqa: N803
                weight: float = 10.0) -> torch.Tensor:
    """Reference: ``weight * (mean |G_BA(G_AB(a)) - a| + mean |G_AB(G_BA(b)) - b|)`` (the cycle
    term of :meth:`ganlab.models.cyclegan.CycleGAN.phase_loss`, weighted by ``cycle_weight``)."""
    return weight * (F.l1_loss(G_BA(G_AB(a)).float(), a.float()) + F.l1_loss(G_AB(G_BA(b)).float(), b.float()))


class _Affine(nn.Module):
    """A stand-in generator ``x -> scale * x + shift`` (per channel when given per channel)."""

    def __init__(self, scale: float | list[float], shift: float | list[float]) -> None:
        super().__init__()
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32).reshape(1, -1, 1, 1))
        self.register_buffer("shift", torch.as_tensor(shift, dtype=torch.float32).reshape(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x + self.shift


def _cycle_cases() -> list[Case]:
    gen = torch.Generator().manual_seed(13)

    def images(n: int, c: int, s: int) -> torch.Tensor:
        return torch.rand(n, c, s, s, generator=gen) * 2 - 1

    return [Case("G_AB(x) = 2x + 0.5, G_BA(x) = 0.4x; 2 one-channel 4 x 4 images per domain",
                 (_Affine(2.0, 0.5), _Affine(0.4, 0.0), images(2, 1, 4), images(2, 1, 4))),
            Case("G_BA undoes G_AB exactly: the cycle loss is 0",
                 (_Affine(2.0, 1.0), _Affine(0.5, -0.5), images(2, 1, 4), images(2, 1, 4))),
            Case("RGB, per-channel maps, 3 images of A and 2 of B, weight 1",
                 (_Affine([1.0, 0.5, -1.0], [0.1, 0.0, 0.2]), _Affine([0.8, 2.0, -1.0], [0.0, -0.1, 0.3]),
                  images(3, 3, 5), images(2, 3, 5)), {"weight": 1.0})]


def _cyc_same_generator(G_AB, G_BA, a, b, weight=10.0):  # noqa: N803
    return weight * (F.l1_loss(G_AB(G_AB(a)), a) + F.l1_loss(G_BA(G_BA(b)), b))


def _cyc_other_domain(G_AB, G_BA, a, b, weight=10.0):  # noqa: N803
    return weight * (F.l1_loss(G_AB(a), b) + F.l1_loss(G_BA(b), a))


def _cyc_l2(G_AB, G_BA, a, b, weight=10.0):  # noqa: N803
    return weight * (F.mse_loss(G_BA(G_AB(a)), a) + F.mse_loss(G_AB(G_BA(b)), b))


def _cyc_one_direction(G_AB, G_BA, a, b, weight=10.0):  # noqa: N803
    return weight * F.l1_loss(G_BA(G_AB(a)), a)


def _cyc_weight_once(G_AB, G_BA, a, b, weight=10.0):  # noqa: N803
    return weight * F.l1_loss(G_BA(G_AB(a)), a) + F.l1_loss(G_AB(G_BA(b)), b)


def _cyc_sum(G_AB, G_BA, a, b, weight=10.0):  # noqa: N803
    return weight * ((G_BA(G_AB(a)) - a).abs().sum() + (G_AB(G_BA(b)) - b).abs().sum())


register(
    "12.cycle_loss",
    title="CycleGAN's cycle-consistency loss",
    hint=("translate and translate back, both ways: a -> G_AB -> G_BA should give a, b -> G_BA -> G_AB should give "
          "b. Take the mean absolute error (F.l1_loss) of each reconstruction against its own input, add the two, "
          "and multiply the sum by weight."),
    reference=_cycle_loss, cases=_cycle_cases,
    wrong=(_cyc_same_generator, _cyc_other_domain, _cyc_l2, _cyc_one_direction, _cyc_weight_once, _cyc_sum),
)
