"""Super-resolution: SRResNet and the SRGAN discriminator, the ``srresnet`` / ``srgan`` families
(inputs, data checks, losses, training, exact resume), the frozen content-loss networks, and the
SR evaluator (Y-channel PSNR / SSIM against scikit-image, the gradient-statistics perception proxy)."""

from __future__ import annotations

import math
import os

import pytest
import torch
import torch.nn.functional as F

from ganlab.data.dataset import Dataset, DatasetInfo
from ganlab.data.photos import downsample, photo
from ganlab.data.transforms import to_float
from ganlab.metrics import PerceptualWeightsUnavailable
from ganlab.metrics import super_resolution as srm
from ganlab.metrics.super_resolution import (
    SREvaluator,
    gradient_distance,
    phase_variation,
    sr_psnr,
    sr_ssim,
    wasserstein_1d,
)
from ganlab.models import build
from ganlab.models.base import StepContext
from ganlab.models.srgan import content_loss
from ganlab.nets import SRDiscriminator, SRResNet
from ganlab.nets.srresnet import (
    FeatureWeightsUnavailable,
    bicubic,
    random_vgg_features,
    vgg19_features,
    vgg19_weights_file,
)
from tests.helpers import assert_resume_is_exact

skimage_metrics = pytest.importorskip("skimage.metrics")
skimage_color = pytest.importorskip("skimage.color")


def _paired(n: int = 16, size: int = 32, scale: int = 4, channels: int = 3, seed: int = 0,
            name: str = "tiny_sr", split: str = "train") -> Dataset:
    """Random crops of a real photo (astronaut) as HR targets, their bicubic downsampling as sources."""
    g = torch.Generator().manual_seed(seed)
    img = photo("astronaut")
    tops = torch.randint(0, img.shape[1] - size, (n,), generator=g)
    lefts = torch.randint(0, img.shape[2] - size, (n,), generator=g)
    hr = torch.stack([img[:, t:t + size, x:x + size] for t, x in zip(tops.tolist(), lefts.tolist())])
    if channels == 1:
        hr = hr[:, :1].contiguous()
    info = DatasetInfo(name=name, kind="image", channels=channels, size=size, n_classes=None, classes=None,
                       source="skimage astronaut", licence="public domain")
    return Dataset(info=info, images=hr, sources=downsample(hr, scale), split=split)


def _G(scale: int = 4, **kw) -> SRResNet:
    torch.manual_seed(0)
    return SRResNet(scale=scale, **{"width": 8, "blocks": 2, "residual": True, **kw})


def _D(**kw) -> SRDiscriminator:
    torch.manual_seed(1)
    return SRDiscriminator(**{"width": 4, "fc": 16, **kw})


def _srgan(**kw):
    return build("srgan", _G(), _D(), **{"content": "mse", **kw})


# ----- networks -----------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [2, 4, 8])
def test_srresnet_upscales_by_its_scale_in_range(scale: int) -> None:
    for residual in (False, True):
        G = _G(scale, residual=residual).eval()
        x = torch.rand(2, 3, 6, 5) * 2 - 1
        with torch.no_grad():
            y = G(x)
        assert G.scale == scale and y.shape == (2, 3, 6 * scale, 5 * scale)
        assert y.abs().max() <= 1.0
    grey = SRResNet(scale=2, channels=1, width=4, blocks=1)
    assert grey(torch.zeros(1, 1, 4, 4)).shape == (1, 1, 8, 8)


def test_untrained_residual_srresnet_is_bicubic() -> None:
    G = _G(residual=True).eval()
    x = to_float(_paired(n=3).sources)
    with torch.no_grad():
        assert torch.equal(G(x), bicubic(x, 4).clamp(-1, 1))
    # the paper's form (no residual) is not: it starts from tanh of a random network
    G0 = _G(residual=False).eval()
    with torch.no_grad():
        assert not torch.allclose(G0(x), bicubic(x, 4).clamp(-1, 1), atol=0.05)


def test_bicubic_is_matlabs_kernel() -> None:
    """Upsampling a linear ramp with the Keys kernel a = -0.5 reproduces it exactly inside (cubic
    convolution is exact for linear signals); torch's plain bicubic (a = -0.75) is too, so check
    the kernel itself: an impulse upsampled x2 gives the a = -0.5 weights."""
    x = torch.zeros(1, 1, 1, 9)
    x[..., 4] = 1.0
    y = bicubic(x, 2)[0, 0, 0]
    # output sample j sits at input position (j + 0.5) / 2 - 0.5; its weight from the impulse at 4 is
    # W(position - 4) with W(t) = 1.5|t|^3 - 2.5|t|^2 + 1 (|t| <= 1), -0.5|t|^3 + 2.5|t|^2 - 4|t| + 2 (1..2)
    def keys(t: float) -> float:
        t = abs(t)
        return 1.5 * t ** 3 - 2.5 * t ** 2 + 1 if t <= 1 else (-0.5 * t ** 3 + 2.5 * t ** 2 - 4 * t + 2 if t < 2 else 0.0)
    expected = torch.tensor([keys((j + 0.5) / 2 - 0.5 - 4) for j in range(18)])
    assert torch.allclose(y, expected, atol=1e-6)


def test_bad_scales_and_inputs_are_refused_clearly() -> None:
    for bad in (3, 1, 16, 4.0):
        with pytest.raises(ValueError, match=r"given scale=.*accepted: 2, 4, 8"):
            SRResNet(scale=bad)
    with pytest.raises(ValueError, match="norm"):
        SRResNet(norm="instance")
    with pytest.raises(ValueError, match=r"expects low-resolution images \(N, 3, h, w\); given \(2, 1, 8, 8\)"):
        _G()(torch.zeros(2, 1, 8, 8))
    with pytest.raises(ValueError, match=r"SRDiscriminator expects images \(N, 3, H, W\)"):
        _D()(torch.zeros(2, 1, 32, 32))


def test_discriminator_returns_one_logit_per_image_at_any_crop() -> None:
    D = _D()
    for size in (16, 32, 96):
        assert D(torch.randn(3, 3, size, size)).shape == (3,)
    convs = [m for m in D.features if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 8 and [c.stride[0] for c in convs].count(2) == 4
    assert [c.out_channels for c in convs] == [4, 4, 8, 8, 16, 16, 32, 32]  # the paper's 64..512 / 16


# ----- the families ---------------------------------------------------------------------------
def test_check_data_refuses_sets_that_do_not_fit_the_network() -> None:
    model = build("srresnet", _G(scale=4))
    model.check_data(_paired(scale=4))  # fits
    with pytest.raises(ValueError, match=r"upscales x4, but 'tiny_sr' pairs 16x16 sources with 32x32 targets \(x2\); "
                                         r"accepted: sources of 8x8"):
        model.check_data(_paired(scale=2))
    with pytest.raises(ValueError, match=r"3-channel images; 'tiny_sr' has 1-channel sources and 1-channel targets"):
        model.check_data(_paired(channels=1))
    info = DatasetInfo(name="unpaired", kind="image", channels=3, size=32, n_classes=None, classes=None,
                       source="x", licence="x")
    with pytest.raises(ValueError, match="paired set .* 'unpaired' has no sources; accepted: e.g. photos_x4"):
        model.check_data(Dataset(info=info, images=_paired().images))
    # the trainer runs the check before training
    from ganlab.train import TrainConfig, Trainer
    with pytest.raises(ValueError, match="upscales x4"):
        Trainer(model, _paired(scale=2), TrainConfig(steps=1, batch_size=4, device="cpu", progress=False))
    gan = build("srgan", _G(), _D(channels=1), content="mse")
    with pytest.raises(ValueError, match="discriminator judges 1-channel images"):
        gan.check_data(_paired())


def test_generation_takes_sources_only() -> None:
    model = build("srresnet", _G())
    lr = to_float(_paired(n=5).sources)
    out = model.sampler(seed=0)(5, source=lr)
    assert out.shape == (5, 3, 32, 32) and out.abs().max() <= 1
    assert torch.equal(out, model.sample(inputs={"source": lr}))
    with pytest.raises(ValueError, match="pass source="):
        model.sample(4, seed=0)
    with pytest.raises(ValueError, match="takes no z"):
        model.sample_inputs(5, z=torch.randn(5, 8), source=lr)
    with pytest.raises(ValueError, match="takes no labels"):
        model.sample_inputs(5, source=lr, labels=torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match=r"source must be a float tensor \(4, 3, h, w\)"):
        model.sample_inputs(4, source=lr)
    with pytest.raises(ValueError, match="super-resolution generator"):
        build("srresnet", torch.nn.Conv2d(3, 3, 1))
    with pytest.raises(ValueError, match="content loss 'vgg' is not known; accepted: vgg54, vgg22, mse, random"):
        build("srgan", _G(), _D(), content="vgg")
    with pytest.raises(ValueError, match="adv_weight must be >= 0"):
        build("srgan", _G(), _D(), content="mse", adv_weight=-1.0)


def test_srresnet_optimises_g_only_and_srgan_has_two_groups() -> None:
    res = build("srresnet", _G())
    assert [p.group for p in res.phases()] == ["g"] and list(res.configure_optimizers()) == ["g"]
    assert res.recipe.lr_g == 1e-4 and res.recipe.betas == (0.9, 0.999)
    gan = _srgan(content="random")
    opts = gan.configure_optimizers()
    assert list(opts) == ["d", "g"]
    n_opt = sum(p.numel() for o in opts.values() for grp in o.param_groups for p in grp["params"])
    assert n_opt == sum(p.numel() for p in gan.G.parameters()) + sum(p.numel() for p in gan.D.parameters())
    assert gan.adv_weight == 1e-3
    # the frozen feature net is not a network of the family: no optimiser, not in the state_dict
    assert gan.features is not None and not any(p.requires_grad for p in gan.features.parameters())
    assert all(k.startswith(("G.", "D.")) for k in gan.state_dict())
    assert gan.describe()["content"]["in_checkpoint"] is False


def test_the_losses_are_the_papers() -> None:
    data = _paired(n=8)
    batch = data.batch(torch.arange(8))
    for content in ("mse", "random"):
        gan = _srgan(content=content, adv_weight=0.01)
        gan.G.eval(), gan.D.eval()  # no batch-norm statistics move between the two evaluations
        ctx = StepContext(torch.device("cpu"), torch.Generator().manual_seed(0), 8)
        d_loss, logs = gan.phase_loss("d", batch, ctx)
        with torch.no_grad():
            sr = gan.G(batch.source)
            real, fake = gan.D(batch.real), gan.D(sr)
        expected_d = -(torch.log(torch.sigmoid(real)).mean() + torch.log(1 - torch.sigmoid(fake)).mean())
        assert d_loss.item() == pytest.approx(expected_d.item(), rel=1e-5)
        assert logs["d_real"].item() == pytest.approx(torch.sigmoid(real).mean().item(), rel=1e-5)
        g_loss, logs = gan.phase_loss("g", batch, ctx)  # reuses D's fakes
        if content == "mse":
            expected_content = F.mse_loss(sr, batch.real)
        else:
            expected_content = F.mse_loss(gan.features(sr), gan.features(batch.real))
        expected_g = expected_content - 0.01 * torch.log(torch.sigmoid(fake)).mean()
        assert g_loss.item() == pytest.approx(expected_g.item(), rel=1e-5)
        assert logs["content"].item() == pytest.approx(expected_content.item(), rel=1e-5)
        g_loss.backward()
        assert gan.G.tail.weight.grad is not None and gan.G.tail.weight.grad.abs().sum() > 0
    res = build("srresnet", _G(residual=False))
    loss, _ = res.phase_loss("g", batch, ctx)
    assert loss.item() == pytest.approx(F.mse_loss(res.G(batch.source), batch.real).item(), rel=1e-5)


def test_content_loss_of_identical_images_is_zero_and_features_see_structure() -> None:
    x = to_float(_paired(n=4).images)
    net = random_vgg_features(width=8, seed=0)
    assert content_loss(x, x, net).item() == 0.0 and content_loss(x, x, None).item() == 0.0
    blurred = F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
    assert content_loss(blurred, x, net).item() > 0


def test_random_feature_network_is_a_pure_function_of_its_seed() -> None:
    state = torch.get_rng_state()
    a, b, c = random_vgg_features(8, seed=3), random_vgg_features(8, seed=3), random_vgg_features(8, seed=4)
    assert torch.equal(torch.get_rng_state(), state), "building it must not move torch's global RNG"
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    assert torch.equal(a(x), b(x)) and not torch.allclose(a(x), c(x))
    assert a(x).shape == (2, 16, 8, 8) and a.name == "random_vgg[22,w=8,seed=3]"
    a.train()
    assert not a.training and not any(p.requires_grad for p in a.parameters())


def test_vgg_content_loss_offline_names_the_file_to_place() -> None:
    if os.path.isfile(vgg19_weights_file()):
        pytest.skip("VGG19 weights are on this machine")
    with pytest.raises(FeatureWeightsUnavailable, match=r"Place the file vgg19-dcbb9e9d.pth .* at .*checkpoints"):
        vgg19_features("54", download=False)
    with pytest.raises(ValueError, match="VGG layer '33'"):
        vgg19_features("33")


def test_training_steps_lower_the_mse_below_bicubic(tmp_path) -> None:
    from ganlab.train import TrainConfig, Trainer

    data = _paired(n=32, seed=1)
    model = build("srresnet", _G(width=16), lr_g=1e-3)
    hr, lr = to_float(data.images), to_float(data.sources)
    before = F.mse_loss(model.sample(inputs={"source": lr}), hr).item()
    assert before == pytest.approx(F.mse_loss(bicubic(lr, 4).clamp(-1, 1), hr).item(), rel=1e-6)
    cfg = TrainConfig(steps=40, batch_size=8, device="cpu", precision="fp32", log_every=10, progress=False)
    history = Trainer(model, data, cfg).fit()
    after = F.mse_loss(model.sample(inputs={"source": lr}), hr).item()
    assert all(math.isfinite(v) for v in history.losses["g"])
    assert after < 0.95 * before, f"MSE {before:.5f} -> {after:.5f}"


def test_srgan_trains_and_resumes_exactly(tmp_path) -> None:
    assert_resume_is_exact(lambda: _srgan(content="random", feature_width=4), lambda: _paired(n=24),
                           tmp_path, total=4, cut=2)
    ckpt = sorted((tmp_path / "a").glob("ckpt-*.pt"))[-1]
    state = torch.load(ckpt, weights_only=True)
    assert {k.split(".")[0] for k in state["model"]} == {"G", "D", "G_ema"}  # no frozen feature net


# ----- evaluation -------------------------------------------------------------------------
def _test_pair(size: int = 96) -> tuple[torch.Tensor, torch.Tensor]:
    """HR crops of two real photos and their bicubic x4 reconstructions, in [-1, 1]."""
    hr = torch.stack([photo("chelsea")[:, 50:50 + size, 100:100 + size], photo("coffee")[:, 100:100 + size, 200:200 + size]])
    return bicubic(to_float(downsample(hr)), 4).clamp(-1, 1), to_float(hr)


def _y(x: torch.Tensor, i: int):
    """scikit-image's BT.601 luma of image i (8-bit levels, as the evaluator quantises)."""
    levels = ((x[i] + 1) * 127.5).round().clamp(0, 255).permute(1, 2, 0).double().numpy()
    return skimage_color.rgb2ycbcr(levels / 255.0)[..., 0]


def test_y_channel_psnr_and_ssim_match_scikit_image() -> None:
    sr, hr = _test_pair()
    crop = 4
    p, s = sr_psnr(sr, hr, channel="Y", crop=crop), sr_ssim(sr, hr, channel="Y", crop=crop)
    for i in range(2):
        ya, yb = _y(sr, i)[crop:-crop, crop:-crop], _y(hr, i)[crop:-crop, crop:-crop]
        assert p[i].item() == pytest.approx(skimage_metrics.peak_signal_noise_ratio(yb, ya, data_range=255), abs=1e-4)
        ref = skimage_metrics.structural_similarity(yb, ya, data_range=255, gaussian_weights=True, sigma=1.5,
                                                    use_sample_covariance=False)
        assert s[i].item() == pytest.approx(ref, abs=1e-6)
        rgb_a = ((sr[i] + 1) * 127.5).round().clamp(0, 255).permute(1, 2, 0).double().numpy()[crop:-crop, crop:-crop]
        rgb_b = ((hr[i] + 1) * 127.5).round().clamp(0, 255).permute(1, 2, 0).double().numpy()[crop:-crop, crop:-crop]
        ref_rgb = skimage_metrics.structural_similarity(rgb_b, rgb_a, data_range=255, gaussian_weights=True, sigma=1.5,
                                                        use_sample_covariance=False, channel_axis=2)
        assert sr_ssim(sr, hr, channel="RGB", crop=crop)[i].item() == pytest.approx(ref_rgb, abs=1e-6)
        assert sr_psnr(sr, hr, channel="RGB", crop=crop)[i].item() == pytest.approx(
            skimage_metrics.peak_signal_noise_ratio(rgb_b, rgb_a, data_range=255), abs=1e-4)
    assert 20 < p.min() < p.max() < 40 and 0.5 < s.min() < s.max() < 1
    assert sr_psnr(hr, hr)[0] == math.inf and sr_ssim(hr, hr).min().item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="channel 'YCbCr' is not known; accepted: Y, RGB"):
        sr_psnr(sr, hr, channel="YCbCr")
    with pytest.raises(ValueError, match="same shape"):
        sr_psnr(sr[..., :-4, :-4], hr)
    with pytest.raises(ValueError, match="crop=48 leaves nothing"):
        sr_psnr(sr, hr, crop=48)


def test_perception_proxy_prefers_sharp_statistics_not_aligned_pixels() -> None:
    _, hr = _test_pair()
    def blur(sigma: float) -> torch.Tensor:
        from torchvision.transforms.functional import gaussian_blur
        return gaussian_blur(hr, kernel_size=2 * math.ceil(3 * sigma) + 1, sigma=sigma)
    noisy = (hr + 0.1 * torch.randn(hr.shape, generator=torch.Generator().manual_seed(0))).clamp(-1, 1)
    shifted = torch.roll(hr, shifts=(1, 1), dims=(2, 3))
    d = {name: gradient_distance(x, hr, crop=4).mean().item()
         for name, x in [("hr", hr), ("blur1", blur(1.0)), ("blur2", blur(2.0)), ("noise", noisy), ("shift", shifted)]}
    assert d["hr"] == 0.0
    assert 0 < d["blur1"] < d["blur2"], d  # more blur, further from the photos' gradient statistics
    assert d["noise"] > 1.0, d              # spurious gradients are penalised too: a distance, not a sharpness score
    assert d["shift"] < 0.1 * d["blur1"], d  # distributions, not pixels: a shifted copy keeps its statistics ...
    assert sr_psnr(shifted, hr, crop=4).mean() < sr_psnr(blur(1.0), hr, crop=4).mean()  # ... while PSNR punishes it


def test_grid_score_sees_periodic_artefacts_the_proxy_rewards() -> None:
    sr, hr = _test_pair()
    natural = phase_variation(hr, 4, crop=4)
    assert natural.max() < 0.05, natural  # (the coffee photo is a JPEG: its 8 px blocks show a little)
    blocky = F.interpolate(F.avg_pool2d(hr, 4), scale_factor=4, mode="nearest")  # edges only every 4th pixel
    assert phase_variation(blocky, 4).min() > 20 * natural.max()
    checker = torch.zeros_like(hr[:, :1])
    checker[..., ::2, ::2] = 0.02  # a faint pixel-shuffle-like grid (2.5 levels) over the bicubic output
    gridded = (sr + checker).clamp(-1, 1)
    assert (phase_variation(gridded, 4, crop=4) > phase_variation(sr, 4, crop=4) + 0.01).all()
    # ... which the gradient-statistics proxy *rewards* (more edges look less blurry): the blind spot
    assert (gradient_distance(gridded, hr, crop=4) < gradient_distance(sr, hr, crop=4) - 0.3).all()
    assert phase_variation(torch.roll(hr, (1, 2), dims=(2, 3)), 4, crop=4).max() < 0.05
    with pytest.raises(ValueError, match="period must be an int >= 2"):
        phase_variation(hr, 1)


def test_wasserstein_matches_scipy() -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    g = torch.Generator().manual_seed(0)
    u, v = torch.randn(2, 500, generator=g, dtype=torch.float64), torch.rand(2, 333, generator=g, dtype=torch.float64)
    for a, b in ((u, v), (u, u + 0.5), (u[:, :333], v)):
        ours = wasserstein_1d(a, b)
        for i in range(2):
            assert ours[i].item() == pytest.approx(scipy_stats.wasserstein_distance(a[i].numpy(), b[i].numpy()), rel=1e-9)


def test_evaluator_keys_baseline_and_sampler(monkeypatch, capsys) -> None:
    test = _paired(n=3, size=48, name="tiny_sr", split="test")
    calls = []

    def offline(net, device="cpu"):
        calls.append(net)
        raise PerceptualWeightsUnavailable(f"no {net} weights: place /x/{net}.pth")

    monkeypatch.setattr(srm, "lpips_network", offline)
    monkeypatch.setattr(srm, "_LPIPS_UNAVAILABLE", {})
    ev = SREvaluator(test, lpips_nets=("alex",))
    assert (ev.scale, ev.crop, ev.n, ev.name) == (4, 4, 3, "tiny_sr-test")
    base = ev.evaluate_bicubic()
    assert set(base) == {"psnr[tiny_sr-test,N=3,x=4,channel=Y,crop=4]", "psnr[tiny_sr-test,N=3,x=4,channel=RGB,crop=4]",
                         "ssim[tiny_sr-test,N=3,x=4,channel=Y,crop=4]", "ssim[tiny_sr-test,N=3,x=4,channel=RGB,crop=4]",
                         "grad_w1[tiny_sr-test,N=3,x=4,crop=4]", "grid_cv[tiny_sr-test,N=3,x=4,crop=4]"}
    ev.evaluate_bicubic()
    SREvaluator(test, lpips_nets=("alex",)).evaluate_bicubic()  # a second evaluator: not tried again
    assert calls == ["alex"] and capsys.readouterr().out.count("lpips[alex] is not reported") == 1
    assert "place /x/alex.pth" in ev.unavailable["alex"]
    # an untrained residual SRResNet is bicubic, through the family's Sampler and as a module
    model = build("srresnet", _G())
    assert ev.evaluate(model.sampler(seed=0)) == pytest.approx(base)
    assert ev.evaluate(model.G) == pytest.approx(base)
    # LPIPS keys when the weights load (a stand-in distance here)
    monkeypatch.setattr(srm, "lpips_network", lambda net, device="cpu": lambda a, b: (a - b).abs().mean(dim=(1, 2, 3)))
    monkeypatch.setattr(srm, "_LPIPS_UNAVAILABLE", {})
    m = SREvaluator(test, lpips_nets=("alex", "vgg")).evaluate_bicubic()
    assert "lpips[alex,N=3,data=tiny_sr-test,x=4,crop=4]" in m and "lpips[vgg,N=3,data=tiny_sr-test,x=4,crop=4]" in m
    with pytest.raises(ValueError, match="paired set"):
        SREvaluator(Dataset(info=test.info, images=test.images))
    with pytest.raises(ValueError, match="expected the HR shape"):
        ev.evaluate(lambda k, source: source)
