"""Train the shipped feature extractors: ``python -m ganlab.metrics.train_extractors --all``.

* ``mnist_cnn`` on ``mnist5k`` train (4,000 digits) with small random affine jitter (rotation
  +-10 deg, scale +-10 %, shift +-2 px), tested on ``mnist5k`` test (1,000); ``--dataset mnist``
  trains on full MNIST (60,000, online) instead and tests on its 10,000 test digits.
* ``shapes_cnn`` on ``shapes`` train (10,000 at 32 px), one head per factor, tested on
  ``shapes`` test (2,000).

Seeded and deterministic on the CPU; one thread by default (``--threads``), so the float
reduction order does not depend on the machine's core count. Weights go to
``--out`` as plain state dicts (``ganlab.shipped.save_weights``); ``manifest.json`` there gets
their sha256, the command, seed, epochs, data and measured test accuracy. Training fails
(exit code 1) if a test accuracy is below its floor (95 % digits, 99 % shapes).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganlab.shipped import save_weights

from .classifiers import SHAPES_FACTORS, MNISTClassifier, ShapesClassifier
from .extractors import WEIGHTS_DIR

__all__ = ["train_mnist_cnn", "train_shapes_cnn", "main", "ACCURACY_FLOOR", "DEFAULT_EPOCHS"]

ACCURACY_FLOOR = {"mnist_cnn": 0.95, "shapes_cnn": 0.99}
DEFAULT_EPOCHS = {"mnist_cnn": 10, "shapes_cnn": 3}
BATCH_SIZE = 64
LR = 3e-3


@contextlib.contextmanager
def _deterministic() -> Iterator[None]:
    prev = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev)


def affine_jitter(x: torch.Tensor, gen: torch.Generator, rot: float = 10.0, scale: float = 0.1, shift: float = 2.0) -> torch.Tensor:
    """Random affine jitter of images ``(N, C, H, W)`` in ``[-1, 1]`` (background -1 stays -1).

    Rotation uniform in +-``rot`` degrees, scale in 1 +- ``scale``, shift +-``shift`` pixels.
    """
    n, _, h, _ = x.shape
    ang = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(rot)
    sc = 1 + (torch.rand(n, generator=gen) * 2 - 1) * scale
    t = (torch.rand(n, 2, generator=gen) * 2 - 1) * (2 * shift / h)
    cos, sin = ang.cos() / sc, ang.sin() / sc
    theta = torch.stack([torch.stack([cos, -sin, t[:, 0]], 1), torch.stack([sin, cos, t[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    return F.grid_sample(x + 1, grid, align_corners=False, padding_mode="zeros") - 1


def _fit(
    net: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn: Any,
    epochs: int,
    seed: int,
    augment: Any = None,
    log: Any = print,
) -> None:
    gen = torch.Generator().manual_seed(seed)
    steps_per_epoch = len(x) // BATCH_SIZE
    opt = torch.optim.AdamW(net.parameters(), lr=LR, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=epochs * steps_per_epoch)
    for epoch in range(epochs):
        net.train()
        perm = torch.randperm(len(x), generator=gen)
        total = 0.0
        for b in range(steps_per_epoch):
            idx = perm[b * BATCH_SIZE : (b + 1) * BATCH_SIZE]
            xb = x[idx]
            if augment is not None:
                xb = augment(xb, gen)
            loss = loss_fn(net(xb), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach())
        log(f"  epoch {epoch + 1}/{epochs}: mean loss {total / steps_per_epoch:.4f}")
    net.eval()


@torch.no_grad()
def _logits(net: nn.Module, x: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    net.eval()
    return torch.cat([net(x[i : i + batch]) for i in range(0, len(x), batch)])


def _load_split(name: str, split: str, data_dir: str | None, **kw: Any) -> Any:
    from ganlab.data import load

    return load(name, split=split, root=data_dir, **kw)


def train_mnist_cnn(
    epochs: int = DEFAULT_EPOCHS["mnist_cnn"], seed: int = 0, dataset: str = "mnist5k",
    data_dir: str | None = None, log: Any = print,
) -> tuple[MNISTClassifier, dict[str, Any]]:
    """Train ``mnist_cnn``; returns the net (eval mode) and manifest facts (accuracy, data...)."""
    if dataset not in ("mnist5k", "mnist"):
        raise ValueError(f"--dataset {dataset!r} is not accepted for mnist_cnn; accepted: mnist5k, mnist")
    train, test = _load_split(dataset, "train", data_dir), _load_split(dataset, "test", data_dir)
    x, y = train.get(slice(None))
    xt, yt = test.get(slice(None))
    torch.manual_seed(seed)
    net = MNISTClassifier()
    with _deterministic():
        _fit(net, x, y, F.cross_entropy, epochs, seed, augment=affine_jitter, log=log)
    acc = float((_logits(net, xt).argmax(1) == yt).double().mean())
    facts = {
        "train_data": f"{dataset} train ({len(train):,} images), random affine jitter "
        "(rotation +-10 deg, scale +-10 %, shift +-2 px)",
        "test_data": f"{dataset} test ({len(test):,} images)",
        "test_accuracy": round(acc, 4),
        "dataset": dataset,
    }
    return net, facts


def train_shapes_cnn(
    epochs: int = DEFAULT_EPOCHS["shapes_cnn"], seed: int = 0, data_dir: str | None = None, log: Any = print
) -> tuple[ShapesClassifier, dict[str, Any]]:
    """Train ``shapes_cnn`` (all factor heads); returns the net and manifest facts."""
    train, test = _load_split("shapes", "train", data_dir), _load_split("shapes", "test", data_dir)
    x, _ = train.get(slice(None))
    xt, _ = test.get(slice(None))
    y = torch.stack([train.factors[k] for k in SHAPES_FACTORS], 1)
    yt = torch.stack([test.factors[k] for k in SHAPES_FACTORS], 1)

    def loss_fn(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        parts = ShapesClassifier.factor_logits(logits).values()
        return sum(F.cross_entropy(lg, target[:, i]) for i, lg in enumerate(parts))  # type: ignore[return-value]

    torch.manual_seed(seed)
    net = ShapesClassifier()
    with _deterministic():
        _fit(net, x, y, loss_fn, epochs, seed, log=log)
    factor_logits = ShapesClassifier.factor_logits(_logits(net, xt))
    accs = {k: round(float((v.argmax(1) == yt[:, i]).double().mean()), 4) for i, (k, v) in enumerate(factor_logits.items())}
    facts = {
        "train_data": f"shapes train ({len(train):,} images, 32 px)",
        "test_data": f"shapes test ({len(test):,} images, 32 px)",
        "test_accuracy": accs["shape"],
        "test_accuracy_factors": accs,
        "dataset": "shapes",
    }
    return net, facts


def _n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ganlab.metrics.train_extractors", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="train mnist_cnn and shapes_cnn")
    which.add_argument("--only", choices=("mnist_cnn", "shapes_cnn"), action="append", help="train one (repeatable)")
    parser.add_argument("--out", default=str(WEIGHTS_DIR), help="folder for the .pt files and manifest.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="override the default epochs (mnist 10, shapes 3)")
    parser.add_argument("--dataset", default="mnist5k", choices=("mnist5k", "mnist"),
                        help="training set of mnist_cnn (mnist = full 60k MNIST, downloads)")
    parser.add_argument("--data-dir", default=None, help="ganlab data root (default $GANLAB_DATA_DIR)")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads (default 1: the same bytes on any machine, and fastest on a busy CPU)")
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))

    names = ["mnist_cnn", "shapes_cnn"] if args.all else list(dict.fromkeys(args.only))
    out = Path(args.out)
    failed = []
    for name in names:
        epochs = args.epochs or DEFAULT_EPOCHS[name]
        print(f"training {name} ({epochs} epochs, seed {args.seed}, {torch.get_num_threads()} threads)", flush=True)
        t0 = time.perf_counter()
        if name == "mnist_cnn":
            net, facts = train_mnist_cnn(epochs, args.seed, args.dataset, args.data_dir)
            cmd_extra = f" --dataset {args.dataset}"
        else:
            net, facts = train_shapes_cnn(epochs, args.seed, args.data_dir)
            cmd_extra = ""
        seconds = time.perf_counter() - t0
        entry = save_weights(out, name, net.state_dict(), {
            "arch": type(net).__name__,
            "n_params": _n_params(net),
            "feature_dim": net.dim,
            "n_classes": net.n_classes,
            "seed": args.seed,
            "epochs": epochs,
            "batch_size": BATCH_SIZE,
            "optimizer": f"AdamW(lr={LR}, weight_decay=1e-4), OneCycleLR",
            "command": f"python -m ganlab.metrics.train_extractors --only {name} --seed {args.seed} "
            f"--epochs {epochs}{cmd_extra} --threads {args.threads} --out {args.out}",
            "threads": args.threads,
            "train_seconds": round(seconds, 1),
            "torch": torch.__version__,
            **facts,
        })
        print(f"  {name}: test accuracy {facts['test_accuracy']:.4f} in {seconds:.1f} s -> {out / entry['file']}",
              flush=True)
        if facts["test_accuracy"] < ACCURACY_FLOOR[name]:
            failed.append(f"{name} test accuracy {facts['test_accuracy']:.4f} < {ACCURACY_FLOOR[name]}")
    if failed:
        print("FAILED: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
