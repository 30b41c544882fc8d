"""ganlab.augment: classical ops on the reals, DiffAugment and ADA on D's inputs, ADA's controller,
the family hook (reals only / every D input / gradients to G), exact resume, and bad input."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganlab.augment import (
    ADA,
    ADAPipeline,
    Classical,
    DiffAugment,
    GaussianBlur,
    brightness,
    classical,
    contrast,
    cutout,
    cutout_mask,
    normalize_spec,
    saturation,
    translation,
)
from ganlab.models import Family, StepContext, build
from ganlab.train import CheckpointError, TrainConfig, Trainer
from tests.helpers import assert_resume_is_exact, dcgan_pair, tiny_images


def _images(n: int = 6, c: int = 1, size: int = 12, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, c, size, size, generator=g) * 2 - 1


# ----- classical ------------------------------------------------------------------------------
def test_flip_mirrors_and_is_per_sample() -> None:
    x = _images(64)
    assert torch.equal(Classical(["flip"], flip_p=1.0)(x), x.flip(-1))
    torch.manual_seed(0)
    y = classical(["flip"])(x)  # p = 0.5: each sample either kept or mirrored
    kept = torch.tensor([torch.equal(a, b) for a, b in zip(y, x)])
    mirrored = torch.tensor([torch.equal(a, b.flip(-1)) for a, b in zip(y, x)])
    assert bool((kept ^ mirrored).all()) and 10 < int(mirrored.sum()) < 54


def test_blur_matches_kornia_per_sample_and_keeps_range() -> None:
    import kornia

    x = _images(3, c=2, size=16)
    k, s = torch.tensor([3, 5, 7]), torch.tensor([0.5, 1.0, 2.0])
    y = GaussianBlur.blur(x, k, s)
    for i in range(3):
        ref = kornia.filters.gaussian_blur2d(x[i:i + 1], (int(k[i]), int(k[i])),
                                             (float(s[i]), float(s[i])), border_type="reflect")
        torch.testing.assert_close(y[i:i + 1], ref, atol=1e-6, rtol=0)
    torch.manual_seed(1)
    out = classical(["blur", "affine"])(x)
    assert out.shape == x.shape and out.min() >= -1 - 1e-6 and out.max() <= 1 + 1e-6
    flat = torch.full((2, 1, 8, 8), 0.3)
    torch.testing.assert_close(GaussianBlur()(flat), flat)
    assert torch.equal(classical([])(x), x)


def test_classical_ops_are_random_per_sample_and_seeded() -> None:
    x = _images(8, c=3)
    aug = classical(["blur", "flip", "affine"])
    torch.manual_seed(5)
    a = aug(x)
    torch.manual_seed(5)
    b = aug(x)
    assert torch.equal(a, b)
    one = aug(x[:1].expand(8, -1, -1, -1).contiguous())
    assert not torch.allclose(one[0], one[1])  # parameters drawn per sample


# ----- DiffAugment ----------------------------------------------------------------------------
def test_translation_shifts_content_by_the_given_amount_with_zeros() -> None:
    x = _images(3, c=2, size=8) + 5  # no zeros in the content
    shifts = torch.tensor([[1, -2], [0, 0], [-3, 1]])
    y = translation(x, shifts=shifts)
    for i, (dy, dx) in enumerate(shifts.tolist()):
        expect = torch.zeros_like(x[i])
        h, w = x.shape[-2:]
        src = x[i][:, max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
        expect[:, max(0, dy):h - max(0, -dy), max(0, dx):w - max(0, -dx)] = src
        assert torch.equal(y[i], expect)
    torch.manual_seed(0)
    y = translation(x[:1].expand(200, -1, -1, -1), ratio=0.125)  # s = 1 pixel on an 8-px side
    zero_rows = (y == 0).all(dim=(1, 3)).sum(dim=1)
    zero_cols = (y == 0).all(dim=(1, 2)).sum(dim=1)
    assert set(zero_rows.tolist()) == {0, 1} and set(zero_cols.tolist()) == {0, 1}


def test_cutout_zeroes_the_clipped_square() -> None:
    ones = torch.ones(3, 2, 8, 8)
    centres = torch.tensor([[4, 4], [0, 0], [7, 3]])
    y = cutout(ones, ratio=0.5, centres=centres)
    # 4 x 4 square from (c - 2) to (c + 2): inside 16 pixels, at a corner 2 x 2, at the bottom 3 x 4
    assert (y == 0).sum(dim=(1, 2, 3)).tolist() == [2 * 16, 2 * 4, 2 * 12]
    assert torch.equal(y[0, 0, 2:6, 2:6], torch.zeros(4, 4))
    torch.manual_seed(0)
    mask = cutout_mask(500, 8, 8, 0.5)
    frac = 1 - mask.mean(dim=(1, 2))
    assert frac.max() == 0.25 and frac.min() > 0 and abs(frac.mean() - 0.25 * 0.78) < 0.03


def test_colour_ops() -> None:
    x = _images(4, c=3)
    b = torch.tensor([0.1, -0.2, 0.3, 0.0])
    torch.testing.assert_close(brightness(x, b), x + b.view(4, 1, 1, 1))
    grey = _images(4, c=1)
    torch.testing.assert_close(saturation(grey, torch.full((4,), 1.7)), grey)
    c = contrast(x, torch.full((4,), 1.5))
    torch.testing.assert_close(c.mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)))
    torch.testing.assert_close(c - c.mean(dim=(1, 2, 3), keepdim=True),
                               1.5 * (x - x.mean(dim=(1, 2, 3), keepdim=True)))


def test_diffaugment_is_differentiable_seeded_and_per_sample() -> None:
    x = _images(8, c=3).requires_grad_(True)
    aug = DiffAugment("color,translation,cutout")
    torch.manual_seed(3)
    y = aug(x)
    (y ** 2).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    torch.manual_seed(3)
    assert torch.equal(aug(x), y)
    same = aug(x[:1].detach().expand(8, -1, -1, -1).contiguous())
    assert not torch.allclose(same[0], same[1])
    assert torch.equal(DiffAugment("")(x), x)


# ----- ADA ------------------------------------------------------------------------------------
def test_ada_p0_is_identity_and_ops_do_what_they_say() -> None:
    x = _images(16, c=3)
    torch.manual_seed(0)
    assert torch.equal(ADAPipeline()(x, 0.0), x)
    assert torch.equal(ADA()(x), x)  # initial p = 0
    y = ADAPipeline(["xflip"])(x, 1.0)  # x-flip with p = 1: a random flip per sample
    flips = [torch.allclose(a, b.flip(-1), atol=1e-5) for a, b in zip(y, x)]
    kept = [torch.allclose(a, b, atol=1e-5) for a, b in zip(y, x)]
    assert all(f != k for f, k in zip(flips, kept)) and 0 < sum(flips) < 16
    y = ADAPipeline(["rotate90"])(x, 1.0)
    for a, b in zip(y, x):
        assert any(torch.allclose(a, torch.rot90(b, k, dims=(1, 2)), atol=1e-5) for k in range(4))
    grey = _images(16, c=1, size=16)
    y = ADAPipeline(["xint"])(grey, 1.0)  # whole-pixel shifts up to round(0.125 * 16) = 2
    for a, b in zip(y, grey):
        found = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                 if torch.allclose(a[:, 4:12, 4:12], b[:, 4 - dy:12 - dy, 4 - dx:12 - dx], atol=1e-5)]
        assert len(found) == 1
    y = ADAPipeline(["brightness"])(grey, 1.0)
    d = (y - grey).flatten(1)
    torch.testing.assert_close(d, d[:, :1].expand_as(d))  # one offset per sample
    assert d[:, 0].std() > 0.05
    torch.manual_seed(1)
    z = ADAPipeline("bgc")(x.requires_grad_(True), 0.5)
    z.sum().backward()
    assert z.shape == x.shape and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_ada_controller_speed_rule_and_clamp() -> None:
    ada = ADA(target=0.6, interval=4, ramp_images=640)
    confident = torch.full((16,), 3.0)  # sign(D(real)) = 1 > 0.6
    for i in range(4):
        ada.observe(confident, 16)
        ada.step()
        if i < 3:
            assert ada.p.item() == 0.0
    assert ada.p.item() == pytest.approx(4 * 16 / 640) and ada.rt.item() == 1.0
    assert ada.signs.item() == ada.count.item() == ada.images.item() == 0 and ada.steps.item() == 0
    mixed = torch.tensor([1.0, -1.0, 1.0, -1.0])  # r_t = 0 < 0.6: p goes down
    for _ in range(4):
        ada.observe(mixed, 4)
        ada.step()
    assert ada.p.item() == pytest.approx(0.1 - 16 / 640) and ada.rt.item() == 0.0
    for _ in range(40):
        ada.observe(-confident, 16)
        ada.step()
    assert ada.p.item() == 0.0  # clamped at 0
    fast = ADA(interval=1, ramp_images=10, p=0.9)
    fast.observe(confident, 16)
    fast.step()
    assert fast.p.item() == 1.0  # clamped at 1
    still = ADA(interval=1, p=0.3)
    still.step()  # no logits observed: no change
    assert still.p.item() == pytest.approx(0.3)
    assert {"p", "rt", "signs", "count", "images", "steps"} <= set(dict(ada.named_buffers()))


class _BiasD(nn.Module):
    """A tiny D whose logits are dominated by a fixed bias (its sign is what D says about reals)."""

    def __init__(self, bias: float) -> None:
        super().__init__()
        self.lin = nn.Linear(28 * 28, 1)
        nn.init.zeros_(self.lin.weight)
        nn.init.constant_(self.lin.bias, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x.flatten(1)).squeeze(1)


@pytest.mark.parametrize(("bias", "p0", "expect"), [(50.0, 0.0, 0.2), (-50.0, 0.5, 0.3), (-50.0, 0.0, 0.0)])
def test_ada_in_training_moves_p_from_d_real_logits(bias, p0, expect) -> None:
    G, _ = dcgan_pair()
    model = build("dcgan", G, _BiasD(bias), lr_d=1e-6,
                  augment={"ada": {"interval": 4, "ramp_images": 320, "p": p0}})
    hist = Trainer(model, tiny_images(64), TrainConfig(steps=8, batch_size=8, device="cpu", precision="fp32",
                                                       log_every=4, progress=False)).fit()
    # 8 D steps = 2 adjustments of 4 * 8 / 320 = 0.1 each, up (r_t = 1) or down (r_t = -1)
    assert model.augmentation.ada.p.item() == pytest.approx(expect, abs=1e-6)
    assert model.augmentation.ada.rt.item() == (1.0 if bias > 0 else -1.0)
    assert "ada_p" in hist.losses


# ----- the family hook ------------------------------------------------------------------------
class _SpyD(nn.Module):
    def __init__(self, D: nn.Module) -> None:
        super().__init__()
        self.D = D
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.detach().clone())
        return self.D(x)


def _ctx() -> StepContext:
    return StepContext(torch.device("cpu"), torch.Generator().manual_seed(0), batch_size=8)


def test_classical_applies_to_reals_only() -> None:
    G, D = dcgan_pair()
    spy = _SpyD(D)
    model = build("dcgan", G, spy, augment={"classical": {"ops": ["flip"], "flip_p": 1.0}}).train()
    batch = tiny_images(8).batch(torch.arange(8))
    ctx = _ctx()
    model.phase_loss("d", batch, ctx)
    real_seen, fake_seen = spy.seen
    assert torch.equal(real_seen, batch.real.flip(-1))
    assert torch.equal(fake_seen, ctx.cache["fake"][0].detach())  # the fakes are not flipped
    model.eval()
    assert torch.equal(model.augment_real(batch.real), batch.real)  # training only


def test_diffaugment_reaches_d_inputs_in_both_steps_with_gradients_to_g() -> None:
    G, D = dcgan_pair()
    spy = _SpyD(D)
    model = build("dcgan", G, spy, augment={"diffaugment": "translation,cutout"}).train()
    batch = tiny_images(8).batch(torch.arange(8))
    ctx = _ctx()
    torch.manual_seed(0)
    model.phase_loss("d", batch, ctx)
    fake = ctx.cache["fake"][0]
    loss, _ = model.phase_loss("g", batch, ctx)
    real_d, fake_d, fake_g = spy.seen
    assert not torch.equal(real_d, batch.real) and not torch.equal(fake_d, fake.detach())
    assert not torch.equal(fake_g, fake.detach()) and not torch.equal(fake_g, fake_d)
    assert (real_d == 0).float().mean() > 0.1  # cutout's zeros
    loss.backward()
    grads = [p.grad for p in G.parameters()]
    assert all(g is not None for g in grads) and sum(g.abs().sum() for g in grads) > 0


def test_infogan_and_cgan_take_augment() -> None:
    from ganlab.nets import ConcatDiscriminator, ConcatGenerator, InfoGANDiscriminator

    torch.manual_seed(0)
    D = InfoGANDiscriminator(image_size=28, channels=1, n_categories=10, n_continuous=2, ndf=8)
    G = dcgan_pair()[0].__class__(nz=16 + 12, image_size=28, channels=1, ngf=8)
    info = build("infogan", G, D, noise_dim=16, augment={"ada": {"interval": 1, "p": 0.5}})
    Trainer(info, tiny_images(32), TrainConfig(steps=2, batch_size=8, device="cpu", precision="fp32",
                                               progress=False)).fit()
    assert info.augmentation.ada.rt.isfinite()  # observed D's real logits
    cg = build("cgan", ConcatGenerator(nz=8, n_classes=3, image_size=28, channels=1, ngf=8),
               ConcatDiscriminator(n_classes=3, image_size=28, channels=1, ndf=8),
               augment={"diffaugment": "color,translation"})
    assert cg.augmentation.diffaugment is not None


@pytest.mark.parametrize("augment", [
    {"ada": {"interval": 3, "ramp_images": 64, "p": 0.5}},
    {"diffaugment": "color,translation,cutout", "classical": ["blur", "flip", "affine"]},
])
def test_augmented_run_resumes_bit_for_bit(tmp_path, augment) -> None:
    assert_resume_is_exact(lambda: build("dcgan", *dcgan_pair(), augment=augment), lambda: tiny_images(48),
                           tmp_path, total=5, cut=2)


def test_ada_state_is_in_checkpoints_and_other_augmentation_refused(tmp_path) -> None:
    aug = {"ada": {"interval": 1, "ramp_images": 16, "p": 0.5}}
    cfg = dict(batch_size=8, device="cpu", precision="fp32", checkpoint_every=2,
               checkpoint_dir=str(tmp_path), progress=False)
    trainer = Trainer(build("dcgan", *dcgan_pair(), augment=aug), tiny_images(48), TrainConfig(steps=2, **cfg))
    trainer.fit()
    from ganlab.train import latest_good

    _, state = latest_good(tmp_path)
    assert state["model"]["augmentation.ada.p"] == trainer.model.augmentation.ada.p
    assert state["model"]["augmentation.ada.p"].item() != 0.5  # it moved
    assert state["recipe"]["extra"]["augment"]["ada"]["ramp_images"] == 16
    plain = Trainer(build("dcgan", *dcgan_pair()), tiny_images(48), TrainConfig(steps=4, resume=True, **cfg))
    with pytest.raises(CheckpointError, match="architecture"):
        plain.fit()


def test_without_augment_nothing_changes() -> None:
    model = build("dcgan", *dcgan_pair())
    assert model.augmentation is None and "augment" not in model.recipe.extra
    assert not any(k.startswith("augmentation") for k in model.state_dict())
    spec = build("dcgan", *dcgan_pair(), augment={"classical": []}).recipe.extra["augment"]
    assert spec["classical"]["ops"] == [] and spec["classical"]["flip_p"] == 0.5
    full = build("dcgan", *dcgan_pair(), augment={"classical": ["flip"], "ada": {"ops": ["hue", "xflip"]}})
    spec = full.recipe.extra["augment"]
    assert spec["ada"] == {"target": 0.6, "interval": 4, "ramp_images": 500_000, "p": 0.0, "ops": ["xflip", "hue"]}
    assert normalize_spec(spec) == spec  # idempotent: a recipe read back from a record rebuilds the model
    again = build("dcgan", *dcgan_pair(), extra={"augment": spec})
    assert again.recipe.extra["augment"] == spec and again.augmentation.ada is not None


# ----- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize(("spec", "match"), [
    ({"classical": ["blur", "sharpen"]}, r"'sharpen' is not known; accepted: blur, flip, affine"),
    ({"classical": "flip"}, "list of names"),
    ({"classical": {"ops": ["flip"], "flip_p": 1.5}}, r"flip probability flip_p must be a probability in \[0, 1\]; got 1.5"),
    ({"classical": {"ops": ["blur"], "blur_kernel": [4, 6]}}, r"blur kernel must be \(min, max\) odd sizes.*got \[4, 6\]"),
    ({"classical": {"ops": ["blur"], "blur_sigma": [0.0, 2.0]}}, r"blur sigma must be .*0 < min"),
    ({"classical": {"ops": ["blur"], "blur_sigma": [2.0, 1.0]}}, r"blur sigma must be \(min, max\)"),
    ({"classical": {"ops": ["flip"], "flop_p": 0.5}}, r"unknown setting\(s\) \['flop_p'\]"),
    ({"diffaugment": "color,zoom"}, r"'zoom' is not known; accepted: color, translation, cutout"),
    ({"diffaugment": {"policy": "cutout", "cutout_ratio": 1.5}}, r"cutout_ratio must be a fraction"),
    ({"ada": {"target": 1.0}}, r"ADA target must be a number in \(0, 1\).*got 1.0"),
    ({"ada": {"target": 0}}, r"ADA target must be a number in \(0, 1\)"),
    ({"ada": {"p": -0.1}}, r"ADA initial p must be a probability in \[0, 1\]; got -0.1"),
    ({"ada": {"ops": "bgx"}}, r"ADA ops 'bgx': use group letters b, g, c"),
    ({"ada": {"ops": ["xflip", "cutout"]}}, r"'cutout' is not known"),
    ({"ada": {"interval": 0}}, r"interval must be an integer >= 1"),
    ({"ada": True, "diffaugment": "color"}, "not both"),
    ({"mixup": True}, r"unknown kind\(s\) \['mixup'\]; accepted: classical, diffaugment, ada"),
    ("diffaugment", "augment must be a dict"),
])
def test_bad_augmentation_is_a_clear_value_error(spec, match) -> None:
    with pytest.raises(ValueError, match=match):
        normalize_spec(spec)
    with pytest.raises(ValueError, match=match):
        build("dcgan", *dcgan_pair(), augment=spec)


def test_bad_direct_arguments_and_unsupported_family() -> None:
    with pytest.raises(ValueError, match=r"blur probability p must be a probability in \[0, 1\]; got 2"):
        GaussianBlur(p=2)
    with pytest.raises(ValueError, match="blur kernel"):
        GaussianBlur(kernel=(7, 3))
    with pytest.raises(ValueError, match="policy must be a string"):
        DiffAugment(["color"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"float tensor \(N, C, H, W\)"):
        DiffAugment()(torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match="1- or 3-channel"):
        ADAPipeline()(torch.zeros(2, 2, 8, 8), 0.5)

    class NoAug(Family):
        family = "noaug"

    G, D = nn.Linear(2, 2), nn.Linear(2, 1)
    G.nz = 2  # type: ignore[assignment]
    with pytest.raises(ValueError, match=r"noaug: augment= is not supported by this family; families that take it: .*dcgan"):
        NoAug({"G": G, "D": D}, augment={"diffaugment": "color"})
    NoAug({"G": G, "D": D}, augment=None)  # no augmentation: fine


def test_checkpoint_of_another_augmentation_is_another_run(tmp_path) -> None:
    if not hasattr(Trainer, "run_identity"):
        pytest.skip("the trainer has no run identity check yet (a DiffAugment spec adds no state_dict keys)")
    cfg = dict(batch_size=8, device="cpu", precision="fp32", checkpoint_every=2,
               checkpoint_dir=str(tmp_path), progress=False)
    aug = {"diffaugment": "color,translation,cutout"}
    Trainer(build("dcgan", *dcgan_pair(), augment=aug), tiny_images(48), TrainConfig(steps=2, **cfg)).fit()
    other = {"diffaugment": "translation"}
    with pytest.raises(CheckpointError, match="another run"):
        Trainer(build("dcgan", *dcgan_pair(), augment=other), tiny_images(48),
                TrainConfig(steps=4, resume=True, **cfg)).fit()
    resumed = Trainer(build("dcgan", *dcgan_pair(), augment=aug), tiny_images(48), TrainConfig(steps=4, resume=True, **cfg))
    resumed.fit()
    assert resumed.history.resumed_from == 2
