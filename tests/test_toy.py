"""The 2-D toys' mode-coverage protocol (notebook 02) through ``Evaluator(..., extractor="points")``:
samples with known answers, and inside the trainer."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

import ganlab.data
import ganlab.models
from ganlab.metrics import Evaluator, metric_key, mode_coverage_2d
from ganlab.nets import MLPDiscriminator, MLPGenerator
from ganlab.train import TrainConfig, Trainer

COVERAGE = ("modes", "high_quality", "reverse_kl")


@pytest.fixture(scope="module")
def ring() -> ganlab.data.Dataset:
    return ganlab.data.load("ring8", limit=5000)


@pytest.fixture
def coverage(tmp_path: Path):
    """``coverage(ds, n)``: the notebook's evaluator, its real statistics cached in ``tmp_path``."""

    def make(ds: ganlab.data.Dataset, n: int = 2500) -> Evaluator:
        return Evaluator(ds, extractor="points", n=n, metrics=("coverage",), batch_size=n,
                         cache_dir=tmp_path)

    return make


def keys(n: int) -> dict[str, str]:
    return {m: metric_key(m, "points", n) for m in COVERAGE}


def test_keys_name_extractor_and_n(ring, coverage) -> None:
    test = ganlab.data.load("ring8", split="test", limit=2500)
    out = coverage(ring).evaluate_images(test.points)
    assert set(out) == {"modes[points,N=2500]", "high_quality[points,N=2500]",
                        "reverse_kl[points,N=2500]"} == set(keys(2500).values())
    grid = ganlab.data.load("grid25", limit=100)
    assert set(coverage(grid, n=100).evaluate_images(grid.points)) == set(keys(100).values())


def test_real_samples_cover_every_mode(ring, coverage) -> None:
    k = keys(2500)
    test = ganlab.data.load("ring8", split="test", limit=2500)
    out = coverage(ring).evaluate(lambda n: test.points[:n])
    assert out[k["modes"]] == 8
    # a 2-D Gaussian lies within 3 std with probability 1 - exp(-9/2) = 0.989
    assert out[k["high_quality"]] == pytest.approx(1 - math.exp(-4.5), abs=0.01)
    assert 0 <= out[k["reverse_kl"]] < 0.02


def test_matches_mode_coverage_2d(ring, coverage) -> None:
    gen = torch.Generator().manual_seed(0)
    pts = ring.info.mode_means[:3][torch.randint(0, 3, (500,), generator=gen)]
    pts = pts + 0.02 * torch.randn(500, 2, generator=gen)
    k = keys(500)
    ref = mode_coverage_2d(pts, ring.info.mode_means, ring.info.mode_std)
    out = coverage(ring, n=500).evaluate(lambda n: pts)
    assert out[k["modes"]] == ref["modes"] == 3
    assert out[k["high_quality"]] == ref["high_quality"]
    assert out[k["reverse_kl"]] == ref["reverse_kl"]


def test_collapse_and_nothing_high_quality(ring, coverage) -> None:
    ev, k = coverage(ring, n=100), keys(100)
    out = ev.evaluate(lambda n: ring.info.mode_means[0].repeat(n, 1))
    assert out[k["modes"]] == 1 and out[k["high_quality"]] == 1.0
    assert out[k["reverse_kl"]] == pytest.approx(math.log(8))
    out = ev.evaluate(lambda n: torch.full((n, 2), 10.0))
    assert out[k["modes"]] == 0 and out[k["high_quality"]] == 0.0
    assert out[k["reverse_kl"]] == math.inf


def test_bad_input(ring, coverage) -> None:
    with pytest.raises(ValueError, match="does not fit"):
        coverage(ganlab.data.load("digits", limit=64), n=10)
    with pytest.raises(ValueError, match="n must be"):
        coverage(ring, n=0)
    with pytest.raises(ValueError, match="larger than"):
        coverage(ganlab.data.load("ring8", limit=100), n=2500)
    with pytest.raises(ValueError, match="shape"):
        coverage(ring, n=10).evaluate(lambda n: torch.zeros(n, 3))


def test_in_the_trainer(ring, coverage) -> None:
    G = MLPGenerator(nz=2, out_shape=(2,), hidden=(16,), out_activation=None)
    D = MLPDiscriminator(in_shape=(2,), hidden=(16,), dropout=0.0, pack=2)
    model = ganlab.models.build("gan", G, D)
    cfg = TrainConfig(steps=6, batch_size=32, eval_every=3, log_every=3, progress=False,
                      precision="fp32", device="cpu")
    history = Trainer(model, ring, cfg, evaluator=coverage(ring, n=200)).fit()
    assert [e["step"] for e in history.evals] == [3, 6]
    assert set(keys(200).values()) <= set(history.evals[-1])
