"""Rotating, atomic, checksummed checkpoints.

Each checkpoint is ``ckpt-<step:08d>.pt`` (written with temp file + rename) plus its
:mod:`ganlab.io` checksum sidecar ``ckpt-<step:08d>.json`` (``{"sha256", "step"}``). :func:`latest_good` walks from the newest to the
oldest and returns the first whose sum matches and that loads with ``weights_only=True``; a
truncated or corrupt newest file therefore falls back to the previous good one.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

from ganlab.io import (
    ChecksumError,
    atomic_torch_save_checked,
    load_verified,
    read_sidecar,
    sidecar_path,
)

__all__ = ["save_checkpoint", "list_checkpoints", "latest_good", "load_checkpoint", "CheckpointError"]

_NAME = re.compile(r"^ckpt-(\d{8})\.pt$")


class CheckpointError(ValueError):
    """A checkpoint file is corrupt, truncated, or from another architecture."""


def list_checkpoints(folder: str | Path) -> list[Path]:
    """Checkpoint files in ``folder``, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if _NAME.match(p.name))


def save_checkpoint(folder: str | Path, step: int, state: dict[str, Any], keep: int = 3) -> Path:
    """Write ``state`` as the checkpoint of ``step``; keep only the ``keep`` newest."""
    folder = Path(folder)
    path = folder / f"ckpt-{step:08d}.pt"
    atomic_torch_save_checked(path, state, step=step)
    for old in list_checkpoints(folder)[:-keep]:
        old.unlink(missing_ok=True)
        sidecar_path(old).unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """Load one checkpoint, verifying its sidecar sum when present (a crash between writing the
    file and its sidecar leaves none: such a file is loaded unverified).

    Raises:
        CheckpointError: unreadable sidecar, sum mismatch or unreadable file (names the file).
    """
    try:
        side = read_sidecar(path)
        return load_verified(path, side and side["sha256"], map_location=map_location)
    except ChecksumError as exc:
        raise CheckpointError(f"checkpoint {exc}") from None


def latest_good(folder: str | Path, map_location: Any = "cpu") -> tuple[Path, dict[str, Any]] | None:
    """Newest checkpoint in ``folder`` that verifies and loads, or None if there is none."""
    for path in reversed(list_checkpoints(folder)):
        try:
            return path, load_checkpoint(path, map_location)
        except CheckpointError as exc:
            warnings.warn(f"{exc}; trying the previous checkpoint", stacklevel=2)
    return None
