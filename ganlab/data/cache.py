"""The uint8 tensor cache: preprocess once, reload in well under a second, verify every load.

A cache entry is two files in ``{root}/cache/``: ``{key}.pt`` (a ``torch.save``'d dict of
tensors, written atomically) and its :mod:`ganlab.io` checksum sidecar ``{key}.json`` (its
sha256, plus the cache format, the tensor shapes, the source fingerprint and any metadata).

The sha256 is checked once: when a file was written here, or the first time it is loaded after
it changed (a copied or downloaded cache). The sidecar then keeps the file's size and
modification time (``verified``, :func:`ganlab.io.file_stamp`), and a later load with the same
stamp skips the hash (reading 2.5 GB at every start of a Colab notebook costs a minute) and maps
the file instead of reading it (``mmap``: pages are read as the data is touched). A truncated or
corrupt file, a missing sidecar, or a changed source fingerprint makes the entry be rebuilt (with
a warning for damage).
"""

from __future__ import annotations

import contextlib
import re
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ganlab.io import (
    ChecksumError,
    atomic_torch_save,
    atomic_write_json,
    file_stamp,
    load_verified,
    read_sidecar,
    sidecar_path,
)

__all__ = ["CACHE_FORMAT", "cache_key", "cache_paths", "load_or_build"]

# The sidecar is ganlab.io's checksum sidecar: ``sha256`` plus the fields below (``format`` is
# this number). Caches written before ganlab.io owned the sidecar already had this layout and stay
# valid; an entry of any other format is simply rebuilt (quietly, see _read_valid).
CACHE_FORMAT = 1
Tensors = dict[str, torch.Tensor]
Builder = Callable[[], tuple[Tensors, dict[str, Any]]]


def cache_key(name: str, split: str, size: int | None, channels: int | None, tag: str = "") -> str:
    """File stem of a cache entry: ``{name}[-{tag}]-{split}-{size}-{channels}`` (``native`` for None)."""
    parts = [name, *([tag] if tag else []), split, str(size or "native"), str(channels or "native")]
    return re.sub(r"[^A-Za-z0-9_.-]", "_", "-".join(parts))


def cache_paths(cache_dir: Path, key: str) -> tuple[Path, Path]:
    """``(tensor_file, sidecar_json)`` of ``key`` in ``cache_dir``."""
    pt = cache_dir / f"{key}.pt"
    return pt, sidecar_path(pt)


def _read_valid(pt: Path, fingerprint: str | None) -> tuple[Tensors, dict[str, Any]] | None:
    """The cached tensors and meta if the entry is present and intact, else ``None`` (warns on damage)."""
    if not pt.exists():
        return None
    try:
        meta = read_sidecar(pt)
    except ChecksumError:
        meta = None
    if meta is None:
        warnings.warn(f"cache file {pt} has no readable checksum sidecar {sidecar_path(pt).name}; "
                      "rebuilding it", stacklevel=4)
        return None
    if meta.get("format") != CACHE_FORMAT or meta.get("fingerprint") != fingerprint:
        return None  # built by another version or from other source files: rebuild quietly
    trusted = meta.get("verified") == file_stamp(pt)
    try:
        tensors = load_verified(pt, None if trusted else meta["sha256"], mmap=True)
    except ChecksumError as exc:  # sum differs, or it matched but the file is unreadable
        warnings.warn(f"cache {exc}; rebuilding it", stacklevel=4)
        return None
    if not trusted:  # verified now: trust this exact file from here on (a read-only cache folder:
        with contextlib.suppress(OSError):  # verified at every load, as before)
            atomic_write_json(sidecar_path(pt), {**meta, "verified": file_stamp(pt)})
    shapes = {k: list(v.shape) for k, v in tensors.items()}
    if shapes != meta.get("shapes"):
        warnings.warn(f"cache file {pt} holds shapes {shapes}, sidecar says {meta.get('shapes')}; rebuilding it", stacklevel=4)
        return None
    return tensors, dict(meta.get("meta", {}))


def load_or_build(
    cache_dir: Path, key: str, build: Builder, fingerprint: str | None = None
) -> tuple[Tensors, dict[str, Any]]:
    """Return the cached ``(tensors, meta)`` for ``key``, or call ``build()`` and cache its result.

    Args:
        cache_dir: folder of the cache files (created when writing).
        key: entry name, see :func:`cache_key`.
        build: ``() -> (tensors, meta)``; tensors is a dict of CPU tensors, meta JSON-able.
        fingerprint: identity of the source files; a different one forces a rebuild.

    A cache folder that cannot be written only costs a warning: the built tensors are returned.
    """
    pt, _ = cache_paths(cache_dir, key)
    hit = _read_valid(pt, fingerprint)
    if hit is not None:
        return hit
    tensors, meta = build()
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    try:
        digest = atomic_torch_save(pt, tensors)
        # one sidecar: the sum, and the stamp of the file just written (trusted from here on)
        atomic_write_json(sidecar_path(pt), {
            "sha256": digest,
            "format": CACHE_FORMAT,
            "key": key,
            "shapes": {k: list(v.shape) for k, v in tensors.items()},
            "dtypes": {k: str(v.dtype) for k, v in tensors.items()},
            "fingerprint": fingerprint,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "meta": meta,
            "verified": file_stamp(pt),
        })
    except OSError as exc:
        warnings.warn(f"could not write the data cache {pt} ({exc}); the set will be rebuilt next time", stacklevel=3)
    return tensors, meta
