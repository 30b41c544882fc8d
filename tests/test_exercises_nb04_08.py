"""The exercises of notebooks 04-08: the references written in ganlab/exercises/nbNN.py agree
with torch and with ganlab's networks, and legitimate variations of a correct answer pass."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganlab.exercises import check
from ganlab.exercises.nb04 import conv_transpose_out
from ganlab.exercises.nb07 import interpolate
from ganlab.exercises.nb08 import conditional_batch_norm, label_plane, projection_logit
from ganlab.nets import CBNGenerator, ConcatDiscriminator, ConcatGenerator, ProjectionDiscriminator


@pytest.mark.parametrize(("size", "kernel", "stride", "padding", "output_padding"), [
    (1, 4, 1, 0, 0), (1, 7, 1, 0, 0), (4, 4, 2, 1, 0), (7, 4, 2, 1, 0), (14, 4, 2, 1, 0),
    (5, 3, 2, 1, 1), (3, 5, 3, 2, 2), (9, 2, 2, 0, 1), (6, 1, 1, 0, 0)])
def test_conv_transpose_out_is_torchs(size, kernel, stride, padding, output_padding) -> None:
    conv = nn.ConvTranspose2d(1, 1, kernel, stride, padding, output_padding=output_padding)
    assert conv(torch.zeros(1, 1, size, size)).shape[-1] == conv_transpose_out(
        size, kernel, stride, padding, output_padding)


def test_dcgan_init_accepts_another_order_of_draws() -> None:
    def reversed_randn(net: nn.Module) -> nn.Module:
        with torch.no_grad():
            for m in reversed(list(net.modules())):
                if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                    m.weight.copy_(torch.randn_like(m.weight) * 0.02)
                    if m.bias is not None:
                        m.bias.fill_(0.0)
                elif isinstance(m, nn.BatchNorm2d):
                    m.weight.copy_(1 + 0.02 * torch.randn_like(m.weight))
                    m.bias.zero_()
        return net

    torch.manual_seed(123)  # the global stream the check reseeds anyway
    check("04.dcgan_init", reversed_randn, quiet=True)


def test_loss_variants_pass() -> None:
    check("05.d_loss_ls", lambda r, f, a=0.0, b=1.0: 0.5 * F.mse_loss(r, torch.full_like(r, b))
          + 0.5 * F.mse_loss(f, torch.full_like(f, a)), quiet=True)
    check("05.g_loss_ls", lambda f, c=1.0: F.mse_loss(f, torch.full_like(f, c)) / 2, quiet=True)
    check("06.critic_loss", lambda r, f: -(torch.mean(r) - torch.mean(f)), quiet=True)
    check("06.generator_loss", lambda f: torch.mean(-f), quiet=True)

    def clip_data(critic: nn.Module, c: float) -> None:
        for p in critic.parameters():
            p.data.clamp_(-c, c)

    check("06.clip_weights", clip_data, quiet=True)


def test_interpolates_and_penalty_accept_the_mirror_image_and_grad_outputs() -> None:
    def mirrored(real, fake, generator=None):
        eps = torch.rand(real.shape[0], generator=generator).view(-1, *(1,) * (real.dim() - 1))
        return eps * fake + (1 - eps) * real

    check("07.interpolate", mirrored, quiet=True)

    def penalty(critic, real, fake, weight=10.0, generator=None):
        x_hat = mirrored(real, fake, generator).detach().requires_grad_(True)
        out = critic(x_hat)
        (grad,) = torch.autograd.grad(out, x_hat, grad_outputs=torch.ones_like(out), create_graph=True)
        return weight * ((grad.reshape(grad.shape[0], -1).norm(2, dim=1) - 1) ** 2).mean()

    check("07.gradient_penalty", penalty, quiet=True)
    assert interpolate(torch.ones(3, 2), torch.zeros(3, 2)).shape == (3, 2)


def test_conditional_references_match_ganlab_nets() -> None:
    torch.manual_seed(0)
    y = torch.tensor([0, 1, 2, 3, 4, 9])
    d = ConcatDiscriminator(n_classes=10, image_size=28, channels=1, ndf=8)
    assert torch.allclose(label_plane(d.embed, d.label_map, y, 28), d.label_plane(y))
    g = ConcatGenerator(n_classes=10, image_size=28, channels=1, ngf=8)
    assert torch.allclose(label_plane(g.embed, g.label_map, y, g.start), g.label_plane(y))
    cbn = CBNGenerator(n_classes=10, image_size=28, channels=1, ngf=8).train().norms[0]
    with torch.no_grad():
        cbn.gamma.weight.add_(0.1 * torch.randn_like(cbn.gamma.weight))
        cbn.beta.weight.add_(0.1 * torch.randn_like(cbn.beta.weight))
    h = torch.randn(6, cbn.bn.num_features, 7, 7)
    assert torch.allclose(conditional_batch_norm(h, y, cbn.bn, cbn.gamma, cbn.beta), cbn(h, y), atol=1e-6)
    p = ProjectionDiscriminator(n_classes=10, image_size=28, channels=1, ndf=8, pooling="flatten").eval()
    x = torch.rand(6, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(projection_logit(p.phi(x), y, p.psi, p.embed), p(x, y), atol=1e-5)
