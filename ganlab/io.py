"""Atomic file writing and checksums: nothing the course saves is ever left half-written.

Every file the package writes (data caches, checkpoints, result records, real-feature
statistics) goes through :func:`atomic_write_bytes` or one of its wrappers: the bytes go to a
temporary file in the same folder, are flushed and fsynced, then renamed over the target. A
crash leaves either the old file or the new one, never a truncated mix.

Tensor files that are checked on every load (training checkpoints, the data cache) carry a
checksum sidecar, the one format for it: ``<file>.json`` beside ``<file>.pt``, a JSON object
``{"sha256": "<hex of the .pt bytes>", ...the writer's own fields}``, written by
:func:`atomic_torch_save_checked` and read by :func:`read_sidecar` + :func:`load_verified`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

_UMASK = os.umask(0)
os.umask(_UMASK)

__all__ = [
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "atomic_torch_save",
    "atomic_torch_save_checked",
    "sha256_bytes",
    "sha256_file",
    "file_stamp",
    "safe_torch_load",
    "sidecar_path",
    "read_sidecar",
    "load_verified",
    "ChecksumError",
    "ensure_writable_dir",
]


class ChecksumError(ValueError):
    """A file does not match its recorded sha256, its sidecar is unreadable, or it cannot be loaded."""


def ensure_writable_dir(path: str | os.PathLike[str], what: str = "folder") -> Path:
    """Create ``path`` if needed and check that files can be written into it.

    Raises:
        ValueError: the folder cannot be created or written, naming it and what it is for.
    """
    p = Path(path).expanduser()
    try:
        p.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=p, prefix=".write-test-", delete=True):
            pass
    except OSError as exc:
        raise ValueError(
            f"{what} {str(p)!r} is not writable ({exc.strerror or exc}); "
            f"choose a folder you can write to (e.g. set RESULTS_DIR/DATA_DIR)."
        ) from None
    return p


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed over ``path``.

    For writers that need a file name (ffmpeg, ``torch.save`` to a path...). If the block
    raises (or the process dies), ``path`` keeps its old content and the temp file is removed.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder + fsync + rename)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any, indent: int = 2) -> Path:
    """Serialise ``obj`` as JSON (sorted keys, NaN allowed as in Python's json) atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=indent, sort_keys=True, default=str) + "\n")


def atomic_torch_save(path: str | os.PathLike[str], obj: Any) -> str:
    """``torch.save`` ``obj`` atomically; returns the sha256 hex digest of the written bytes.

    ``torch.save`` writes straight into the temporary file beside ``path`` (no second copy of the
    serialised bytes in memory: a 2.5 GB data cache needs 2.5 GB, not 5), which is hashed in
    chunks, fsynced and renamed over ``path``.
    """
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        digest = sha256_file(tmp)
    return digest


def safe_torch_load(path: str | os.PathLike[str], map_location: Any = "cpu", mmap: bool = False) -> Any:
    """``torch.load`` with ``weights_only=True`` (the only way the course loads files).

    ``mmap=True`` maps the file instead of reading it (copy-on-write: tensors can still be
    changed in place): loading costs no memory until the data is touched (big data caches).
    """
    if mmap:
        return torch.load(path, map_location=map_location, weights_only=True, mmap=True)
    return torch.load(path, map_location=map_location, weights_only=True)


def file_stamp(path: str | os.PathLike[str]) -> dict[str, int]:
    """``{"size", "mtime_ns"}`` of a file: the cheap identity a verified file is trusted by
    afterwards (a rewrite, truncation or replacement changes it; silent bit rot does not)."""
    st = os.stat(path)
    return {"size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns)}


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """The checksum sidecar of ``path``: the same name with the suffix ``.json``."""
    return Path(path).with_suffix(".json")


def atomic_torch_save_checked(path: str | os.PathLike[str], obj: Any, **fields: Any) -> str:
    """:func:`atomic_torch_save` ``obj``, then its sidecar ``{"sha256": digest, **fields}``
    (atomically too; a crash between the two leaves a file without a sidecar). Returns the digest."""
    if "sha256" in fields:
        raise ValueError("'sha256' is the sidecar's own field; pass other names")
    digest = atomic_torch_save(path, obj)
    atomic_write_json(sidecar_path(path), {"sha256": digest, **fields})
    return digest


def read_sidecar(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The checksum sidecar of ``path`` as a dict, or ``None`` when there is none.

    Raises:
        ChecksumError: the sidecar cannot be read or holds no ``sha256``.
    """
    side = sidecar_path(path)
    if not side.is_file():
        return None
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ChecksumError(f"the checksum sidecar {side.name} of {path} cannot be read ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("sha256"), str):
        raise ChecksumError(f"the checksum sidecar {side.name} of {path} holds no sha256")
    return data


def load_verified(path: str | os.PathLike[str], sha256: str | None, map_location: Any = "cpu",
                  mmap: bool = False) -> Any:
    """:func:`safe_torch_load` ``path`` after checking it against ``sha256`` (skipped when ``None``).

    Raises:
        ChecksumError: the sum differs (names the file), or the file cannot be loaded.
    """
    if sha256 is not None and sha256_file(path) != sha256:
        raise ChecksumError(f"file {path} does not match its sha256 (truncated or corrupt)")
    try:
        return safe_torch_load(path, map_location=map_location, mmap=mmap)
    except Exception as exc:  # zip/pickle errors differ across torch versions
        raise ChecksumError(f"file {path} cannot be read ({type(exc).__name__}: {exc})") from None
