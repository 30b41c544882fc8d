"""ganlab.nets: shapes, ranges, parameter counts, init, spectral norm, errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from torch import nn

from ganlab import nets
from ganlab.nets import (
    DCGANCritic,
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    count_parameters,
    wgangp_lsun,
)
from ganlab.nets.layers import FourierFeatures


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


# ----------------------------------------------------------------------------- MLP
def test_mlp_parameter_counts_match_the_report() -> None:
    # report table I: 100*256+256, 256*512+512, 512*1024+1024, 1024*784+784
    g_layers = [100 * 256 + 256, 256 * 512 + 512, 512 * 1024 + 1024, 1024 * 784 + 784]
    assert g_layers == [25_856, 131_584, 525_312, 803_600]
    assert count_parameters(MLPGenerator()) == sum(g_layers) == 1_486_352
    # report table II: 784*1024+1024, 1024*512+512, 512*256+256, 256+1
    d_layers = [784 * 1024 + 1024, 1024 * 512 + 512, 512 * 256 + 256, 256 + 1]
    assert d_layers == [803_840, 524_800, 131_328, 257]
    assert count_parameters(MLPDiscriminator()) == sum(d_layers) == 1_460_225


def test_mlp_shapes_and_range() -> None:
    g, d = MLPGenerator(), MLPDiscriminator()
    x = g(torch.randn(4, 100))
    assert x.shape == (4, 1, 28, 28) and x.abs().max() <= 1
    assert d(x).shape == (4,)
    assert not any(isinstance(m, nn.Sigmoid) for m in d.modules())
    toy_g = MLPGenerator(nz=2, out_shape=(2,), hidden=(16, 16), out_activation=None)
    toy_d = MLPDiscriminator(in_shape=(2,), hidden=(16,), dropout=0.0)
    pts = toy_g(torch.randn(5, 2))
    assert pts.shape == (5, 2) and toy_d(pts).shape == (5,)
    assert not any(isinstance(m, nn.Tanh) for m in toy_g.modules())


def test_pacgan() -> None:
    d = MLPDiscriminator(in_shape=(2,), hidden=(32, 32), pack=4)
    assert d(torch.randn(8, 2)).shape == (2,)
    assert d.net[0].in_features == 8
    # the first layer sees pack * d inputs: (4*2)*32 + 32 more than pack=1's 2*32+32
    plain = MLPDiscriminator(in_shape=(2,), hidden=(32, 32))
    assert count_parameters(d) - count_parameters(plain) == (8 - 2) * 32
    img = MLPDiscriminator(in_shape=(1, 28, 28), hidden=(16,), pack=2)
    assert img(torch.randn(6, 1, 28, 28)).shape == (3,)
    with pytest.raises(ValueError, match="not divisible by pack=4"):
        d(torch.randn(6, 2))
    with pytest.raises(ValueError, match="pack"):
        MLPDiscriminator(pack=0)


def test_fourier_features_are_sines_and_cosines_of_each_sample_of_a_pack() -> None:
    torch.manual_seed(3)
    ff = FourierFeatures(2, 5, scale=0.7, pack=3)
    torch.manual_seed(3)
    assert torch.equal(FourierFeatures(2, 5, scale=0.7, pack=3).freqs, ff.freqs)  # seeded like the linear layers
    assert ff.out_features == 30 and not list(ff.parameters()) and "freqs" in ff.state_dict()
    x = torch.randn(4, 6)
    out = ff(x)
    b = ff.freqs.double().numpy()
    for r in range(4):  # the formula, one sample of the pack at a time, in float64
        ref = []
        for j in range(3):
            phase = x[r, 2 * j:2 * j + 2].double().numpy() @ b
            ref += [*np.sin(phase), *np.cos(phase)]
        assert np.allclose(out[r].double().numpy(), ref, atol=1e-5)
    assert ff(x.reshape(2, 2, 6)).shape == (2, 2, 30)  # any leading dims
    torch.manual_seed(0)
    wide = FourierFeatures(2, 20_000, scale=0.7)
    assert float(wide.freqs.std()) / (2 * math.pi) == pytest.approx(0.7, rel=0.02)  # cycles per unit
    for bad in ({"scale": 0.0}, {"scale": -1.0}, {"scale": float("nan")}, {"n_frequencies": 0}, {"pack": 0}):
        with pytest.raises(ValueError, match="FourierFeatures"):
            FourierFeatures(**{"in_features": 2, "n_frequencies": 4, "scale": 1.0, **bad})
    with pytest.raises(ValueError, match=r"expected inputs \(\.\.\., 6\)"):
        ff(torch.randn(4, 4))


def test_a_fourier_discriminator_packs_each_samples_features() -> None:
    torch.manual_seed(0)
    d = MLPDiscriminator(in_shape=(2,), hidden=(16,), dropout=0.0, pack=2, fourier=8, fourier_scale=0.5)
    assert isinstance(d.net[0], FourierFeatures) and d.net[1].in_features == 2 * 2 * 8
    x = torch.randn(6, 2)
    assert d(x).shape == (3,)
    feats = d.net[0](x.reshape(3, 4))
    one = FourierFeatures(2, 8, 0.5)  # pack 1, the same frequencies: a pack's samples share them
    one.freqs.copy_(d.net[0].freqs)
    assert torch.equal(feats[:, :16], one(x[0::2])) and torch.equal(feats[:, 16:], one(x[1::2]))
    with pytest.raises(ValueError, match="fourier must be an int >= 0"):
        MLPDiscriminator(in_shape=(2,), fourier=-1)
    assert MLPDiscriminator(in_shape=(2,), hidden=(8,), fourier=0).state_dict().keys() == \
        MLPDiscriminator(in_shape=(2,), hidden=(8,)).state_dict().keys()  # old checkpoints still load


def test_fourier_features_let_a_small_discriminator_see_fine_structure() -> None:
    """Spectral bias, measured: a pack-2 D of 3 x 64 LeakyReLU units trained alone cannot tell
    pairs of grid25 points (modes of std 0.05) from uniform pairs with the same spread; with 32
    random Fourier frequencies per sample (std 0.25 cycles per unit) it separates them."""
    means = torch.cartesian_prod(*[torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])] * 2)
    losses = {}
    for fourier in (0, 32):
        torch.manual_seed(0)
        g = torch.Generator().manual_seed(1)
        d = MLPDiscriminator(in_shape=(2,), hidden=(64,) * 3, dropout=0.0, pack=2, fourier=fourier, fourier_scale=0.25)
        opt = torch.optim.Adam(d.parameters(), 1e-3, betas=(0.5, 0.999))
        for _ in range(600):
            real = means[torch.randint(25, (128,), generator=g)] + 0.05 * torch.randn(128, 2, generator=g)
            fake = torch.rand(128, 2, generator=g) * 10 - 5
            logits = torch.cat([d(real), d(fake)])
            target = torch.cat([torch.ones(64), torch.zeros(64)])
            loss = nn.functional.binary_cross_entropy_with_logits(logits, target) * 2
            opt.zero_grad()
            loss.backward()
            opt.step()
        losses[fourier] = loss.item()
    assert losses[0] > 1.3, losses  # log 4 = 1.386: no better than a coin
    assert losses[32] < 0.3, losses


def test_mlp_errors() -> None:
    with pytest.raises(ValueError, match="out_activation"):
        MLPGenerator(out_activation="relu")
    with pytest.raises(ValueError, match=r"\(N, 100\)"):
        MLPGenerator()(torch.randn(2, 50))
    with pytest.raises(ValueError, match="expected input"):
        MLPDiscriminator()(torch.randn(2, 1, 32, 32))


# ----------------------------------------------------------------------------- DCGAN
def _published_g(nz: int, ngf: int, c: int) -> int:
    convs = [(nz, 8 * ngf), (8 * ngf, 4 * ngf), (4 * ngf, 2 * ngf), (2 * ngf, ngf), (ngf, c)]
    weights = sum(a * b * 4 * 4 for a, b in convs)  # ConvTranspose2d 4x4, no bias
    bn = 2 * (8 + 4 + 2 + 1) * ngf  # weight + bias of 4 BatchNorm2d
    return weights + bn


def _published_d(ndf: int, c: int) -> int:
    convs = [(c, ndf), (ndf, 2 * ndf), (2 * ndf, 4 * ndf), (4 * ndf, 8 * ndf), (8 * ndf, 1)]
    weights = sum(a * b * 4 * 4 for a, b in convs)  # Conv2d 4x4, no bias
    bn = 2 * (2 + 4 + 8) * ndf  # no norm on the first layer
    return weights + bn


def test_published_dcgan_parameter_counts() -> None:
    assert _published_g(100, 64, 3) == 3_576_704
    assert _published_d(64, 3) == 2_765_568
    assert count_parameters(DCGANGenerator()) == 3_576_704
    assert count_parameters(DCGANDiscriminator()) == 2_765_568
    assert count_parameters(DCGANGenerator(nz=64, ngf=16, channels=1)) == _published_g(64, 16, 1)
    assert count_parameters(DCGANDiscriminator(ndf=16, channels=1)) == _published_d(16, 1)


def test_published_dcgan_layers() -> None:
    g = DCGANGenerator()
    convs = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels) for m in convs] == [
        (100, 512), (512, 256), (256, 128), (128, 64), (64, 3)
    ]  # fmt: skip
    assert all(m.kernel_size == (4, 4) for m in convs)
    assert [m.stride for m in convs] == [(1, 1)] + [(2, 2)] * 4
    shapes = []
    x = torch.randn(2, 100, 1, 1)
    for m in g.net:
        x = m(x)
        if isinstance(m, nn.ConvTranspose2d):
            shapes.append(tuple(x.shape[1:]))
    assert shapes == [(512, 4, 4), (256, 8, 8), (128, 16, 16), (64, 32, 32), (3, 64, 64)]
    d = DCGANDiscriminator()
    layers = list(d.net)
    assert isinstance(layers[0], nn.Conv2d) and isinstance(layers[1], nn.LeakyReLU)
    assert layers[1].negative_slope == 0.2
    assert sum(isinstance(m, nn.BatchNorm2d) for m in d.modules()) == 3


SIZES, CHANNELS = (28, 32, 64), (1, 3)


@pytest.mark.parametrize(
    ("size", "channels", "norm"), list(itertools.product(SIZES, CHANNELS, nets.NORMS))
)
def test_dcgan_shapes_every_configuration(size: int, channels: int, norm: str) -> None:
    g = DCGANGenerator(nz=8, image_size=size, channels=channels, ngf=4, norm=norm, dropout=0.1)
    d = DCGANDiscriminator(image_size=size, channels=channels, ndf=4, norm=norm)
    assert g.nz == 8 and g.out_shape == (channels, size, size)
    x = g(torch.randn(3, 8))
    assert x.shape == (3, channels, size, size)
    assert x.min() >= -1 and x.max() <= 1
    assert d(x).shape == (3,)
    g.eval()
    d.eval()
    assert g(torch.randn(1, 8)).shape == (1, channels, size, size)
    assert d(x[:1]).shape == (1,)


def test_dcgan_channels_last() -> None:
    g = DCGANGenerator(nz=8, image_size=32, ngf=4).to(memory_format=torch.channels_last)
    d = DCGANDiscriminator(image_size=32, ndf=4).to(memory_format=torch.channels_last)
    x = g(torch.randn(2, 8)).contiguous(memory_format=torch.channels_last)
    assert d(x).shape == (2,)
    c = DCGANCritic(image_size=32, ndf=4).to(memory_format=torch.channels_last)
    assert c(x).shape == (2,)


def test_critic_defaults_to_layer_norm() -> None:
    c = DCGANCritic(image_size=28, channels=1, ndf=8)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in c.modules())
    assert sum(isinstance(m, nn.GroupNorm) and m.num_groups == 1 for m in c.modules()) == 1
    assert DCGANCritic(norm="none").net[0].bias is not None


def test_dcgan_init_std() -> None:
    g = DCGANGenerator()
    w = g.net[3].weight  # 512 -> 256 transposed conv: 2M weights
    assert abs(w.std().item() - 0.02) < 0.001 and abs(w.mean().item()) < 0.001
    bn = [m for m in g.modules() if isinstance(m, nn.BatchNorm2d)]
    weights = torch.cat([m.weight.detach() for m in bn])
    assert abs(weights.mean().item() - 1) < 0.005 and abs(weights.std().item() - 0.02) < 0.005
    assert all(torch.all(m.bias == 0) for m in bn)
    d = DCGANDiscriminator(norm="none")
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert all(torch.all(m.bias == 0) for m in convs)
    assert abs(torch.cat([m.weight.flatten() for m in convs]).std().item() - 0.02) < 0.001


def test_spectral_norm_keeps_sigma_near_one() -> None:
    d = DCGANDiscriminator(image_size=32, channels=3, ndf=8, norm="none", spectral_norm=True)
    d.train()
    for _ in range(5):
        d(torch.randn(4, 3, 32, 32))
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 4
    for m in convs:
        assert hasattr(m, "parametrizations")
        sigma = torch.linalg.matrix_norm(m.weight.detach().reshape(m.out_channels, -1), ord=2)
        assert sigma.item() == pytest.approx(1.0, abs=0.05)
    sn_mlp = MLPDiscriminator(in_shape=(2,), hidden=(16, 16), spectral_norm=True)
    for _ in range(5):
        sn_mlp(torch.randn(4, 2))
    for m in sn_mlp.modules():
        if isinstance(m, nn.Linear):
            assert torch.linalg.matrix_norm(m.weight.detach(), ord=2).item() == pytest.approx(
                1.0, abs=0.05
            )


def test_dcgan_errors_name_given_and_accepted() -> None:
    with pytest.raises(ValueError, match=r"image_size 48 .*28, 32, 64"):
        DCGANGenerator(image_size=48)
    with pytest.raises(ValueError, match=r"channels 4 .*1, 3"):
        DCGANDiscriminator(channels=4)
    with pytest.raises(ValueError, match=r"norm 'group' .*'batch', 'instance', 'layer', 'none'"):
        DCGANCritic(norm="group")
    with pytest.raises(ValueError, match="dropout"):
        DCGANGenerator(dropout=1.0)
    with pytest.raises(ValueError, match=r"expected images of shape \(N, 3, 64, 64\)"):
        DCGANDiscriminator(ndf=4)(torch.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match=r"\(N, 100\)"):
        DCGANGenerator(ngf=4)(torch.randn(2, 10))


# ----------------------------------------------------------------------------- LSUN WGAN-GP
def _feature_shapes(seq: nn.Sequential, x: torch.Tensor, kind: type) -> list[tuple[int, ...]]:
    shapes = []
    for m in seq:
        x = m(x)
        if isinstance(m, kind):
            shapes.append(tuple(x.shape[1:]))
    return shapes


def test_wgangp_lsun_v1_follows_report() -> None:
    g, d, extras = wgangp_lsun(1)
    assert g.nz == extras["nz"] == 128 and g.out_shape == (3, 64, 64)
    assert extras["gp_weight"] == 10.0 and extras["instance_noise"] == 0.0
    assert g.dense[0].out_features == 8192
    g.eval()
    x = g(torch.randn(2, 128))
    assert x.shape == (2, 3, 64, 64) and x.abs().max() <= 1
    h = g.dense(torch.randn(2, 128)).reshape(2, 128, 8, 8)
    assert _feature_shapes(g.net, h, nn.Conv2d) == [(128, 16, 16), (256, 32, 32), (3, 64, 64)]
    assert _feature_shapes(d.net, x, nn.Conv2d) == [(128, 34, 34), (256, 17, 17), (64, 9, 9)]
    assert d.net[-1].in_features == 5184
    assert d(x).shape == (2,)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())


def test_wgangp_lsun_v2_follows_report() -> None:
    g, d, extras = wgangp_lsun(2)
    assert g.nz == extras["nz"] == 1024 and extras["instance_noise"] == 0.001
    assert g.dense[0].out_features == 128
    drops = [m for m in g.modules() if isinstance(m, nn.Dropout)]
    assert len(drops) == 2 and all(m.p == 0.2 for m in drops)
    x = g(torch.randn(2, 1024))  # train mode: dropout active, still in [-1, 1]
    assert x.shape == (2, 3, 64, 64) and x.abs().max() <= 1
    h = g.dense(torch.randn(2, 1024)).reshape(2, 2, 8, 8)
    assert _feature_shapes(g.net, h, nn.Conv2d) == [(256, 16, 16), (64, 32, 32), (3, 64, 64)]
    assert _feature_shapes(d.net, x, nn.Conv2d) == [(128, 34, 34), (256, 17, 17)]
    assert d.net[-1].in_features == 17 * 17 * 256
    assert d(x).shape == (2,)
    with pytest.raises(ValueError, match="version 3"):
        wgangp_lsun(3)


# ----------------------------------------------------------------------------- registry
def test_registry_and_count() -> None:
    g = nets.build_generator("dcgan", image_size=28, channels=1, ngf=8)
    assert isinstance(g, DCGANGenerator) and g.out_shape == (1, 28, 28)
    d = nets.build_discriminator("mlp", in_shape=(2,), pack=2)
    assert isinstance(d, MLPDiscriminator) and d.pack == 2
    assert isinstance(nets.build_discriminator("dcgan_critic", ndf=4), DCGANCritic)
    with pytest.raises(ValueError, match=r"generator kind 'style'.*'mlp', 'dcgan'"):
        nets.build_generator("style")
    with pytest.raises(ValueError, match="discriminator kind"):
        nets.build_discriminator("nope")
    lin = nn.Linear(3, 2)
    assert count_parameters(lin) == 8
    lin.bias.requires_grad_(False)
    assert count_parameters(lin, trainable_only=True) == 6


def test_init_dcgan_weights_after_spectral_norm() -> None:
    lin = nets.apply_spectral_norm(nn.Sequential(nn.Linear(400, 300)))
    nets.init_dcgan_weights(lin)
    orig = lin[0].parametrizations.weight.original
    assert abs(orig.std().item() - 0.02) < 0.001
