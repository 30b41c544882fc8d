"""What notebook 15 measures with: leakage statistics (slant, sharpness), the D-overfitting probe
(``DiscriminatorGap``: E[sign D] on training vs held-out reals, kept in ``History.tracks``),
data fractions, and the seed helpers (``train_seeds``, ``record_as``, ``seed_summary``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

import ganlab.course.session
from ganlab import data
from ganlab.course.experiment import RunResult, record_as, seed_summary, train_seeds
from ganlab.metrics import (
    DiscriminatorGap,
    LeakageMetrics,
    mean_slant,
    mirrored_fraction,
    realness_signs,
    sharpness,
)
from ganlab.models import build
from ganlab.train import History, TrainConfig, Trainer
from tests.helpers import dcgan_pair, tiny_images


def _line(angle_deg: float, size: int = 28) -> torch.Tensor:
    """A bright straight stroke through the centre, its top leaning right by ``angle_deg``."""
    yy, xx = torch.meshgrid(torch.arange(size) - (size - 1) / 2, torch.arange(size) - (size - 1) / 2,
                            indexing="ij")
    y_up = -yy
    a = math.radians(angle_deg)
    # distance from the line through 0 with direction (sin a, cos a) in (x, y-up) coordinates
    dist = (xx * math.cos(a) - y_up * math.sin(a)).abs()
    img = torch.where((dist < 1.0) & (xx**2 + y_up**2 < 11**2), 1.0, -1.0)
    return img[None, None]


# ----- leakage statistics -----------------------------------------------------------------------
def test_sharpness_is_the_mean_neighbour_difference() -> None:
    x = torch.tensor([[[[-1.0, 1.0, 1.0], [-1.0, -1.0, 1.0]]]])  # (1, 1, 2, 3)
    dx = (2 + 0 + 0 + 2) / 4
    dy = (0 + 2 + 0) / 3
    assert sharpness(x) == pytest.approx((dx + dy) / 2)
    assert sharpness(torch.zeros(3, 1, 8, 8)) == 0.0
    u8 = torch.randint(0, 256, (4, 1, 8, 8), dtype=torch.uint8)
    assert sharpness(u8) == pytest.approx(sharpness(u8.float() / 127.5 - 1))
    digits = data.load("mnist5k", split="test").images_float(200)
    blurred = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(digits, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    assert sharpness(blurred) < 0.8 * sharpness(digits)
    with pytest.raises(ValueError, match="at least 2 x 2"):
        sharpness(torch.zeros(1, 1, 1, 5))
    with pytest.raises(ValueError, match=r"images \(N, C, H, W\)"):
        sharpness(torch.zeros(5, 5))


@pytest.mark.parametrize("angle", [-20.0, 0.0, 15.0, 30.0])
def test_mean_slant_of_a_stroke_is_its_angle_and_a_mirror_negates_it(angle: float) -> None:
    x = _line(angle)
    assert mean_slant(x) == pytest.approx(angle, abs=1.5)
    assert mean_slant(x.flip(-1)) == pytest.approx(-mean_slant(x), abs=1e-6)


def test_slant_estimates_the_mirrored_fraction_of_real_digits() -> None:
    digits = data.load("mnist5k", split="test").images_float(1000)
    lean = mean_slant(digits)
    assert lean > 2.0  # handwriting leans right
    assert mean_slant(digits.flip(-1)) == pytest.approx(-lean, abs=1e-6)
    for share in (0.0, 0.3, 0.5):
        g = torch.Generator().manual_seed(1)
        flip = torch.rand(len(digits), generator=g) < share
        mixed = torch.where(flip[:, None, None, None], digits.flip(-1), digits)
        assert mirrored_fraction(mean_slant(mixed), lean) == pytest.approx(share, abs=0.08)
    assert mirrored_fraction(-lean, lean) == 1.0 and mirrored_fraction(2 * lean, lean) == 0.0
    assert math.isnan(mirrored_fraction(math.nan, lean))
    with pytest.raises(ValueError, match="too close to 0"):
        mirrored_fraction(1.0, 0.1)
    with pytest.raises(ValueError, match="grey images"):
        mean_slant(torch.zeros(2, 3, 8, 8))
    assert math.isnan(mean_slant(torch.full((2, 1, 8, 8), -1.0)))  # no ink anywhere


def test_leakage_metrics_of_a_model_are_those_of_its_samples() -> None:
    G, D = dcgan_pair()
    model = build("dcgan", G, D)
    leak = LeakageMetrics(n=64, seed=5)
    assert set(leak.keys) == {"sharpness", "slant"}
    out = leak(model)
    assert set(out) == {"sharpness[pixels,N=64]", "slant[pixels,N=64]"}
    assert out == leak.images(model.sample(64, seed=5).cpu())
    assert out == leak(model)  # the same codes every time
    assert set(LeakageMetrics(n=8, slant=False)(model)) == {"sharpness[pixels,N=8]"}
    with pytest.raises(ValueError, match="n must be"):
        LeakageMetrics(n=0)


# ----- the D-overfitting probe ------------------------------------------------------------------
class _MemorisingD(nn.Module):
    """Says "real" (+1) for images it has stored and "fake" (-1) for all others; counts calls."""

    def __init__(self, stored: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("stored", stored.flatten(1))
        self.w = nn.Parameter(torch.zeros(()))
        self.modes: list[bool] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.modes.append(self.training)
        hit = ((x.flatten(1)[:, None] - self.stored[None]).abs().amax(dim=2) < 1e-4).any(dim=1)
        return torch.where(hit, 1.0, -1.0) + 0 * self.w


def test_realness_signs_and_the_gap_of_a_memorising_d() -> None:
    train = data.load("mnist5k", split="train", limit=64)
    test = data.load("mnist5k", split="test").images[:48]
    D = _MemorisingD(train.images_float())
    D.train()
    assert realness_signs(D, train.images) == 1.0           # uint8 is rescaled to [-1, 1]
    assert realness_signs(D, test) == -1.0
    assert realness_signs(D, torch.cat([train.images[:16], test[:48]])) == pytest.approx((16 - 48) / 64)
    assert D.training and not any(D.modes)                  # measured in eval mode, mode restored
    gap = DiscriminatorGap(train.images, test, n=32)
    assert gap.measure(type("M", (), {"D": D})()) == {"rt_train": 1.0, "rt_heldout": -1.0}
    with pytest.raises(ValueError, match="one logit per image"):
        realness_signs(nn.Conv2d(1, 2, 28), test)
    with pytest.raises(ValueError, match="differ in shape"):
        DiscriminatorGap(train.images, torch.zeros(4, 3, 28, 28))
    with pytest.raises(ValueError, match="n must be"):
        DiscriminatorGap(train.images, test, n=0)
    with pytest.raises(ValueError, match="no network 'Q'"):
        DiscriminatorGap(train.images, test, network="Q").measure(type("M", (), {"D": D})())


def test_gap_tracks_survive_a_checkpoint_and_resume(tmp_path: Path) -> None:
    ds = tiny_images(64)
    held = tiny_images(32, seed=9).images

    def fit(steps: int) -> History:
        G, D = dcgan_pair()
        cfg = TrainConfig(steps=steps, batch_size=16, seed=0, device="cpu", log_every=2, checkpoint_every=2,
                          checkpoint_dir=str(tmp_path), resume=True, progress=False)
        trainer = Trainer(build("dcgan", G, D), ds, cfg, callbacks=[DiscriminatorGap(ds.images, held, n=16)])
        return trainer.fit()

    first = fit(4)
    assert [s for s, _ in first.tracks["rt_train"]] == [2, 4] and len(first.tracks["rt_heldout"]) == 2
    resumed = fit(6)
    assert resumed.tracks["rt_train"][:2] == first.tracks["rt_train"]
    assert [s for s, _ in resumed.tracks["rt_train"]] == [2, 4, 6]
    assert all(-1 <= v <= 1 for _, v in resumed.tracks["rt_heldout"])
    final = DiscriminatorGap.final(resumed)
    assert final["gap"] == pytest.approx(final["rt_train"] - final["rt_heldout"])
    assert math.isnan(DiscriminatorGap.final(History())["gap"])
    again = History.from_dict(json.loads(json.dumps(resumed.to_dict())))
    assert again.tracks == resumed.tracks
    old = resumed.to_dict()
    del old["tracks"]  # a record written before tracks existed still loads
    assert History.from_dict(old).tracks == {}


# ----- data fractions ---------------------------------------------------------------------------
def test_fractions_are_stratified_nested_and_match_limit() -> None:
    train = data.load("mnist5k", split="train")
    ten, quarter = train.fraction(0.1, seed=0), train.fraction(0.25, seed=0)
    assert len(ten) == 400 and len(quarter) == 1000
    assert torch.bincount(ten.labels).tolist() == [40] * 10
    rows = lambda d: {bytes(r) for r in d.images.flatten(1).numpy()}  # noqa: E731
    assert rows(ten) <= rows(quarter)
    assert torch.equal(ten.images, data.load("mnist5k", split="train", limit=400, seed=0).images)
    assert not torch.equal(ten.images, train.fraction(0.1, seed=1).images)
    assert train.fraction(1.0) is train and len(train.fraction(1e-9)) == 1
    for bad in (0, 0.0, -0.1, 1.5, True, "0.1"):
        with pytest.raises(ValueError, match=r"fraction must be in \(0, 1\]"):
            train.fraction(bad)


# ----- seeds: train_seeds, record_as, seed_summary ------------------------------------------------
def test_train_seeds_records_each_seed_and_shares_untrained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GANLAB_DATA_DIR", raising=False)
    S = ganlab.course.session.start("15_augmentation", profile="smoke", seed=0, device="cpu", results_dir=tmp_path)
    ds = tiny_images(64)
    built = []

    def make(seed: int):
        built.append(seed)
        torch.manual_seed(seed)
        G, D = dcgan_pair()
        return build("dcgan", G, D)

    given = {3: {"fid[x,N=1]": 7.0}}
    gaps = {}
    runs = train_seeds(S, "probe", make, ds, [3, 4], untrained=given, steps=2, batch_size=16,
                       callbacks=lambda s: [gaps.setdefault(s, DiscriminatorGap(ds.images, ds.images, n=8))])
    assert built == [3, 4] and [r.trainer.config.seed for r in runs] == [3, 4]
    assert runs[0].untrained == {"fid[x,N=1]": 7.0} and runs[1].untrained is None
    assert set(gaps) == {3, 4} and runs[0].history.tracks["rt_train"]
    recs = [json.loads(r.record.read_text()) for r in runs]
    assert [r["seed"] for r in recs] == [3, 4] and {r["run"] for r in recs} == {"probe"}
    # a different first seed gives different weights: the seed reaches the model
    assert not torch.equal(next(runs[0].model.G.parameters()), next(runs[1].model.G.parameters()))
    alias = record_as(S, runs[0], "probe_alias")
    rec = json.loads(alias.record.read_text())
    assert alias.name == "probe_alias" and alias.record.name == "15_augmentation__probe_alias__seed3.json"
    assert rec["run"] == "probe_alias" and rec["extra"]["same_training_as"] == "probe"
    assert rec["metrics"] == recs[0]["metrics"] and runs[0].record.is_file()
    with pytest.raises(ValueError, match="distinct seeds"):
        train_seeds(S, "probe", make, ds, [1, 1])
    with pytest.raises(ValueError, match="distinct seeds"):
        train_seeds(S, "probe", make, ds, [])
    unrecorded = RunResult("x", runs[1].model, runs[1].history, runs[1].metrics, Path(), runs[1].trainer, {"f": 1.0})
    first = record_as(S, unrecorded, "y")  # a run trained with record=False gets its first record
    rec = json.loads(first.record.read_text())
    assert rec["run"] == "y" and rec["seed"] == 4 and rec["metrics"] == recs[1]["metrics"]
    assert rec["extra"] == {"same_training_as": "x", "untrained": {"f": 1.0}}
    with pytest.raises(ValueError, match="run name"):
        record_as(S, runs[0], "a/b")


def test_seed_summary_means_and_sample_std() -> None:
    def run(fid: float, untrained: float = 100.0) -> RunResult:
        return RunResult("r", None, History(), {"fid[m,N=5]": fid}, Path(), None, {"fid[m,N=5]": untrained})

    tab = seed_summary({"a": [run(10), run(20), run(30)], "b": [run(5)]}, {"FID": "fid[m,N=5]"},
                       ratio_to_untrained="FID")
    assert tab.loc["a", "FID mean"] == 20 and tab.loc["a", "FID std"] == pytest.approx(10.0)
    assert tab.loc["a", "seeds"] == 3 and tab.loc["a", "FID / untrained mean"] == pytest.approx(0.2)
    assert tab.loc["b", "FID mean"] == 5 and math.isnan(tab.loc["b", "FID std"])
    with pytest.raises(ValueError, match="missing in runs"):
        seed_summary({"a": [run(1)]}, {"KID": "kid[m,N=5]"})
    with pytest.raises(ValueError, match="has no runs"):
        seed_summary({"a": []}, {"FID": "fid[m,N=5]"})


def test_show_rows_draws_labelled_rows() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from ganlab.viz import show_rows

    fig = show_rows({"a": torch.rand(4, 1, 8, 8) * 2 - 1, "bb": torch.rand(2, 1, 8, 8) * 2 - 1})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "bb"]
    assert ax.images[0].get_array().shape[:2] == (2 * 8 + 3 * 2, 4 * 8 + 5 * 2)
    with pytest.raises(ValueError, match="one shape"):
        show_rows({"a": torch.zeros(2, 1, 8, 8), "b": torch.zeros(2, 1, 9, 9)})
    with pytest.raises(ValueError, match="at least one row"):
        show_rows({})
