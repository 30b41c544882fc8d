"""tools/probe_02.py: notebook 02's contenders probed outside the notebook (the profile's comments)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

import ganlab.profiles
from ganlab.metrics import Evaluator, metric_key

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("probe_02", ROOT / "tools" / "probe_02.py")
probe_02 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(probe_02)


def quick() -> tuple[dict, dict]:
    s = dict(ganlab.profiles.settings("quick", probe_02.NOTEBOOK))
    return s, s["runs"]["gan"]


def test_overrides_route_to_the_method_the_recipe_and_the_settings_without_mutating_them():
    settings, spec = quick()
    before = json.dumps([settings["d_fourier_scale"], spec], sort_keys=True)
    s2, spec2 = probe_02.apply_overrides(settings, spec, "grid25", [
        "steps=6000", "pack=2", "recipe.lr_g=3e-3", "recipe.scheduler=none", "d_fourier_scale=0.5",
        "g_hidden=[128,128,128]", "g_norm=none"])
    assert spec2["steps"] == 6000 and spec2["pack"] == 2
    assert spec2["recipe"]["lr_g"] == 3e-3 and spec2["recipe"]["scheduler"] == "none"
    assert spec2["recipe"]["lr_d"] == spec["recipe"]["lr_d"]
    assert s2["d_fourier_scale"] == {**settings["d_fourier_scale"], "grid25": 0.5}
    assert s2["g_hidden"] == [128, 128, 128] and s2["g_norm"] == "none"
    assert json.dumps([settings["d_fourier_scale"], spec], sort_keys=True) == before


@pytest.mark.parametrize("bad, words", [("steps", "KEY=VALUE"), ("colour=red", "unknown setting 'colour'")])
def test_bad_overrides_say_what_is_accepted(bad, words):
    settings, spec = quick()
    with pytest.raises(ValueError, match=words):
        probe_02.apply_overrides(settings, spec, "ring8", [bad])


def test_distance_bands_count_each_band():
    means = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    points = torch.tensor([[1.0, 0.0], [10.0, 4.0], [0.0, -8.0], [5.0, 20.0], [9.0, 0.5]])
    bands = probe_02.distance_bands(points, means, std=1.0)
    assert bands == pytest.approx([0.4, 0.2, 0.2, 0.2])


def test_probe_reports_each_seed_as_the_notebooks_evaluator_measures_it(monkeypatch):
    captured = {}
    real_trainer = probe_02.SeedBatchTrainer

    def keep(*args, **kwargs):
        captured["trainer"] = real_trainer(*args, **kwargs)
        return captured["trainer"]

    monkeypatch.setattr(probe_02, "SeedBatchTrainer", keep)
    out = probe_02.probe("pacgan2", "grid25", 2, ["steps=200", "recipe.lr_g=3e-3"], profile="smoke")
    trainer = captured["trainer"]
    assert out["steps"] == 200 and trainer.step == 200 and trainer.model.recipe.lr_g == 3e-3
    assert trainer.seeds == [0, 1] and trainer.model.D.pack == 2
    assert len(set(out["high_quality"])) == 2, "the seeds must differ for the order check to mean anything"
    ds = trainer.dataset.dataset
    n = ganlab.profiles.settings("smoke", probe_02.NOTEBOOK)["eval_n"]
    ev = Evaluator(ds, extractor="points", n=n, metrics=("coverage",), batch_size=n)
    for k, seed in enumerate([0, 1]):
        again = ev.evaluate(trainer.copy_model(k).sampler(seed=seed + 1))
        assert out["high_quality"][k] == pytest.approx(again[metric_key("high_quality", "points", n)], abs=1e-4)
        assert out["modes"][k] == again[metric_key("modes", "points", n)]
    assert sum(out["bands"]) == pytest.approx(1.0, abs=1e-3)
    # the first band is the high-quality share (same samples, same 3-std radius)
    assert out["bands"][0] == pytest.approx(out["mean_high_quality"], abs=1e-3)
    assert out["mean_high_quality"] == pytest.approx(sum(out["high_quality"]) / 2, abs=1e-4)


def test_main_refuses_an_unknown_method_with_one_line(capsys):
    assert probe_02.main(["--profile", "smoke", "--method", "vae"]) == 2
    err = capsys.readouterr().err
    assert "method 'vae'" in err and "gan, pacgan2, wgan_gp" in err
