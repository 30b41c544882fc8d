"""Batched seeds against separate runs: K seeds of a small GAN trained as one batched model
(:class:`ganlab.train.seeds.SeedBatchTrainer`) versus K runs of the real :class:`~ganlab.train.Trainer`
one after another, the same total work (K x steps iterations), measured alternately in one process.
With ``--runs 2`` it also times two runs' batches (ring8's and grid25's K seeds) one after another
against one joint batch of 2K copies (:func:`ganlab.course.experiment.train_seeds_jointly`), as
notebook 02 trains them: ``joint_speedup``.

Configurations (the 2-D toys of notebook 02, ``ring8``, non-saturating GAN):

* ``toy``: G and D 3 x 64 LeakyReLU units, batch 256 (the quick profile's size before batching);
* ``course``: notebook 02's quick networks: G 3 x 64 with batch norm + ReLU, D 2 x 64 LeakyReLU
  behind 64 random Fourier frequencies per sample, batch 128;
* ``paper``: PacGAN's networks, G 4 x 400 with batch norm + ReLU, D 3 maxout layers x 200 units
  (5 pieces), batch 100.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch

__all__ = ["add_arguments", "run", "CONFIGS"]

CONFIGS: dict[str, dict[str, Any]] = {
    "toy": {"g": (64, 64, 64), "d": (64, 64, 64), "norm": "none", "act": "leaky_relu", "maxout": 1, "batch": 256,
            "fourier": 0},
    "course": {"g": (64, 64, 64), "d": (64, 64), "norm": "batch", "act": "relu", "maxout": 1, "batch": 128,
               "fourier": 64},
    "paper": {"g": (400,) * 4, "d": (200,) * 3, "norm": "batch", "act": "relu", "maxout": 5, "batch": 100,
              "fourier": 0},
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m ganlab.bench seeds``."""
    parser.add_argument("--config", default="toy", choices=tuple(CONFIGS))
    parser.add_argument("--copies", type=int, default=10, help="K: seeds per batch")
    parser.add_argument("--steps", type=int, default=200, help="iterations per run")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (median taken)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: as set)")
    parser.add_argument("--runs", type=int, default=1, choices=(1, 2),
                        help="2: also time ring8's and grid25's batches one after another vs one joint batch")


def _model(cfg: dict[str, Any], seed: int) -> Any:
    from ganlab.models import build
    from ganlab.nets import MLPDiscriminator, MLPGenerator

    torch.manual_seed(seed)
    G = MLPGenerator(nz=2, out_shape=(2,), hidden=cfg["g"], norm=cfg["norm"], activation=cfg["act"],
                     out_activation=None)
    D = MLPDiscriminator(in_shape=(2,), hidden=cfg["d"], dropout=0.0, maxout=cfg["maxout"],
                         fourier=cfg["fourier"], fourier_scale=0.5)
    return build("gan", G, D, lr_g=1e-3, lr_d=1e-3)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Time both ways; returns one JSON-able dict with ``speedup`` = separate / batched seconds."""
    from ganlab.data import load
    from ganlab.device import describe_device
    from ganlab.train import TrainConfig, Trainer
    from ganlab.train.seeds import SeedBatchTrainer

    if args.copies < 2 or args.steps < 1:
        raise ValueError(f"--copies must be >= 2 and --steps >= 1; got {args.copies}, {args.steps}")
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = CONFIGS[args.config]
    data = load("ring8", split="train")
    seeds = list(range(args.copies))

    def config(seed: int) -> TrainConfig:
        return TrainConfig(steps=args.steps, batch_size=cfg["batch"], seed=seed, device="cpu", log_every=50,
                           progress=False, precision="fp32")

    def separate() -> float:
        t = time.perf_counter()
        for s in seeds:
            Trainer(_model(cfg, s), data, config(s)).fit()
        return time.perf_counter() - t

    def batched() -> float:
        t = time.perf_counter()
        SeedBatchTrainer([_model(cfg, s) for s in seeds], data, config(0), seeds).fit()
        return time.perf_counter() - t

    datasets = [data, load("grid25", split="train")][: args.runs]

    def batches() -> float:
        t = time.perf_counter()
        for d in datasets:
            SeedBatchTrainer([_model(cfg, s) for s in seeds], d, config(0), seeds).fit()
        return time.perf_counter() - t

    def joint() -> float:
        t = time.perf_counter()
        SeedBatchTrainer([_model(cfg, s) for _ in datasets for s in seeds], [d for d in datasets for _ in seeds],
                         config(0), seeds * len(datasets),
                         names=[d.info.name for d in datasets for _ in seeds]).fit()
        return time.perf_counter() - t

    separate(), batched()  # warm-up (allocator, thread pools)
    sep, bat, apart, together = [], [], [], []
    for _ in range(args.rounds):
        sep.append(separate())
        bat.append(batched())
        if args.runs > 1:
            apart.append(batches())
            together.append(joint())
    s, b = statistics.median(sep), statistics.median(bat)
    extra = {} if args.runs == 1 else {
        "runs": args.runs, "batches_s": round(statistics.median(apart), 3), "joint_s": round(statistics.median(together), 3),
        "joint_speedup": round(statistics.median(apart) / statistics.median(together), 2)}
    return {"bench": "seeds", "config": args.config, "copies": args.copies, "steps": args.steps,
            "batch_size": cfg["batch"], "separate_s": round(s, 3), "batched_s": round(b, 3),
            "speedup": round(s / b, 2), "threads": torch.get_num_threads(), "device": describe_device(torch.device("cpu")),
            "torch": torch.__version__, **extra}
