"""ganlab.course.pretrained: the shipped generators are verified, learned, and rebuilt when missing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

import ganlab.course.pretrained as pretrained
from ganlab.course.pretrained import PretrainedError, load_generator, load_or_train
from ganlab.data import load
from ganlab.metrics import extract, frechet_distance, get_extractor
from ganlab.viz import class_counts


@pytest.fixture
def shipped_copy(tmp_path: Path) -> Path:
    folder = pretrained.shipped_dir()
    assert folder is not None, "data/checkpoints/manifest.json is missing from the checkout"
    copy = tmp_path / "checkpoints"
    copy.mkdir()
    for f in folder.iterdir():
        if f.is_file():
            shutil.copy2(f, copy / f.name)
    return copy


def _draw_and_score(name: str, extractor: str, dataset: str, image_size: int):
    """1,000 samples of shipped generator ``name``, their class counts, and their FID against
    1,000 real test images at the generator's size."""
    G = load_generator(name)
    assert not G.training
    with torch.no_grad():
        x = G(torch.randn(1000, G.nz, generator=torch.Generator().manual_seed(0)))
    ext = get_extractor(extractor, device="cpu")
    test = load(dataset, split="test", image_size=image_size)
    real = extract(ext, test.get(torch.arange(1000), device="cpu")[0])["features"]
    return x, class_counts(ext, x), frechet_distance(real, extract(ext, x)["features"])


def test_shipped_mnist_generator_draws_every_digit_close_to_the_data() -> None:
    x, counts, fid = _draw_and_score("dcgan_mnist5k", "mnist_cnn", "mnist5k", 28)
    assert x.shape == (1000, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert (counts > 0).all(), f"digit classes missing: {counts.tolist()}"
    assert counts.max() < 3 * counts.float().mean(), f"one digit dominates: {counts.tolist()}"
    # notebook 17 measures ~111 at N=1000 against the train split; untrained generators score ~945
    assert fid < 200, fid


def test_a_changed_or_missing_checkpoint_is_refused(shipped_copy: Path) -> None:
    pt = shipped_copy / "dcgan_mnist5k.pt"
    data = bytearray(pt.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pt.write_bytes(bytes(data))
    with pytest.raises(PretrainedError, match="sha256"):
        load_generator("dcgan_mnist5k", shipped_copy)
    pt.unlink()
    with pytest.raises(PretrainedError, match="missing"):
        load_generator("dcgan_mnist5k", shipped_copy)
    with pytest.raises(ValueError, match="dcgan_mnist5k"):
        load_generator("stylegan_ffhq", shipped_copy)


def test_a_checkpoint_of_another_architecture_is_refused(shipped_copy: Path) -> None:
    from ganlab.io import atomic_torch_save
    from ganlab.nets import DCGANGenerator

    wrong = DCGANGenerator(nz=64, image_size=28, channels=1, ngf=16)  # half the width
    digest = atomic_torch_save(shipped_copy / "dcgan_mnist5k.pt", {"generator": wrong.state_dict()})
    manifest = json.loads((shipped_copy / "manifest.json").read_text())
    manifest["entries"]["dcgan_mnist5k"]["sha256"] = digest
    (shipped_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PretrainedError, match="does not fit"):
        load_generator("dcgan_mnist5k", shipped_copy)


def test_load_or_train_trains_once_then_reloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(pretrained, "shipped_dir", lambda: None)
    monkeypatch.setattr(pretrained, "_download", lambda name, dest: False)  # offline
    session = SimpleNamespace(device=torch.device("cpu"), checkpoint_root=tmp_path,
                              settings={"pretrain_steps": 3})
    G = load_or_train("dcgan_mnist5k", session)
    assert "training one now (3 steps" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "pretrained" / "manifest.json").read_text())
    assert manifest["entries"]["dcgan_mnist5k"]["steps"] == 3
    again = load_or_train("dcgan_mnist5k", session)
    assert "Loaded dcgan_mnist5k (cached)" in capsys.readouterr().out
    z = torch.randn(4, G.nz)
    with torch.no_grad():
        assert torch.equal(G(z), again(z))


def test_shipped_shapes_generator_draws_all_three_shapes() -> None:
    x, counts, fid = _draw_and_score("dcgan_shapes", "shapes_cnn", "shapes", 32)
    assert x.shape == (1000, 3, 32, 32)
    assert (counts >= 150).all(), f"a shape class is rare or missing: {counts.tolist()}"
    # measured 415 with the spectral-norm LSGAN recipe; the batch-norm DCGAN it replaced scored 1,284
    assert fid < 800, fid


def test_shipped_stylegan_generator_draws_all_three_shapes() -> None:
    from ganlab.nets import StyleGenerator

    x, counts, fid = _draw_and_score("stylegan_shapes", "shapes_cnn", "shapes", 32)
    G = load_generator("stylegan_shapes")
    assert isinstance(G, StyleGenerator) and G.n_styles == 8 and G.w_avg.abs().sum() > 0
    assert x.shape == (1000, 3, 32, 32)
    # every shape drawn in >= 5 % of 1,000 samples. Measured after notebook 11's 900-step quick
    # recipe: FID 857, counts 172 / 119 / 709 with G's noise from torch's global generator; FID 713,
    # counts 89 / 330 / 581 with it from the step's generator (ganlab.rng.step_generator, since
    # 2026-12-07): the short recipe's class balance moves with the random stream
    assert (counts >= 50).all(), f"a shape class is rare or missing: {counts.tolist()}"
    assert fid < 1200, fid


def test_shipped_manifests_share_one_format_and_old_ones_are_refused(tmp_path: Path) -> None:
    from ganlab.metrics.extractors import WEIGHTS_DIR
    from ganlab.shipped import (
        FORMAT,
        ShippedWeightsError,
        load_weights,
        read_manifest,
        save_weights,
    )

    for folder in (WEIGHTS_DIR, pretrained.shipped_dir()):
        manifest = read_manifest(folder)
        assert manifest["format"] == FORMAT and manifest["entries"]
        for entry in manifest["entries"].values():
            assert {"file", "sha256", "bytes", "command"} <= set(entry)
    first = save_weights(tmp_path, "a", {"w": torch.ones(2)}, {"command": "make a"})
    save_weights(tmp_path, "b", {"w": torch.zeros(2)}, {"command": "make b"})
    obj, entry = load_weights(tmp_path, "a")
    assert entry == first and torch.equal(obj["w"], torch.ones(2))
    assert set(read_manifest(tmp_path)["entries"]) == {"a", "b"}
    (tmp_path / "manifest.json").write_text(json.dumps({"a": first}))  # the old checkpoint format
    with pytest.raises(ShippedWeightsError, match="format 2.*make a again"):
        load_weights(tmp_path, "a", fix="make a again")
    save_weights(tmp_path, "b", {"w": torch.zeros(2)}, {"command": "make b"})  # replaces it
    assert set(read_manifest(tmp_path)["entries"]) == {"b"}
