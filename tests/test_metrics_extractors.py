"""Feature extractors: shipped classifier weights (sha256, weights_only, accuracy), input
handling, and the Inception extractor's offline error and load path (no network)."""

from __future__ import annotations

import shutil
import urllib.error
from pathlib import Path

import pytest
import torch

from ganlab.data import load
from ganlab.data.transforms import to_uint8
from ganlab.io import sha256_file
from ganlab.metrics import (
    EXTRACTORS,
    INCEPTION_WEIGHTS_FILES,
    InceptionWeightsUnavailable,
    get_extractor,
)
from ganlab.metrics.extractors import WEIGHTS_DIR
from ganlab.shipped import read_manifest

FLOOR = {"mnist_cnn": 0.95, "shapes_cnn": 0.99}
TEST_SET = {"mnist_cnn": "mnist5k", "shapes_cnn": "shapes"}


def test_unknown_extractor_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="valid extractors: inception, mnist_cnn, shapes_cnn, points"):
        get_extractor("vgg16")


@pytest.mark.parametrize("name", ["mnist_cnn", "shapes_cnn"])
def test_shipped_weights_match_manifest_and_load_weights_only(name: str) -> None:
    entry = read_manifest(WEIGHTS_DIR)["entries"][name]
    path = WEIGHTS_DIR / entry["file"]
    assert path.stat().st_size < 1_000_000
    assert sha256_file(path) == entry["sha256"]
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    for key in ("command", "seed", "epochs", "test_accuracy", "train_data", "test_data"):
        assert key in entry, key
    assert entry["test_accuracy"] >= FLOOR[name]


@pytest.mark.parametrize("name", ["mnist_cnn", "shapes_cnn"])
def test_shipped_classifier_accuracy_on_test_split(name: str) -> None:
    ext = get_extractor(name)
    ds = load(TEST_SET[name], split="test")
    x, y = ds.get(slice(None))
    acc = float((ext.predict(x) == y).double().mean())
    stated = read_manifest(WEIGHTS_DIR)["entries"][name]["test_accuracy"]
    assert acc >= FLOOR[name]
    assert acc >= stated - 0.002  # same data and weights: the manifest's figure is reproduced
    feats = ext(x[:7])
    assert feats.shape == (7, ext.dim) and ext.dim == 128 and (feats >= 0).all()
    assert ext.n_classes == {"mnist_cnn": 10, "shapes_cnn": 3}[name]


def test_shapes_cnn_predicts_every_factor_and_mode() -> None:
    ext = get_extractor("shapes_cnn")
    ds = load("shapes", split="test", limit=500)
    x, _ = ds.get(slice(None))
    pred = ext.predict_factors(x)
    for k, v in pred.items():
        assert float((v == ds.factors[k]).double().mean()) >= 0.99, k
    modes = ext.outputs(x)["modes"]
    expected = torch.zeros(len(ds), dtype=torch.int64)
    for k, m in (("shape", 3), ("colour", 6), ("size", 3), ("x", 3), ("y", 3)):
        expected = expected * m + ds.factors[k]
    assert ext.n_modes == 486
    assert float((modes == expected).double().mean()) >= 0.98


def test_mnist_cnn_accepts_32px_and_rgb_and_rejects_other_shapes() -> None:
    ext = get_extractor("mnist_cnn")
    ds32 = load("mnist5k", split="test", image_size=32)
    x32, y = ds32.get(slice(None))
    assert float((ext.predict(x32) == y).double().mean()) >= 0.95
    x28, _ = load("mnist5k", split="test").get(slice(0, 4))
    assert torch.allclose(ext(x28.repeat(1, 3, 1, 1)), ext(x28), atol=1e-5)
    with pytest.raises(ValueError, match="accepted"):
        ext(torch.zeros(2, 1, 64, 64))
    with pytest.raises(ValueError, match="accepted"):
        ext(torch.zeros(2, 2, 28, 28))


def test_shapes_cnn_accepts_64px_and_rejects_grey() -> None:
    ext = get_extractor("shapes_cnn")
    x64, y = load("shapes", split="test", image_size=64, limit=300).get(slice(None))
    assert float((ext.predict(x64) == y).double().mean()) >= 0.97
    with pytest.raises(ValueError, match="C = 3"):
        ext(torch.zeros(2, 1, 32, 32))


def test_extractors_stay_in_eval_mode_without_gradients() -> None:
    ext = get_extractor("mnist_cnn")
    ext.train()
    assert not ext.training and not any(m.training for m in ext.modules())
    assert not any(p.requires_grad for p in ext.parameters())


def test_corrupted_weights_fail_sha256_check(tmp_path: Path) -> None:
    for f in WEIGHTS_DIR.iterdir():
        shutil.copy(f, tmp_path / f.name)
    data = bytearray((tmp_path / "mnist_cnn.pt").read_bytes())
    data[-100] ^= 0xFF
    (tmp_path / "mnist_cnn.pt").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="sha256"):
        get_extractor("mnist_cnn", weights_dir=tmp_path)
    with pytest.raises(ValueError, match="make extractors"):
        get_extractor("shapes_cnn", weights_dir=tmp_path / "empty")


def test_points_extractor_is_identity() -> None:
    ext = get_extractor("points")
    x = torch.randn(5, 2)
    assert torch.equal(ext(x), x) and ext.dim == 2
    assert "points" in EXTRACTORS
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        ext(torch.zeros(5, 3))


# ---------------------------------------------------------------- inception (offline)


@pytest.fixture
def empty_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A torch hub folder with no checkpoints (TORCH_HOME points into tmp_path)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    return tmp_path / "torch" / "hub" / "checkpoints"


def test_inception_offline_raises_one_clear_error(empty_hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    with pytest.raises(InceptionWeightsUnavailable) as info:
        get_extractor("inception")
    msg = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert INCEPTION_WEIGHTS_FILES[0] in msg and "pt_inception-2015-12-05-6726825d.pth" in msg
    assert str(empty_hub) in msg and "no network" in msg
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no chained trace


@pytest.fixture(scope="module")
def random_inception_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A weights file with the real network's names and shapes (random values), built offline."""
    import torch_fidelity.feature_extractor_inceptionv3 as tfi

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tfi, "load_state_dict_from_url", lambda *a, **k: {})
        mp.setattr(tfi.FeatureExtractorInceptionV3, "load_state_dict", lambda self, *a, **k: None)
        net = tfi.FeatureExtractorInceptionV3("probe", ["2048"])
    path = tmp_path_factory.mktemp("inception") / "random-inception.pth"
    torch.save(net.state_dict(), path)
    return path


@pytest.mark.slow
def test_inception_loads_hand_placed_weights(
    empty_hub: Path, monkeypatch: pytest.MonkeyPatch, random_inception_file: Path
) -> None:
    empty_hub.mkdir(parents=True)
    (empty_hub / INCEPTION_WEIGHTS_FILES[0]).symlink_to(random_inception_file)
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *a, **k: pytest.fail("must not download"))
    ext = get_extractor("inception")
    assert ext.name == "inception" and ext.dim == 2048

    seen: dict[str, torch.Tensor] = {}
    ext.net.register_forward_pre_hook(lambda m, args: seen.__setitem__("input", args[0]))
    ext.net.Conv2d_1a_3x3.register_forward_pre_hook(lambda m, args: seen.__setitem__("resized", args[0]))
    x = torch.rand(1, 1, 28, 28) * 2 - 1
    out = ext.outputs(x)
    assert out["features"].shape == (1, 2048) and out["features"].dtype == torch.float32
    assert out["probs"].shape == (1, 1008)
    assert torch.allclose(out["probs"].sum(1), torch.ones(1), atol=1e-5)
    # the network gets uint8 RGB in [0, 255] (grey repeated), resized inside to 299 x 299
    assert seen["input"].dtype == torch.uint8 and seen["input"].shape == (1, 3, 28, 28)
    assert torch.equal(seen["input"][:, :1], to_uint8(x))
    assert torch.equal(seen["input"][:, 0], seen["input"][:, 2])
    assert seen["resized"].shape == (1, 3, 299, 299)
    rgb = torch.rand(2, 3, 32, 32) * 2 - 1
    assert torch.equal(ext._check(rgb), to_uint8(rgb))  # RGB passes through unchanged
    with pytest.raises(ValueError, match="C in"):
        ext(torch.zeros(1, 2, 32, 32))


def test_inception_accepts_pytorch_fid_file_name(
    empty_hub: Path, monkeypatch: pytest.MonkeyPatch, random_inception_file: Path
) -> None:
    empty_hub.mkdir(parents=True)
    (empty_hub / INCEPTION_WEIGHTS_FILES[1]).symlink_to(random_inception_file)
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *a, **k: pytest.fail("must not download"))
    ext = get_extractor("inception")
    assert ext.weights_path.name == "pt_inception-2015-12-05-6726825d.pth"
    assert ext.version.endswith("pfid")


def test_inception_rejects_a_wrong_state_dict(empty_hub: Path) -> None:
    empty_hub.mkdir(parents=True)
    torch.save({"fc.weight": torch.zeros(3, 3)}, empty_hub / INCEPTION_WEIGHTS_FILES[0])
    with pytest.raises(ValueError, match="does not hold the FID InceptionV3 state dict"):
        get_extractor("inception")
