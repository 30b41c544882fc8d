"""ganlab.data: offline built-ins, the Dataset batching contract, and bad input.

Everything here is offline and fast; online loaders are in test_data_online.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ganlab import data
from ganlab.data import Dataset, DatasetUnavailableError, load
from ganlab.data.mixtures import GRID25_STD, RING8_STD
from ganlab.data.shapes import _BACKGROUND, COLOURS, FACTOR_SIZES
from ganlab.data.transforms import (
    convert_channels,
    make_generator,
    resize_u8,
    stratified_order,
    to_float,
    to_uint8,
    to_unit,
)

OFFLINE = ["mnist5k", "digits", "shapes", "shapes_paired", "digits_mnist", "photos_x4", "ring8", "grid25"]
ONLINE = ["mnist", "fashion_mnist", "cifar10", "celeba64", "lsun_bedroom64", "image_folder", "facades",
          "monet2photo", "set5", "set14"]


@pytest.fixture(autouse=True)
def _data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty data root; nothing is written to ~/.cache."""
    root = tmp_path / "data-root"
    monkeypatch.setenv("GANLAB_DATA_DIR", str(root))
    return root


@pytest.fixture(scope="module")
def mnist5k() -> Dataset:
    return load("mnist5k")


@pytest.fixture(scope="module")
def shapes() -> Dataset:
    return load("shapes", limit=3000, seed=1)


# --------------------------------------------------------------------------- registry
def test_names_lists_every_set_and_offline_filter() -> None:
    assert data.names() == OFFLINE + ONLINE
    assert data.names(offline=True) == OFFLINE
    assert data.names(offline=False) == ONLINE


def test_describe_and_table_cover_the_registry() -> None:
    text = data.describe()
    rows = data.table()
    assert [r["name"] for r in rows] == data.names()
    for r in rows:
        assert {"name", "kind", "offline", "shape", "classes", "source", "licence"} <= r.keys()
        assert f"| {r['name']} |" in text
    assert "GANLAB_DATA_DIR" in text


def test_default_root_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANLAB_DATA_DIR", str(tmp_path / "env"))
    assert data.default_root() == tmp_path / "env"
    monkeypatch.delenv("GANLAB_DATA_DIR")
    assert data.default_root() == Path.home() / ".cache" / "ganlab" / "data"


def test_import_is_light() -> None:
    code = (
        "import sys, ganlab.data\n"
        "heavy = [m for m in ('torchvision', 'sklearn', 'mlxtend', 'kagglehub', 'PIL') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# --------------------------------------------------------------------------- offline sets
def test_mnist5k_splits_shapes_and_classes(mnist5k: Dataset) -> None:
    test, every = load("mnist5k", split="test"), load("mnist5k", split="all")
    for ds, n in ((mnist5k, 4000), (test, 1000), (every, 5000)):
        assert ds.images.shape == (n, 1, 28, 28) and ds.images.dtype == torch.uint8
        assert ds.labels.dtype == torch.int64 and ds.labels.shape == (n,)
        assert torch.bincount(ds.labels).tolist() == [n // 10] * 10
        assert ds.info.n_classes == 10 and ds.info.channels == 1 and ds.info.size == 28
    assert int(mnist5k.images.min()) == 0 and int(mnist5k.images.max()) == 255
    # interleaved by class, and train + test are exactly the 5,000 images
    assert mnist5k.labels[:10].tolist() == list(range(10))
    key = lambda d: sorted(map(hash, map(bytes, d.images.view(len(d), -1).numpy())))  # noqa: E731
    assert sorted(key(mnist5k) + key(test)) == key(every)


def test_digits_scaled_split_and_upsampled() -> None:
    train, test = load("digits"), load("digits", split="test")
    assert train.images.shape == (1500, 1, 8, 8) and test.images.shape == (297, 1, 8, 8)
    assert int(train.images.max()) == 255 and int(train.images.min()) == 0
    assert set(test.labels.tolist()) == set(range(10)) and train.info.n_classes == 10
    big = load("digits", image_size=28)
    assert big.images.shape == (1500, 1, 28, 28) and big.images.dtype == torch.uint8
    assert torch.equal(big.labels, train.labels)
    assert load("digits", image_size=32, channels=3).images.shape == (1500, 3, 32, 32)


def test_shapes_images_and_factors(shapes: Dataset) -> None:
    assert shapes.images.shape == (3000, 3, 32, 32) and shapes.images.dtype == torch.uint8
    assert torch.equal(shapes.labels, shapes.factors["shape"])
    assert shapes.info.classes == ("circle", "square", "triangle") and shapes.info.n_classes == 3
    assert shapes.info.factor_sizes == FACTOR_SIZES
    for name, k in FACTOR_SIZES.items():
        f = shapes.factors[name]
        assert f.dtype == torch.int64 and set(f.tolist()) == set(range(k)), name
    assert load("shapes").images.shape[0] == 10_000 and load("shapes", split="test").images.shape[0] == 2_000


def test_shapes_factors_are_visible_in_the_pixels(shapes: Dataset) -> None:
    img = shapes.images.to(torch.int64)
    fg = (img != _BACKGROUND).any(1).to(torch.float32)  # (N, H, W) shape mask
    area = fg.sum((1, 2))
    grid = torch.arange(32, dtype=torch.float32) + 0.5
    cx = (fg.sum(1) * grid).sum(1) / area
    cy = (fg.sum(2) * grid).sum(1) / area
    centres = torch.tensor([8.0, 16.0, 24.0])
    assert torch.equal((cx[:, None] - centres).abs().argmin(1), shapes.factors["x"])
    assert torch.equal((cy[:, None] - centres).abs().argmin(1), shapes.factors["y"])
    for s in range(3):  # bigger size factor -> bigger area, for every shape
        m = [area[(shapes.factors["shape"] == s) & (shapes.factors["size"] == z)].mean() for z in range(3)]
        assert m[0] < m[1] < m[2]
    palette = torch.tensor(list(COLOURS.values()))
    centre_px = img[torch.arange(len(img)), :, cy.long(), cx.long()]  # fully covered pixel
    assert torch.equal(centre_px, palette[shapes.factors["colour"]])


def test_shapes_deterministic_per_seed_and_split() -> None:
    a, b = load("shapes", limit=200, seed=3), load("shapes", limit=200, seed=3)
    assert torch.equal(a.images, b.images) and torch.equal(a.factors["colour"], b.factors["colour"])
    assert not torch.equal(a.images, load("shapes", limit=200, seed=4).images)
    assert not torch.equal(a.images, load("shapes", split="test", limit=200, seed=3).images)
    big = load("shapes", limit=16, image_size=64)
    assert big.images.shape == (16, 3, 64, 64)
    grey = load("shapes", limit=16, channels=1)
    assert grey.images.shape == (16, 1, 32, 32)


@pytest.mark.parametrize(("name", "k", "std"), [("ring8", 8, RING8_STD), ("grid25", 25, GRID25_STD)])
def test_mixtures(name: str, k: int, std: float) -> None:
    ds = load(name)
    assert ds.points.shape == (100_000, 2) and ds.points.dtype == torch.float32 and ds.images is None
    assert ds.info.kind == "points" and ds.info.mode_std == std and ds.info.n_classes == k
    means = ds.info.mode_means
    assert means.shape == (k, 2) and means.dtype == torch.float32
    assert set(ds.labels.tolist()) == set(range(k))
    assert bool(((ds.points - means[ds.labels]).abs() <= 5 * std).all())
    if name == "ring8":
        assert torch.allclose(means.norm(dim=1), torch.ones(8))
    else:
        assert sorted(set(means[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert torch.equal(load(name, limit=50, seed=2).points, load(name, limit=50, seed=2).points)
    assert not torch.equal(load(name, limit=50, seed=2).points, load(name, limit=50, seed=3).points)
    assert len(load(name, split="test")) == 10_000


# --------------------------------------------------------------------------- limit / conversion
def test_limit_is_stratified_and_seeded(mnist5k: Dataset) -> None:
    small = load("mnist5k", limit=20, seed=0)
    assert len(small) == 20 and torch.bincount(small.labels).tolist() == [2] * 10
    assert torch.equal(small.images, load("mnist5k", limit=20, seed=0).images)
    assert not torch.equal(small.images, load("mnist5k", limit=20, seed=1).images)
    assert len(load("mnist5k", split="test", limit=10**6)) == 1000  # larger than the set: all


def test_stratified_order_is_proportional_on_imbalanced_labels() -> None:
    labels = torch.tensor([0] * 90 + [1] * 10)
    order = stratified_order(100, labels, make_generator(0))
    assert sorted(order.tolist()) == list(range(100))
    assert torch.bincount(labels[order[:20]]).tolist() == [18, 2]


def test_channel_and_size_conversion(mnist5k: Dataset) -> None:
    rgb = load("mnist5k", channels=3, limit=8)
    assert rgb.images.shape == (8, 3, 28, 28)
    assert torch.equal(rgb.images[:, 0], rgb.images[:, 1]) and torch.equal(rgb.images[:, 0], rgb.images[:, 2])
    red = torch.zeros(1, 3, 4, 4, dtype=torch.uint8)
    red[:, 0] = 255
    assert int(convert_channels(red, 1).unique()) == 76  # ITU-R 601 luma, as Pillow's "L"
    flat = torch.full((2, 1, 7, 7), 200, dtype=torch.uint8)
    assert torch.equal(resize_u8(flat, 32), torch.full((2, 1, 32, 32), 200, dtype=torch.uint8))
    assert resize_u8(torch.zeros(1, 3, 10, 14, dtype=torch.uint8), 5).shape == (1, 3, 5, 5)
    small = load("mnist5k", image_size=14, limit=4)
    assert small.images.shape == (4, 1, 14, 14) and small.info.size == 14


def test_to_uint8_inverts_to_float_and_clips() -> None:
    u8 = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    assert torch.equal(to_uint8(to_float(u8)), u8)
    out = to_uint8(torch.tensor([[-3.0, 3.0], [float("-inf"), float("inf")]]))
    assert out.dtype == torch.uint8 and out.device.type == "cpu" and out.tolist() == [[0, 255], [0, 255]]
    # halves round to even, as torch.round and np.rint do: (x + 1) * 127.5 = 0.5 -> 0, 1.5 -> 2
    halves = torch.tensor([0.5, 1.5, 2.5]) / 127.5 - 1
    assert to_uint8(halves).tolist() == [round(float((h + 1) * 127.5)) for h in halves]
    assert to_uint8(torch.zeros(2, 3, 4, 5, dtype=torch.float64)).shape == (2, 3, 4, 5)


def test_to_uint8_matches_the_formulas_it_replaced() -> None:
    x = torch.randn(64, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 0.7
    numpy_rint = np.clip(np.rint((x.numpy() + 1.0) * 127.5), 0, 255).astype(np.uint8)
    assert np.array_equal(to_uint8(x).numpy(), numpy_rint)
    assert torch.equal(to_uint8(x), ((x.clamp(-1.0, 1.0) + 1.0) * 127.5).round_().to(torch.uint8))


def test_to_unit_maps_both_stored_and_model_images_to_0_1() -> None:
    u8 = torch.tensor([0, 51, 255], dtype=torch.uint8)
    assert torch.equal(to_unit(u8), torch.tensor([0.0, 0.2, 1.0]))
    x = torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0], requires_grad=True)
    y = to_unit(x)
    assert y.tolist() == [0.0, 0.0, 0.5, 1.0, 1.0] and not y.requires_grad and y.dtype == torch.float32


# --------------------------------------------------------------------------- batching
def test_batches_are_float_in_range_and_complete(mnist5k: Dataset) -> None:
    batches = list(mnist5k.batches(512, seed=0))
    assert len(batches) == 4000 // 512 == mnist5k.n_batches(512)
    for x, y in batches:
        assert x.shape == (512, 1, 28, 28) and x.dtype == torch.float32
        assert float(x.min()) >= -1.0 and float(x.max()) <= 1.0
        assert y.shape == (512,) and y.dtype == torch.int64
    x, _ = mnist5k.get(torch.arange(4000))
    assert float(x.min()) == -1.0 and float(x.max()) == 1.0
    assert torch.equal(x, mnist5k.images.float() / 127.5 - 1)
    tail = list(mnist5k.batches(512, drop_last=False))
    assert len(tail) == 8 and tail[-1][0].shape[0] == 4000 - 7 * 512


def test_batches_deterministic_for_seed_and_epoch(mnist5k: Dataset) -> None:
    def first(**kw: int) -> torch.Tensor:
        return next(iter(mnist5k.batches(64, **kw)))[0]

    assert torch.equal(first(seed=0), first(seed=0))
    assert not torch.equal(first(seed=0), first(seed=1))
    assert not torch.equal(first(seed=0, epoch=0), first(seed=0, epoch=1))
    x, y = next(iter(mnist5k.batches(10, shuffle=False)))
    assert torch.equal(y, mnist5k.labels[:10]) and torch.equal(x, mnist5k.images_float(10))


def test_epoch_order_is_a_permutation(mnist5k: Dataset) -> None:
    order = mnist5k.epoch_order(3, seed=7)
    assert order.dtype == torch.int64 and order.device.type == "cpu"
    assert torch.equal(order.sort().values, torch.arange(4000))
    assert torch.equal(order, mnist5k.epoch_order(3, seed=7))
    assert not torch.equal(order, mnist5k.epoch_order(4, seed=7))


def test_points_batches_are_raw_points() -> None:
    ds = load("ring8", limit=1000)
    idx = ds.epoch_order(0, seed=5)[:100]
    x, y = next(iter(ds.batches(100, seed=5)))
    assert torch.equal(x, ds.points[idx]) and torch.equal(y, ds.labels[idx])
    first = ds.images_float(10)
    first.zero_()  # a copy: the resident points are untouched
    assert not torch.equal(ds.points[:10], first)


def test_to_device_returns_self_and_moves() -> None:
    ds = load("digits", limit=64)
    assert ds.to("cpu") is ds and ds.device.type == "cpu"
    x, _ = ds.get([0, 1, 2])
    assert x.shape == (3, 1, 8, 8)
    if torch.cuda.is_available():
        ds.to("cuda")
        x, y = next(iter(ds.batches(16)))
        assert x.is_cuda and y.is_cuda and ds.images.is_cuda


def test_repr_reads_well(mnist5k: Dataset) -> None:
    text = repr(mnist5k)
    assert "mnist5k" in text and "4,000 images 1x28x28 uint8" in text and "10 classes" in text
    assert "8 modes" in repr(load("ring8", limit=10))
    assert "factors" in repr(load("shapes", limit=10))


# --------------------------------------------------------------------------- bad input
def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown dataset 'mnist6k'") as exc:
        load("mnist6k")
    assert all(n in str(exc.value) for n in data.names())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "mnist5k", "split": "validation"}, "split 'validation'.*'train', 'test', 'all'"),
        ({"name": "shapes", "split": "all"}, "split 'all'.*'train', 'test'"),
        ({"name": "shapes", "image_size": 48}, "image_size=48 .*accepted: 32, 64"),
        ({"name": "mnist5k", "image_size": 0}, "image_size=0 .*4..1024"),
        ({"name": "mnist5k", "image_size": 28.0}, "image_size=28.0"),
        ({"name": "ring8", "image_size": 32}, "2-D points"),
        ({"name": "grid25", "channels": 1}, "2-D points"),
        ({"name": "mnist5k", "channels": 2}, "channels=2 .*1 \\(grey\\), 3 \\(RGB\\)"),
        ({"name": "mnist5k", "limit": 0}, "limit=0 .*positive int"),
        ({"name": "shapes", "limit": -5}, "limit=-5"),
        ({"name": "mnist5k", "limit": "10"}, "limit='10'"),
        ({"name": "mnist5k", "seed": -1}, "seed=-1"),
        ({"name": "image_folder"}, "needs root="),
    ],
)
def test_bad_arguments_say_what_was_given(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        load(**kwargs)


def test_batch_size_larger_than_set() -> None:
    ds = load("digits", split="test")
    with pytest.raises(ValueError, match="batch_size=300 .*297 items.*drop_last=False"):
        ds.batches(300)
    assert len(list(ds.batches(300, drop_last=False))) == 1
    with pytest.raises(ValueError, match="batch_size=0"):
        ds.batches(0)


def test_unavailable_error_is_a_value_error() -> None:
    assert issubclass(DatasetUnavailableError, ValueError)
