"""Shipped weights: a folder of ``.pt`` files and one ``manifest.json`` of their sha256 sums.

The one format and the one loader for every set of weights the course ships:
``ganlab/weights`` (the feature extractors of :mod:`ganlab.metrics`, ``make extractors``) and
``data/checkpoints`` (the generators of :mod:`ganlab.course.pretrained`, ``make checkpoints``).

Manifest (``FORMAT`` 2)::

    {"format": 2,
     "entries": {"<name>": {"file": "<name>.pt", "sha256": "<hex>", "bytes": 402273,
                            "command": "<what made it>", ...provenance (seed, data, accuracy...)}}}

Loading checks the sha256 before reading the file (``weights_only=True``), so a corrupted or
stale file is a clear error naming the command that rebuilds it, never a silent change of
every number computed with it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ganlab.io import ChecksumError, atomic_torch_save, atomic_write_json, load_verified

__all__ = ["MANIFEST", "FORMAT", "ShippedWeightsError", "read_manifest", "save_weights",
           "load_weights"]

MANIFEST = "manifest.json"
FORMAT = 2


class ShippedWeightsError(ValueError):
    """Shipped weights are missing, unlisted, or do not match their manifest."""


def read_manifest(folder: str | os.PathLike[str], *, fix: str = "",
                  error: type[ValueError] = ShippedWeightsError) -> dict[str, Any]:
    """``folder``'s manifest, ``{"format": 2, "entries": {name: entry}}`` (no entries if absent).

    Raises:
        ``error``: the manifest cannot be read or is in another format (naming ``fix``).
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return {"format": FORMAT, "entries": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"weights manifest {str(path)!r} cannot be read ({exc}); rebuild it with: {fix}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("entries"), dict):
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise error(f"weights manifest {str(path)!r} is not in format {FORMAT} (found {found!r}); "
                    f"rebuild it with: {fix}")
    return data


def save_weights(folder: str | os.PathLike[str], name: str, obj: Any,
                 facts: dict[str, Any]) -> dict[str, Any]:
    """Write ``folder/<name>.pt`` (``torch.save`` of ``obj``) and its manifest entry, atomically.

    The entry is ``{"file", "sha256", "bytes", **facts}`` (``facts`` should name the
    ``command`` that made the file). Other entries are kept; a manifest that cannot be read or
    is in an old format is replaced (its files are rebuilt when next asked for).

    Returns the entry.
    """
    out = Path(folder)
    path = out / f"{name}.pt"
    digest = atomic_torch_save(path, obj)
    try:
        manifest = read_manifest(out)
    except ShippedWeightsError:
        manifest = {"format": FORMAT, "entries": {}}
    entry = {"file": path.name, "sha256": digest, "bytes": path.stat().st_size, **facts}
    manifest["entries"][name] = entry
    atomic_write_json(out / MANIFEST, manifest)
    return entry


def load_weights(folder: str | os.PathLike[str], name: str, *, what: str = "weights",
                 fix: str = "", error: type[ValueError] = ShippedWeightsError) -> tuple[Any, dict[str, Any]]:
    """The object in ``name``'s file (loaded ``weights_only``, on the CPU) and its manifest entry.

    Args:
        what: what the weights are, for messages (``"extractor"``, ``"checkpoint"``).
        fix: the command that rebuilds them, named in every error.
        error: the exception class raised (a ``ValueError`` subclass).

    Raises:
        ``error``: no manifest entry, missing file, or sha256 mismatch.
    """
    folder = Path(folder)
    entry = read_manifest(folder, fix=fix, error=error)["entries"].get(name)
    if entry is None:
        raise error(f"no {what} {name!r} in {str(folder / MANIFEST)!r}; make it with: {fix}")
    path = folder / entry["file"]
    if not path.is_file():
        raise error(f"{what} file {str(path)!r} of {name!r} is missing; make it with: {fix}")
    try:
        return load_verified(path, entry["sha256"]), entry
    except ChecksumError as exc:
        raise error(f"{what} {name!r}: {exc} (the manifest's sha256 is {entry['sha256']}; corrupted, "
                    f"replaced or stale): rebuild it with: {fix}") from None
