"""Metric throughput: FID + precision/recall of 10,000 fake vs 5,000 real MNIST images (mnist_cnn).

The timed section is what an evaluation costs: features of the real and the fake images
(``mnist_cnn``, batched, ``inference_mode``), mean/covariance and the Fréchet distance, and the
k-NN precision/recall (blockwise float64 distances, never N x N in memory). Loading the data
and the extractor and making the fake images (real ``mnist5k`` digits with random affine jitter
and pixel noise) are not timed. ``--compare-prdc`` also times the ``prdc`` reference package on
the same features (precision/recall/density/coverage, full distance matrices).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

import torch

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m ganlab.bench metrics``."""
    parser.add_argument("--n-fake", type=int, default=10_000, help="generated images")
    parser.add_argument("--n-real", type=int, default=5_000, help="real images (mnist5k 'all' has 5,000)")
    parser.add_argument("--extractor", default="mnist_cnn", choices=("mnist_cnn",))
    parser.add_argument("--k", type=int, default=3, help="neighbours for precision/recall")
    parser.add_argument("--batch-size", type=int, default=500, help="images per extractor batch")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--repeats", type=int, default=1, help="timed repetitions (median reported)")
    parser.add_argument("--compare-prdc", action="store_true", help="also time the prdc reference package")
    parser.add_argument("--seed", type=int, default=0)


def _fake_images(real: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    from ganlab.metrics.train_extractors import affine_jitter

    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, real.shape[0], (n,), generator=g)
    x = affine_jitter(real[idx], g, rot=15.0, scale=0.15, shift=3.0)
    return (x + 0.1 * torch.randn(x.shape, generator=g)).clamp_(-1, 1)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Time FID + precision/recall; returns the JSON-able result dict."""
    from ganlab.data import load
    from ganlab.device import describe_device, pick_device
    from ganlab.metrics import (
        extract,
        feature_statistics,
        frechet_distance_from_stats,
        get_extractor,
        metric_key,
        precision_recall,
    )

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    t0 = time.perf_counter()
    ds = load("mnist5k", split="all")
    if args.n_real > len(ds):
        raise ValueError(f"--n-real {args.n_real} exceeds mnist5k's {len(ds)} images")
    real = ds.get(slice(0, args.n_real), device="cpu")[0]
    fake = _fake_images(real, args.n_fake, args.seed)
    ext = get_extractor(args.extractor, device)
    setup_s = time.perf_counter() - t0
    extract(ext, real[:64], args.batch_size, device)  # warm-up (allocator, kernels)

    rounds = []
    for _ in range(max(1, args.repeats)):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t_start, c_start = time.perf_counter(), time.process_time()
        f_real = extract(ext, real, args.batch_size, device)["features"]
        f_fake = extract(ext, fake, args.batch_size, device)["features"]
        t_feat = time.perf_counter()
        mu_r, s_r = feature_statistics(f_real)
        mu_f, s_f = feature_statistics(f_fake)
        fid = frechet_distance_from_stats(mu_r, s_r, mu_f, s_f)
        t_fid = time.perf_counter()
        pr = precision_recall(f_real, f_fake, k=args.k)
        t_pr = time.perf_counter()
        cpu = time.process_time() - c_start
        rounds.append((t_pr - t_start, t_feat - t_start, t_fid - t_feat, t_pr - t_fid, cpu))

    total, feat, fid_s, pr_s, cpu_s = (statistics.median(r[i] for r in rounds) for i in range(5))
    name, n = args.extractor, args.n_fake
    result: dict[str, Any] = {
        "bench": "metrics",
        "what": f"FID + precision/recall (k={args.k}), {args.n_fake} fake vs {args.n_real} real, features included",
        "extractor": name,
        "n_fake": args.n_fake,
        "n_real": args.n_real,
        "device": describe_device(device),
        "seconds_total": round(total, 3),
        "seconds_features": round(feat, 3),
        "seconds_fid": round(fid_s, 3),
        "seconds_precision_recall": round(pr_s, 3),
        "cpu_seconds_total": round(cpu_s, 3),
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "images_per_s_features": round((args.n_fake + args.n_real) / feat, 1),
        "seconds_setup_untimed": round(setup_s, 3),
        "repeats": len(rounds),
        metric_key("fid", name, n, real=args.n_real): round(fid, 4),
        metric_key("precision", name, n, real=args.n_real, k=args.k): round(pr["precision"], 4),
        metric_key("recall", name, n, real=args.n_real, k=args.k): round(pr["recall"], 4),
        "torch": torch.__version__,
    }
    if args.compare_prdc:
        import contextlib
        import io

        from prdc import compute_prdc

        t = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            compute_prdc(f_real.numpy(), f_fake.numpy(), nearest_k=args.k)
        result["seconds_prdc_reference"] = round(time.perf_counter() - t, 3)
    return result
