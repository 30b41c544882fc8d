"""``Batch``: what one training step gets from a data set.

Every data set hands the trainer a :class:`Batch`: the real images (or 2-D points) and, where the
data has them, their labels, a paired source image (pix2pix, super-resolution) or a batch of a
second domain (CycleGAN). A family reads the fields it needs; the trainer never looks inside.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch
from torch import Tensor

__all__ = ["Batch"]


@dataclass
class Batch:
    """One batch of real data.

    Attributes:
        real: float32 ``(B, C, H, W)`` images in [-1, 1] (the target side of a paired set), or
            raw float32 points ``(B, 2)``.
        labels: int64 ``(B,)`` class labels, or ``None`` when the set has none.
        source: float32 ``(B, C', H', W')`` in [-1, 1], the paired input of ``real`` (label map,
            low-resolution image), or ``None``.
        other: float32 ``(B', C', H', W')`` in [-1, 1], a batch of a second, unpaired domain, or
            ``None``.
    """

    real: Tensor
    labels: Tensor | None = None
    source: Tensor | None = None
    other: Tensor | None = None

    def __len__(self) -> int:
        return int(self.real.shape[0])

    def to(self, device: torch.device | str, channels_last: bool = False) -> Batch:
        """A copy on ``device``; image tensors in channels_last memory format when asked."""
        def move(t: Tensor | None) -> Tensor | None:
            if t is None:
                return None
            t = t.to(device, non_blocking=True)
            if channels_last and t.dim() == 4:
                t = t.contiguous(memory_format=torch.channels_last)
            return t

        return replace(self, **{f.name: move(getattr(self, f.name)) for f in fields(self)})
