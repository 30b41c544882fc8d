"""Evaluator: cached real statistics, keys naming extractor and N, sane real/noise numbers,
generator handling; metric_key / parse_metric_key."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

import ganlab.metrics.evaluator as evaluator_mod
from ganlab.data import load
from ganlab.metrics import Evaluator, metric_key, parse_metric_key

N = 500


@pytest.fixture
def counting_extract(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts how many images go through the extractor (real and fake)."""
    calls: list[int] = []
    real_extract = evaluator_mod.extract

    def wrapped(extractor, x, *args, **kwargs):
        calls.append(int(x.shape[0]))
        return real_extract(extractor, x, *args, **kwargs)

    monkeypatch.setattr(evaluator_mod, "extract", wrapped)
    return calls


def _train_digits(n: int, seed: int = 1) -> torch.Tensor:
    ds = load("mnist5k", split="train")
    idx = torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed))[:n]
    return ds.get(idx)[0]


def test_real_statistics_cached_once_and_reused(tmp_path: Path, counting_extract: list[int]) -> None:
    ev = Evaluator("mnist5k", extractor="mnist_cnn", n=N, cache_dir=tmp_path)
    assert counting_extract == [N]
    assert ev.cache_path.is_file() and ev.cache_path.parent == tmp_path
    assert "mnist5k-test-1000" in ev.cache_path.name and "mnist_cnn" in ev.cache_path.name
    mtime = ev.cache_path.stat().st_mtime_ns
    ev2 = Evaluator("mnist5k", extractor="mnist_cnn", n=N, cache_dir=tmp_path)
    assert counting_extract == [N]  # no recomputation
    assert ev2.cache_path.stat().st_mtime_ns == mtime
    assert torch.equal(ev.real_features, ev2.real_features)
    # another N is another protocol: another file
    Evaluator("mnist5k", extractor="mnist_cnn", n=N - 100, cache_dir=tmp_path)
    assert counting_extract == [N, N - 100]
    assert len(list(tmp_path.glob("*.pt"))) == 2


def test_keys_name_extractor_and_n_and_values_make_sense(tmp_path: Path) -> None:
    ev = Evaluator("mnist5k", extractor="mnist_cnn", n=N, cache_dir=tmp_path)
    real = ev.evaluate_real()  # N digits of the train split
    noise = ev.evaluate_images(torch.rand(N, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    expected = {
        "fid[mnist_cnn,N=500]", "kid[mnist_cnn,N=500]", "kid_std[mnist_cnn,N=500]",
        "precision[mnist_cnn,N=500,k=3]", "recall[mnist_cnn,N=500,k=3]",
        "density[mnist_cnn,N=500,k=5]", "coverage[mnist_cnn,N=500,k=5]",
        "classes_covered[mnist_cnn,N=500]", "class_kl[mnist_cnn,N=500]",
        "is[mnist_cnn,N=500]", "is_std[mnist_cnn,N=500]",
    }  # fmt: skip
    assert set(real) == expected == set(noise)
    for key in real:
        parsed = parse_metric_key(key)
        assert parsed["extractor"] == "mnist_cnn" and parsed["n"] == N
        assert math.isfinite(real[key])
    fid = "fid[mnist_cnn,N=500]"
    assert real[fid] < 20 and noise[fid] > 50 * real[fid]
    assert real["precision[mnist_cnn,N=500,k=3]"] > 0.8 and real["recall[mnist_cnn,N=500,k=3]"] > 0.8
    assert noise["precision[mnist_cnn,N=500,k=3]"] < 0.05 and noise["coverage[mnist_cnn,N=500,k=5]"] < 0.05
    assert real["classes_covered[mnist_cnn,N=500]"] == 10 and real["class_kl[mnist_cnn,N=500]"] < 0.05
    assert real["is[mnist_cnn,N=500]"] > 8 and noise["is[mnist_cnn,N=500]"] < 3
    assert real["kid[mnist_cnn,N=500]"] < noise["kid[mnist_cnn,N=500]"] / 100


def test_metric_subset_and_dataset_object(tmp_path: Path) -> None:
    ds = load("mnist5k", split="test")
    ev = Evaluator(ds, extractor="mnist_cnn", n=200, metrics=("fid", "pr"), cache_dir=tmp_path, k_pr=5)
    assert ev.dataset_key == "mnist5k-test-1000"
    out = ev.evaluate_images(_train_digits(250))  # extra items beyond N are ignored
    assert set(out) == {"fid[mnist_cnn,N=200]", "precision[mnist_cnn,N=200,k=5]", "recall[mnist_cnn,N=200,k=5]"}
    # same name, split and length but other pixels (32 px): another cache file
    ev32 = Evaluator(load("mnist5k", split="test", image_size=32), n=200, metrics=("fid",), cache_dir=tmp_path)
    assert ev32.cache_path != ev.cache_path and "1x32x32" in ev32.cache_path.name


class _TinyG(nn.Module):
    nz = 4

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 28 * 28)
        self.modes_seen: list[bool] = []

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        self.modes_seen.append(self.training)
        return torch.tanh(self.lin(z)).view(-1, 1, 28, 28)


def test_evaluate_generator_module_in_eval_mode_and_restores_training(tmp_path: Path) -> None:
    ev = Evaluator("mnist5k", extractor="mnist_cnn", n=120, batch_size=50, metrics=("fid",), cache_dir=tmp_path)
    G = _TinyG().train()
    a = ev.evaluate(G)
    assert G.training and G.modes_seen == [False, False, False]  # batches of 50, 50, 20
    assert a == ev.evaluate(G)  # seeded latent codes: reproducible
    b = ev.evaluate(lambda k: G(torch.randn(k, 4)))
    assert set(b) == {"fid[mnist_cnn,N=120]"}


def test_evaluate_rejects_bad_samples(tmp_path: Path) -> None:
    ev = Evaluator("mnist5k", extractor="mnist_cnn", n=100, metrics=("fid",), cache_dir=tmp_path)
    with pytest.raises(ValueError, match="item shape"):
        ev.evaluate(lambda k: torch.zeros(k, 1, 32, 32))
    with pytest.raises(ValueError, match="exactly"):
        ev.evaluate(lambda k: torch.zeros(k + 1, 1, 28, 28))
    with pytest.raises(ValueError, match="NaN"):
        ev.evaluate_images(torch.full((100, 1, 28, 28), float("nan")))
    with pytest.raises(ValueError, match="needs N=100"):
        ev.evaluate_images(torch.zeros(10, 1, 28, 28))


def test_evaluator_rejects_bad_configuration(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown metrics"):
        Evaluator("mnist5k", metrics=("fid", "lpips"), cache_dir=tmp_path)
    with pytest.raises(ValueError, match="n <= 1000"):
        Evaluator("mnist5k", n=5000, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="points"):
        Evaluator("mnist5k", extractor="points", n=100, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="valid extractors"):
        Evaluator("mnist5k", extractor="nope", n=100, cache_dir=tmp_path)


def test_points_evaluator_mode_coverage(tmp_path: Path) -> None:
    ev = Evaluator("ring8", extractor="points", n=2000, cache_dir=tmp_path)
    pts = load("ring8", split="train", limit=2000).points
    out = ev.evaluate_images(pts)
    assert out["modes[points,N=2000]"] == 8
    assert out["high_quality[points,N=2000]"] > 0.97
    assert out["reverse_kl[points,N=2000]"] < 0.02
    assert out["fid[points,N=2000]"] < 0.01
    collapsed = ev.evaluate_images(torch.tensor([[1.0, 0.0]]).repeat(2000, 1))
    assert collapsed["modes[points,N=2000]"] == 1
    assert collapsed["reverse_kl[points,N=2000]"] == pytest.approx(math.log(8))


def test_shapes_evaluator_reports_factor_modes(tmp_path: Path) -> None:
    ev = Evaluator("shapes", extractor="shapes_cnn", n=400, metrics=("fid", "coverage"), cache_dir=tmp_path)
    x = load("shapes", split="train", limit=400).get(slice(None))[0]
    out = ev.evaluate_images(x)
    assert out["classes_covered[shapes_cnn,N=400]"] == 3
    assert 250 < out["modes_covered[shapes_cnn,N=400]"] <= 486  # 400 draws from 486 equiprobable modes
    one = ev.evaluate_images(x[:1].repeat(400, 1, 1, 1))
    assert one["modes_covered[shapes_cnn,N=400]"] == 1 and one["classes_covered[shapes_cnn,N=400]"] == 1


def test_metric_key_round_trip() -> None:
    key = metric_key("precision", "mnist_cnn", 1000, k=3)
    assert key == "precision[mnist_cnn,N=1000,k=3]"
    assert parse_metric_key(key) == {"metric": "precision", "extractor": "mnist_cnn", "n": 1000, "k": 3}
    assert parse_metric_key("fid[inception,N=50000]") == {"metric": "fid", "extractor": "inception", "n": 50000}
    with pytest.raises(ValueError, match="not a metric key"):
        parse_metric_key("FID")
    with pytest.raises(ValueError):
        metric_key("fid", "mnist,cnn", 10)


def test_make_evaluator_loads_named_data_at_the_profiles_image_size(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from ganlab.course.experiment import make_evaluator
    from ganlab.profiles import Settings

    def session(**values):
        return SimpleNamespace(settings=Settings("test", None, values), data_dir=tmp_path, device="cpu")

    ev = make_evaluator(session(dataset="mnist5k", extractor="mnist_cnn", eval_n=50, image_size=32),
                        metrics=("fid",))
    assert ev.item_shape == (1, 32, 32)
    # 2-D points have no image size: the profile's image_size is not passed on
    ev = make_evaluator(session(dataset="ring8", extractor="points", eval_n=50, image_size=28),
                        metrics=("fid",))
    assert ev.item_shape == (2,)
