"""ganlab.nets.conditional: class-conditional DCGANs (concat, CBN, projection) for notebook 08."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganlab import nets
from ganlab.nets import (
    CBNGenerator,
    ConcatDiscriminator,
    ConcatGenerator,
    ConditionalBatchNorm2d,
    DCGANGenerator,
    ProjectionDiscriminator,
    count_parameters,
)

SIZES, CHANNELS = (28, 32, 64), (1, 3)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def _labels(n: int, k: int = 10) -> torch.Tensor:
    return torch.arange(n) % k


# ----------------------------------------------------------------------------- shapes
@pytest.mark.parametrize(("size", "channels"), list(itertools.product(SIZES, CHANNELS)))
def test_shapes_and_ranges_every_configuration(size: int, channels: int) -> None:
    gens = [
        ConcatGenerator(nz=8, n_classes=3, image_size=size, channels=channels, ngf=4, embed_dim=5),
        CBNGenerator(nz=8, n_classes=3, image_size=size, channels=channels, ngf=4, dropout=0.1),
    ]
    discs = [
        ConcatDiscriminator(n_classes=3, image_size=size, channels=channels, ndf=4, embed_dim=5),
        ConcatDiscriminator(
            n_classes=3, image_size=size, channels=channels, ndf=4, norm="none", spectral_norm=True
        ),
        ProjectionDiscriminator(n_classes=3, image_size=size, channels=channels, ndf=4),
        ProjectionDiscriminator(
            n_classes=3, image_size=size, channels=channels, ndf=4, pooling="flatten"
        ),
    ]
    y = _labels(5, 3)
    for g in gens:
        assert g.nz == 8 and g.n_classes == 3 and g.out_shape == (channels, size, size)
        x = g(torch.randn(5, 8), y)
        assert x.shape == (5, channels, size, size)
        assert x.min() >= -1 and x.max() <= 1
        assert isinstance(list(g.modules())[-1], nn.Tanh)
        for d in discs:
            assert d.n_classes == 3 and d.in_shape == (channels, size, size)
            out = d(x, y)
            assert out.shape == (5,)
            assert not any(isinstance(m, nn.Sigmoid) for m in d.modules())
        g.eval()
        assert g(torch.randn(1, 8), y[:1]).shape == (1, channels, size, size)
    for d in discs:
        d.eval()
        assert d(torch.randn(1, channels, size, size), y[:1]).shape == (1,)


def test_concat_label_planes_sit_where_the_report_puts_them() -> None:
    g = ConcatGenerator(nz=10, n_classes=4, image_size=28, channels=1, ngf=8)
    z, y = torch.randn(3, 10), _labels(3, 4)
    assert g.project(z.reshape(3, 10, 1, 1)).shape == (3, 32, 7, 7)
    assert g.label_plane(y).shape == (3, 1, 7, 7)
    assert g.net[0].in_channels == 32 + 1
    for size, side in ((32, 4), (64, 4)):
        g = ConcatGenerator(nz=10, n_classes=4, image_size=size, ngf=4)
        assert g.label_plane(y).shape == (3, 1, side, side)
    d = ConcatDiscriminator(n_classes=4, image_size=32, channels=3, ndf=4)
    assert d.label_plane(y).shape == (3, 1, 32, 32)
    assert d.net[0].in_channels == 3 + 1


# ----------------------------------------------------------------------------- label dependence
def test_concat_generator_output_depends_on_label() -> None:
    g = ConcatGenerator(nz=16, n_classes=10, image_size=28, channels=1, ngf=8).eval()
    z = torch.randn(4, 16)
    a, b = g(z, torch.zeros(4, dtype=torch.long)), g(z, torch.full((4,), 7))
    assert (a - b).abs().max() > 1e-3
    assert torch.equal(g(z, torch.zeros(4, dtype=torch.long)), a)  # deterministic in eval


def test_cbn_generator_ignores_label_at_init_then_depends_on_it_after_a_step() -> None:
    g = CBNGenerator(nz=16, n_classes=10, image_size=28, channels=1, ngf=8)
    z = torch.randn(8, 16)
    y0, y1 = torch.zeros(8, dtype=torch.long), torch.ones(8, dtype=torch.long)
    assert torch.allclose(g(z, y0), g(z, y1), atol=1e-6)  # gains 1, biases 0 for every class
    opt = torch.optim.Adam(g.parameters(), lr=0.05)
    y = torch.arange(8) % 2  # class 0 pulled to +0.5, class 1 to -0.5
    loss = (g(z, y) - (0.5 - y.float())[:, None, None, None]).pow(2).mean()
    loss.backward()
    opt.step()
    assert (g(z, y0) - g(z, y1)).abs().max() > 1e-3


@pytest.mark.parametrize("kind", ["cond_concat", "projection"])
def test_discriminator_logit_depends_on_label(kind: str) -> None:
    d = nets.build_discriminator(kind, n_classes=10, image_size=32, channels=3, ndf=8).eval()
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    a, b = d(x, torch.zeros(4, dtype=torch.long)), d(x, torch.full((4,), 3))
    assert (a - b).abs().min() > 1e-5


# ----------------------------------------------------------------------------- projection
@pytest.mark.parametrize("pooling", ["sum", "flatten"])
def test_projection_logit_equals_psi_plus_inner_product(pooling: str) -> None:
    d = ProjectionDiscriminator(n_classes=5, image_size=28, channels=1, ndf=8, pooling=pooling)
    d.train()
    x = torch.rand(6, 1, 28, 28) * 2 - 1
    for _ in range(3):  # a few power iterations, then freeze the normalised weights
        d(x, _labels(6, 5))
    d.eval()
    y = torch.tensor([0, 4, 2, 2, 1, 3])
    h = d.body(x)
    assert h.shape == (6, 32, 7, 7)
    phi = h.sum(dim=(2, 3)) if pooling == "sum" else h.reshape(6, -1)
    assert phi.shape == (6, d.feat_dim)
    psi = phi @ d.psi.weight.T + d.psi.bias  # (6, 1)
    proj = (d.embed.weight[y] * phi).sum(dim=1)
    expected = psi[:, 0] + proj
    torch.testing.assert_close(d(x, y), expected, rtol=1e-5, atol=1e-5)
    # the projection term is the only y-dependent part
    same_x = d(x, y) - d(x, (y + 1) % 5)
    torch.testing.assert_close(same_x, proj - (d.embed.weight[(y + 1) % 5] * phi).sum(1))


def test_projection_spectral_norm_and_no_batch_norm() -> None:
    d = ProjectionDiscriminator(n_classes=10, image_size=32, channels=3, ndf=8)
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) for m in d.modules())
    sn = [m for m in d.modules() if hasattr(m, "parametrizations")]
    assert sum(isinstance(m, nn.Conv2d) for m in sn) == 3
    assert d.psi in sn and d.embed in sn
    assert all(m.bias is not None for m in d.modules() if isinstance(m, nn.Conv2d))
    d.train()
    for _ in range(5):
        d(torch.randn(4, 3, 32, 32), _labels(4))
    for m in sn:
        w = m.weight.detach().reshape(m.weight.shape[0], -1)
        assert torch.linalg.matrix_norm(w, ord=2).item() == pytest.approx(1.0, abs=0.05)
    plain = ProjectionDiscriminator(n_classes=10, image_size=32, ndf=8, spectral_norm=False)
    assert not any(hasattr(m, "parametrizations") for m in plain.modules())


def test_concat_discriminator_spectral_norm_covers_convs_and_label_map() -> None:
    d = ConcatDiscriminator(n_classes=10, image_size=32, channels=3, ndf=8, spectral_norm=True)
    sn = [n for n, m in d.named_modules() if hasattr(m, "parametrizations")]
    assert sn == ["label_map", "net.0", "net.2", "net.5", "net.8"]  # 4 convs; not the embedding
    assert not hasattr(ConcatDiscriminator(n_classes=10, ndf=4).net[0], "parametrizations")


def test_bf16_autocast_and_channels_last() -> None:
    y = _labels(2)
    for g in (
        ConcatGenerator(n_classes=10, image_size=32, ngf=4),
        CBNGenerator(image_size=32, ngf=4),
    ):
        for d in (
            ConcatDiscriminator(n_classes=10, image_size=32, ndf=4),
            ProjectionDiscriminator(n_classes=10, image_size=32, ndf=4),
        ):
            g.to(memory_format=torch.channels_last)
            d.to(memory_format=torch.channels_last)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                x = g(torch.randn(2, 100), y).contiguous(memory_format=torch.channels_last)
                out = d(x, y)
            assert out.shape == (2,) and torch.isfinite(out.float()).all()


# ----------------------------------------------------------------------------- CBN
def test_cbn_layer_at_init_equals_plain_batch_norm() -> None:
    cbn = ConditionalBatchNorm2d(6, n_classes=4)
    x = torch.randn(8, 6, 5, 5) * 3 + 1
    y = torch.tensor([0, 1, 2, 3, 3, 2, 1, 0])
    ref = F.batch_norm(x, None, None, training=True, eps=cbn.bn.eps)
    torch.testing.assert_close(cbn(x, y), ref)
    assert cbn.bn.affine is False and cbn.bn.weight is None
    # after moving class 2's gain and bias, only the samples labelled 2 change, by gain*h + bias
    with torch.no_grad():
        cbn.gamma.weight[2] = 2.0
        cbn.beta.weight[2] = -0.5
    out = cbn(x, y)
    mask = y == 2
    torch.testing.assert_close(out[~mask], ref[~mask])
    torch.testing.assert_close(out[mask], 2.0 * ref[mask] - 0.5)


def test_cbn_generator_at_init_is_the_dcgan_generator_with_plain_bn() -> None:
    g = CBNGenerator(nz=12, n_classes=10, image_size=32, channels=3, ngf=4)
    norms = [m for m in g.modules() if isinstance(m, ConditionalBatchNorm2d)]
    assert len(norms) == 3  # after every hidden layer
    assert all(torch.all(m.gamma.weight == 1) and torch.all(m.beta.weight == 0) for m in norms)
    ref = DCGANGenerator(nz=12, image_size=32, channels=3, ngf=4, norm="batch")
    ref_convs = [m for m in ref.modules() if isinstance(m, nn.ConvTranspose2d)]
    g_convs = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels, m.stride) for m in g_convs] == [
        (m.in_channels, m.out_channels, m.stride) for m in ref_convs
    ]
    with torch.no_grad():
        for a, b in zip(ref_convs, g_convs):
            a.weight.copy_(b.weight)
        for m in ref.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.fill_(1.0)
                m.bias.zero_()
    z = torch.randn(6, 12)
    torch.testing.assert_close(g(z, _labels(6)), ref(z), rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- errors
def _all_nets(n_classes: int = 10) -> list[tuple[nn.Module, torch.Tensor]]:
    z, x = torch.randn(4, 8), torch.randn(4, 1, 28, 28)
    kw = {"n_classes": n_classes, "image_size": 28, "channels": 1}
    return [
        (ConcatGenerator(nz=8, ngf=4, **kw), z),
        (CBNGenerator(nz=8, ngf=4, **kw), z),
        (ConcatDiscriminator(ndf=4, **kw), x),
        (ProjectionDiscriminator(ndf=4, **kw), x),
    ]


@pytest.mark.parametrize(
    ("y", "given"),
    [
        (torch.zeros(4), r"got dtype torch\.float32"),
        (torch.zeros(4, dtype=torch.bool), r"got dtype torch\.bool"),
        (torch.zeros(4, 1, dtype=torch.long), r"got shape \(4, 1\)"),
        (torch.zeros(3, dtype=torch.long), r"got shape \(3,\)"),
        (torch.tensor([0, 1, 10, 2]), r"got values in \[0, 10\]"),
        (torch.tensor([0, -1, 3, 2]), r"got values in \[-1, 3\]"),
        ([0, 1, 2, 3], r"got list"),
    ],
)
def test_bad_labels_raise_with_given_and_accepted(y: object, given: str) -> None:
    accepted = r"int64 tensor of shape \(4,\) with class indices in \[0, 10\)"
    for net, inp in _all_nets():
        with pytest.raises(ValueError, match=rf"{accepted}; {given}"):
            net(inp, y)


def test_integer_labels_of_other_dtypes_are_accepted() -> None:
    for net, inp in _all_nets():
        net.eval()
        ref = net(inp, torch.tensor([0, 1, 2, 9]))
        torch.testing.assert_close(net(inp, torch.tensor([0, 1, 2, 9], dtype=torch.int32)), ref)


@pytest.mark.parametrize("n_classes", [1, 0, -3, True, 2.5])
def test_n_classes_below_two_raises(n_classes: object) -> None:
    for cls in (ConcatGenerator, CBNGenerator, ConcatDiscriminator, ProjectionDiscriminator):
        with pytest.raises(ValueError, match=rf"n_classes must be an int >= 2; got {n_classes!r}"):
            cls(n_classes=n_classes, image_size=28, channels=1)
    with pytest.raises(ValueError, match="n_classes must be an int >= 2; got 1"):
        ConditionalBatchNorm2d(4, 1)


def test_other_argument_errors() -> None:
    with pytest.raises(ValueError, match=r"image_size 48 .*28, 32, 64"):
        ConcatGenerator(image_size=48)
    with pytest.raises(ValueError, match=r"channels 2 .*1, 3"):
        ProjectionDiscriminator(channels=2)
    with pytest.raises(ValueError, match=r"pooling 'mean' .*'sum', 'flatten'"):
        ProjectionDiscriminator(pooling="mean")
    with pytest.raises(ValueError, match="embed_dim must be a positive int; got 0"):
        ConcatDiscriminator(embed_dim=0)
    with pytest.raises(ValueError, match=r"expected z of shape \(N, 100\)"):
        CBNGenerator(ngf=4)(torch.randn(2, 10), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"expected images of shape \(N, 3, 64, 64\)"):
        ProjectionDiscriminator(ndf=4)(torch.randn(2, 3, 32, 32), torch.zeros(2, dtype=torch.long))


# ----------------------------------------------------------------------------- counts
def test_parameter_counts_by_hand_28px_grey_width_32() -> None:
    """nz=100, n_classes=10, embed_dim=50, ngf=ndf=32 at 28 px: G widths 128 (7x7), 64 (14x14)."""
    kw = {"n_classes": 10, "image_size": 28, "channels": 1}
    # ConcatGenerator (norm="batch": convs without bias, BN weight + bias)
    concat_g = (
        100 * 128 * 7 * 7  # ConvT z -> 128x7x7          627,200
        + 2 * 128  # BN(128)                              256
        + 10 * 50  # Embedding(10, 50)                    500
        + (50 * 49 + 49)  # Linear(50 -> 7*7 plane)        2,499
        + (128 + 1) * 64 * 4 * 4  # ConvT 129 -> 64     132,096
        + 2 * 64  # BN(64)                                 128
        + 64 * 1 * 4 * 4  # ConvT 64 -> 1                1,024
    )
    assert concat_g == 763_703
    assert count_parameters(ConcatGenerator(ngf=32, **kw)) == concat_g
    # ConcatDiscriminator (norm="batch", no BN on the first conv)
    concat_d = (
        10 * 50  # Embedding(10, 50)                      500
        + (50 * 784 + 784)  # Linear(50 -> 28*28 plane) 39,984
        + (1 + 1) * 64 * 4 * 4  # Conv 2 -> 64          2,048
        + 64 * 128 * 4 * 4  # Conv 64 -> 128          131,072
        + 2 * 128  # BN(128)                              256
        + 128 * 1 * 7 * 7  # Conv 7x7 -> 1 logit        6,272
    )
    assert concat_d == 180_132
    assert count_parameters(ConcatDiscriminator(ndf=32, **kw)) == concat_d
    # CBNGenerator: the DCGAN convs + per-class gain and bias for 128 and 64 channels
    cbn_g = 100 * 128 * 49 + 128 * 64 * 16 + 64 * 1 * 16 + 2 * 10 * (128 + 64)
    assert cbn_g == 759_296 + 3_840 == 763_136
    assert count_parameters(CBNGenerator(ngf=32, **kw)) == cbn_g
    # DCGAN G with BN has 2 * (128 + 64) = 384 norm parameters instead of 3,840
    assert count_parameters(DCGANGenerator(ngf=32, image_size=28, channels=1)) == 759_296 + 384
    # ProjectionDiscriminator (no norm: convs with bias; spectral norm adds only buffers)
    proj_d = (
        (1 * 64 * 16 + 64)  # Conv 1 -> 64            1,088
        + (64 * 128 * 16 + 128)  # Conv 64 -> 128  131,200
        + (128 + 1)  # psi Linear(128 -> 1)            129
        + 10 * 128  # Embedding(10, 128)             1,280
    )
    assert proj_d == 133_697
    assert count_parameters(ProjectionDiscriminator(ndf=32, **kw)) == proj_d
    # flatten: phi has 128*7*7 = 6,272 features
    flat = 1_088 + 131_200 + (6_272 + 1) + 10 * 6_272
    assert count_parameters(ProjectionDiscriminator(ndf=32, pooling="flatten", **kw)) == flat


# ----------------------------------------------------------------------------- init
def test_init() -> None:
    g = ConcatGenerator(n_classes=10, image_size=64, ngf=64)
    w = g.net[0].weight  # 513 -> 256 transposed conv
    assert abs(w.std().item() - 0.02) < 0.001
    assert torch.all(g.label_map.bias == 0)
    assert abs(g.embed.weight.std().item() - 1.0) < 0.15  # PyTorch's N(0, 1), left alone
    d = ConcatDiscriminator(n_classes=10, image_size=64, ndf=64)
    bn = torch.cat([m.weight.detach() for m in d.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(bn.mean().item() - 1) < 0.005 and abs(bn.std().item() - 0.02) < 0.005


# ----------------------------------------------------------------------------- registry
def test_registry_builds_the_conditional_nets() -> None:
    kw = {"n_classes": 3, "image_size": 28, "channels": 1}
    assert isinstance(nets.build_generator("cond_concat", ngf=4, **kw), ConcatGenerator)
    assert isinstance(nets.build_generator("cond_cbn", ngf=4, **kw), CBNGenerator)
    assert isinstance(nets.build_discriminator("cond_concat", ndf=4, **kw), ConcatDiscriminator)
    assert isinstance(nets.build_discriminator("projection", ndf=4, **kw), ProjectionDiscriminator)


# ----------------------------------------------------------------------------- learning
def _two_class_images(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST-sized noise images; class 0 has a bright left half, class 1 a bright right half."""
    y = torch.arange(n) % 2
    x = 0.5 * torch.randn(n, 1, 28, 28, generator=generator)
    x[y == 0, :, :, :14] += 0.5
    x[y == 1, :, :, 14:] += 0.5
    return x.clamp(-1, 1), y


def test_projection_d_learns_label_dependence() -> None:
    """200 Adam steps on real pairs (x, y) vs mismatched pairs (x, 1 - y) of 64 images. The psi
    term is the same for both pairs, so only the projection <embed(y), phi(x)> can separate them;
    the learnt dependence must also hold on 64 fresh images."""
    gen = torch.Generator().manual_seed(0)
    x, y = _two_class_images(64, gen)
    d = ProjectionDiscriminator(n_classes=2, image_size=28, channels=1, ndf=8)
    opt = torch.optim.Adam(d.parameters(), lr=2e-3, betas=(0.5, 0.999))
    pairs_x, pairs_y = torch.cat([x, x]), torch.cat([y, 1 - y])  # one forward per step
    target = torch.cat([torch.ones(64), torch.zeros(64)])
    losses = []
    for _ in range(200):
        loss = F.binary_cross_entropy_with_logits(d(pairs_x, pairs_y), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    d.eval()
    x_new, y_new = _two_class_images(64, gen)
    with torch.no_grad():
        train_acc = (d(x, y) > d(x, 1 - y)).float().mean().item()
        test_acc = (d(x_new, y_new) > d(x_new, 1 - y_new)).float().mean().item()
    assert losses[0] > 0.5 and sum(losses[-10:]) / 10 < 0.1, (losses[0], losses[-10:])
    assert train_acc == 1.0 and test_acc >= 0.95, (train_acc, test_acc)
