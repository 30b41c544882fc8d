"""Notebook 10 (SNGAN): power iteration for the largest singular value of a weight matrix, and
the hinge losses of D and G, written by hand."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganlab.exercises import Case, register
from ganlab.losses import d_loss_hinge, g_loss_hinge


# ----------------------------------------------------------------------------- 10.power_iteration
def _power_iteration(W: torch.Tensor, u: torch.Tensor, steps: int = 1) -> tuple[float, torch.Tensor]:  # noqa: N803
    """Reference: ``steps`` times ``v = W^T u / |W^T u|``, ``u = W v / |W v|``; then
    ``sigma = u^T W v`` (what ``torch.nn.utils.parametrizations.spectral_norm`` does per
    training-mode forward pass). Returns ``(sigma, u)``."""
    v = F.normalize(W.T @ u, dim=0)
    for _ in range(steps):
        v = F.normalize(W.T @ u, dim=0)
        u = F.normalize(W @ v, dim=0)
    return float(u @ W @ v), u


def _pi_cases() -> list[Case]:
    gen = torch.Generator().manual_seed(10)

    def unit(n: int) -> torch.Tensor:
        return F.normalize(torch.randn(n, generator=gen), dim=0)

    a, b = torch.tensor([1.0, -2.0, 2.0]), torch.tensor([0.5, 0.5, -0.5, 0.5])
    return [Case("a Gaussian 64 x 128 matrix, one step", (torch.randn(64, 128, generator=gen), unit(64))),
            Case("a Gaussian 16 x 8 matrix, 5 steps", (torch.randn(16, 8, generator=gen), unit(16)), {"steps": 5}),
            Case("rank one: W = a b^T with |a| = 3, |b| = 1 (sigma = 3), 2 steps",
                 (torch.outer(a, b), unit(3)), {"steps": 2}),
            Case("a wide 2 x 6 matrix, 20 steps", (torch.randn(2, 6, generator=gen), unit(2)), {"steps": 20})]


def _pi_no_normalise_v(W, u, steps=1):  # noqa: N803
    for _ in range(steps):
        v = W.T @ u
        u = F.normalize(W @ v, dim=0)
    return float(u @ W @ v), u


def _pi_old_u(W, u, steps=1):  # noqa: N803
    u0 = u
    for _ in range(steps):
        v = F.normalize(W.T @ u, dim=0)
        u = F.normalize(W @ v, dim=0)
    return float(u @ W @ v), u0


def _pi_one_step(W, u, steps=1):  # noqa: N803
    v = F.normalize(W.T @ u, dim=0)
    u = F.normalize(W @ v, dim=0)
    return float(u @ W @ v), u


def _pi_norm_of_wtu(W, u, steps=1):  # noqa: N803
    for _ in range(steps):
        sigma = float((W.T @ u).norm())
        v = F.normalize(W.T @ u, dim=0)
        u = F.normalize(W @ v, dim=0)
    return sigma, u


def _pi_no_transpose(W, u, steps=1):  # noqa: N803
    for _ in range(steps):
        v = F.normalize(W @ u, dim=0)
        u = F.normalize(W @ v, dim=0)
    return float(u @ W @ v), u


register(
    "10.power_iteration",
    title="power iteration for the largest singular value",
    hint=("each step: v = W^T u normalised to length 1 (F.normalize(..., dim=0)), then u = W v normalised; "
          "repeat `steps` times, then sigma = u^T W v as a Python float, and return the new u too (training "
          "keeps it for the next step)."),
    reference=_power_iteration, cases=_pi_cases,
    wrong=(_pi_no_normalise_v, _pi_old_u, _pi_one_step, _pi_norm_of_wtu, _pi_no_transpose),
)


# ----------------------------------------------------------------------------- 10.d_loss_hinge
def _d_cases() -> list[Case]:
    gen = torch.Generator().manual_seed(11)
    return [Case("16 real and 16 fake scores, shape (16,)", (torch.randn(16, generator=gen) * 2,
                                                            torch.randn(16, generator=gen) * 2)),
            Case("past the margins (real +3, fake -3): nothing to learn",
                 (torch.full((4, 1), 3.0), torch.full((4, 1), -3.0))),
            Case("D fooled (real -0.5, fake +2), shape (4, 1)", (torch.full((4, 1), -0.5), torch.full((4, 1), 2.0))),
            Case("scores spread across both margins, 6 real and 3 fake",
                 (torch.linspace(-2, 3, 6), torch.tensor([-4.0, -0.5, 1.5])))]


def _d_no_relu(real, fake):
    return (1 - real).mean() + (1 + fake).mean()


def _d_swapped(real, fake):
    return F.relu(1 + real).mean() + F.relu(1 - fake).mean()


def _d_relu_of_mean(real, fake):
    return F.relu(1 - real.mean()) + F.relu(1 + fake.mean())


def _d_no_margin(real, fake):
    return F.relu(-real).mean() + F.relu(fake).mean()


def _d_sum(real, fake):
    return F.relu(1 - real).sum() + F.relu(1 + fake).sum()


register(
    "10.d_loss_hinge",
    title="the hinge loss of D",
    hint=("mean of max(0, 1 - D(x)) over the real scores plus mean of max(0, 1 + D(G(z))) over the fake ones "
          "(F.relu, then .mean() of each term separately): a score beyond its margin (real > 1, fake < -1) "
          "adds nothing."),
    reference=d_loss_hinge, cases=_d_cases,
    wrong=(_d_no_relu, _d_swapped, _d_relu_of_mean, _d_no_margin, _d_sum),
)


# ----------------------------------------------------------------------------- 10.g_loss_hinge
def _g_cases() -> list[Case]:
    gen = torch.Generator().manual_seed(12)
    return [Case("16 fake scores", (torch.randn(16, generator=gen) * 2,)),
            Case("D is sure the fakes are fake (-3), shape (4, 1)", (torch.full((4, 1), -3.0),)),
            Case("fakes already scored above +1", (torch.tensor([1.5, 2.0, 4.0]),))]


def _g_sign(fake):
    return fake.mean()


def _g_hinged(fake):
    return F.relu(1 - fake).mean()


def _g_d_fake_term(fake):
    return -F.relu(1 + fake).mean()


register(
    "10.g_loss_hinge",
    title="the hinge loss of G",
    hint=("G has no margin: it raises D's score of its fakes without limit, so its loss is minus the mean "
          "score, -D(G(z)).mean()."),
    reference=g_loss_hinge, cases=_g_cases, wrong=(_g_sign, _g_hinged, _g_d_fake_term),
)
