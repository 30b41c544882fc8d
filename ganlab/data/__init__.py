"""``ganlab.data``: one registry behind one function, uint8 tensors, device-side batching.

>>> from ganlab import data
>>> ds = data.load("mnist5k", split="train")     # offline: 4,000 digits, uint8 (N, 1, 28, 28)
>>> ds.to("cuda")                                   # once; memory = the uint8 size of the set
>>> for x, y in ds.batches(64, seed=0, epoch=0):    # x float32 in [-1, 1], y int64 labels
...     ...

Offline sets (no network ever): ``mnist5k``, ``digits``, ``shapes``, ``ring8``, ``grid25``.
Online sets (downloaded once into the data root, preprocessed once into a checksummed uint8
cache): ``mnist``, ``fashion_mnist``, ``cifar10``, ``celeba64``, ``lsun_bedroom64``,
``image_folder``. :func:`describe` prints the registry with sources and licences.

Data root: ``root`` argument > ``$GANLAB_DATA_DIR`` > ``~/.cache/ganlab/data``.
Heavy packages (torchvision, kagglehub, scikit-learn, mlxtend, Pillow) are imported only by the
loaders that need them.
"""

from __future__ import annotations

from .batch import Batch
from .dataset import Dataset, DatasetInfo
from .errors import DatasetUnavailableError
from .paths import default_root
from .registry import REGISTRY, describe, load, names, table
from .transforms import to_float

__all__ = [
    "load",
    "names",
    "describe",
    "table",
    "default_root",
    "Dataset",
    "DatasetInfo",
    "Batch",
    "DatasetUnavailableError",
    "REGISTRY",
    "to_float",
]
