"""Image-to-image translation: paired / unpaired data, U-Net / PatchGAN / ResNet nets, the
pix2pix and CycleGAN families (CycleGAN's fake pools and an exact resume) and the evaluators.

Everything runs on tiny nets, tiny images and a handful of steps (fp32 on the CPU).
"""

from __future__ import annotations

import colorsys
import math

import pytest
import torch

from ganlab.data import load, shapes
from ganlab.data import photos as photos_mod
from ganlab.data.dataset import Dataset, DatasetInfo
from ganlab.data.paired_shapes import LABEL_PALETTE
from ganlab.data.transforms import to_uint8
from ganlab.data.unpaired import UnpairedDataset
from ganlab.metrics.translation import PairedEvaluator, UnpairedEvaluator
from ganlab.models.cyclegan import CycleGAN, FakePool
from ganlab.models.pix2pix import Pix2Pix
from ganlab.nets.image_to_image import (
    PatchDiscriminator,
    ResNetGenerator,
    UNetGenerator,
    patch_receptive_field,
)
from ganlab.train import TrainConfig, Trainer
from tests.helpers import tiny_images

# ----------------------------------------------------------------------------- helpers


def _info(name: str = "pairs", channels: int = 3, size: int = 16) -> DatasetInfo:
    return DatasetInfo(name=name, kind="image", channels=channels, size=size, n_classes=None,
                       classes=None, source="random", licence="none")


def _paired(n: int = 16, c_src: int = 3, s_src: int = 16, c_tgt: int = 3, s_tgt: int = 16,
            seed: int = 0) -> Dataset:
    """Random uint8 targets with random uint8 sources of the given shapes."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, c_tgt, s_tgt, s_tgt), dtype=torch.uint8, generator=g)
    sources = torch.randint(0, 256, (n, c_src, s_src, s_src), dtype=torch.uint8, generator=g)
    return Dataset(_info("pairs", c_tgt, s_tgt), images=images, sources=sources)


def _small_shapes_paired(n: int, seed: int = 0) -> Dataset:
    """``shapes_paired`` pairs downsampled 2x to 16 px (both sides), factors kept: fast to train on."""
    ds = load("shapes_paired", limit=n, seed=seed)
    return Dataset(ds.info, images=photos_mod.downsample(ds.images, 2), labels=ds.labels,
                   factors=ds.factors, sources=photos_mod.downsample(ds.sources, 2))


def _hue(rgb) -> float:
    r, g, b = (float(v) / 255.0 for v in rgb)
    return colorsys.rgb_to_hsv(r, g, b)[0]


def _hue_distance(h1: float, h2: float) -> float:
    d = abs(h1 - h2) % 1.0
    return min(d, 1.0 - d)


def _centre(ds: Dataset, i: int, size: int = 32) -> tuple[int, int]:
    """(row, col) of the pixel at item ``i``'s shape centre (from its factors; jitter <= 1 px)."""
    pos = shapes._POSITIONS
    cy = pos[int(ds.factors["y"][i])] * size
    cx = pos[int(ds.factors["x"][i])] * size
    return int(cy), int(cx)


def _iou(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a & b).sum()) / max(float((a | b).sum()), 1.0)


def _masks(ds: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """Shape masks of the label maps (sources) and of the lit targets, ``(N, H, W)`` bool."""
    src = ds.sources.max(dim=1).values > 64  # palette codes are 128 in their channels
    tgt = ds.images.max(dim=1).values > 70  # lit shapes >= 0.55 * 200, background 18 +- 12
    return src, tgt


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """These nets are tiny: one intra-op thread is as fast idle and far faster on a busy machine
    (two OpenMP threads contending with other jobs made this module ~8x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def digits_mnist_train() -> UnpairedDataset:
    return load("digits_mnist")


@pytest.fixture(scope="module")
def shapes_paired_test() -> Dataset:
    return load("shapes_paired", split="test", limit=200)


# ----------------------------------------------------------------------------- 1. data


@pytest.mark.parametrize(("split", "seed", "limit"), [("train", 0, 64), ("test", 3, 40)])
def test_shapes_paired_has_the_factors_of_shapes(split: str, seed: int, limit: int) -> None:
    paired = load("shapes_paired", split=split, seed=seed, limit=limit)
    plain = load("shapes", split=split, seed=seed, limit=limit)
    assert len(paired) == limit
    assert paired.sources is not None and paired.sources.shape == (limit, 3, 32, 32)
    assert paired.images.shape == (limit, 3, 32, 32)
    assert set(paired.factors) == set(plain.factors) == set(shapes.FACTOR_SIZES)
    for k in plain.factors:
        assert torch.equal(paired.factors[k], plain.factors[k]), k
    assert torch.equal(paired.labels, plain.labels)
    assert paired.info.factor_sizes == shapes.FACTOR_SIZES


def test_shapes_paired_label_map_codes_and_target_hue() -> None:
    ds = load("shapes_paired", limit=300)
    big = torch.nonzero(ds.factors["size"] == 2).flatten().tolist()
    seen = set()
    for i in big:
        colour = int(ds.factors["colour"][i])
        row, col = _centre(ds, i)
        # source: the label code of the colour class at the centre, 0 far from the shape
        assert tuple(ds.sources[i, :, row, col].tolist()) == LABEL_PALETTE[colour], i
        yy, xx = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
        far = torch.maximum((yy - row).abs(), (xx - col).abs()) > 10  # r = 6.5, jitter 1, rim 1
        assert int(ds.sources[i][:, far].max()) == 0, i
        # target: the real colour (lit, so scaled) at the centre: same hue as shapes.COLOURS
        real = list(shapes.COLOURS.values())[colour]
        got = ds.images[i, :, row, col].tolist()
        assert _hue_distance(_hue(got), _hue(real)) < 0.02, (i, got, real)
        # and its hue is nearer to its own colour than to any other of the palette
        nearest = min(range(len(shapes.COLOURS)),
                      key=lambda k: _hue_distance(_hue(got), _hue(list(shapes.COLOURS.values())[k])))
        assert nearest == colour
        assert tuple(got) != LABEL_PALETTE[colour]
        seen.add(colour)
    assert seen == set(range(len(shapes.COLOURS)))  # every colour was checked


def test_shapes_paired_is_deterministic_and_rgb_only() -> None:
    a = load("shapes_paired", limit=32, seed=4)
    b = load("shapes_paired", limit=32, seed=4)
    assert torch.equal(a.images, b.images) and torch.equal(a.sources, b.sources)
    c = load("shapes_paired", limit=32, seed=5)
    assert not torch.equal(a.sources, c.sources)
    # the target appearance (light, blotches) is random: not a function of the label map
    assert not torch.equal(a.images, a.sources)
    with pytest.raises(ValueError, match="channels=1"):
        load("shapes_paired", channels=1)


def test_shapes_paired_pairs_stay_aligned_under_limit_and_subset() -> None:
    ds = load("shapes_paired", limit=48, seed=1)
    src, tgt = _masks(ds)
    ious = [_iou(src[i], tgt[i]) for i in range(len(ds))]
    assert min(ious) > 0.5 and sum(ious) / len(ious) > 0.8  # small bright shapes: wider lit rim
    # a misaligned pairing would not pass (so the check above can fail)
    shifted = [_iou(src[i], tgt[(i + 1) % len(ds)]) for i in range(len(ds))]
    assert sum(shifted) / len(shifted) < 0.4
    # subset keeps images, sources, labels and factors of the same items
    idx = torch.tensor([5, 0, 47, 13])
    sub = ds.subset(idx)
    assert torch.equal(sub.images, ds.images[idx]) and torch.equal(sub.sources, ds.sources[idx])
    assert torch.equal(sub.labels, ds.labels[idx])
    for k in ds.factors:
        assert torch.equal(sub.factors[k], ds.factors[k][idx])
    batch = sub.batch(torch.tensor([1, 3]))
    assert torch.equal(to_uint8(batch.source), ds.sources[torch.tensor([0, 13])])
    assert torch.equal(to_uint8(batch.real), ds.images[torch.tensor([0, 13])])
    assert batch.source.dtype == torch.float32 and float(batch.source.min()) >= -1.0
    # fixed_conditions: the first n sources, in [-1, 1]
    fixed = ds.fixed_conditions(5)
    assert set(fixed) == {"source"} and torch.equal(to_uint8(fixed["source"]), ds.sources[:5])
    assert ds.fixed_conditions(500)["source"].shape[0] == len(ds)
    assert tiny_images(8).fixed_conditions(4) == {}
    assert tiny_images(8).batch(torch.arange(4)).source is None


def test_dataset_refuses_a_source_count_other_than_the_image_count() -> None:
    images = torch.zeros((4, 3, 8, 8), dtype=torch.uint8)
    with pytest.raises(ValueError, match=r"3 sources for 4 images"):
        Dataset(_info(size=8), images=images, sources=torch.zeros((3, 3, 8, 8), dtype=torch.uint8))
    with pytest.raises(ValueError, match="uint8"):
        Dataset(_info(size=8), images=images, sources=torch.zeros((4, 3, 8, 8)))


def test_photos_x4_train_crops_and_sources() -> None:
    ds = load("photos_x4", image_size=32, limit=4)
    assert ds.images.shape == (4, 3, 32, 32) and ds.sources.shape == (4, 3, 8, 8)
    assert torch.equal(ds.sources, photos_mod.downsample(ds.images))
    again = load("photos_x4", image_size=32, limit=4)
    assert torch.equal(ds.images, again.images)
    # the downsampling is a real 4x reduction (the mean colour survives, the detail does not)
    assert (ds.images.float().mean((2, 3)) - ds.sources.float().mean((2, 3))).abs().max() < 6


def test_photos_x4_test_split_and_size_checks() -> None:
    ds = load("photos_x4", split="test")
    assert len(ds) == 2 and ds.images.shape == (2, 3, 296, 296) and ds.sources.shape == (2, 3, 74, 74)
    assert torch.equal(ds.sources, photos_mod.downsample(ds.images))
    with pytest.raises(ValueError, match="multiple of 4"):
        load("photos_x4", image_size=30, limit=2)
    with pytest.raises(ValueError, match="296"):
        load("photos_x4", split="test", image_size=64)


def test_digits_mnist_domains(digits_mnist_train: UnpairedDataset) -> None:
    ds = digits_mnist_train
    digits = load("digits", image_size=28)
    mnist = load("mnist5k", image_size=28)
    assert ds.shape == (1, 28, 28) and ds.a.shape == ds.b.shape == (1, 28, 28)
    assert len(ds.a) == 1500 and len(ds.b) == 4000 and len(ds) == 4000
    assert torch.equal(ds.a.images, digits.images) and torch.equal(ds.a.labels, digits.labels)
    assert torch.equal(ds.b.images, mnist.images) and torch.equal(ds.b.labels, mnist.labels)
    assert ds.a.info.name == "digits" and ds.b.info.name == "mnist5k"
    # limit applies to each domain (class-stratified), the size to both
    small = load("digits_mnist", limit=32, image_size=8)
    assert len(small.a) == len(small.b) == 32 and small.shape == (1, 8, 8)
    assert set(small.a.labels.tolist()) == set(range(10)) == set(small.b.labels.tolist())


def test_digits_mnist_epoch_order_and_batch(digits_mnist_train: UnpairedDataset) -> None:
    ds = digits_mnist_train
    n_a, n_b = len(ds.a), len(ds.b)
    o0 = ds.epoch_order(0, seed=3)
    assert o0.shape == (max(n_a, n_b), 2) and o0.dtype == torch.int64
    for col, n in ((0, n_a), (1, n_b)):
        assert set(o0[:, col].tolist()) == set(range(n))
        assert int(o0[:, col].min()) == 0 and int(o0[:, col].max()) == n - 1
    assert torch.equal(o0[:, 1].sort().values, torch.arange(n_b))  # B: one permutation
    o1 = ds.epoch_order(1, seed=3)
    assert not torch.equal(o0, o1)
    assert not torch.equal(o0[:, 0], o1[:, 0]) and not torch.equal(o0[:, 1], o1[:, 1])
    assert torch.equal(o0, ds.epoch_order(0, seed=3))
    other_seed = ds.epoch_order(0, seed=4)
    assert not torch.equal(o0[:, 0], other_seed[:, 0]) and not torch.equal(o0[:, 1], other_seed[:, 1])

    rows = o0[:6]
    batch = ds.batch(rows)
    xa, ya = ds.a.get(rows[:, 0])
    xb, _ = ds.b.get(rows[:, 1])
    assert torch.equal(batch.real, xa) and torch.equal(batch.labels, ya) and torch.equal(batch.other, xb)
    assert batch.source is None
    with pytest.raises(ValueError, match=r"\(B, 2\)"):
        ds.batch(o0[:6, 0])
    fixed = ds.fixed_conditions(3)
    assert torch.equal(fixed["source"], ds.a.images_float(3))


def test_unpaired_dataset_refuses_domains_of_different_shapes() -> None:
    info = _info("pair", 1, 8)
    with pytest.raises(ValueError, match="one shape"):
        UnpairedDataset(info, tiny_images(8, channels=1, size=8), tiny_images(8, channels=3, size=8))
    with pytest.raises(ValueError, match="one shape"):
        UnpairedDataset(info, tiny_images(8, channels=1, size=8), tiny_images(8, channels=1, size=12))
    points = Dataset(_info(), points=torch.zeros((8, 2)))
    with pytest.raises(ValueError, match="points"):
        UnpairedDataset(info, tiny_images(8, channels=1, size=8), points)
    ok = UnpairedDataset(info, tiny_images(8, channels=1, size=8), tiny_images(5, channels=1, size=8, seed=1))
    assert len(ok) == 8
    order = ok.epoch_order(0)
    assert order.shape == (8, 2) and set(order[:, 1].tolist()) == set(range(5))


def test_unpaired_dataset_refuses_an_empty_domain() -> None:
    info = _info("pair", 1, 8)
    with pytest.raises(ValueError, match="empty"):
        UnpairedDataset(info, tiny_images(0, channels=1, size=8), tiny_images(8, channels=1, size=8))


# ----------------------------------------------------------------------------- 2. nets


def test_image_to_image_output_shapes() -> None:
    torch.manual_seed(0)
    for size in (8, 16, 32):
        G = UNetGenerator(3, 1, image_size=size, ngf=4)
        y = G(torch.randn(2, 3, size, size))
        assert y.shape == (2, 1, size, size) and float(y.detach().abs().max()) <= 1.0
    G = ResNetGenerator(channels=1, image_size=12, ngf=4, blocks=1)
    y = G(torch.randn(2, 1, 12, 12))
    assert y.shape == (2, 1, 12, 12) and float(y.detach().abs().max()) <= 1.0
    expected = {"pixel": 32, 0: 30, 1: 14, 2: 6, 3: 2}
    for n_layers, side in expected.items():
        D = PatchDiscriminator(in_channels=6, ndf=4, n_layers=n_layers)
        assert D(torch.randn(2, 6, 32, 32)).shape == (2, 1, side, side), n_layers
    for size in (8, 32):
        D = PatchDiscriminator(in_channels=6, ndf=4, n_layers="image", image_size=size)
        assert D(torch.randn(2, 6, size, size)).shape == (2, 1, 1, 1)
        assert D.receptive_field == size


def _measured_field(n_layers, size: int = 64) -> tuple[int, int]:
    """Rows and columns of the input that one central output logit depends on."""
    torch.manual_seed(0)
    D = PatchDiscriminator(in_channels=2, ndf=4, n_layers=n_layers, norm="none",
                           image_size=size if n_layers == "image" else None).double()
    x = torch.randn(1, 2, size, size, dtype=torch.float64, requires_grad=True)
    y = D(x)
    h, w = y.shape[2:]
    y[0, 0, h // 2, w // 2].backward()
    touched = x.grad[0].abs().sum(0) > 0
    rows = touched.any(1).nonzero().flatten()
    cols = touched.any(0).nonzero().flatten()
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


@pytest.mark.parametrize(("n_layers", "size"), [("pixel", 64), (0, 64), (1, 64), (2, 64), (3, 128)])
def test_patch_discriminator_receptive_field_is_what_it_says(n_layers, size: int) -> None:
    want = patch_receptive_field(n_layers)
    assert want == {"pixel": 1, 0: 7, 1: 16, 2: 34, 3: 70}[n_layers]
    assert _measured_field(n_layers, size) == (want, want)
    assert PatchDiscriminator(in_channels=2, n_layers=n_layers).receptive_field == want


def test_patch_receptive_field_values_and_clipping() -> None:
    assert [patch_receptive_field(n) for n in range(7)] == [7, 16, 34, 70, 142, 286, 574]
    # at 32 px a 34 px field is clipped by the image
    assert _measured_field(2, 32) == (31, 31)
    assert _measured_field("image", 16) == (16, 16)
    assert patch_receptive_field("image", 16) == 16
    with pytest.raises(ValueError, match="image_size"):
        patch_receptive_field("image")


def test_image_to_image_nets_refuse_bad_settings_and_inputs() -> None:
    with pytest.raises(ValueError, match="image_size"):
        UNetGenerator(image_size=30)
    with pytest.raises(ValueError, match="in_channels=2"):
        UNetGenerator(in_channels=2)
    with pytest.raises(ValueError, match="out_channels=2"):
        UNetGenerator(out_channels=2)
    with pytest.raises(ValueError, match="image_size=30"):
        ResNetGenerator(image_size=30)
    with pytest.raises(ValueError, match="channels=2"):
        ResNetGenerator(channels=2)
    with pytest.raises(ValueError, match="n_layers=9"):
        PatchDiscriminator(n_layers=9)
    with pytest.raises(ValueError, match="n_layers"):
        PatchDiscriminator(n_layers=True)
    with pytest.raises(ValueError, match="image_size"):
        PatchDiscriminator(n_layers="image")
    with pytest.raises(ValueError, match="image_size"):
        PatchDiscriminator(n_layers="image", image_size=24)
    G = UNetGenerator(3, 3, image_size=16, ngf=4)
    for bad in (torch.randn(2, 1, 16, 16), torch.randn(2, 3, 32, 32), torch.randn(3, 16, 16)):
        with pytest.raises(ValueError, match="UNetGenerator expects"):
            G(bad)
    R = ResNetGenerator(channels=1, image_size=8, ngf=4, blocks=1)
    with pytest.raises(ValueError, match="ResNetGenerator expects"):
        R(torch.randn(2, 1, 12, 12))
    D = PatchDiscriminator(in_channels=6, ndf=4, n_layers=1)
    with pytest.raises(ValueError, match="PatchDiscriminator expects"):
        D(torch.randn(2, 3, 16, 16))
    D16 = PatchDiscriminator(in_channels=6, ndf=4, n_layers=1, image_size=16)
    with pytest.raises(ValueError, match="built for 16 px"):
        D16(torch.randn(2, 6, 32, 32))


# ----------------------------------------------------------------------------- 3. pix2pix


def _pix2pix(size: int = 32, c_in: int = 3, c_out: int = 3, **kw) -> Pix2Pix:
    torch.manual_seed(0)
    G = UNetGenerator(c_in, c_out, image_size=size, ngf=8, norm="batch")
    D = PatchDiscriminator(in_channels=c_in + c_out, ndf=8, n_layers=1)
    return Pix2Pix(G, D, **kw)


def _cfg(**kw) -> TrainConfig:
    base = dict(steps=2, batch_size=8, seed=0, device="cpu", precision="fp32", log_every=1, progress=False)
    return TrainConfig(**{**base, **kw})


def test_pix2pix_check_data_is_run_by_the_trainer() -> None:
    model = _pix2pix(16)
    with pytest.raises(ValueError, match="has no sources"):
        Trainer(model, tiny_images(16, channels=3, size=16), _cfg())
    with pytest.raises(ValueError, match=r"pairs 8x8 sources with 16x16 targets"):
        Trainer(model, _paired(16, s_src=8, s_tgt=16), _cfg())
    with pytest.raises(ValueError, match="1-channel sources and 3-channel targets"):
        Trainer(model, _paired(16, c_src=1), _cfg())
    Trainer(model, _paired(16), _cfg())  # the right shapes are accepted


def test_pix2pix_check_data_refuses_pairs_of_another_size_than_the_generator() -> None:
    with pytest.raises(ValueError, match="16"):
        Trainer(_pix2pix(16), _paired(16, s_src=32, s_tgt=32), _cfg())


def test_pix2pix_settings_and_sample_inputs() -> None:
    model = _pix2pix(16)
    assert [p.group for p in model.phases()] == ["d", "g"]
    assert model.recipe.extra["l1_weight"] == 100.0 and model.nz == 0
    with pytest.raises(ValueError, match="source="):
        model.sample_inputs(4)
    with pytest.raises(ValueError, match="source="):
        model.sample_inputs(4, source=torch.zeros(3, 3, 16, 16))
    with pytest.raises(ValueError, match="only source="):
        model.sample_inputs(4, source=torch.zeros(4, 3, 16, 16), z=torch.zeros(4, 8))
    l1_only = _pix2pix(16, adversarial=False)
    assert [p.group for p in l1_only.phases()] == ["g"]
    assert _pix2pix(16, l1_weight=0).phases()[0].group == "d"
    with pytest.raises(ValueError, match="no loss"):
        _pix2pix(16, l1_weight=0, adversarial=False)
    with pytest.raises(ValueError, match="l1_weight"):
        _pix2pix(16, l1_weight=-1.0)
    with pytest.raises(ValueError, match="adversarial"):
        _pix2pix(16, adversarial=1)


def test_pix2pix_l1_only_training_lowers_the_l1_and_leaves_d_alone() -> None:
    ds = _small_shapes_paired(32)
    model = _pix2pix(16, adversarial=False, lr_g=2e-3)
    d_before = {k: v.clone() for k, v in model.D.state_dict().items()}

    def l1() -> float:
        out = model.sample(inputs={"source": ds.get_sources(slice(None))}, use_ema=False)
        return float((out - ds.images_float()).abs().mean())

    before = l1()
    trainer = Trainer(model, ds, _cfg(steps=30, log_every=10, n_samples=6))
    hist = trainer.fit()
    after = l1()
    assert after < 0.5 * before, (before, after)
    assert hist.losses["l1"][-1] < hist.losses["l1"][0]
    assert "d" not in hist.losses and set(trainer.optimizers) >= {"g"}
    for k, v in model.D.state_dict().items():
        assert torch.equal(v, d_before[k]), f"D changed without an adversarial term: {k}"
    # the fixed snapshot translates the first n sources of the set
    snap = trainer.snapshot()
    assert snap.shape == (6, 3, 16, 16) and snap.dtype == torch.uint8
    want = to_uint8(model.sample(inputs={"source": ds.fixed_conditions(6)["source"]}))
    assert torch.equal(snap, want)
    other = to_uint8(model.sample(inputs={"source": ds.get_sources(slice(6, 12))}))
    assert not torch.equal(snap, other)


def test_pix2pix_adversarial_step_trains_both_networks() -> None:
    ds = _small_shapes_paired(16)
    model = _pix2pix(16)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    hist = Trainer(model, ds, _cfg(steps=2, n_samples=4)).fit()
    assert {"d", "g", "l1"} <= set(hist.losses)
    assert all(math.isfinite(v) for vs in hist.losses.values() for v in vs)
    for prefix in ("G.", "D."):
        assert any(not torch.equal(v, before[k]) for k, v in model.state_dict().items()
                   if k.startswith(prefix) and v.is_floating_point()), prefix
    assert hist.images_seen == 2 * 8  # G reuses D's batch


# ----------------------------------------------------------------------------- 4. FakePool


def _const(values, size: int = 2) -> torch.Tensor:
    """One constant 1 x size x size image per value."""
    v = torch.as_tensor(values, dtype=torch.float32)
    return v.view(-1, 1, 1, 1).expand(-1, 1, size, size).clone()


def _expected_pool(before: list[float], fakes: torch.Tensor, out: torch.Tensor, start: int) -> list[float]:
    """The pool after a swapping query, reconstructed from what it returned: rows from ``start``
    on that came back changed were swapped with the slot whose (distinct) value they returned;
    the newest such row owns the slot."""
    pool = list(before)
    for row in range(start, fakes.shape[0]):
        got, new = float(out[row, 0, 0, 0]), float(fakes[row, 0, 0, 0])
        if got != new:
            pool[before.index(got)] = new
    return pool


def test_fake_pool_filling_returns_the_fakes_and_stores_them() -> None:
    pool = FakePool(6)
    g = torch.Generator().manual_seed(0)
    first = _const([0, 1, 2, 3])
    out = pool.query(first, g)
    assert torch.equal(out, first) and pool.count == 4
    assert pool.images.shape == (6, 1, 2, 2) and torch.equal(pool.images[:4], first)
    # the batch that fills the pool: two join and come back as given, the other two may be swapped
    second = _const([4, 5, 6, 7])
    out = pool.query(second, g)
    assert pool.count == 6 and torch.equal(out[:2], second[:2])
    assert set(out[2:, 0, 0, 0].tolist()) <= {6.0, 7.0, *map(float, range(6))}
    want = _expected_pool([0, 1, 2, 3, 4, 5], second, out, start=2)
    assert pool.images[:, 0, 0, 0].tolist() == want


def test_fake_pool_swaps_about_half_for_earlier_fakes() -> None:
    size = 10
    pool = FakePool(size)
    g = torch.Generator().manual_seed(123)
    pool.query(_const(range(size)), g)  # pool slot k holds the value k
    assert pool.count == size
    n = 2000
    fakes = _const([100 + j for j in range(n)])
    out = pool.query(fakes, g)
    values = out[:, 0, 0, 0]
    swapped = values != fakes[:, 0, 0, 0]
    k = int(swapped.sum())
    assert abs(k - n / 2) < 4 * math.sqrt(n / 4), k  # binomial(2000, 1/2): within 4 sigma
    # pooled images are earlier fakes (never another image of this batch), whole images
    assert set(values[swapped].tolist()) <= set(map(float, range(size)))
    assert torch.equal(out[~swapped], fakes[~swapped])
    assert torch.equal(out, out[:, :, :1, :1].expand_as(out))
    # every slot was picked (2000 draws, 10 slots) and holds the newest fake swapped into it
    want = _expected_pool([float(v) for v in range(size)], fakes, out, start=0)
    assert pool.images[:, 0, 0, 0].tolist() == want
    assert all(v >= 100 for v in want)
    assert pool.count == size
    # a second large query returns only images of the first (now pooled) large batch
    out2 = pool.query(_const([-1.0] * 200), g)
    got = set(out2[:, 0, 0, 0].tolist()) - {-1.0}
    assert got and got <= set(want)


def test_fake_pool_is_deterministic_for_a_seeded_generator() -> None:
    def run() -> tuple[torch.Tensor, torch.Tensor]:
        pool = FakePool(4)
        g = torch.Generator().manual_seed(7)
        outs = [pool.query(_const([10 * s + j for j in range(3)]), g) for s in range(5)]
        return torch.cat(outs), pool.images.clone()

    a, b = run(), run()
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_fake_pool_of_size_zero_and_bad_sizes() -> None:
    pool = FakePool(0)
    x = torch.randn(5, 1, 2, 2)
    assert torch.equal(pool.query(x), x) and pool.count == 0
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match="pool size"):
            FakePool(bad)


def test_fake_pool_state_dict_round_trip() -> None:
    pool = FakePool(5)
    g = torch.Generator().manual_seed(1)
    pool.query(_const([1, 2, 3]), g)
    state = pool.state_dict()
    fresh = FakePool(5)
    fresh.load_state_dict(state)
    assert fresh.count == 3 and torch.equal(fresh.images, pool.images)
    pool.query(_const([4, 5, 6, 7]), g)  # full now, swapping
    fresh2 = FakePool(5)
    fresh2.load_state_dict(pool.state_dict())
    assert fresh2.count == 5 and torch.equal(fresh2.images, pool.images)
    # both continue identically from the same generator state
    g1, g2 = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    x = _const([50, 51, 52, 53, 54, 55])
    assert torch.equal(pool.query(x, g1), fresh2.query(x, g2))
    assert torch.equal(pool.images, fresh2.images)


# ----------------------------------------------------------------------------- 5. CycleGAN


def _cyclegan(size: int = 8, pool_size: int = 4) -> CycleGAN:
    torch.manual_seed(0)
    nets = [ResNetGenerator(channels=1, image_size=size, ngf=4, blocks=1),
            ResNetGenerator(channels=1, image_size=size, ngf=4, blocks=1),
            PatchDiscriminator(in_channels=1, ndf=4, n_layers=0, norm="instance"),
            PatchDiscriminator(in_channels=1, ndf=4, n_layers=0, norm="instance")]
    return CycleGAN(*nets, pool_size=pool_size)


def _unpaired(n: int = 16, size: int = 8) -> UnpairedDataset:
    return UnpairedDataset(_info("ab", 1, size), tiny_images(n, channels=1, size=size, seed=1),
                           tiny_images(n + 4, channels=1, size=size, seed=2))


def _run_cyclegan(folder, steps: int, resume: bool) -> Trainer:
    cfg = _cfg(steps=steps, batch_size=4, seed=5, checkpoint_every=3, checkpoint_dir=str(folder),
               resume=resume, ema_decay=0.8, n_samples=4)
    # limit=32 keeps 32 images of each domain (class-stratified): 8 batches of 4 per epoch
    trainer = Trainer(_cyclegan(), load("digits_mnist", limit=32, image_size=8), cfg)
    trainer.fit()
    return trainer


def test_cyclegan_resumes_bit_for_bit(tmp_path) -> None:
    full = _run_cyclegan(tmp_path / "a", 7, False)
    _run_cyclegan(tmp_path / "b", 3, False)  # interrupted after the step-3 checkpoint
    resumed = _run_cyclegan(tmp_path / "b", 7, True)
    assert resumed.history.resumed_from == 3 and full.history.resumed_from == 0
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    nets = {"G_AB", "G_BA", "D_A", "D_B", "G_AB_ema", "G_BA_ema", "pool_A", "pool_B"}
    assert {k.split(".")[0] for k in a} >= nets
    for k in a:
        if k.endswith("_extra_state"):
            assert a[k] == b[k], k
        else:
            assert torch.equal(a[k], b[k]), f"{k} differs after resume"
    # the pools filled (4 slots) within the first step and then swapped; both runs hold the same
    for name in ("pool_A", "pool_B"):
        pa, pb = getattr(full.model, name), getattr(resumed.model, name)
        assert pa.count == pb.count == 4
        assert pa.images.shape == (4, 1, 8, 8) and torch.equal(pa.images, pb.images)
    # the pools hold recent fakes, not what they were filled with at step 1: rerun 1 step
    one = _cyclegan()
    Trainer(one, load("digits_mnist", limit=32, image_size=8),
            _cfg(steps=1, batch_size=4, seed=5, n_samples=4)).fit()
    assert not torch.equal(one.pool_B.images, full.model.pool_B.images)
    for group in ("g", "d"):  # optimiser moments too
        sa, sb = full.optimizers[group].state_dict(), resumed.optimizers[group].state_dict()
        assert sa["state"].keys() == sb["state"].keys() and sa["state"]
        for slot in sa["state"]:
            for key, val in sa["state"][slot].items():
                assert torch.equal(val, sb["state"][slot][key]), f"optimiser {group} {key} differs"
    assert full.history.losses == resumed.history.losses
    assert {"g", "d", "adv", "cycle", "identity"} <= set(full.history.losses)


def test_cyclegan_trains_all_four_networks() -> None:
    model = _cyclegan()
    before = {k: v.clone() for k, v in model.state_dict().items() if not k.endswith("_extra_state")}
    trainer = Trainer(model, _unpaired(), _cfg(steps=2, batch_size=4, n_samples=3))
    hist = trainer.fit()
    after = model.state_dict()
    for prefix in ("G_AB.", "G_BA.", "D_A.", "D_B."):
        assert any(not torch.equal(after[k], v) for k, v in before.items()
                   if k.startswith(prefix) and v.is_floating_point()), prefix
    assert hist.images_seen == 2 * 4  # D reuses G's batch
    assert [p.group for p in model.phases()] == ["g", "d"]
    # the snapshot translates the first images of domain A with G_AB
    snap = trainer.snapshot()
    want = to_uint8(model.G_AB.eval()(trainer.dataset.a.images_float(3)))
    assert snap.shape == (3, 1, 8, 8) and torch.equal(snap, want)


def test_cyclegan_check_data() -> None:
    model = _cyclegan(size=8)
    with pytest.raises(ValueError, match="single set"):
        Trainer(model, tiny_images(16, channels=1, size=8), _cfg(batch_size=4))
    with pytest.raises(ValueError, match=r"holds \(1, 12, 12\) images, G_AB maps \(1, 8, 8\)"):
        Trainer(model, _unpaired(size=12), _cfg(batch_size=4))
    Trainer(model, _unpaired(size=8), _cfg(batch_size=4))
    with pytest.raises(ValueError, match="source="):
        model.sample_inputs(3)
    with pytest.raises(ValueError, match="cycle_weight"):
        CycleGAN(model.G_AB, model.G_BA, model.D_A, model.D_B, cycle_weight=-1.0)


# ----------------------------------------------------------------------------- 6. evaluators


def test_paired_evaluator_on_targets_and_label_maps(shapes_paired_test: Dataset) -> None:
    ds = shapes_paired_test
    ev = PairedEvaluator(ds, n=120)
    n = 120
    perfect = ev.evaluate_images(ds.images_float(n))
    key = f"[shapes_paired-test,N={n}]"
    assert perfect[f"l1{key}"] == 0.0
    assert perfect[f"psnr{key}"] == math.inf
    assert perfect[f"ssim{key}"] > 0.999
    assert abs(perfect[f"fid[shapes_cnn,N={n}]"]) < 1e-3
    assert perfect[f"task_acc[shapes_cnn,N={n}]"] >= 0.95
    for factor in shapes.FACTOR_SIZES:
        assert perfect[f"task_{factor}[shapes_cnn,N={n}]"] >= 0.9, factor
    maps = ev.evaluate_images(ds.get_sources(slice(0, n)))
    assert maps[f"task_acc[shapes_cnn,N={n}]"] < 0.8
    assert maps[f"l1{key}"] > 0.02 and maps[f"psnr{key}"] < 30
    assert maps[f"fid[shapes_cnn,N={n}]"] > 10 * max(perfect[f"fid[shapes_cnn,N={n}]"], 1.0)
    # the trainer's hook: sample_fn(k, source=...) gets the test sources in order
    seen = []

    def identity(k: int, source: torch.Tensor) -> torch.Tensor:
        seen.append(source.shape[0])
        return source

    via_hook = ev.evaluate(identity)
    assert sum(seen) == n and via_hook[f"l1{key}"] == pytest.approx(maps[f"l1{key}"])


def test_paired_evaluator_refuses_bad_outputs_and_unpaired_sets(shapes_paired_test: Dataset) -> None:
    ev = PairedEvaluator(shapes_paired_test, n=8, extractor=None)
    good = shapes_paired_test.images_float(8)
    assert set(ev.evaluate_images(good)) == {"l1[shapes_paired-test,N=8]", "psnr[shapes_paired-test,N=8]",
                                             "ssim[shapes_paired-test,N=8]"}
    with pytest.raises(ValueError, match="expected outputs of shape"):
        ev.evaluate_images(good[:7])
    with pytest.raises(ValueError, match="expected outputs of shape"):
        ev.evaluate_images(good[:, :1])
    bad = good.clone()
    bad[3, 0, 5, 5] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        ev.evaluate_images(bad)
    with pytest.raises(ValueError, match="has no sources"):
        PairedEvaluator(tiny_images(8, channels=3, size=32), extractor=None)
    with pytest.raises(ValueError, match="factors"):
        PairedEvaluator(_paired(8), extractor=None, task=True)


def test_unpaired_evaluator_label_kept() -> None:
    test = load("digits_mnist", split="test")
    ev = UnpairedEvaluator(test)
    identity = ev.evaluate(lambda k, source: source)
    n = len(test.a)
    assert 0.2 <= identity[f"label_kept[mnist_cnn,N={n}]"] <= 0.4
    assert identity[f"fid[mnist_cnn,N={n}]"] > 0
    # a domain A that mnist_cnn reads well: mnist5k test on both sides keeps ~every label
    mnist = load("mnist5k", split="test")
    same = UnpairedDataset(test.info, mnist, mnist, split="test")
    ev2 = UnpairedEvaluator(same, fid=False)
    kept = ev2.evaluate_images(mnist.images_float())
    assert set(kept) == {f"label_kept[mnist_cnn,N={len(mnist)}]"}
    assert kept[f"label_kept[mnist_cnn,N={len(mnist)}]"] >= 0.95
    # a translation that scrambles the digits loses the labels
    flipped = ev2.evaluate_images(-mnist.images_float())
    assert flipped[f"label_kept[mnist_cnn,N={len(mnist)}]"] < 0.5
    with pytest.raises(ValueError, match="expected outputs of shape"):
        ev2.evaluate_images(mnist.images_float(10))
    with pytest.raises(ValueError, match="two domains"):
        UnpairedEvaluator(mnist)


def test_unpaired_evaluator_without_labels_is_fid_only() -> None:
    ds = _unpaired(n=16, size=28)
    with pytest.raises(ValueError, match="label_kept"):
        UnpairedEvaluator(ds)
    ev = UnpairedEvaluator(ds, label_kept=False)
    out = ev.evaluate_images(ds.a.images_float())
    assert set(out) == {"fid[mnist_cnn,N=16]"} and math.isfinite(out["fid[mnist_cnn,N=16]"])


def test_pix2pix_with_dropout_resumes_bit_for_bit(tmp_path) -> None:
    """pix2pix's dropout masks come from the run's checkpointed step generator
    (ganlab.nets.layers.StepDropout), so a resumed run ends with the same weights."""
    from ganlab.models import build
    from ganlab.train.ddp_check import toy_data
    from tests.helpers import assert_resume_is_exact

    def model():
        torch.manual_seed(0)
        G = UNetGenerator(in_channels=1, out_channels=1, image_size=8, ngf=4, dropout=0.5, norm="none")
        return build("pix2pix", G, PatchDiscriminator(in_channels=2, ndf=4, n_layers=1, norm="instance"))

    assert_resume_is_exact(model, lambda: toy_data(family="pix2pix"), tmp_path)
