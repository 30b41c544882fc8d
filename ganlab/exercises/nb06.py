"""Notebook 06 (WGAN with weight clipping): the critic's and the generator's Wasserstein losses,
and clipping the critic's weights in place, written by hand."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganlab.exercises import Case, register
from ganlab.losses import clip_weights_, d_loss_wasserstein, g_loss_wasserstein


def _scores(seed: int, *shape: int, shift: float = 0.0, scale: float = 1.0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen) * scale + shift


# ----------------------------------------------------------------------------- 06.1
def _d_cases() -> list[Case]:
    return [Case("8 scores each, reals scored higher", (_scores(1, 8, shift=1.0), _scores(2, 8))),
            Case("the critic fooled: fakes scored higher", (_scores(3, 6, shift=-2.0), _scores(4, 6, shift=0.5))),
            Case("scores of shape (5, 1), large values (a critic is not bounded)",
                 (_scores(5, 5, 1, scale=30.0, shift=40.0), _scores(6, 5, 1, scale=30.0))),
            Case("10 real and 3 fake scores", (_scores(7, 10), _scores(8, 3, shift=-1.0)))]


def _d_sign(real_scores, fake_scores):
    return real_scores.mean() - fake_scores.mean()  # that is w_dist, which the critic *maximises*


def _d_abs(real_scores, fake_scores):
    return -(real_scores.mean() - fake_scores.mean()).abs()


def _d_bce(real_scores, fake_scores):
    return (F.binary_cross_entropy_with_logits(real_scores, torch.ones_like(real_scores))
            + F.binary_cross_entropy_with_logits(fake_scores, torch.zeros_like(fake_scores)))


def _d_sum(real_scores, fake_scores):
    return fake_scores.sum() - real_scores.sum()


register(
    "06.critic_loss",
    title="WGAN critic loss",
    hint=("the critic maximises mean f(x) - mean f(G(z)), the Wasserstein estimate; an optimiser "
          "minimises, so return its negative. Raw scores: no sigmoid, no log."),
    reference=d_loss_wasserstein, cases=_d_cases, wrong=(_d_sign, _d_abs, _d_bce, _d_sum),
)


# ----------------------------------------------------------------------------- 06.2
def _g_cases() -> list[Case]:
    return [Case("8 fake scores", (_scores(9, 8, shift=-0.5),)),
            Case("scores of shape (4, 1)", (_scores(10, 4, 1, scale=5.0),)),
            Case("3 scores of a critic that likes the fakes", (torch.tensor([2.0, 3.0, 7.0]),))]


def _g_sign(fake_scores):
    return fake_scores.mean()


def _g_nonsaturating(fake_scores):
    return F.softplus(-fake_scores).mean()  # the BCE GAN's loss, on scores that are not logits


def _g_sum(fake_scores):
    return -fake_scores.sum()


register(
    "06.generator_loss",
    title="WGAN generator loss",
    hint="G wants its fakes scored high by the critic: minimise minus their mean score (no log, no sigmoid).",
    reference=g_loss_wasserstein, cases=_g_cases, wrong=(_g_sign, _g_nonsaturating, _g_sum),
)


# ----------------------------------------------------------------------------- 06.3
def _critic(seed: int) -> nn.Module:
    """A small critic with conv, layer-norm and linear parameters, all of them outside [-0.3, 0.3]
    in places (weights of std 0.5)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.LayerNorm([4, 4, 4]), nn.LeakyReLU(0.2),
                            nn.Flatten(), nn.Linear(64, 1))
        with torch.no_grad():
            for p in net.parameters():
                p.normal_(0.0, 0.5)
    return net


def _clip_cases() -> list[Case]:
    return [Case("a small critic (conv, layer norm, linear), c = 0.01 (the paper's)", (_critic(1), 0.01)),
            Case("the same kind of critic, c = 0.3", (_critic(2), 0.3)),
            Case("one linear layer, c = 1 (some weights already inside)", (_critic(3)[-1], 1.0))]


def _observe_clip(fn: Any, case: Case) -> dict[str, Any]:
    """Every parameter of the critic after ``fn(critic, c)`` (the answer is the change in place),
    and whether they are still the critic's trainable parameters (same tensors, requiring grad)."""
    critic, c = case.args
    before = [id(p) for p in critic.parameters()]
    fn(critic, c)
    params = dict(critic.named_parameters())
    out: dict[str, Any] = {name: p.detach().clone() for name, p in params.items()}
    out["the same, trainable parameter tensors"] = bool(
        [id(p) for p in params.values()] == before and all(p.requires_grad for p in params.values()))
    return out


def _clip_weights_only(critic, c):
    with torch.no_grad():
        for name, p in critic.named_parameters():
            if name.endswith("weight"):  # the biases are parameters too
                p.clamp_(-c, c)


def _clip_out_of_place(critic, c):
    with torch.no_grad():
        for p in critic.parameters():
            p = p.clamp(-c, c)  # a new tensor; the critic's parameter is unchanged


def _clip_without_no_grad(critic, c):
    for p in critic.parameters():
        p.clamp_(-c, c)  # in-place change of a leaf that requires grad: autograd refuses


def _clip_one_sided(critic, c):
    with torch.no_grad():
        for p in critic.parameters():
            p.clamp_(max=c)


def _clip_layers_only(critic, c):
    with torch.no_grad():
        for m in critic.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):  # misses the layer norm's gain and bias
                for p in m.parameters():
                    p.clamp_(-c, c)


register(
    "06.clip_weights",
    title="clip the critic's weights in place",
    hint=("every parameter of the critic (weights, biases, norm gains: critic.parameters()) is "
          "clamped to [-c, c] in place (p.clamp_), inside torch.no_grad() since they require grad."),
    reference=clip_weights_, cases=_clip_cases, observe=_observe_clip,
    wrong=(_clip_weights_only, _clip_out_of_place, _clip_without_no_grad, _clip_one_sided, _clip_layers_only),
)
