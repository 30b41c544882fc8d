"""Readers for the on-disk formats of the online sets, without torchvision.

* MNIST / Fashion-MNIST: IDX files (raw or ``.gz``), big-endian header, uint8 payload.
* CIFAR-10: the "python version" batches, pickled dicts with ``data`` (N, 3072) uint8 and
  ``labels``. They are unpickled with an allow-list (only NumPy array reconstruction), so a
  tampered file cannot run code.
"""

from __future__ import annotations

import gzip
import io
import pickle
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["read_idx", "find_idx", "read_cifar_batch"]

_FIX = "delete or replace it, or re-download the data set"
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def find_idx(folder: Path, stem: str) -> Path | None:
    """``folder/stem`` or ``folder/stem.gz``, whichever exists (raw first), else ``None``."""
    for cand in (folder / stem, folder / f"{stem}.gz"):
        if cand.is_file():
            return cand
    return None


def read_idx(path: Path) -> torch.Tensor:
    """Read an IDX file (optionally gzip'd) into a tensor of its stored shape.

    Returns:
        uint8 ``(N, H, W)`` for image files, uint8 ``(N,)`` for label files (other IDX dtypes as
        the matching NumPy type).

    Raises:
        ValueError: not an IDX file, or the payload is shorter than the header says.
    """
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise ValueError(f"{path} is a truncated or corrupt gzip file ({exc}); {_FIX}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {raw[:4].hex() or 'none: empty file'}); {_FIX}")
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    offset = 4 + 4 * ndim
    count = int(np.prod(dims)) if dims else 0
    if len(raw) - offset < count * dtype.itemsize:
        raise ValueError(f"{path} is truncated: header says {dims}, payload has {len(raw) - offset} bytes; {_FIX}")
    arr = np.frombuffer(raw, dtype=dtype, count=count, offset=offset).reshape(dims)
    return torch.from_numpy(arr.astype(dtype.newbyteorder("="), copy=True))


class _Refused(pickle.UnpicklingError):
    """A pickle asked for something other than NumPy arrays (raised as is, never reworded)."""


class _SafeUnpickler(pickle.Unpickler):
    """Unpickler that only rebuilds NumPy arrays (what CIFAR batches contain)."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),  # how Python 3 pickles numpy's bytes in protocol 2
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise _Refused(f"refusing to unpickle {module}.{name} from a CIFAR batch")


def read_cifar_batch(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """One CIFAR-10 python batch: uint8 ``(N, 3, 32, 32)`` images and int64 ``(N,)`` labels."""
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        d = _SafeUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except _Refused:
        raise
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        why = "empty file" if not raw else f"{type(exc).__name__}: {exc}"
        raise ValueError(f"{path} is a truncated or corrupt CIFAR python batch ({why}); {_FIX}") from None
    if not isinstance(d, dict) or "data" not in d or not ({"labels", "fine_labels"} & d.keys()):
        raise ValueError(f"{path} is not a CIFAR python batch (no 'data'/'labels'); {_FIX}")
    try:
        data = np.asarray(d["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        labels = np.asarray(d.get("labels", d.get("fine_labels")), dtype=np.int64)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path} holds a malformed CIFAR batch ({exc}); {_FIX}") from None
    if labels.shape[0] != data.shape[0]:
        raise ValueError(f"{path}: {data.shape[0]} images but {labels.shape[0]} labels; {_FIX}")
    return torch.from_numpy(data.copy()), torch.from_numpy(labels)


def read_cifar_meta(path: Path) -> list[str] | None:
    """Label names from ``batches.meta`` (``None`` when absent or unreadable)."""
    try:
        with open(path, "rb") as fh:
            d = _SafeUnpickler(io.BytesIO(fh.read()), encoding="latin1").load()
        return [str(x) for x in d["label_names"]]
    except (OSError, KeyError, TypeError, pickle.UnpicklingError, EOFError):
        return None
