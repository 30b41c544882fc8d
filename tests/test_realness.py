"""RealnessGAN: anchors, KL objectives (against torch's kl_div), N = 2 == GAN, the family."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ganlab.losses import (
    REALNESS_G_OBJECTIVES,
    d_loss_bce,
    d_loss_realness,
    g_loss_minimax,
    g_loss_nonsaturating,
    g_loss_realness,
    kl_between_logits,
    kl_to_logits,
    realness_anchors,
)
from ganlab.models import build
from ganlab.models.realness import resolve_anchors
from ganlab.nets import DCGANDiscriminator, DCGANGenerator
from ganlab.train import TrainConfig, Trainer
from tests.helpers import assert_resume_is_exact, tiny_images


def _pair(outcomes: int = 5, norm: str = "none"):
    torch.manual_seed(0)
    G = DCGANGenerator(nz=16, image_size=28, channels=1, ngf=8)
    D = DCGANDiscriminator(image_size=28, channels=1, ndf=8, norm=norm, outputs=outcomes)
    return G, D


# ----------------------------------------------------------------------------- anchors
@pytest.mark.parametrize("kind", ["paper", "onehot", "ramp"])
@pytest.mark.parametrize("n", [2, 3, 10, 51])
def test_anchors_are_distributions(kind: str, n: int) -> None:
    a0, a1 = realness_anchors(n, kind)
    for a in (a0, a1):
        assert a.shape == (n,) and a.dtype == torch.float32
        assert (a >= 0).all() and a.sum().item() == pytest.approx(1.0, abs=1e-6)


def test_paper_anchors_match_the_official_histograms() -> None:
    """The official code bins 1,000 draws of N(0, 0.1) / U(-1, 1) with np.histogram; the exact
    masses over +-3.2 sigma are that histogram in expectation (checked against a large sample)."""
    a0, a1 = realness_anchors(10, "paper")
    assert torch.allclose(a1, torch.full((10,), 0.1))
    assert torch.allclose(a0, a0.flip(0), atol=1e-7) and a0.argmax() in (4, 5)
    gen = torch.Generator().manual_seed(0)
    draws = torch.randn(2_000_000, generator=gen, dtype=torch.float64) * 0.1
    inside = draws[(draws >= -0.32) & (draws < 0.32)]
    counts = torch.histc(inside, bins=10, min=-0.32, max=0.32)
    assert torch.allclose(a0.double(), counts / counts.sum(), atol=2e-3), (a0, counts / counts.sum())
    p0, p1 = realness_anchors(2, "paper")
    assert torch.equal(p0, p1)  # at N = 2 the paper's anchors coincide


def test_bad_anchor_settings_raise() -> None:
    with pytest.raises(ValueError, match="outcomes >= 2"):
        realness_anchors(1)
    with pytest.raises(ValueError, match="accepted: paper, onehot, ramp"):
        realness_anchors(5, "gauss")
    with pytest.raises(ValueError, match="anchor A0 has 3 entries; it needs one per outcome \\(5\\)"):
        resolve_anchors(([0.2, 0.3, 0.5], [0.2] * 5), 5)
    with pytest.raises(ValueError, match="probability vector"):
        resolve_anchors(([0.5, 0.6], [0.5, 0.5]), 2)
    with pytest.raises(ValueError, match="probability vector"):
        resolve_anchors(([1.5, -0.5], [0.5, 0.5]), 2)
    a0, a1 = resolve_anchors(([0.7, 0.3], (0.1, 0.9)), 2)
    assert torch.allclose(a1, torch.tensor([0.1, 0.9]))


# ----------------------------------------------------------------------------- KL terms
def test_kl_matches_torch_kl_div() -> None:
    torch.manual_seed(0)
    logits = torch.randn(16, 7)
    p = torch.softmax(torch.randn(16, 7), dim=1)
    ref = F.kl_div(F.log_softmax(logits, 1), p, reduction="none").sum(1)
    assert torch.allclose(kl_to_logits(p, logits), ref, atol=1e-6)
    a0, _ = realness_anchors(7, "onehot")  # zeros in the target: 0 log 0 = 0
    ref0 = F.kl_div(F.log_softmax(logits, 1), a0.expand(16, 7), reduction="none").sum(1)
    assert torch.allclose(kl_to_logits(a0, logits), ref0, atol=1e-6)
    q_logits = torch.randn(16, 7)
    ref2 = F.kl_div(F.log_softmax(q_logits, 1), F.softmax(logits, 1), reduction="none").sum(1)
    assert torch.allclose(kl_between_logits(logits, q_logits), ref2, atol=1e-6)
    assert kl_to_logits(torch.softmax(logits, 1), logits).abs().max() < 1e-6


def test_n2_onehot_is_the_gan() -> None:
    torch.manual_seed(1)
    a0, a1 = realness_anchors(2, "onehot")
    real = torch.randn(64, 2, requires_grad=True)
    fake = (3 * torch.randn(64, 2)).requires_grad_()
    diff = lambda t: t[:, 1] - t[:, 0]  # noqa: E731
    pairs = [(d_loss_realness(real, fake, a0, a1), d_loss_bce(diff(real), diff(fake))),
             (g_loss_realness(fake, None, a0, a1, "minus_a0"), g_loss_minimax(diff(fake))),
             (g_loss_realness(fake, None, a0, a1, "a1"), g_loss_nonsaturating(diff(fake)))]
    for ours, gan in pairs:
        assert ours.item() == pytest.approx(gan.item(), abs=1e-6)
        g1 = torch.autograd.grad(ours, fake, retain_graph=True)[0]
        g2 = torch.autograd.grad(gan, fake, retain_graph=True)[0]
        assert torch.allclose(g1, g2, atol=1e-7)


def test_g_objectives_compose_from_their_terms() -> None:
    torch.manual_seed(2)
    a0, a1 = realness_anchors(5, "paper")
    fake, real = torch.randn(8, 5), torch.randn(8, 5)
    t_real = kl_to_logits(F.softmax(real, 1), fake).mean()
    t_a1, t_a0 = kl_to_logits(a1, fake).mean(), kl_to_logits(a0, fake).mean()
    expected = {"minus_a0": -t_a0, "real_minus_a0": t_real - t_a0, "a1_minus_a0": t_a1 - t_a0,
                "real": t_real, "a1": t_a1}
    assert set(expected) == set(REALNESS_G_OBJECTIVES)
    for obj, value in expected.items():
        assert g_loss_realness(fake, real, a0, a1, obj).item() == pytest.approx(value.item(), abs=1e-6), obj
    with pytest.raises(ValueError, match="accepted: minus_a0"):
        g_loss_realness(fake, real, a0, a1, "hinge")
    with pytest.raises(ValueError, match="needs D's logits on a real batch"):
        g_loss_realness(fake, None, a0, a1, "real")
    with pytest.raises(ValueError, match="must have 5 outcomes"):
        kl_to_logits(torch.ones(4) / 4, fake)


# ----------------------------------------------------------------------------- the family
def test_family_settings_are_checked() -> None:
    G, D = _pair(5)
    model = build("realnessgan", G, D)
    assert model.recipe.extra["outcomes"] == 5 and model.a0.shape == (5,)
    assert "a0" in model.state_dict() and "a1" in model.state_dict()
    with pytest.raises(ValueError, match="outcomes=4 but D has 5 outputs"):
        build("realnessgan", *_pair(5), outcomes=4)
    with pytest.raises(ValueError, match="outcomes >= 2"):
        build("realnessgan", *_pair(1))
    with pytest.raises(ValueError, match="accepted: minus_a0"):
        build("realnessgan", *_pair(5), g_objective="nonsaturating")
    with pytest.raises(ValueError, match="anchor A1 has 4 entries"):
        build("realnessgan", *_pair(5), anchors=([0.2] * 5, [0.25] * 4))
    with pytest.raises(ValueError, match="augment= is not supported"):
        build("realnessgan", *_pair(5), augment={"diffaugment": "translation"})
    with pytest.raises(ValueError, match="outputs must be an integer >= 1"):
        DCGANDiscriminator(image_size=28, channels=1, ndf=8, outputs=0)


def test_spectral_norm_option_and_d_output_shape() -> None:
    G, D = _pair(10)
    model = build("realnessgan", G, D, spectral_norm=True)
    assert any("parametrizations" in k for k in model.state_dict())
    out = model.D(torch.zeros(3, 1, 28, 28))
    assert out.shape == (3, 10)
    probs = model.distribution(torch.zeros(3, 1, 28, 28))
    assert torch.allclose(probs.sum(1), torch.ones(3))


def test_training_moves_d_towards_the_anchors() -> None:
    """A few D-heavy iterations: D's KL to the anchors falls on the training images and on fakes."""
    model = build("realnessgan", *_pair(5), lr_d=2e-3, d_steps=3)
    trainer = Trainer(model, tiny_images(64), TrainConfig(steps=12, batch_size=16, device="cpu",
                                                          progress=False, log_every=3, seed=0))
    hist = trainer.fit()
    for key in ("d", "g", "kl_a1_real", "kl_a0_fake"):
        assert all(math.isfinite(v) for v in hist.losses[key]), key
    assert hist.losses["d"][-1] < 0.5 * hist.losses["d"][0]


def test_resume_is_exact(tmp_path) -> None:
    assert_resume_is_exact(lambda: build("realnessgan", *_pair(5), spectral_norm=True, g_steps=2),
                           lambda: tiny_images(48), tmp_path)
