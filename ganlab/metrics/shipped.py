"""Shipped classifier weights: ``ganlab/weights/*.pt`` plus ``manifest.json`` with sha256 sums.

The manifest records, per extractor: the file, its sha256, the architecture name, the training
command, seed, epochs, data and the measured test accuracy. Loading checks the sha256 before
reading the file (``weights_only=True``), so a corrupted or stale file is a clear
``ValueError``, never a silent change of every reported number.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from ganlab.io import safe_torch_load, sha256_file

__all__ = ["WEIGHTS_DIR", "MANIFEST", "read_manifest", "load_shipped_state"]

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
MANIFEST = "manifest.json"
RETRAIN = "make extractors  (= python -m ganlab.metrics.train_extractors --all --out ganlab/weights)"


def read_manifest(weights_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The manifest as a dict ``{"format": 1, "extractors": {name: entry}}`` (empty if absent)."""
    path = Path(weights_dir or WEIGHTS_DIR) / MANIFEST
    if not path.exists():
        return {"format": 1, "extractors": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"weights manifest {str(path)!r} cannot be read ({exc}); regenerate it with: {RETRAIN}") from None
    data.setdefault("extractors", {})
    return data


def load_shipped_state(
    name: str, weights_dir: str | os.PathLike[str] | None = None
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """State dict and manifest entry of shipped extractor ``name``, sha256-verified.

    Raises:
        ValueError: no manifest entry, missing file, or sha256 mismatch (with the fix).
    """
    folder = Path(weights_dir or WEIGHTS_DIR)
    entry = read_manifest(folder)["extractors"].get(name)
    if entry is None:
        raise ValueError(
            f"no weights for extractor {name!r} in {str(folder / MANIFEST)!r}; train them with: {RETRAIN}"
        )
    path = folder / entry["file"]
    if not path.exists():
        raise ValueError(f"weights file {str(path)!r} of extractor {name!r} is missing; train it with: {RETRAIN}")
    actual = sha256_file(path)
    if actual != entry["sha256"]:
        raise ValueError(
            f"weights file {str(path)!r} has sha256 {actual} but the manifest expects "
            f"{entry['sha256']}; the file is corrupted or stale: reinstall the package or run {RETRAIN}"
        )
    state = safe_torch_load(path)
    if not isinstance(state, dict):
        raise ValueError(f"weights file {str(path)!r} does not hold a state dict")
    return state, entry
