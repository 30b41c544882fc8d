"""Random draws that also work for several seeds trained as one batched model.

A run draws its latent codes (and the other randomness of a training step that must be
reproducible, e.g. WGAN-GP's interpolation weights) from one ``torch.Generator``. A batch of K
seeds trained together (:mod:`ganlab.train.seeds`) stacks K runs along the batch dimension: rows
``[k * n / K, (k + 1) * n / K)`` belong to copy k. :class:`CopyGenerators` holds one generator per
copy, and :func:`randn` / :func:`rand` draw each copy's rows from its own generator, in the same
order as that copy's separate run would, so a batched copy follows its separate run's trajectory.

A data-parallel run (:mod:`ganlab.train.distributed`) splits the other way: one run's global
batch of ``B`` rows over ``W`` processes, ``B / W`` rows each. :class:`ShardGenerator` holds the
one generator of the single-process run (same seed, same state on every rank); :func:`randn` /
:func:`rand` draw the *global* ``(n * W, ...)`` tensor from it and return this rank's rows
``[rank * n, (rank + 1) * n)``, so the union over the ranks is exactly what the single-process
run draws, and every rank's generator stays in the single run's state (checkpoints compatible).

With an ordinary ``torch.Generator`` (or ``None``: torch's global generator) both are plain
``torch.randn`` / ``torch.rand``.

Randomness drawn *inside a network's forward* (StyleGAN-lite's noise inputs and style mixing,
pix2pix's dropout) cannot be handed a generator argument through every family's code; the trainer
instead makes the step's generator current around each phase (:func:`step_generator`), and those
layers draw from :func:`current` when one is set (torch's global generator otherwise, e.g. when a
notebook samples outside training).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Sequence

import torch

__all__ = ["CopyGenerators", "ShardGenerator", "GeneratorLike", "randn", "rand", "randint", "step_generator",
           "current"]


class CopyGenerators:
    """One ``torch.Generator`` per copy of a batch of seeds, seeded like each copy's separate run.

    Args:
        seeds: the copies' seeds, in batch order.
        device: where the generators live (the run's device).
    """

    def __init__(self, seeds: Sequence[int], device: torch.device | str = "cpu") -> None:
        seeds = [int(s) for s in seeds]
        if not seeds:
            raise ValueError("CopyGenerators needs at least one seed")
        self.seeds = seeds
        self.device = torch.device(device)
        self.generators = [torch.Generator(device=self.device).manual_seed(s) for s in seeds]

    def __len__(self) -> int:
        return len(self.generators)

    def get_state(self) -> torch.Tensor:
        """Every generator's state, stacked ``(K, state_size)`` uint8 (for checkpoints)."""
        return torch.stack([g.get_state() for g in self.generators])

    def set_state(self, state: torch.Tensor) -> None:
        """Restore :meth:`get_state` (K must match)."""
        if state.dim() != 2 or state.shape[0] != len(self):
            raise ValueError(f"state holds {state.shape[0] if state.dim() == 2 else '?'} generators; "
                             f"this batch has {len(self)}")
        for g, s in zip(self.generators, state):
            g.set_state(s.clone())


class ShardGenerator:
    """The single-process run's generator, seen by one rank of a data-parallel run.

    Every rank holds the same generator (seeded with the run's seed) and draws the global batch's
    rows from it; :func:`randn` / :func:`rand` keep rows ``[rank * n, (rank + 1) * n)`` of an
    ``(n * world_size, ...)`` draw. The wasted draws of the other ranks' rows are the price of
    exactness (latent codes are tiny next to a network's forward).

    Args:
        seed: the run's seed (as the single-process run's latent generator).
        rank, world_size: this process's rank and the number of processes.
        device: where the generator lives (this rank's device).
    """

    def __init__(self, seed: int, rank: int, world_size: int, device: torch.device | str = "cpu") -> None:
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in a world of {world_size} processes")
        self.rank, self.world_size = int(rank), int(world_size)
        self.device = torch.device(device)
        self.generator = torch.Generator(device=self.device).manual_seed(int(seed))

    def get_state(self) -> torch.Tensor:
        """The generator's state (uint8, as ``torch.Generator.get_state``: the single run's format)."""
        return self.generator.get_state()

    def set_state(self, state: torch.Tensor) -> None:
        """Restore :meth:`get_state` (also a single-process run's latent generator state)."""
        self.generator.set_state(state.clone())


GeneratorLike = torch.Generator | CopyGenerators | ShardGenerator | None


def _shard(fn, n: int, shape: tuple[int, ...], generator: ShardGenerator, device, dtype) -> torch.Tensor:
    full = fn((n * generator.world_size, *shape), generator=generator.generator, device=device, dtype=dtype)
    return full[generator.rank * n:(generator.rank + 1) * n]


def _per_copy(fn, n: int, shape: tuple[int, ...], generator: CopyGenerators, device, dtype) -> torch.Tensor:
    k = len(generator)
    if n % k:
        raise ValueError(f"{n} rows cannot be split evenly over {k} copies")
    return torch.cat([fn((n // k, *shape), generator=g, device=device, dtype=dtype) for g in generator.generators])


def _draw(fn, n: int, shape: tuple[int, ...], generator: GeneratorLike, device, dtype) -> torch.Tensor:
    if isinstance(generator, CopyGenerators):
        return _per_copy(fn, n, shape, generator, device, dtype)
    if isinstance(generator, ShardGenerator):
        return _shard(fn, n, shape, generator, device, dtype)
    return fn((n, *shape), generator=generator, device=device, dtype=dtype)


def randn(n: int, *shape: int, generator: GeneratorLike = None, device: torch.device | str | None = None,
          dtype: torch.dtype | None = None) -> torch.Tensor:
    """``(n, *shape)`` standard normal; with :class:`CopyGenerators`, ``n / K`` rows per copy; with
    :class:`ShardGenerator`, this rank's ``n`` rows of the global ``(n * world_size, *shape)`` draw."""
    return _draw(torch.randn, n, shape, generator, device, dtype)


def rand(n: int, *shape: int, generator: GeneratorLike = None, device: torch.device | str | None = None,
         dtype: torch.dtype | None = None) -> torch.Tensor:
    """``(n, *shape)`` uniform on [0, 1); with :class:`CopyGenerators`, ``n / K`` rows per copy; with
    :class:`ShardGenerator`, this rank's ``n`` rows of the global ``(n * world_size, *shape)`` draw."""
    return _draw(torch.rand, n, shape, generator, device, dtype)


def randint(high: int, n: int, *shape: int, generator: GeneratorLike = None,
            device: torch.device | str | None = None) -> torch.Tensor:
    """``(n, *shape)`` int64 uniform on ``[0, high)`` (e.g. a conditional GAN's fake labels); split
    over copies or ranks as :func:`randn`. With a plain generator: ``torch.randint`` exactly."""
    def draw(size: tuple[int, ...], *, generator: torch.Generator | None, device, dtype) -> torch.Tensor:
        return torch.randint(high, size, generator=generator, device=device)

    return _draw(draw, n, shape, generator, device, None)


_CURRENT: contextvars.ContextVar[GeneratorLike] = contextvars.ContextVar("ganlab_step_generator", default=None)


@contextlib.contextmanager
def step_generator(generator: GeneratorLike) -> Iterator[None]:
    """Make ``generator`` the one that layers drawing inside their forward use (:func:`current`)
    for the duration of the block (the trainer wraps every phase of a step in it)."""
    token = _CURRENT.set(generator)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def current() -> GeneratorLike:
    """The step's generator inside :func:`step_generator`, else ``None`` (torch's global one)."""
    return _CURRENT.get()
