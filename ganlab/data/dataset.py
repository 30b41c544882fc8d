"""``Dataset`` and ``DatasetInfo``: resident tensors plus device-side batching.

A :class:`Dataset` holds the whole set as tensors (uint8 images or float32 points), so memory is
the uint8 size of the set and a batch is one index operation on the device where the tensors
live. The trainer's path has no ``DataLoader`` workers: shuffling is a CPU permutation from a
generator seeded by ``(seed, epoch)``, scaling to ``[-1, 1]`` happens on the device, and
:meth:`Dataset.batch` hands out a :class:`~ganlab.data.Batch` (images + labels where the set
has them). A :class:`Dataset` is also a ``torch.utils.data.Dataset`` (``len``, ``ds[i]``, an
optional per-item ``transform`` such as a torchvision v2 transform), for a ``DataLoader`` or any
code written for one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.utils.data

from .batch import Batch
from .transforms import make_generator, stratified_order, to_float

__all__ = ["DatasetInfo", "Dataset"]

Index = torch.Tensor | Sequence[int] | slice | int


@dataclass(frozen=True, eq=False)
class DatasetInfo:
    """What a data set is (the same for every split and every ``limit``).

    Attributes:
        name: registry name, e.g. ``"mnist5k"``.
        kind: ``"image"`` (uint8 ``(N, C, H, W)``) or ``"points"`` (float32 ``(N, 2)``).
        channels: C for images (1 or 3), ``None`` for points.
        size: H == W for images, ``None`` for points.
        n_classes: number of label values, ``None`` when the set has no labels.
        classes: label names (index = label), ``None`` when the set has no labels.
        source: where the data comes from (URL, package, or folder).
        licence: licence / terms of use of the data.
        mode_means: float32 ``(K, 2)`` mixture means for 2-D mixtures, else ``None``.
        mode_std: per-coordinate standard deviation of every mixture mode, else ``None``.
        factor_sizes: for sets with generative factors (``shapes``): factor name -> number of values.
        notes: one line on how splits / preprocessing are defined.
    """

    name: str
    kind: str
    channels: int | None
    size: int | None
    n_classes: int | None
    classes: tuple[str, ...] | None
    source: str
    licence: str
    mode_means: torch.Tensor | None = None
    mode_std: float | None = None
    factor_sizes: dict[str, int] | None = None
    notes: str = ""


@dataclass(eq=False)
class Dataset(torch.utils.data.Dataset):
    """A whole data split held as tensors, with deterministic device-side batching.

    Attributes:
        info: the :class:`DatasetInfo`.
        images: uint8 ``(N, C, H, W)`` with values 0..255, or ``None`` for point sets.
        points: float32 ``(N, 2)``, or ``None`` for image sets.
        labels: int64 ``(N,)`` or ``None`` when the set has no labels.
        factors: name -> int64 ``(N,)`` generative factors (``shapes``), else empty.
        sources: uint8 ``(N, C', H', W')``, the paired input of every image (a label map for
            pix2pix, the low-resolution image for super-resolution), or ``None``: a paired set
            hands it out as :attr:`Batch.source <ganlab.data.Batch>`; ``images`` are the targets.
        split: the split this is (``"train"``, ``"test"``, ...).
        transform: optional ``f(x) -> x`` applied by ``ds[i]`` only (e.g. a torchvision v2
            transform on a float ``(C, H, W)`` image in [-1, 1]); the trainer's batches skip it.
    """

    info: DatasetInfo
    images: torch.Tensor | None = None
    points: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    factors: dict[str, torch.Tensor] = field(default_factory=dict)
    sources: torch.Tensor | None = None
    split: str = "train"
    transform: Callable[[torch.Tensor], torch.Tensor] | None = None

    def __post_init__(self) -> None:
        if (self.images is None) == (self.points is None):
            raise ValueError("a Dataset holds exactly one of images (uint8 (N,C,H,W)) or points (float32 (N,2))")
        if self.images is not None and (self.images.dtype != torch.uint8 or self.images.dim() != 4):
            raise ValueError(
                f"images must be uint8 (N, C, H, W); given {self.images.dtype} {tuple(self.images.shape)}"
            )
        if self.points is not None and (self.points.dtype != torch.float32 or self.points.dim() != 2):
            raise ValueError(f"points must be float32 (N, D); given {self.points.dtype} {tuple(self.points.shape)}")
        n = len(self)
        if self.sources is not None:
            if self.images is None or self.sources.dtype != torch.uint8 or self.sources.dim() != 4:
                raise ValueError("sources pair images: they must be uint8 (N, C, H, W) beside uint8 images; "
                                 f"given {self.sources.dtype} {tuple(self.sources.shape)}")
            if self.sources.shape[0] != n:
                raise ValueError(f"a paired set needs one source per image: {self.sources.shape[0]} sources "
                                 f"for {n} images; accepted: the same number on both sides")
        for what, t in [("labels", self.labels), *[(f"factors[{k!r}]", v) for k, v in self.factors.items()]]:
            if t is not None and tuple(t.shape) != (n,):
                raise ValueError(f"{what} must have shape ({n},) to match the data; given {tuple(t.shape)}")

    # ------------------------------------------------------------------ basics
    @property
    def data(self) -> torch.Tensor:
        """The resident data tensor: ``images`` (uint8) or ``points`` (float32)."""
        return self.images if self.images is not None else self.points  # type: ignore[return-value]

    @property
    def device(self) -> torch.device:
        """Device where the resident tensors live."""
        return self.data.device

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one item: ``(C, H, W)`` for images, ``(2,)`` for points."""
        return tuple(self.data.shape[1:])

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def to(self, device: str | torch.device) -> Dataset:
        """Move the resident tensors (data, labels, factors) to ``device`` once; returns ``self``."""
        device = torch.device(device)
        if self.images is not None:
            self.images = self.images.to(device)
        if self.points is not None:
            self.points = self.points.to(device)
        if self.labels is not None:
            self.labels = self.labels.to(device)
        if self.sources is not None:
            self.sources = self.sources.to(device)
        self.factors = {k: v.to(device) for k, v in self.factors.items()}
        return self

    def subset(self, index: torch.Tensor) -> Dataset:
        """A new :class:`Dataset` with the items ``index`` (int64 ``(M,)``), same info and split."""
        index = torch.as_tensor(index, dtype=torch.int64).to(self.device)
        return Dataset(
            info=self.info,
            images=None if self.images is None else self.images[index],
            points=None if self.points is None else self.points[index],
            labels=None if self.labels is None else self.labels[index],
            factors={k: v[index] for k, v in self.factors.items()},
            sources=None if self.sources is None else self.sources[index],
            split=self.split,
            transform=self.transform,
        )

    def fraction(self, share: float, seed: int = 0) -> Dataset:
        """The first ``round(share * len)`` items (at least 1) of a class-stratified shuffle seeded by
        ``seed`` — the same order ``load(..., limit=, seed=)`` uses — so every class keeps its share
        and, for one seed, a smaller fraction is a subset of a larger one (10 % inside 25 %).

        Raises:
            ValueError: ``share`` outside (0, 1].
        """
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
            raise ValueError(f"a data fraction must be in (0, 1] (e.g. 0.1 for 10 %), got {share!r}")
        n = max(1, round(share * len(self)))
        if n == len(self):
            return self
        order = stratified_order(len(self), None if self.labels is None else self.labels.cpu(),
                                 make_generator(seed, 7919))
        return self.subset(order[:n])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        """Item ``i`` as ``(x, y)`` for a ``DataLoader``.

        ``x`` is float32 ``(C, H, W)`` in [-1, 1] (or the raw point ``(2,)``), passed through
        :attr:`transform` when set; ``y`` the int label, or -1 when the set has no labels.

        Raises:
            IndexError: ``i`` outside ``[-len, len)``.
        """
        n = len(self)
        if isinstance(i, torch.Tensor):
            i = int(i)
        if not isinstance(i, int) or not -n <= i < n:
            raise IndexError(f"index {i!r} is out of range for {self.info.name!r} [{self.split}] with {n} items")
        x, y = self.get(i % n)
        if self.transform is not None:
            x = self.transform(x)
        return x, (-1 if y is None else int(y))

    # ------------------------------------------------------------------ batching
    def epoch_order(self, epoch: int = 0, seed: int = 0) -> torch.Tensor:
        """The order of items in ``epoch`` for ``seed``: int64 ``(N,)`` permutation of ``range(N)``, on the CPU.

        Deterministic: a ``torch.Generator`` seeded from ``(seed, epoch)``; different epochs and
        different seeds give different permutations.
        """
        return torch.randperm(len(self), generator=make_generator(seed, epoch))

    def get(self, idx: Index, device: str | torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Items ``idx`` as model input.

        Args:
            idx: int64 index tensor (any device), list of ints, slice or int.
            device: where to return them (default: where the data lives). Images are indexed
                where they live, moved as uint8, and scaled on the target device.

        Returns:
            ``(x, y)``: ``x`` float32 in ``[-1, 1]``, ``(B, C, H, W)`` for images or the raw
            float32 points ``(B, 2)``; ``y`` int64 ``(B,)`` labels or ``None``.
        """
        if isinstance(idx, torch.Tensor):
            idx = idx.to(self.device, torch.int64)
        elif not isinstance(idx, (int, slice)):
            idx = torch.as_tensor(idx, dtype=torch.int64, device=self.device)
        target = self.device if device is None else torch.device(device)
        raw = self.data[idx].to(target, non_blocking=True)
        if self.images is not None:
            x = to_float(raw)
        else:  # points: never hand out a view of the resident tensor (basic indexing makes views)
            x = raw.clone() if isinstance(idx, (int, slice)) and raw.device == self.device else raw
        y = None if self.labels is None else self.labels[idx].to(target, non_blocking=True)
        return x, y

    def batch(self, idx: Index, device: str | torch.device | None = None) -> Batch:
        """Items ``idx`` as a :class:`~ganlab.data.Batch` (``real`` and ``labels``, see :meth:`get`;
        ``source`` in [-1, 1] for a paired set)."""
        x, y = self.get(idx, device=device)
        return Batch(real=x, labels=y, source=self.get_sources(idx, device))

    def get_sources(self, idx: Index, device: str | torch.device | None = None) -> torch.Tensor | None:
        """The paired inputs of items ``idx``: float32 ``(B, C', H', W')`` in [-1, 1], or ``None``."""
        if self.sources is None:
            return None
        if isinstance(idx, torch.Tensor):
            idx = idx.to(self.device, torch.int64)
        elif not isinstance(idx, (int, slice)):
            idx = torch.as_tensor(idx, dtype=torch.int64, device=self.device)
        target = self.device if device is None else torch.device(device)
        return to_float(self.sources[idx].to(target, non_blocking=True))

    def fixed_conditions(self, n: int) -> dict[str, torch.Tensor]:
        """What a generator needs besides noise to draw the trainer's fixed snapshot of ``n``
        samples: ``{"source": the first n sources}`` for a paired set, else ``{}``."""
        if self.sources is None:
            return {}
        return {"source": self.get_sources(slice(0, min(int(n), len(self))))}  # type: ignore[dict-item]

    def n_batches(self, batch_size: int, drop_last: bool = True) -> int:
        """How many batches :meth:`batches` yields per epoch."""
        self._check_batch_size(batch_size, drop_last)
        return len(self) // batch_size if drop_last else -(-len(self) // batch_size)

    def batches(
        self,
        batch_size: int,
        device: str | torch.device | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = True,
        epoch: int = 0,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        """One epoch of ``(x, y)`` batches (see :meth:`get`), in :meth:`epoch_order` or in order.

        Raises:
            ValueError: ``batch_size`` < 1, or larger than the set while ``drop_last=True``
                (that epoch would be empty).
        """
        n_batches = self.n_batches(batch_size, drop_last)
        order = self.epoch_order(epoch, seed) if shuffle else torch.arange(len(self))
        order = order.to(self.device)

        def _gen() -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
            for b in range(n_batches):
                yield self.get(order[b * batch_size : (b + 1) * batch_size], device=device)

        return _gen()

    def images_float(self, n: int | None = None, device: str | torch.device | None = None) -> torch.Tensor:
        """The first ``n`` items (all if ``None``) as model input: float32 ``[-1, 1]`` images or raw points."""
        end = len(self) if n is None else min(int(n), len(self))
        return self.get(slice(0, end), device=device)[0]

    def _check_batch_size(self, batch_size: int, drop_last: bool) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r} is not accepted; accepted: a positive int")
        if drop_last and batch_size > len(self):
            raise ValueError(
                f"batch_size={batch_size} is larger than {self.info.name!r} [{self.split}] with "
                f"{len(self)} items, so drop_last=True would yield no batch; accepted: "
                f"batch_size <= {len(self)}, or drop_last=False"
            )

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        i = self.info
        n = len(self)
        if self.images is not None:
            c, h, w = self.shape
            what = f"{n:,} images {c}x{h}x{w} uint8"
        else:
            what = f"{n:,} points (N, {self.shape[0]}) float32"
        parts = [f"Dataset({i.name!r}, split={self.split!r}): {what} on {self.device}"]
        if i.n_classes is not None:
            names = ", ".join(i.classes or ())
            if len(names) > 60:
                names = names[:57] + "..."
            parts.append(f"  labels: {i.n_classes} classes ({names})")
        if self.sources is not None:
            c, h, w = self.sources.shape[1:]
            parts.append(f"  paired: each image has a source {c}x{h}x{w} uint8")
        if self.factors:
            parts.append("  factors: " + ", ".join(f"{k} ({(i.factor_sizes or {}).get(k, '?')})" for k in self.factors))
        if i.mode_means is not None:
            parts.append(f"  mixture: {i.mode_means.shape[0]} modes, std {i.mode_std}")
        parts.append(f"  source: {i.source}")
        parts.append(f"  licence: {i.licence}")
        return "\n".join(parts)

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly description (for run records)."""
        i = self.info
        return {
            "name": i.name,
            "split": self.split,
            "kind": i.kind,
            "n": len(self),
            "shape": list(self.shape),
            **({} if self.sources is None else {"source_shape": list(self.sources.shape[1:])}),
            "n_classes": i.n_classes,
            "source": i.source,
        }
