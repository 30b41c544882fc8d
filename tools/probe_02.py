"""Probe one of notebook 02's contenders outside the notebook: one method on one toy data set,
several seeds trained as one batch, at a profile's settings with overrides. Prints one JSON line.

    python tools/probe_02.py --method gan --dataset grid25 --seeds 3 \\
        --set steps=6000 --set recipe.lr_g=3e-3 --set d_fourier_scale=0.5 --threads 2

``--set KEY=VALUE`` (VALUE read as JSON, else as a string): ``steps``, ``pack``, ``family`` and
``recipe.NAME`` change the method's entry (``runs.<method>``); any other key changes the profile's
setting (``g_hidden=[128,128,128]``, ``batch_size=256``; ``d_fourier_scale`` takes this data set's
number). The comments of ``ganlab/profiles/02_toy_2d_mode_collapse.toml`` record probes measured
this way. The networks are built as in notebook 02's ``make_model``; the output holds each seed's
final high-quality share and modes captured (the notebook's evaluator: 2,500 samples, sampler seed
``seed + 1``), their means, the mean shares of samples by distance to the nearest mode in mode
standard deviations (bands ``<3, 3-6, 6-12, >12``) and the wall time of training.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

import torch

import ganlab.data
import ganlab.models
import ganlab.profiles
from ganlab.metrics import Evaluator, metric_key
from ganlab.nets import MLPDiscriminator, MLPGenerator, init_dcgan_weights
from ganlab.train import TrainConfig
from ganlab.train.seeds import SeedBatchTrainer

NOTEBOOK = "02_toy_2d_mode_collapse"
BANDS = ((0.0, 3.0), (3.0, 6.0), (6.0, 12.0), (12.0, float("inf")))
_SPEC_KEYS = ("steps", "pack", "family")


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def apply_overrides(settings: dict[str, Any], spec: dict[str, Any], dataset: str,
                    overrides: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``settings`` and the method's ``spec`` with ``KEY=VALUE`` overrides applied (new dicts).

    Raises:
        ValueError: an override without ``=``, or a key the profile does not have.
    """
    settings = dict(settings)
    spec = {**spec, "recipe": dict(spec["recipe"])}
    settings["d_fourier_scale"] = dict(settings["d_fourier_scale"])
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"override {item!r} is not KEY=VALUE; e.g. steps=6000, recipe.lr_g=3e-3")
        value = _value(text)
        if key in _SPEC_KEYS:
            spec[key] = value
        elif key.startswith("recipe."):
            spec["recipe"][key.removeprefix("recipe.")] = value
        elif key == "d_fourier_scale":
            settings[key][dataset] = value
        elif key in settings:
            settings[key] = value
        else:
            raise ValueError(f"unknown setting {key!r}; accepted: {', '.join(_SPEC_KEYS)}, recipe.NAME, "
                             f"or one of the profile's: {', '.join(sorted(settings))}")
    return settings, spec


def make_model(settings: dict[str, Any], spec: dict[str, Any], dataset: str, seed: int) -> ganlab.models.GANModel:
    """One contender initialised for ``seed`` (notebook 02's ``make_model`` for these settings)."""
    torch.manual_seed(seed)
    s = settings
    G = MLPGenerator(nz=s["nz"], out_shape=(2,), hidden=tuple(s["g_hidden"]), norm=s["g_norm"],
                     activation=s["g_activation"], out_activation=None)
    D = MLPDiscriminator(in_shape=(2,), hidden=tuple(s["d_hidden"]), dropout=0.0, pack=spec["pack"],
                         maxout=s["d_maxout"], fourier=s["d_fourier"],
                         fourier_scale=s["d_fourier_scale"][dataset])
    if s["init_std"]:
        init_dcgan_weights(G, s["init_std"])
        init_dcgan_weights(D, s["init_std"])
    return ganlab.models.build(spec["family"], G, D, **spec["recipe"])


def distance_bands(points: torch.Tensor, means: torch.Tensor, std: float) -> list[float]:
    """Shares of ``points`` ``(N, 2)`` whose distance to the nearest of ``means`` ``(K, 2)``, in
    units of ``std``, falls in each of :data:`BANDS` (they sum to 1)."""
    d = torch.cdist(points.float(), means.float()).min(dim=1).values / std
    return [float(((d >= lo) & (d < hi)).float().mean()) for lo, hi in BANDS]


def probe(method: str, dataset: str, seeds: int, overrides: list[str], profile: str = "quick") -> dict[str, Any]:
    """Train ``seeds`` seeds (0, 1, ...) of ``method`` on ``dataset`` as one batch and measure them.

    Raises:
        ValueError: an unknown method, data set or override.
    """
    base = dict(ganlab.profiles.settings(profile, NOTEBOOK))
    if method not in base["runs"]:
        raise ValueError(f"method {method!r} is not in profile {profile!r}; accepted: {', '.join(base['runs'])}")
    if dataset not in base["toy_datasets"]:
        raise ValueError(f"dataset {dataset!r} is not one of notebook 02's: {', '.join(base['toy_datasets'])}")
    if seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {seeds}")
    settings, spec = apply_overrides(base, base["runs"][method], dataset, overrides)
    ds = ganlab.data.load(dataset, limit=settings["limit"] or None, seed=0)
    n = settings["eval_n"]
    evaluator = Evaluator(ds, extractor="points", n=n, metrics=("coverage",), batch_size=n)
    seed_list = list(range(seeds))
    config = TrainConfig(steps=spec["steps"], batch_size=settings["batch_size"], device="cpu", precision="fp32",
                         progress=False, eval_every=spec["steps"], log_every=max(1, spec["steps"] // 10))
    start = time.perf_counter()
    trainer = SeedBatchTrainer([make_model(settings, spec, dataset, s) for s in seed_list], ds, config,
                               seed_list, evaluator=evaluator)
    trainer.fit()
    seconds = time.perf_counter() - start
    final = trainer.history.evals[-1]["copies"]
    hq = [final[str(s)][metric_key("high_quality", "points", n)] for s in seed_list]
    modes = [final[str(s)][metric_key("modes", "points", n)] for s in seed_list]
    bands = []
    for k, s in enumerate(seed_list):
        with torch.no_grad():
            samples = trainer.copy_model(k).sampler(seed=s + 1)(n)
        bands.append(distance_bands(samples, ds.info.mode_means, ds.info.mode_std))
    return {"profile": profile, "method": method, "dataset": dataset, "seeds": seeds, "overrides": overrides,
            "steps": spec["steps"], "high_quality": [round(v, 4) for v in hq], "modes": modes,
            "mean_high_quality": round(statistics.mean(hq), 4), "mean_modes": round(statistics.mean(modes), 2),
            "bands": [round(statistics.mean(b[i] for b in bands), 4) for i in range(len(BANDS))],
            "seconds": round(seconds, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="gan", help="a key of the profile's runs (gan, pacgan2, wgan_gp)")
    parser.add_argument("--dataset", default="grid25", help="ring8 or grid25")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--profile", default="quick", choices=ganlab.profiles.PROFILES)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        result = probe(args.method, args.dataset, args.seeds, args.overrides, args.profile)
    except ValueError as err:
        print(f"probe_02: {err}", file=sys.stderr)
        return 2
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
