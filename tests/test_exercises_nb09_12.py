"""The references of notebooks 09-12's exercises that are written in ``ganlab.exercises.nbNN``
(not package functions) agree with the package's models and with torch."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ganlab.data import Batch
from ganlab.exercises import nb09, nb10, nb11, nb12
from ganlab.models import build
from ganlab.models.base import StepContext
from ganlab.nets import (
    DCGANGenerator,
    InfoGANDiscriminator,
    PatchDiscriminator,
    ResNetGenerator,
    StyleGenerator,
    UNetGenerator,
)
from ganlab.nets.stylegan import adain


def _ctx(n: int) -> StepContext:
    return StepContext(device=torch.device("cpu"), generator=torch.Generator().manual_seed(0), batch_size=n)


def test_09_sample_latent_is_the_family_latent() -> None:
    D = InfoGANDiscriminator(image_size=28, channels=1, ndf=8, n_categories=10, n_continuous=2)
    model = build("infogan", DCGANGenerator(nz=5 + 12, image_size=28, channels=1, ngf=8), D, noise_dim=5)
    ours = nb09._sample_latent(50, 5, 10, 2, generator=torch.Generator().manual_seed(3))
    assert torch.equal(ours, model.latent(50, "cpu", generator=torch.Generator().manual_seed(3)))


def test_09_bound_and_nll_match_the_distributions() -> None:
    gen = torch.Generator().manual_seed(0)
    logits, cats = torch.randn(32, 7, generator=gen), torch.randint(7, (32,), generator=gen)
    log_q = torch.distributions.Categorical(logits=logits).log_prob(cats)
    assert torch.isclose(nb09._mi_lower_bound(logits, cats), math.log(7) + log_q.mean(), atol=1e-6)
    means, codes = torch.randn(32, 3, generator=gen), torch.rand(32, 3, generator=gen) * 2 - 1
    nll = -torch.distributions.Normal(means, 1.0).log_prob(codes).sum(dim=1).mean() - 1.5 * math.log(2 * math.pi)
    assert torch.isclose(nb09._continuous_nll(means, codes), nll, atol=1e-5)


def test_10_power_iteration_is_what_spectral_norm_runs_and_converges_to_svd() -> None:
    torch.manual_seed(0)
    layer = spectral_norm(nn.Linear(12, 7, bias=False))
    param = layer.parametrizations.weight
    u0 = param[0]._u.clone()
    W = param.original.detach()  # noqa: N806
    layer.train()
    for _ in range(3):  # one power-iteration step per training-mode forward pass
        layer(torch.zeros(1, 12))
    sigma, u = nb10._power_iteration(W, u0, steps=3)
    assert torch.allclose(u, param[0]._u, atol=1e-6)
    torch_sigma = float(param[0]._u @ W @ param[0]._v)
    assert math.isclose(sigma, torch_sigma, rel_tol=1e-5)
    sigma_200, _ = nb10._power_iteration(W, u0, steps=200)
    assert math.isclose(sigma_200, float(torch.linalg.svdvals(W)[0]), rel_tol=1e-4)


def test_11_references_match_the_style_generator() -> None:
    torch.manual_seed(0)
    G = StyleGenerator(nz=8, image_size=28, channels=1, width=4, mapping_depth=1)  # noqa: N806
    G.w_avg.copy_(torch.randn_like(G.w_avg))
    w1, w2 = torch.randn(3, G.w_dim), torch.randn(3, G.w_dim)
    for c in range(G.n_styles + 1):
        assert torch.equal(nb11._mix_styles(w1, w2, c, G.n_styles), G.mix(w1, w2, c))
    for psi in (0.0, 0.5, 1.0):
        assert torch.allclose(nb11._truncate(w1, G.w_avg, psi), G.truncate(w1, psi))
        assert torch.allclose(nb11._truncate(G.broadcast(w1), G.w_avg, psi), G.truncate(G.broadcast(w1), psi))
    x, scale, bias = torch.randn(2, 3, 5, 5), torch.rand(2, 3) + 0.5, torch.randn(2, 3)
    expected = scale[:, :, None, None] * F.instance_norm(x, eps=1e-5) + bias[:, :, None, None]
    assert torch.allclose(adain(x, scale, bias), expected, atol=1e-5)


def test_12_pix2pix_reference_is_the_family_generator_loss() -> None:
    torch.manual_seed(0)
    model = build("pix2pix", UNetGenerator(3, 3, 16, ngf=4), PatchDiscriminator(6, 4, 1, image_size=16),
                  l1_weight=100.0).eval()
    source, target = torch.rand(4, 3, 16, 16) * 2 - 1, torch.rand(4, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        theirs, _ = model.phase_loss("g", Batch(real=target, source=source), _ctx(4))
        fake = model.G(source)
        ours = nb12._pix2pix_g_loss(model.discriminate(source, fake), fake, target, 100.0)
    assert torch.allclose(ours, theirs, rtol=1e-5)


def test_12_cycle_reference_is_the_family_cycle_term() -> None:
    torch.manual_seed(0)
    G_AB, G_BA = ResNetGenerator(1, 8, ngf=4, blocks=1), ResNetGenerator(1, 8, ngf=4, blocks=1)  # noqa: N806
    model = build("cyclegan", G_AB, G_BA, PatchDiscriminator(1, 4, 1, norm="instance"),
                  PatchDiscriminator(1, 4, 1, norm="instance"), cycle_weight=10.0, identity_weight=0.0).eval()
    a, b = torch.rand(3, 1, 8, 8) * 2 - 1, torch.rand(3, 1, 8, 8) * 2 - 1
    with torch.no_grad():
        _, logs = model.phase_loss("g", Batch(real=a, other=b), _ctx(3))
        ours = nb12._cycle_loss(model.G_AB, model.G_BA, a, b, weight=1.0)
    assert torch.allclose(ours, logs["cycle"], rtol=1e-5)
