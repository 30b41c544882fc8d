"""The notebooks' run helpers under ``torchrun`` (:mod:`ganlab.train.cli`): train data-parallel
when that is exact, one rank writes, every rank ends with the same results.

In a notebook (no process group) everything here is the plain single-process path. Under
``torchrun`` every rank executes the notebook's code; :func:`fit` then trains each run

* data-parallel (:class:`ganlab.train.distributed.DistributedTrainer`) when the run can follow the
  single-process trajectory exactly (:func:`ganlab.train.distributed.distributed_reason`), and
  shares rank 0's evaluations with the other ranks afterwards (evaluation runs on rank 0 only,
  with the single run's N, sampler seed and reference split);
* otherwise in one process on rank 0 — a family that draws from torch's global generator, batch
  norm on the CPU, a batch of seeds trained as one model — while the other ranks wait, then load
  rank 0's finished checkpoint (so every rank holds the trained model for the cells after it).

Either way the checkpoint folder and record are the ones the notebook's cell writes in one process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch.distributed as dist

from ganlab.models.base import Family
from ganlab.train import TrainConfig, Trainer

__all__ = ["distributed", "is_main", "on_main", "fit"]

T = TypeVar("T")


def distributed() -> bool:
    """Whether this process is one rank of an initialised process group (``torchrun``)."""
    return dist.is_available() and dist.is_initialized()


def is_main() -> bool:
    """True in one process, and on rank 0 of a process group."""
    return not distributed() or dist.get_rank() == 0


def on_main(fn: Callable[[], T]) -> T:
    """``fn()`` computed on rank 0 only and given to every rank (its return value must pickle);
    simply ``fn()`` in one process. Every rank must call it (it is a collective)."""
    if not distributed():
        return fn()
    box = [fn() if dist.get_rank() == 0 else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]  # type: ignore[return-value]


def fit(model: Family | Sequence[Family], dataset: Any, config: TrainConfig, *, evaluator: Any = None,
        callbacks: Sequence[Callable[[Trainer, int], None]] = (), restore: dict[str, Any] | None = None,
        seeds: Sequence[int] | None = None, names: Sequence[str] | None = None) -> Trainer:
    """Build the run's trainer and train it (see the module for what happens under ``torchrun``).

    Args:
        model: the family; a list of families with ``seeds`` (one per seed) for a batch of seeds
            trained as one model (:class:`ganlab.train.seeds.SeedBatchTrainer`); then ``dataset``
            and ``evaluator`` may be one per copy, and ``names`` the run of each copy.
        config: the single-process run's config (``batch_size`` is the global batch).
        restore: a finished run to take instead of training (:meth:`Trainer.restore_finished`).

    Returns:
        The trainer after :meth:`~ganlab.train.Trainer.fit` (on every rank).
    """
    def build(kind: type[Trainer] | None = None) -> Trainer:
        if seeds is not None:
            from ganlab.train.seeds import SeedBatchTrainer

            return SeedBatchTrainer(list(model), dataset, config, seeds, evaluator=evaluator,  # type: ignore[arg-type]
                                    callbacks=list(callbacks), restore=restore, names=names)
        return (kind or Trainer)(model, dataset, config, evaluator=evaluator,  # type: ignore[arg-type]
                                 callbacks=list(callbacks), restore=restore)

    if not distributed():
        trainer = build()
        trainer.fit()
        return trainer
    from ganlab.train.distributed import DistributedTrainer, distributed_reason, rank_device

    world = dist.get_world_size()
    reason = ("a batch of seeds trains as one model in one process" if seeds is not None else
              distributed_reason(model, config.batch_size, world, rank_device()))  # type: ignore[arg-type]
    if reason is None:
        trainer = build(DistributedTrainer)
        trainer.fit()
        trainer.history.evals = on_main(lambda: trainer.history.evals)
        return trainer
    if dist.get_rank() == 0:
        print(f"{config.desc or 'run'}: trains in one process on rank 0 ({reason}); "
              f"the other {world - 1} rank(s) wait and then load its checkpoint")
        trainer = build()
        trainer.fit()
    dist.barrier()
    if dist.get_rank() != 0:
        trainer = build()
        trainer.fit()  # rank 0's finished checkpoint: nothing to train
    return trainer
