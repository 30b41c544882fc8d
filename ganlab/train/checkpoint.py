"""Rotating, atomic, checksummed checkpoints.

Each checkpoint is ``ckpt-<step:08d>.pt`` (written with temp file + rename) plus a sidecar
``ckpt-<step:08d>.json`` holding its sha256. :func:`latest_good` walks from the newest to the
oldest and returns the first whose sum matches and that loads with ``weights_only=True``; a
truncated or corrupt newest file therefore falls back to the previous good one.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

from ganlab.io import atomic_torch_save, atomic_write_json, safe_torch_load, sha256_file

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
    digest = atomic_torch_save(path, state)
    atomic_write_json(path.with_suffix(".json"), {"step": step, "sha256": digest})
    for old in list_checkpoints(folder)[:-keep]:
        old.unlink(missing_ok=True)
        old.with_suffix(".json").unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """Load one checkpoint, verifying its sidecar sum when present.

    Raises:
        CheckpointError: sum mismatch or unreadable file (names the file).
    """
    path = Path(path)
    side = path.with_suffix(".json")
    if side.is_file():
        try:
            expected = json.loads(side.read_text())["sha256"]
        except (ValueError, KeyError):
            expected = None
        if expected is not None and sha256_file(path) != expected:
            raise CheckpointError(f"checkpoint {path} does not match its sha256 (truncated or corrupt)")
    try:
        return safe_torch_load(path, map_location=map_location)
    except Exception as exc:  # zip/pickle errors differ across torch versions
        raise CheckpointError(f"checkpoint {path} cannot be read ({type(exc).__name__}: {exc})") from None


def latest_good(folder: str | Path, map_location: Any = "cpu") -> tuple[Path, dict[str, Any]] | None:
    """Newest checkpoint in ``folder`` that verifies and loads, or None if there is none."""
    for path in reversed(list_checkpoints(folder)):
        try:
            return path, load_checkpoint(path, map_location)
        except CheckpointError as exc:
            warnings.warn(f"{exc}; trying the previous checkpoint", stacklevel=2)
    return None
