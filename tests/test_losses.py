"""ganlab.losses against closed forms computed by hand."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganlab import losses as L


def _sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class LinearCritic(nn.Module):
    """f(x) = w . flatten(x) + b: its input gradient is w everywhere."""

    def __init__(self, shape: tuple[int, ...], seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        d = math.prod(shape)
        self.w = nn.Parameter(torch.randn(d, generator=g))
        self.b = nn.Parameter(torch.tensor(0.3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1) @ self.w + self.b


REAL = torch.tensor([2.0, 0.5, -1.0])
FAKE = torch.tensor([-2.0, 0.0, 1.0])


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def test_bce_default_targets() -> None:
    expected = _mean([-math.log(_sig(r)) for r in REAL.tolist()]) + _mean(
        [-math.log(1 - _sig(f)) for f in FAKE.tolist()]
    )
    assert L.d_loss_bce(REAL, FAKE).item() == pytest.approx(expected, rel=1e-5)


def test_bce_float_and_tensor_targets() -> None:
    def bce(logit: float, t: float) -> float:
        p = _sig(logit)
        return -(t * math.log(p) + (1 - t) * math.log(1 - p))

    expected = _mean([bce(r, 0.9) for r in REAL.tolist()]) + _mean(
        [bce(f, 0.1) for f in FAKE.tolist()]
    )
    assert L.d_loss_bce(REAL, FAKE, 0.9, 0.1).item() == pytest.approx(expected, rel=1e-5)
    rt, ft = torch.tensor([0.7, 0.8, 1.0]), torch.tensor([0.0, 0.3, 0.2])
    expected = _mean([bce(r, t) for r, t in zip(REAL.tolist(), rt.tolist())]) + _mean(
        [bce(f, t) for f, t in zip(FAKE.tolist(), ft.tolist())]
    )
    assert L.d_loss_bce(REAL, FAKE, rt, ft).item() == pytest.approx(expected, rel=1e-5)


def test_bce_bad_target_shape() -> None:
    with pytest.raises(ValueError, match="shape"):
        L.d_loss_bce(REAL, FAKE, real_target=torch.ones(4))
    with pytest.raises(ValueError, match="empty"):
        L.d_loss_bce(torch.empty(0), FAKE)


def test_generator_bce_losses() -> None:
    ns = _mean([-math.log(_sig(f)) for f in FAKE.tolist()])
    mm = _mean([math.log(1 - _sig(f)) for f in FAKE.tolist()])
    assert L.g_loss_nonsaturating(FAKE).item() == pytest.approx(ns, rel=1e-5)
    assert L.g_loss_minimax(FAKE).item() == pytest.approx(mm, rel=1e-5)


def test_saturating_vs_nonsaturating_gradient() -> None:
    for loss in (L.g_loss_minimax, L.g_loss_nonsaturating):
        assert torch.isfinite(loss(torch.tensor([-100.0])))
    grads = {}
    for name, loss in (("sat", L.g_loss_minimax), ("ns", L.g_loss_nonsaturating)):
        logit = torch.tensor([-10.0], requires_grad=True)
        loss(logit).backward()
        grads[name] = logit.grad.item()
    assert grads["sat"] == pytest.approx(-_sig(-10.0), rel=1e-4)  # -sigmoid(l), tiny
    assert grads["ns"] == pytest.approx(-(1 - _sig(-10.0)), rel=1e-4)  # about -1
    assert abs(grads["ns"]) > 1000 * abs(grads["sat"])


def test_least_squares() -> None:
    d = 0.5 * _mean([(r - 1) ** 2 for r in REAL.tolist()]) + 0.5 * _mean(
        [f**2 for f in FAKE.tolist()]
    )
    assert L.d_loss_ls(REAL, FAKE).item() == pytest.approx(d, rel=1e-6)
    d2 = 0.5 * _mean([(r - 1) ** 2 for r in REAL.tolist()]) + 0.5 * _mean(
        [(f + 1) ** 2 for f in FAKE.tolist()]
    )
    assert L.d_loss_ls(REAL, FAKE, a=-1.0, b=1.0).item() == pytest.approx(d2, rel=1e-6)
    assert L.g_loss_ls(FAKE).item() == pytest.approx(
        0.5 * _mean([(f - 1) ** 2 for f in FAKE.tolist()])
    )
    assert L.g_loss_ls(FAKE, c=0.0).item() == pytest.approx(
        0.5 * _mean([f**2 for f in FAKE.tolist()])
    )


def test_wasserstein_and_hinge() -> None:
    assert L.d_loss_wasserstein(REAL, FAKE).item() == pytest.approx((-1.0 / 3) - (1.5 / 3))
    assert L.g_loss_wasserstein(FAKE).item() == pytest.approx(1.0 / 3)
    # relu(1 - r) = [0, 0.5, 2]; relu(1 + f) = [0, 1, 2]
    assert L.d_loss_hinge(REAL, FAKE).item() == pytest.approx(2.5 / 3 + 1.0)
    assert L.g_loss_hinge(FAKE).item() == pytest.approx(1.0 / 3)


def test_losses_accept_bf16_and_patch_maps() -> None:
    patch = torch.randn(2, 1, 3, 3).bfloat16()
    out = L.d_loss_ls(patch, patch)
    assert out.dtype == torch.float32 and out.dim() == 0


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4)])
@pytest.mark.parametrize("weight", [10.0, 1.0])
def test_gradient_penalty_linear_critic(shape: tuple[int, ...], weight: float) -> None:
    critic = LinearCritic(shape)
    real, fake = torch.randn(8, *shape), torch.randn(8, *shape)
    gp = L.gradient_penalty(
        critic, real, fake, weight=weight, generator=torch.Generator().manual_seed(1)
    )
    norm = critic.w.detach().norm().item()
    assert gp.item() == pytest.approx(weight * (norm - 1) ** 2, rel=1e-5)
    # create_graph: the penalty trains the critic: d/dw = weight * 2 (|w| - 1) w / |w|
    gp.backward()
    expected = weight * 2 * (norm - 1) * critic.w.detach() / norm
    torch.testing.assert_close(critic.w.grad, expected, rtol=1e-4, atol=1e-5)


def test_gradient_penalty_unit_norm_is_zero_and_generator_reproducible() -> None:
    critic = LinearCritic((4,))
    with torch.no_grad():
        critic.w.div_(critic.w.norm())
    real, fake = torch.randn(6, 4), torch.randn(6, 4)
    assert L.gradient_penalty(critic, real, fake).item() == pytest.approx(0.0, abs=1e-8)
    from ganlab.nets import DCGANCritic

    c = DCGANCritic(image_size=28, channels=1, ndf=4)
    r, f = torch.rand(4, 1, 28, 28) * 2 - 1, torch.rand(4, 1, 28, 28) * 2 - 1
    a = L.gradient_penalty(c, r, f, generator=torch.Generator().manual_seed(3))
    b = L.gradient_penalty(c, r, f, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and torch.isfinite(a)


def test_gradient_penalty_under_autocast_is_fp32() -> None:
    from ganlab.nets import DCGANCritic

    torch.manual_seed(0)
    critic = DCGANCritic(image_size=32, channels=3, ndf=4)
    real, fake = torch.rand(4, 3, 32, 32) * 2 - 1, torch.rand(4, 3, 32, 32) * 2 - 1
    ref = L.gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(0))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        amp = L.gradient_penalty(
            critic, real.bfloat16(), fake.bfloat16(), generator=torch.Generator().manual_seed(0)
        )
    assert amp.dtype == torch.float32
    # only the bf16 rounding of the inputs differs
    assert amp.item() == pytest.approx(ref.item(), rel=2e-2)
    amp.backward()
    assert all(torch.isfinite(p.grad).all() for p in critic.parameters() if p.grad is not None)


def test_gradient_penalty_channels_last() -> None:
    critic = LinearCritic((3, 4, 4))
    real = torch.randn(2, 3, 4, 4).to(memory_format=torch.channels_last)
    fake = torch.randn(2, 3, 4, 4).to(memory_format=torch.channels_last)
    gp = L.gradient_penalty(critic, real, fake)
    assert gp.item() == pytest.approx(10 * (critic.w.detach().norm().item() - 1) ** 2, rel=1e-5)


def test_gradient_penalty_bad_input() -> None:
    critic = LinearCritic((4,))
    with pytest.raises(ValueError, match="same shape"):
        L.gradient_penalty(critic, torch.randn(3, 4), torch.randn(2, 4))
    with pytest.raises(ValueError, match="weight"):
        L.gradient_penalty(critic, torch.randn(3, 4), torch.randn(3, 4), weight=-1.0)


def test_r1_linear() -> None:
    critic = LinearCritic((2, 3))
    real = torch.randn(5, 2, 3).requires_grad_(True)
    r1 = L.r1_penalty(critic(real), real, gamma=4.0)
    assert r1.item() == pytest.approx(4.0 / 2 * critic.w.detach().pow(2).sum().item(), rel=1e-5)
    r1.backward()  # create_graph: reaches the weights (d/dw gamma/2 |w|^2 = gamma w)
    torch.testing.assert_close(critic.w.grad, 4.0 * critic.w.detach(), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="requires_grad"):
        x = torch.randn(5, 2, 3)
        L.r1_penalty(critic(x), x, gamma=1.0)


def test_clip_weights() -> None:
    net = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.Linear(8, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(10)
    assert L.clip_weights_(net, 0.01) is net
    for p in net.parameters():
        assert p.abs().max().item() <= 0.01 + 1e-9
    for c in (0.0, -1.0):
        with pytest.raises(ValueError, match="c must be > 0"):
            L.clip_weights_(net, c)


def test_random_targets() -> None:
    t = L.random_targets(1000, 0.7, 1.0, generator=torch.Generator().manual_seed(5))
    assert t.shape == (1000,) and t.dtype == torch.float32
    assert t.min().item() >= 0.7 and t.max().item() <= 1.0
    assert t.std().item() > 0.05  # really random, not constant
    again = L.random_targets(1000, 0.7, 1.0, generator=torch.Generator().manual_seed(5))
    assert torch.equal(t, again)
    assert torch.all(L.random_targets(3, 0.9, 0.9) == 0.9)
    with pytest.raises(ValueError, match="low must be <= high"):
        L.random_targets(3, 0.5, 0.2)


def test_smooth_targets() -> None:
    assert L.smooth_targets(0.9, 4) == 0.9
    t = L.smooth_targets((0.0, 0.3), 4, generator=torch.Generator().manual_seed(0))
    assert isinstance(t, torch.Tensor) and t.shape == (4,) and float(t.max()) <= 0.3
    for bad in (1.5, (0.5, 0.2), (0.0, 2.0), (0.1, 0.2, 0.3)):
        with pytest.raises(ValueError):
            L.smooth_targets(bad, 4)


def test_instance_noise() -> None:
    x = torch.zeros(20000)
    y = L.instance_noise(x, 0.5, generator=torch.Generator().manual_seed(0))
    assert y.shape == x.shape and abs(y.std().item() - 0.5) < 0.02 and abs(y.mean().item()) < 0.02
    assert torch.equal(y, L.instance_noise(x, 0.5, generator=torch.Generator().manual_seed(0)))
    assert L.instance_noise(x, 0.0) is x
    cl = torch.zeros(2, 3, 4, 4).to(memory_format=torch.channels_last)
    assert L.instance_noise(cl, 0.1).is_contiguous(memory_format=torch.channels_last)
    with pytest.raises(ValueError, match="std"):
        L.instance_noise(x, -0.1)
