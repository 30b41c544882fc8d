"""The one training loop, data-parallel over processes (``torchrun`` + ``DistributedDataParallel``).

:class:`DistributedTrainer` is a :class:`~ganlab.train.Trainer` for one rank of a process group
that is already initialised (``torchrun`` sets the environment; :func:`init_from_env` calls
``torch.distributed.init_process_group`` with gloo on the CPU, nccl on CUDA). It is built so that
``W`` processes follow the single-process run's trajectory (up to float reassociation in the
gradient all-reduce), not merely "a run with the same hyper-parameters":

* **Data.** Every rank computes the same global epoch order (``dataset.epoch_order(epoch, seed)``)
  and takes rows ``[r * b, (r + 1) * b)`` of each global batch of ``B = config.batch_size`` rows,
  ``b = B / W``: the union over the ranks is exactly the single-process batch.
* **Step randomness** (latent codes, WGAN-GP's interpolation weights) comes from a
  :class:`ganlab.rng.ShardGenerator`: the single run's generator, on every rank, drawing the
  global ``(B, ...)`` tensor and keeping this rank's ``b`` rows. Only families that draw *all*
  their step randomness through :mod:`ganlab.rng` can do this (``Family.copies_reason``).
* **Gradients.** Each network is wrapped in ``torch.nn.parallel.DistributedDataParallel``. Every
  family's loss is a mean over rows (or a sum of such means), so the mean over ranks of the
  per-rank gradients, which is what DDP's all-reduce computes, is the global batch's gradient.
* **Phases.** Inside a phase (:meth:`Trainer._phase_context`), the family's attribute of every
  network the phase does *not* freeze is swapped for its DDP wrapper, and a frozen network stays
  the bare module: it takes no part in the phase's reduction (its parameters have
  ``requires_grad=False`` and no DDP forward prepared a backward for it). Outside phases the
  attributes are the bare modules again, so ``state_dict`` keys, EMA, sampling and checkpoints are
  exactly the single-process ones. A generator called in D's last update (its fakes are reused,
  with their graph, by G's first update) is called through its wrapper; D's backward does not
  reach it (the fakes are detached), and G's backward in the next phase reduces its gradients.
* **Repeated forwards.** D is called several times before one backward (on the reals, on the
  fakes, and on the interpolates of the gradient penalty, whose ``autograd.grad(...,
  create_graph=True)`` is a backward to the *input* only). That works with the default DDP
  (``static_graph=False``, ``find_unused_parameters=False``): the reducer's hooks sit on the
  parameters' gradient accumulators, which run once per ``backward()`` with the sum over all
  forwards (and over the penalty's double-backward path); ``autograd.grad`` with respect to the
  input does not run them. Every parameter of a trained network gets a gradient in every update,
  so no unused-parameter search is needed. (Measured: :mod:`ganlab.train.ddp_check`.)
* **Buffers.** ``forward_sync_buffers=False`` (this torch's name for the deprecated
  ``broadcast_buffers=False``; buffers are still broadcast once, from rank 0, when the wrapper is
  built): buffers are updated identically on every rank by construction (spectral norm's power iteration does not see the data); batch norm, whose running
  statistics do see the data, is refused on the CPU (below) and converted to ``SyncBatchNorm`` on
  CUDA.
* **Batch norm.** Per-rank batch norm normalises each rank's ``b`` rows, not the global ``B``:
  a different model. ``torch.nn.SyncBatchNorm`` (global statistics across ranks, equal to one
  process's over ``B`` rows) exists in this torch only for GPU / XPU tensors — it raises
  ``ValueError`` on CPU tensors — so on the CPU a network with batch norm raises a ``ValueError``
  naming it (:func:`distributed_reason`), and on CUDA every ``BatchNorm*d`` becomes
  ``SyncBatchNorm`` (``convert_sync_batchnorm``; not measured here: no GPU was available).
* **Checkpoints, records, snapshots.** Only rank 0 writes (``_save``), then all ranks meet at a
  barrier; the format is the single-process one (bare modules, the single run's latent
  generator state, global batch size in the run identity), so a checkpoint of a distributed run
  resumes in one process and vice versa. Resume loads on every rank with ``map_location`` =
  that rank's device.
* **Tracked means.** A buffer a network updates from its batch by the same affine rule on every
  rank (StyleGAN-lite's ``w_avg``, declared in ``rank_averaged_buffers``) is averaged over the
  ranks after every iteration, before the EMA update: the single run's update of the global batch.
* **Logged losses** are averaged over the ranks at every log point (one all-reduce per log
  interval, with the NaN flag's maximum), so the history holds the global batch's means.
* **Evaluation** runs on rank 0 only, with the single run's evaluator: the same N samples from
  the same sampler seed and the same reference split, so the numbers are the single run's.

What cannot be exact raises ``ValueError`` (:func:`distributed_reason`): a family that draws from
torch's global generator (instance noise, augmentation, random label ranges, or any family not
marked ``batches_copies``: ``Family.shards_reason``), CycleGAN's pool of fakes (``pool_size=0``
trains exactly: the multi-network case, four DDP wrappers, generators called several times
before one backward), dropout, instance norm tracking running statistics, batch norm on the CPU, a packed discriminator whose pack
does not divide the per-rank batch, or a batch size not divisible by the world size.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from ganlab.models.base import Family, Phase
from ganlab.rng import ShardGenerator
from ganlab.train.config import TrainConfig
from ganlab.train.loop import Trainer

__all__ = ["DistributedTrainer", "distributed_reason", "init_from_env", "rank_device"]

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


def init_from_env(backend: str | None = None) -> tuple[int, int]:
    """Initialise the default process group from ``torchrun``'s environment (``RANK``,
    ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``, ``LOCAL_RANK``) unless it already is.

    Args:
        backend: ``None`` = ``"nccl"`` when CUDA is available, else ``"gloo"`` (the CPU).
    Returns:
        ``(rank, world_size)``.
    """
    if not dist.is_initialized():
        if backend is None:
            backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        dist.init_process_group(backend)
    return dist.get_rank(), dist.get_world_size()


def rank_device() -> torch.device:
    """This rank's device: ``cuda:<LOCAL_RANK>`` under nccl, else the CPU."""
    if dist.is_initialized() and dist.get_backend() == "nccl":
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def distributed_reason(model: Family, batch_size: int, world_size: int,
                       device: torch.device | str = "cpu") -> str | None:
    """``None`` when ``model`` trains data-parallel over ``world_size`` processes exactly as in
    one process with global batch ``batch_size`` on ``device``; else why not."""
    if world_size < 1:
        return f"world_size must be >= 1, got {world_size}"
    if batch_size % world_size:
        return f"batch_size {batch_size} cannot be split evenly over {world_size} processes"
    local = batch_size // world_size
    reason = model.shards_reason()
    if reason:
        return f"{reason} (each rank would draw other random numbers than the single-process run)"
    on_cuda = torch.device(device).type == "cuda"
    for name, net in model.networks().items():
        for sub in net.modules():
            if isinstance(sub, nn.Dropout) and sub.p > 0:
                return (f"{name}: Dropout(p={sub.p}) draws its masks from torch's global generator "
                        "(each rank would draw its own)")
            if isinstance(sub, nn.modules.instancenorm._InstanceNorm) and sub.track_running_stats:
                return (f"{name}: {type(sub).__name__}(track_running_stats=True) averages its statistics "
                        "over each rank's rows")
            if isinstance(sub, _BATCH_NORMS) and not on_cuda:
                return (f"{name}: {type(sub).__name__} normalises each rank's rows, not the global "
                        "batch, and torch's SyncBatchNorm runs only on GPU tensors; use norm='none' "
                        "(or layer / instance norm) on the CPU, or train on CUDA")
        pack = getattr(net, "pack", 1)
        if isinstance(pack, int) and pack > 1 and local % pack:
            return f"{name}: pack {pack} does not divide the per-rank batch {local}"
    return None


class _DDP(DistributedDataParallel):
    """``DistributedDataParallel`` that also answers the wrapped network's attributes (``nz``,
    ``pack``...), so family code written for the bare network runs unchanged."""

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.module, name)


class DistributedTrainer(Trainer):
    """One rank of a data-parallel run that follows the single-process run (see the module).

    Args:
        model, dataset, evaluator, callbacks, restore: as for :class:`Trainer` (the same on every rank).
        config: the run's :class:`TrainConfig`; ``batch_size`` is the *global* batch (each rank
            computes ``batch_size / world_size`` rows), ``device`` is ignored (this rank's device:
            :func:`rank_device`). ``checkpoint_dir`` is shared by the ranks; rank 0 writes.

    Raises:
        ValueError: the model cannot train data-parallel exactly (:func:`distributed_reason`), or
            no process group is initialised.
    """

    def __init__(self, model: Family, dataset: Any, config: TrainConfig | None = None,
                 evaluator: Any | None = None,
                 callbacks: list[Callable[[Trainer, int], None]] | None = None,
                 restore: dict[str, Any] | None = None) -> None:
        config = config or TrainConfig()
        if not dist.is_initialized():
            raise ValueError("DistributedTrainer needs an initialised process group: launch with "
                             "torchrun and call ganlab.train.distributed.init_from_env() first")
        self.rank, self.world_size = dist.get_rank(), dist.get_world_size()
        device = rank_device()
        reason = distributed_reason(model, config.batch_size, self.world_size, device)
        if reason:
            raise ValueError(f"{model.family} cannot train data-parallel exactly: {reason}")
        config = dataclasses.replace(config, device=str(device))
        super().__init__(model, dataset, config, evaluator=evaluator, callbacks=callbacks, restore=restore)
        self.local_batch = config.batch_size // self.world_size
        self._wrapped: dict[str, _DDP] = {}

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0 (the one that writes checkpoints, records and samples)."""
        return self.rank == 0

    # ----- what differs from one process ---------------------------------------------------
    @property
    def step_batch_size(self) -> int:
        return self.local_batch

    def _shard(self, idx: Tensor) -> Tensor:
        b, r = self.local_batch, self.rank
        return idx[r * b:(r + 1) * b]

    def _make_latent_generator(self) -> ShardGenerator:
        return ShardGenerator(self.config.seed, self.rank, self.world_size, self.device)

    def _prepare(self) -> None:
        if self.device.type == "cuda":
            nets = self.model.networks()
            for name, net in nets.items():
                setattr(self.model, name, nn.SyncBatchNorm.convert_sync_batchnorm(net))
        super()._prepare()  # resume (map_location = this rank's device) happens here
        self._averaged = [getattr(module, name) for net in self.model.networks().values()
                          for module in net.modules() for name in getattr(module, "rank_averaged_buffers", ())]
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        # DDP broadcasts rank 0's parameters and buffers once here (they are equal already)
        self._wrapped = {name: _DDP(net, device_ids=device_ids, forward_sync_buffers=False)
                         for name, net in self.model.networks().items()
                         if any(p.requires_grad for p in net.parameters())}

    @contextlib.contextmanager
    def _phase_context(self, phase: Phase) -> Iterator[None]:
        bare = self.model.networks()
        try:
            for name, wrapper in self._wrapped.items():
                if name not in phase.freeze:
                    setattr(self.model, name, wrapper)
            yield
        finally:
            for name, net in bare.items():
                setattr(self.model, name, net)

    def _after_phases(self) -> None:
        # buffers a network tracks from its batches by an affine update with the same coefficients
        # on every rank (StyleGAN-lite's w_avg: beta * w_avg + (1 - beta) * mean(w)): the mean over
        # the ranks of their per-rank updates is the single run's update of the global batch
        for buf in self._averaged:
            dist.all_reduce(buf, op=dist.ReduceOp.SUM)
            buf.div_(self.world_size)

    def _flush(self, bad: Tensor, pbar: Any) -> None:
        # the global batch's means: average every logged sum over the ranks (same keys, same order)
        for key in sorted(self._acc):
            total = self._acc[key].clone()  # (a first value may share a loss's storage)
            dist.all_reduce(total, op=dist.ReduceOp.SUM)
            self._acc[key] = total / self.world_size
        dist.all_reduce(bad, op=dist.ReduceOp.MAX)  # a NaN on any rank stops every rank
        super()._flush(bad, pbar)

    def _save(self) -> Any:
        path = super()._save() if self.is_main else None
        dist.barrier()  # the checkpoint is complete before any rank could read it
        return path

    def evaluate(self) -> dict[str, float]:
        """Rank 0 runs the evaluator (the single run's N, sampler seed and reference split); the
        other ranks return ``{}`` and record nothing."""
        return super().evaluate() if self.is_main else {}
