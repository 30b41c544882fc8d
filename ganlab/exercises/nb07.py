"""Notebook 07 (WGAN-GP): the random interpolates between real and fake samples, and the
gradient penalty on them, written by hand.

Both checks are independent of how the student draws the interpolation weights (``eps * real +
(1 - eps) * fake`` or the mirror image, ``torch.rand(n, 1, 1, 1)`` or ``torch.rand(n).view``):
the interpolates are graded by where they lie (on the segment, one weight per sample, uniform),
the penalty on critics whose input gradient does not depend on the point (a linear critic) or
on batches where the point does not depend on the weight (real = fake).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ganlab.exercises import Case, register
from ganlab.losses import gradient_penalty


# ----------------------------------------------------------------------------- 07.1
def interpolate(real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Reference: ``eps * real + (1 - eps) * fake``, one ``eps ~ U[0, 1]`` per sample."""
    eps = torch.rand(real.shape[0], *(1,) * (real.dim() - 1), generator=generator, device=real.device)
    return eps * real + (1 - eps) * fake


def _pair(seed: int, *shape: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=gen) * 2 - 1, torch.rand(*shape, generator=gen) * 2 - 1


def _interp_cases() -> list[Case]:
    return [Case("4,000 images of shape (1, 3, 3)", _pair(1, 4000, 1, 3, 3)),
            Case("4,000 RGB images of shape (3, 2, 2)", _pair(2, 4000, 3, 2, 2)),
            Case("4,000 flat vectors of 5", _pair(3, 4000, 5))]


def _observe_interp(fn: Any, case: Case) -> dict[str, Any]:
    """Where the interpolates lie: the shape, the largest distance of a sample from the segment
    real_i–fake_i (0: on the line, one weight for all its pixels), whether every weight is in
    [0, 1], and the mean and standard deviation of the weights over the batch (U[0, 1]: 0.5 and
    0.289; the mirror image eps <-> 1 - eps has the same). The weight of sample i is measured
    from ``fake_i`` towards ``real_i``."""
    real, fake = case.args
    x_hat = fn(real.clone(), fake.clone(), **case.kwargs)
    if tuple(x_hat.shape) != tuple(real.shape):
        return {"shape": tuple(x_hat.shape)}
    n = real.shape[0]
    d = (real - fake).reshape(n, -1).double()
    v = (x_hat.detach() - fake).reshape(n, -1).double()
    t = (v * d).sum(1) / (d * d).sum(1)
    off_line = (v - t[:, None] * d).abs().max()
    return {"shape": tuple(x_hat.shape),
            "largest distance from the segment": float(off_line),
            "every weight in [0, 1]": bool(((t >= -1e-6) & (t <= 1 + 1e-6)).all()),
            "mean weight": float(t.mean()),
            "std of the weights": float(t.std())}


def _interp_one_eps(real, fake, generator=None):
    eps = torch.rand(1, generator=generator)  # one weight for the whole batch
    return eps * real + (1 - eps) * fake


def _interp_per_pixel(real, fake, generator=None):
    eps = torch.rand(real.shape, generator=generator)  # a weight per pixel: off the segment
    return eps * real + (1 - eps) * fake


def _interp_normal(real, fake, generator=None):
    eps = torch.randn(real.shape[0], *(1,) * (real.dim() - 1), generator=generator)
    return eps * real + (1 - eps) * fake


def _interp_midpoint(real, fake, generator=None):
    return 0.5 * (real + fake)


def _interp_both_eps(real, fake, generator=None):
    eps = torch.rand(real.shape[0], *(1,) * (real.dim() - 1), generator=generator)
    return eps * real + eps * fake


register(
    "07.interpolate",
    title="random interpolates between real and fake samples",
    hint=("draw ONE eps ~ U[0, 1] per sample, shaped (N, 1, 1, 1) for images (torch.rand), so it "
          "broadcasts over channels and pixels; then eps * real + (1 - eps) * fake."),
    reference=interpolate, cases=_interp_cases, observe=_observe_interp, atol=0.02, rtol=0.0,
    wrong=(_interp_one_eps, _interp_per_pixel, _interp_normal, _interp_midpoint, _interp_both_eps),
)


# ----------------------------------------------------------------------------- 07.2
def _net(seed: int, net: nn.Module, scale: float) -> nn.Module:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * scale)
    return net


def _linear_critic(seed: int, norm: float) -> nn.Module:
    """f(x) = <w, x> + b with ||w|| = norm: its input gradient is w everywhere."""
    net = _net(seed, nn.Sequential(nn.Flatten(), nn.Linear(12, 1)), 1.0)
    with torch.no_grad():
        net[1].weight.mul_(norm / net[1].weight.norm())
    return net


def _mlp_critic(seed: int) -> nn.Module:
    """A small per-sample critic (no batch norm) with a gradient that varies from point to point."""
    return _net(seed, nn.Sequential(nn.Flatten(), nn.Linear(12, 16), nn.Tanh(), nn.Linear(16, 1)), 0.6)


def _gp_cases() -> list[Case]:
    real, fake = _pair(11, 6, 3, 2, 2)
    same, _ = _pair(12, 6, 3, 2, 2)
    return [Case("a linear critic with ||w|| = 2.5, lambda = 10", (_linear_critic(1, 2.5), real, fake)),
            Case("a linear critic with ||w|| = 0.4, lambda = 1", (_linear_critic(2, 0.4), real, fake),
                 {"weight": 1.0}),
            Case("a small MLP critic, real = fake (so every interpolate is that point)",
                 (_mlp_critic(3), same, same.clone())),
            Case("a small MLP critic, real = fake, lambda = 5", (_mlp_critic(4), same, same.clone()),
                 {"weight": 5.0})]


def _observe_gp(fn: Any, case: Case) -> dict[str, Any]:
    """The penalty, whether it can train the critic (it requires grad: the input gradient was
    taken with ``create_graph=True``), and the critic's parameter gradients of ``penalty.backward()``."""
    critic = case.args[0]
    penalty = fn(*case.args, **case.kwargs)
    out: dict[str, Any] = {"penalty": penalty.detach().reshape(()) if isinstance(penalty, torch.Tensor) else penalty,
                           "penalty reaches the critic's weights (requires grad)":
                               bool(isinstance(penalty, torch.Tensor) and penalty.requires_grad)}
    critic.zero_grad(set_to_none=True)
    if out["penalty reaches the critic's weights (requires grad)"]:
        penalty.reshape(()).backward()
    for name, p in critic.named_parameters():  # zeros when the penalty cannot reach them
        out[f"d penalty / d {name}"] = p.grad.clone() if p.grad is not None else torch.zeros_like(p)
    return out


def _gp_no_create_graph(critic, real, fake, weight=10.0, generator=None):
    x_hat = interpolate(real.detach(), fake.detach(), generator).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat)  # the penalty cannot train the critic
    return weight * (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


def _gp_batch_norm(critic, real, fake, weight=10.0, generator=None):
    x_hat = interpolate(real.detach(), fake.detach(), generator).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return weight * (grad.norm() - 1).pow(2)  # one norm over the whole batch


def _gp_squared_norm(critic, real, fake, weight=10.0, generator=None):
    x_hat = interpolate(real.detach(), fake.detach(), generator).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return weight * (grad.flatten(1).pow(2).sum(1) - 1).pow(2).mean()


def _gp_one_sided(critic, real, fake, weight=10.0, generator=None):
    x_hat = interpolate(real.detach(), fake.detach(), generator).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return weight * torch.relu(grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


def _gp_no_weight(critic, real, fake, weight=10.0, generator=None):
    x_hat = interpolate(real.detach(), fake.detach(), generator).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


register(
    "07.gradient_penalty",
    title="WGAN-GP gradient penalty",
    hint=("x_hat = your interpolates with requires_grad_(True); grad = torch.autograd.grad("
          "critic(x_hat).sum(), x_hat, create_graph=True)[0]; the L2 norm of each sample's gradient "
          "(flatten(1), then .norm(dim=1)); weight * mean((norm - 1)^2), two-sided."),
    reference=gradient_penalty, cases=_gp_cases, observe=_observe_gp,
    wrong=(_gp_no_create_graph, _gp_batch_norm, _gp_squared_norm, _gp_one_sided, _gp_no_weight),
)
