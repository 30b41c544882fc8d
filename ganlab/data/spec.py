"""Record types of the registry: what a data set is (:class:`Entry`), what was asked for
(:class:`Request`) and what a builder hands back (:class:`Parts`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

__all__ = ["Entry", "Request", "Parts", "MIN_SIZE", "MAX_SIZE"]

MIN_SIZE, MAX_SIZE = 4, 1024  # accepted image_size range for sets that resize freely


@dataclass(frozen=True)
class Request:
    """A validated ``load`` call as a builder sees it.

    ``image_size`` / ``channels`` are already resolved (``None`` only where the native value is
    unknown before reading, i.e. ``image_folder``). ``root`` is the data root (for
    ``image_folder``: the image folder) and ``cache_dir`` where tensor caches go.
    """

    name: str
    split: str
    image_size: int | None
    channels: int | None
    limit: int | None
    root: Path
    cache_dir: Path
    download: bool
    seed: int


@dataclass
class Parts:
    """What a builder returns: the tensors of one split plus info fields that depend on the data.

    ``images`` uint8 ``(N, C, H, W)`` or ``points`` float32 ``(N, 2)``; ``labels`` int64 ``(N,)``;
    ``info`` overrides :class:`~ganlab.data.dataset.DatasetInfo` fields (e.g. ``classes``, ``source``).
    ``limited`` is True when the builder already produced exactly ``limit`` items (generated sets).
    A paired set also gives ``sources`` uint8 ``(N, C', H', W')`` (the input of each image, already
    at the size that matches ``image_size``); an unpaired set gives domain A here and domain B as
    ``other`` (its ``info`` may set ``name`` and ``source``).
    """

    images: torch.Tensor | None = None
    points: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    factors: dict[str, torch.Tensor] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    limited: bool = False
    sources: torch.Tensor | None = None
    other: Parts | None = None


@dataclass(frozen=True)
class Entry:
    """One registered data set.

    Attributes:
        name: registry name.
        kind: ``"image"``, ``"points"``, ``"paired"`` (images with a source each: pix2pix,
            super-resolution) or ``"unpaired"`` (two image domains: CycleGAN).
        offline: True when it never needs the network.
        splits: accepted ``split`` values.
        n: nominal number of items per split, or a sentence when it is not fixed.
        channels: native channel count (``None``: points, or decided by the files).
        size: native image size (``None``: points, or decided by the files).
        sizes: accepted ``image_size`` values; ``None`` means any in ``MIN_SIZE..MAX_SIZE``.
        classes: label names, ``None`` when unlabelled (or decided by the files).
        source, licence, notes: shown in :func:`~ganlab.data.describe` and ``DatasetInfo``.
        build: ``build(request) -> Parts``.
    """

    name: str
    kind: str
    offline: bool
    splits: tuple[str, ...]
    n: dict[str, int] | str
    channels: int | None
    size: int | None
    sizes: tuple[int, ...] | None
    classes: tuple[str, ...] | None
    source: str
    licence: str
    notes: str
    build: Callable[[Request], Parts] = field(repr=False)
    shape_text: str = ""  # how the item shape reads in the registry table when not CxHxW
