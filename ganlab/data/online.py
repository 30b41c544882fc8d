"""Online array sets: ``mnist``, ``fashion_mnist`` (IDX files) and ``cifar10`` (python batches).

Files are looked for in the torchvision layout under the data root and downloaded through
torchvision when missing; they are read by :mod:`ganlab.data.formats` and preprocessed once into
the uint8 cache (``{root}/cache/{name}-{split}-{size}-{channels}.pt``). Splits are the official
ones; ``all`` is train followed by test.
"""

from __future__ import annotations

import torch

from .cache import Builder, cache_key, load_or_build
from .downloads import fetch, torchvision_download, unavailable
from .formats import find_idx, read_cifar_batch, read_cifar_meta, read_idx
from .spec import Parts, Request
from .transforms import convert_images

__all__ = ["build_mnist", "build_fashion_mnist", "build_cifar10", "CIFAR10_CLASSES", "FASHION_CLASSES"]

_IDX_STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_CIFAR_FILES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}


def _splits(split: str) -> list[str]:
    return ["train", "test"] if split == "all" else [split]


def _cached(req: Request, native: tuple[int, int], build_native: Builder) -> Parts:
    """Load ``req`` from the cache, building it when missing.

    The native version (``native`` = (size, channels)) is built from the raw files; any other
    size / channel count is derived from the native cache, so raw files are read only once.
    """
    size, ch = req.image_size or native[0], req.channels or native[1]
    native_key = cache_key(req.name, req.split, *native)
    if (size, ch) == native:
        tensors, _ = load_or_build(req.cache_dir, native_key, build_native)
    else:

        def build_variant() -> tuple[dict[str, torch.Tensor], dict[str, object]]:
            base, _ = load_or_build(req.cache_dir, native_key, build_native)
            return {"images": convert_images(base["images"], size, ch), "labels": base["labels"]}, {}

        tensors, _ = load_or_build(req.cache_dir, cache_key(req.name, req.split, size, ch), build_variant)
    return Parts(images=tensors["images"], labels=tensors["labels"])


def _idx_set(req: Request, folder_name: str, tv_class: str, how: str) -> Parts:
    raw = req.root / folder_name / "raw"
    stems = [s for sp in _splits(req.split) for s in _IDX_STEMS[sp]]

    def build() -> tuple[dict[str, torch.Tensor], dict[str, object]]:
        if any(find_idx(raw, s) is None for s in stems):
            fetch(req.name, raw, req.root, req.download,
                  [("torchvision", lambda: torchvision_download(tv_class, req.root))], how)
            missing = [s for s in stems if find_idx(raw, s) is None]
            if missing:
                raise unavailable(req.name, raw, f"the download did not produce {missing}", how, req.root) from None
        xs, ys = [], []
        for sp in _splits(req.split):
            img_path, lab_path = (find_idx(raw, s) for s in _IDX_STEMS[sp])
            x, y = read_idx(img_path), read_idx(lab_path)  # type: ignore[arg-type]
            if x.dim() != 3 or y.dim() != 1 or x.shape[0] != y.shape[0]:
                raise ValueError(f"{img_path} / {lab_path}: images {tuple(x.shape)} do not match labels {tuple(y.shape)}")
            xs.append(x)
            ys.append(y.to(torch.int64))
        return {"images": torch.cat(xs).unsqueeze(1), "labels": torch.cat(ys)}, {}

    return _cached(req, (28, 1), build)


def build_mnist(req: Request) -> Parts:
    """MNIST (60,000 train / 10,000 test): uint8 ``(N, 1, 28, 28)``, labels 0..9."""
    how = (
        "put the four MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
        "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; raw or .gz, e.g. from "
        f"https://ossci-datasets.s3.amazonaws.com/mnist/) into {req.root / 'MNIST' / 'raw'}"
    )
    return _idx_set(req, "MNIST", "MNIST", how)


def build_fashion_mnist(req: Request) -> Parts:
    """Fashion-MNIST (60,000 train / 10,000 test): uint8 ``(N, 1, 28, 28)``, labels 0..9."""
    how = (
        "put the four Fashion-MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
        "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; raw or .gz, from "
        f"https://github.com/zalandoresearch/fashion-mnist/tree/master/data/fashion) into "
        f"{req.root / 'FashionMNIST' / 'raw'}"
    )
    return _idx_set(req, "FashionMNIST", "FashionMNIST", how)


def build_cifar10(req: Request) -> Parts:
    """CIFAR-10 (50,000 train / 10,000 test): uint8 ``(N, 3, 32, 32)``, labels 0..9."""
    folder = req.root / "cifar-10-batches-py"
    files = [f for sp in _splits(req.split) for f in _CIFAR_FILES[sp]]
    how = (
        "download cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html and "
        f"extract it into {req.root}, so that {folder / 'data_batch_1'} ... {folder / 'test_batch'} exist"
    )

    def build() -> tuple[dict[str, torch.Tensor], dict[str, object]]:
        if not all((folder / f).is_file() for f in files):
            fetch(req.name, folder, req.root, req.download,
                  [("torchvision", lambda: torchvision_download("CIFAR10", req.root))], how)
            missing = [f for f in files if not (folder / f).is_file()]
            if missing:
                raise unavailable(req.name, folder, f"the download did not produce {missing}", how, req.root) from None
        batches = [read_cifar_batch(folder / f) for f in files]
        return {"images": torch.cat([b[0] for b in batches]), "labels": torch.cat([b[1] for b in batches])}, {}

    parts = _cached(req, (32, 3), build)
    names = read_cifar_meta(folder / "batches.meta") if (folder / "batches.meta").is_file() else None
    if names and len(names) == 10:
        parts.info["classes"] = tuple(names)
    return parts

