"""ganlab.metrics.lipschitz (per-layer sigma, conv operator norms, spectral-norm estimates) and
the SNGAN family (hinge / non-saturating loss, spectral norm, the paper's settings)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ganlab.course.tables import find_metric, metric_label
from ganlab.metrics import (
    is_lipschitz_key,
    layer_sigmas,
    lipschitz_key,
    parse_metric_key,
    sigma_max,
)
from ganlab.metrics.lipschitz import has_spectral_norm, require_weights
from ganlab.models import MODELS, build
from ganlab.models.sngan import SETTING_TABLE, SETTINGS, SNGAN, setting
from ganlab.nets import DCGANDiscriminator
from ganlab.train import TrainConfig, Trainer
from tests.helpers import dcgan_pair, tiny_images


def _brute_force_matrix(apply, in_shape: tuple[int, ...]) -> torch.Tensor:
    """The linear map ``apply`` as an explicit matrix: its value on every basis vector (float64)."""
    n = math.prod(in_shape)
    basis = torch.eye(n, dtype=torch.float64).reshape(n, *in_shape)
    return apply(basis).reshape(n, -1).T  # (out, in)


def _only(rows: list[dict], name: str) -> dict:
    (row,) = [r for r in rows if r["name"] == name]
    return row


# ----------------------------------------------------------------------------- exact sigmas
def test_linear_sigma_is_the_largest_singular_value() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(12, 7), nn.ReLU(), nn.Linear(7, 3))
    rows = layer_sigmas(net)
    assert [r["name"] for r in rows] == ["0", "2"]
    for row, layer in zip(rows, (net[0], net[2])):
        expected = float(torch.linalg.svdvals(layer.weight.detach().double()).max())
        assert row["sigma"] == pytest.approx(expected, rel=1e-9)
        assert row["sigma_operator"] == row["sigma"]  # a Linear's operator norm is its sigma
        assert row["spectral_norm"] is False and row["sigma_estimate"] is None
    assert sigma_max(net) == pytest.approx(max(r["sigma"] for r in rows))


def test_1x1_conv_operator_norm_equals_reshaped_sigma() -> None:
    torch.manual_seed(1)
    conv = nn.Conv2d(4, 6, kernel_size=1)
    (row,) = layer_sigmas(conv, input_shape=(1, 4, 5, 5))
    assert row["input_size"] == (5, 5)
    assert row["sigma_operator"] == pytest.approx(row["sigma"], rel=1e-6)


def test_3x3_conv_operator_norm_is_not_the_reshaped_sigma_and_matches_brute_force() -> None:
    torch.manual_seed(2)
    conv = nn.Conv2d(2, 3, kernel_size=3, padding=1)
    (row,) = layer_sigmas(conv, input_shape=(1, 2, 6, 6))
    w = conv.weight.detach().double()
    dense = _brute_force_matrix(lambda x: F.conv2d(x, w, None, padding=1), (2, 6, 6))
    exact = float(torch.linalg.svdvals(dense).max())
    assert row["sigma_operator"] == pytest.approx(exact, abs=1e-3)
    assert abs(row["sigma_operator"] - row["sigma"]) > 0.05 * row["sigma"]


def test_strided_transposed_conv_operator_norm_matches_brute_force() -> None:
    torch.manual_seed(3)
    deconv = nn.ConvTranspose2d(3, 2, kernel_size=4, stride=2, padding=1)
    (row,) = layer_sigmas(deconv, input_shape=(1, 3, 4, 4))
    w = deconv.weight.detach().double()
    dense = _brute_force_matrix(lambda x: F.conv_transpose2d(x, w, None, stride=2, padding=1),
                                (3, 4, 4))
    assert row["sigma_operator"] == pytest.approx(float(torch.linalg.svdvals(dense).max()), abs=1e-3)
    # the reshaped matrix of a ConvTranspose2d puts its output channels (dim 1) first, like torch's SN
    matrix = w.transpose(0, 1).reshape(2, -1)
    assert row["sigma"] == pytest.approx(float(torch.linalg.matrix_norm(matrix, ord=2)), rel=1e-9)


# ----------------------------------------------------------------------------- spectral norm
def test_spectral_norm_effective_sigma_is_one_and_torch_estimate_agrees() -> None:
    torch.manual_seed(4)
    conv = spectral_norm(nn.Conv2d(3, 8, kernel_size=3, padding=1))
    x = torch.randn(4, 3, 8, 8)
    for _ in range(5):
        conv(x)  # train mode: one power iteration per forward pass
    u_before = conv.parametrizations.weight[0]._u.clone()
    (row,) = layer_sigmas(conv, input_shape=(1, 3, 8, 8))
    assert torch.equal(conv.parametrizations.weight[0]._u, u_before)  # reading did not iterate
    assert conv.training
    assert row["spectral_norm"] is True
    assert row["sigma"] == pytest.approx(1.0, rel=0.05)
    assert row["sigma_estimate"] == pytest.approx(row["sigma_orig"], rel=0.03)
    w_orig = conv.parametrizations.weight.original.detach().double().reshape(8, -1)
    assert row["sigma_orig"] == pytest.approx(float(torch.linalg.svdvals(w_orig).max()), rel=1e-9)


def test_random_dcgan_d_exceeds_one_and_spectral_norm_brings_it_to_one() -> None:
    torch.manual_seed(5)
    # DCGAN init N(0, 0.02): the last 7x7 conv of ndf=16 is a vector of 64*49 weights, norm ~ 0.02*56
    narrow = DCGANDiscriminator(image_size=28, channels=1, ndf=16)
    last = layer_sigmas(narrow, exact_conv=False)[-1]
    assert last["sigma"] == pytest.approx(0.02 * math.sqrt(64 * 49), rel=0.05)
    wide = DCGANDiscriminator(image_size=28, channels=1, ndf=64)  # 256*49 weights: ~2.2
    assert sigma_max(wide) > 1.5

    sn = DCGANDiscriminator(image_size=28, channels=1, ndf=16, spectral_norm=True, norm="none")
    x = torch.randn(8, 1, 28, 28)
    for _ in range(5):
        sn(x)
    assert sigma_max(sn) <= 1.1
    rows = layer_sigmas(sn)  # input_shape from D's in_shape
    assert [r["input_size"] for r in rows] == [(28, 28), (14, 14), (7, 7)]
    assert all(r["spectral_norm"] for r in rows)
    for r in rows:
        assert r["sigma_estimate"] == pytest.approx(r["sigma_orig"], rel=0.05)
    # a 7x7 conv on a 7x7 map without padding is one dot product: operator norm == sigma
    assert rows[-1]["sigma_operator"] == pytest.approx(rows[-1]["sigma"], rel=1e-6)
    assert sigma_max(sn, which="sigma_operator") > sigma_max(sn)  # SN bounds the matrix, not the conv


def test_layer_sigmas_leave_batch_norm_and_modes_alone() -> None:
    d = DCGANDiscriminator(image_size=28, channels=1, ndf=8)  # batch norm
    state = {k: v.clone() for k, v in d.state_dict().items()}
    layer_sigmas(d)
    assert d.training
    assert all(torch.equal(v, d.state_dict()[k]) for k, v in state.items())


def test_errors_without_weights_or_input_shape() -> None:
    with pytest.raises(ValueError, match="needs a network with weights; given Sequential with none"):
        layer_sigmas(nn.Sequential(nn.Flatten(), nn.ReLU()))
    with pytest.raises(ValueError, match="with weights"):
        sigma_max(nn.Identity())
    with pytest.raises(ValueError, match="with weights"):
        require_weights(nn.BatchNorm2d(3))
    with pytest.raises(ValueError, match="input_shape"):
        layer_sigmas(nn.Sequential(nn.Conv2d(1, 2, 3)))
    assert layer_sigmas(nn.Sequential(nn.Conv2d(1, 2, 3)), exact_conv=False)[0]["sigma_operator"] is None
    with pytest.raises(ValueError, match="which"):
        sigma_max(nn.Linear(2, 2), which="product")


def test_lipschitz_key_is_not_a_metric_key_and_tables_label_it_as_is() -> None:
    key = lipschitz_key("D")
    assert key == "sigma_max[D]" and is_lipschitz_key(key) and is_lipschitz_key(lipschitz_key("D_B"))
    assert not any(is_lipschitz_key(k) for k in ("fid[mnist_cnn,N=1000]", "sigma_max[]", "sigma_max[D", 3))
    with pytest.raises(ValueError):
        parse_metric_key(key)
    assert metric_label(key) == "sigma_max[D]"
    assert find_metric({key: 1.0, "fid[mnist_cnn,N=1000]": 3.0}, "sigma_max[D]") == key
    with pytest.raises(ValueError):
        lipschitz_key("D x")


# ----------------------------------------------------------------------------- the family
def test_sngan_builds_with_spectral_norm_and_trains() -> None:
    assert MODELS["sngan"] is SNGAN
    G, D = dcgan_pair(width=8, norm="none")
    assert not has_spectral_norm(D)
    model = build("sngan", G, D)
    assert has_spectral_norm(model.D)  # applied at construction
    r = model.recipe
    assert (r.lr_g, r.lr_d, r.betas, r.d_steps) == (2e-4, 2e-4, (0.5, 0.999), 1)  # setting C
    assert r.extra == {"loss": "hinge", "spectral_norm": True}
    cfg = TrainConfig(steps=5, batch_size=8, device="cpu", precision="fp32", log_every=1,
                      progress=False)
    history = Trainer(model, tiny_images(32), cfg).fit()
    assert history.steps == [1, 2, 3, 4, 5]
    for name in ("d", "g"):
        assert len(history.losses[name]) == 5 and all(math.isfinite(v) for v in history.losses[name])
    assert sigma_max(model.D) <= 1.1


@pytest.mark.parametrize("name", sorted(SETTING_TABLE))
def test_sngan_accepts_every_paper_setting(name: str) -> None:
    lr, beta1, beta2, n_dis = SETTING_TABLE[name]
    model = build("sngan", *dcgan_pair(width=4, norm="none"), **SETTINGS[name])
    r = model.recipe
    assert (r.lr_g, r.lr_d, r.betas, r.d_steps) == (lr, lr, (beta1, beta2), n_dis)
    assert [p.repeats for p in model.phases()] == [n_dis, 1]


def test_sngan_nonsaturating_loss_and_errors() -> None:
    G, D = dcgan_pair(width=4, norm="none")
    model = build("sngan", G, D, loss="nonsaturating", spectral_norm=False)
    assert not has_spectral_norm(model.D)
    real, fake = torch.randn(4, 1, 28, 28), torch.randn(4, 1, 28, 28)
    loss, logs = model.d_loss(real, fake)
    logits_r, logits_f = model.D(real), model.D(fake)
    assert loss.item() == pytest.approx(
        (F.softplus(-logits_r).mean() + F.softplus(logits_f).mean()).item(), rel=1e-5)
    hinge = build("sngan", *dcgan_pair(width=4, norm="none"), spectral_norm=False)
    loss, _ = hinge.d_loss(real, fake)
    lr_, lf_ = hinge.D(real), hinge.D(fake)
    assert loss.item() == pytest.approx((F.relu(1 - lr_).mean() + F.relu(1 + lf_).mean()).item(), rel=1e-5)
    g, _ = hinge.g_loss(fake, real)
    assert g.item() == pytest.approx(-hinge.D(fake).mean().item(), rel=1e-5)

    with pytest.raises(ValueError, match="loss 'wasserstein' is not known"):
        build("sngan", *dcgan_pair(width=4), loss="wasserstein")

    class NoWeights(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.flatten(1).mean(1)

    with pytest.raises(ValueError, match="needs a network with weights; given NoWeights with none"):
        build("sngan", G, NoWeights())
    sn_d = DCGANDiscriminator(image_size=28, channels=1, ndf=4, spectral_norm=True, norm="none")
    with pytest.raises(ValueError, match="spectral_norm=False but D"):
        build("sngan", G, sn_d, spectral_norm=False)
    with pytest.raises(ValueError, match="setting 'G' is not known"):
        setting("G")
