"""ganlab.toy: the mode-coverage evaluator on samples with known answers, and inside the trainer."""

from __future__ import annotations

import math

import pytest
import torch

import ganlab.data
import ganlab.models
from ganlab.metrics import mode_coverage_2d
from ganlab.nets import MLPDiscriminator, MLPGenerator
from ganlab.toy import ModeCoverageEvaluator
from ganlab.train import TrainConfig, Trainer


@pytest.fixture(scope="module")
def ring() -> ganlab.data.Dataset:
    return ganlab.data.load("ring8", limit=5000)


def test_keys_name_dataset_and_n(ring) -> None:
    ev = ModeCoverageEvaluator(ring, n=2500)
    assert ev.keys == {"modes": "modes[ring8,N=2500]", "high_quality": "high_quality[ring8,N=2500]",
                       "reverse_kl": "reverse_kl[ring8,N=2500]"}
    assert ev.n_modes == 8
    grid = ModeCoverageEvaluator(ganlab.data.load("grid25", limit=100), n=100)
    assert grid.n_modes == 25 and grid.keys["modes"] == "modes[grid25,N=100]"


def test_real_samples_cover_every_mode(ring) -> None:
    ev = ModeCoverageEvaluator(ring, n=2500)
    test = ganlab.data.load("ring8", split="test", limit=2500)
    out = ev.evaluate(lambda n: test.points[:n])
    assert out[ev.keys["modes"]] == 8
    # a 2-D Gaussian lies within 3 std with probability 1 - exp(-9/2) = 0.989
    assert out[ev.keys["high_quality"]] == pytest.approx(1 - math.exp(-4.5), abs=0.01)
    assert 0 <= out[ev.keys["reverse_kl"]] < 0.02
    assert all(isinstance(v, float) for v in out.values())


def test_matches_mode_coverage_2d(ring) -> None:
    gen = torch.Generator().manual_seed(0)
    pts = ring.info.mode_means[:3][torch.randint(0, 3, (500,), generator=gen)]
    pts = pts + 0.02 * torch.randn(500, 2, generator=gen)
    ev = ModeCoverageEvaluator(ring, n=500)
    ref = mode_coverage_2d(pts, ring.info.mode_means, ring.info.mode_std)
    out = ev.evaluate(lambda n: pts)
    assert out[ev.keys["modes"]] == ref["modes"] == 3
    assert out[ev.keys["high_quality"]] == pytest.approx(ref["high_quality"])
    assert out[ev.keys["reverse_kl"]] == pytest.approx(ref["reverse_kl"])


def test_collapse_and_nothing_high_quality(ring) -> None:
    ev = ModeCoverageEvaluator(ring, n=100)
    one = ring.info.mode_means[0].repeat(100, 1)
    out = ev.evaluate(lambda n: one)
    assert out[ev.keys["modes"]] == 1 and out[ev.keys["high_quality"]] == 1.0
    assert out[ev.keys["reverse_kl"]] == pytest.approx(math.log(8))
    far = torch.full((100, 2), 10.0)
    out = ev.evaluate(lambda n: far)
    assert out[ev.keys["modes"]] == 0 and out[ev.keys["high_quality"]] == 0.0
    assert out[ev.keys["reverse_kl"]] == math.inf


def test_bad_input(ring) -> None:
    with pytest.raises(ValueError, match="mode_means"):
        ModeCoverageEvaluator(ganlab.data.load("digits", limit=64))
    with pytest.raises(ValueError, match="positive"):
        ModeCoverageEvaluator(ring, n=0)
    with pytest.raises(ValueError, match="threshold"):
        ModeCoverageEvaluator(ring, threshold=0)
    ev = ModeCoverageEvaluator(ring, n=10)
    with pytest.raises(ValueError, match="shape"):
        ev.evaluate(lambda n: torch.zeros(n, 3))


def test_in_the_trainer(ring) -> None:
    G = MLPGenerator(nz=2, out_shape=(2,), hidden=(16,), out_activation=None)
    D = MLPDiscriminator(in_shape=(2,), hidden=(16,), dropout=0.0, pack=2)
    model = ganlab.models.build("gan", G, D)
    ev = ModeCoverageEvaluator(ring, n=200)
    cfg = TrainConfig(steps=6, batch_size=32, eval_every=3, log_every=3, progress=False,
                      precision="fp32", device="cpu")
    history = Trainer(model, ring, cfg, evaluator=ev).fit()
    assert [e["step"] for e in history.evals] == [3, 6]
    assert set(ev.keys.values()) <= set(history.evals[-1])
