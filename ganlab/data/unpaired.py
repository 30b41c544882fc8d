"""``UnpairedDataset``: two image domains without pairs (CycleGAN's A and B).

A CycleGAN step needs a batch of each domain, drawn independently. An :class:`UnpairedDataset`
holds the two domains as two :class:`~ganlab.data.Dataset` objects and keeps the trainer's
contract (``len``, ``epoch_order``, ``batch``, ``to``): an epoch is ``max(len(A), len(B))`` items,
and its order is an ``(N, 2)`` table of (A index, B index) from two independent permutations
seeded by ``(seed, epoch)`` — the smaller domain cycles through fresh permutations — so every
item of both domains is seen each epoch, the pairing changes every epoch, and the order is a pure
function of ``(seed, epoch)`` (resume stays exact).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .batch import Batch
from .dataset import Dataset, DatasetInfo
from .transforms import make_generator

__all__ = ["UnpairedDataset"]


@dataclass(eq=False)
class UnpairedDataset:
    """Domains ``a`` and ``b`` of one unpaired translation task.

    Attributes:
        info: the task's :class:`DatasetInfo` (name, channels, size of both domains).
        a, b: the two domains (uint8 images; labels where the domain has them).
        split: the split both domains come from.

    Raises:
        ValueError: the domains differ in channels or image size (a generator maps one onto the
            other, so their images must have the same shape), one is not an image set, or empty.
    """

    info: DatasetInfo
    a: Dataset
    b: Dataset
    split: str = "train"

    def __post_init__(self) -> None:
        for side, ds in (("A", self.a), ("B", self.b)):
            if ds.images is None:
                raise ValueError(f"domain {side} ({ds.info.name!r}) holds points; an unpaired set needs two image domains")
            if len(ds) == 0:
                raise ValueError(f"domain {side} ({ds.info.name!r}) is empty; accepted: at least one image per domain")
        if self.a.shape != self.b.shape:
            raise ValueError(
                f"the two domains must have images of one shape (C, H, W); given A {self.a.info.name!r} "
                f"{self.a.shape} and B {self.b.info.name!r} {self.b.shape}; accepted: load both at the same "
                "image_size and channels")

    # ------------------------------------------------------------------ the trainer's contract
    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    @property
    def shape(self) -> tuple[int, ...]:
        """``(C, H, W)`` of one image of either domain."""
        return self.a.shape

    @property
    def device(self) -> torch.device:
        return self.a.device

    @property
    def images(self) -> torch.Tensor:
        """Domain A's uint8 images (what a data tour shows first)."""
        return self.a.images  # type: ignore[return-value]

    def to(self, device: str | torch.device) -> UnpairedDataset:
        """Move both domains to ``device``; returns ``self``."""
        self.a.to(device)
        self.b.to(device)
        return self

    def _cycled(self, n_items: int, epoch: int, seed: int, salt: int) -> torch.Tensor:
        """``len(self)`` indices into a domain of ``n_items``: fresh permutations back to back."""
        parts, k = [], 0
        while sum(p.numel() for p in parts) < len(self):
            parts.append(torch.randperm(n_items, generator=make_generator(seed, epoch, salt, k)))
            k += 1
        return torch.cat(parts)[: len(self)]

    def epoch_order(self, epoch: int = 0, seed: int = 0) -> torch.Tensor:
        """int64 ``(N, 2)`` (A index, B index) rows for ``epoch``; N = ``len(self)``, on the CPU."""
        return torch.stack([self._cycled(len(self.a), epoch, seed, 1),
                            self._cycled(len(self.b), epoch, seed, 2)], dim=1)

    def batch(self, idx: torch.Tensor, device: str | torch.device | None = None) -> Batch:
        """Rows of :meth:`epoch_order` as a :class:`Batch`: ``real`` = domain A images,
        ``labels`` = A's labels, ``other`` = domain B images (all float32 in [-1, 1]).

        Raises:
            ValueError: ``idx`` is not an ``(B, 2)`` index table.
        """
        idx = torch.as_tensor(idx, dtype=torch.int64)
        if idx.dim() != 2 or idx.shape[1] != 2:
            raise ValueError(f"an unpaired batch is indexed by (A index, B index) rows, shape (B, 2); given {tuple(idx.shape)}")
        x, y = self.a.get(idx[:, 0], device=device)
        other, _ = self.b.get(idx[:, 1], device=device)
        return Batch(real=x, labels=y, other=other)

    def fixed_conditions(self, n: int) -> dict[str, torch.Tensor]:
        """``{"source": the first n images of domain A}`` (the trainer's fixed snapshot)."""
        return {"source": self.a.images_float(n)}

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        c, h, w = self.shape
        return (f"UnpairedDataset({self.info.name!r}, split={self.split!r}): {c}x{h}x{w} uint8\n"
                f"  A: {len(self.a):,} images of {self.a.info.name!r} ({self.a.info.source})\n"
                f"  B: {len(self.b):,} images of {self.b.info.name!r} ({self.b.info.source})\n"
                f"  licence: {self.info.licence}")

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly description (for run records)."""
        return {"name": self.info.name, "split": self.split, "kind": "unpaired",
                "n": len(self), "n_a": len(self.a), "n_b": len(self.b), "shape": list(self.shape),
                "a": self.a.info.name, "b": self.b.info.name, "source": self.info.source}
