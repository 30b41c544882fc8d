"""Several seeds of one small model trained as one batched model.

A GAN result from one seed is an anecdote; ten seeds of a tiny 2-D GAN cost ten times the
per-step overhead of PyTorch when trained one after another. :class:`SeedBatchTrainer` trains K
copies (one per seed, each built and initialised exactly as its own run would be) as one model:
the networks become batched networks (:mod:`ganlab.nets.batched`), the copies are stacked along
the batch (rows ``[k * B, (k + 1) * B)`` are copy k's), and

* each copy reads its own data order (``dataset.epoch_order(epoch, seed_k)``), draws its own
  latent codes and other step randomness from its own generator (:class:`ganlab.rng.CopyGenerators`);
* the family's losses are means over all K * B rows, so the trainer back-propagates K times the
  loss: each copy's parameters get exactly the gradient of its own loss;
* Adam, RMSprop, SGD, weight clipping and the generator EMA act elementwise, so each copy's update
  is the one its separate run makes.

Each copy therefore follows its separate run's trajectory up to floating-point reassociation in
the batched matrix products (tested). Evaluation, snapshots and records are per copy
(:meth:`SeedBatchTrainer.copy_model`, :meth:`SeedBatchTrainer.copy_history`); the logged losses are
means over the copies. Checkpoints hold the whole batch (and every copy's generator state), so a
batch resumes exactly like a single run.

What cannot batch (conv nets, spectral norm, dropout, families or settings that draw from torch's
global generator) raises :class:`~ganlab.nets.batched.NotBatchable` from :func:`batch_reason`;
:func:`ganlab.course.experiment.train_seeds` then trains the seeds one after another.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import torch

from ganlab.models import build
from ganlab.models.base import Family
from ganlab.nets.batched import NotBatchable, batchable_reason, stack_networks
from ganlab.rng import CopyGenerators
from ganlab.train.config import History, TrainConfig
from ganlab.train.loop import Trainer

__all__ = ["SeedBatchTrainer", "CopyData", "batch_reason", "stack_family", "unstack_family"]


def batch_reason(models: Sequence[Family]) -> str | None:
    """``None`` when these copies (one per seed) can train as one batched model, else why not."""
    if len(models) < 1:
        return "no models"
    first = models[0]
    if any(type(m) is not type(first) for m in models):
        return "the copies are of different families"
    if any(m.recipe.as_dict() != first.recipe.as_dict() for m in models):
        return "the copies' recipes differ"
    reason = first.copies_reason()
    if reason:
        return reason
    if set(first.networks()) != {"G", "D"}:
        return f"family {first.family!r} has networks {sorted(first.networks())}; batching takes G and D"
    for name, net in first.networks().items():
        reason = batchable_reason(net)
        if reason:
            return f"{name}: {reason}"
    return None


def _recipe_overrides(model: Family) -> dict[str, Any]:
    return model.recipe.as_dict()


def stack_family(models: Sequence[Family]) -> Family:
    """One family instance whose G and D are the batched copies of ``models``' networks.

    Raises:
        NotBatchable: see :func:`batch_reason`.
    """
    reason = batch_reason(models)
    if reason:
        raise NotBatchable(reason)
    G = stack_networks([m.G for m in models])
    D = stack_networks([m.D for m in models])
    batched = build(models[0].family, G, D, **_recipe_overrides(models[0]))
    batched.copies = len(models)
    return batched


def unstack_family(batched: Family, k: int) -> Family:
    """Copy ``k`` of a batched family as an ordinary model of its family (with its EMA generator
    when the batch keeps one), on the batch's device, in eval mode."""
    model = build(batched.family, batched.G.unstack(k), batched.D.unstack(k), **_recipe_overrides(batched))
    ema = batched.ema()
    if ema is not None:
        model.G_ema = ema.unstack(k).requires_grad_(False).eval()
    return model.eval()


class CopyData:
    """A dataset seen by K copies at once: epoch ``e``'s order is, batch by batch, copy 0's next
    ``B`` indices (its own ``epoch_order(e, seed_0)``), then copy 1's, ... Everything else is the
    wrapped dataset's."""

    def __init__(self, dataset: Any, seeds: Sequence[int], batch_size: int) -> None:
        self.dataset, self.seeds, self.batch_size = dataset, list(seeds), int(batch_size)
        if len(dataset) < self.batch_size:
            raise ValueError(f"batch_size {batch_size} is larger than the dataset ({len(dataset)} samples); "
                             f"use batch_size <= {len(dataset)}")

    def __len__(self) -> int:
        return len(self.dataset) * len(self.seeds)

    def epoch_order(self, epoch: int, seed: int = 0) -> torch.Tensor:
        b, n_batches = self.batch_size, len(self.dataset) // self.batch_size
        orders = [self.dataset.epoch_order(epoch, s)[: n_batches * b].reshape(n_batches, b) for s in self.seeds]
        return torch.stack(orders, dim=1).reshape(-1)  # (batch, copy, row) -> flat

    def __getattr__(self, name: str) -> Any:
        if name == "dataset":  # not set yet (copy / pickle): no recursion
            raise AttributeError(name)
        return getattr(self.dataset, name)


class SeedBatchTrainer(Trainer):
    """Train copies of one model, one per seed, as one batched model.

    Args:
        models: one freshly built model per seed (``make_model(seed)``), all of one family,
            recipe and architecture; each is initialised as its separate run would be.
        dataset: the data set every copy trains on.
        config: the run's :class:`TrainConfig`; ``batch_size`` is per copy, ``seed`` is ignored
            (each copy has its own).
        seeds: one per model, in order.
        evaluator, callbacks, restore: as for :class:`Trainer`; the evaluator evaluates every copy (with
            its seed's sampler, as its separate run would); callbacks get this trainer.

    Raises:
        NotBatchable: the models cannot be batched (:func:`batch_reason`).
        ValueError: as many seeds as models, distinct, are needed.
    """

    def __init__(self, models: Sequence[Family], dataset: Any, config: TrainConfig,
                 seeds: Sequence[int], evaluator: Any | None = None,
                 callbacks: list[Callable[[Trainer, int], None]] | None = None,
                 restore: dict[str, Any] | None = None) -> None:
        seeds = [int(s) for s in seeds]
        if len(seeds) != len(models) or len(set(seeds)) != len(seeds) or not seeds:
            raise ValueError(f"one distinct seed per model is needed; got {len(models)} models and seeds {seeds}")
        self.seeds = seeds
        self.copies = len(seeds)
        self.per_copy_batch = config.batch_size
        model = stack_family(models)
        batched_cfg = dataclasses.replace(config, batch_size=config.batch_size * self.copies, seed=seeds[0])
        super().__init__(model, CopyData(dataset, seeds, config.batch_size), batched_cfg,
                         evaluator=evaluator, callbacks=callbacks, restore=restore)
        self.copy_evals: list[dict[str, Any]] = []

    # ----- what differs from one run ------------------------------------------------------
    def _make_latent_generator(self) -> CopyGenerators:
        return CopyGenerators(self.seeds, self.device)

    def _backward_step(self, loss: torch.Tensor, opt: torch.optim.Optimizer) -> None:
        # the loss is a mean over K copies' rows: K x it gives each copy its own loss's gradient
        super()._backward_step(loss * self.copies, opt)

    def run_identity(self) -> dict[str, Any]:
        ident = super().run_identity()
        ident["config"]["batch_size"] = self.per_copy_batch
        ident["config"]["seed"] = list(self.seeds)
        return ident

    def copy_model(self, k: int) -> Family:
        """Copy ``k`` (seed ``seeds[k]``) as an ordinary model, on the run's device."""
        return unstack_family(self.model, k)

    def snapshot(self, k: int = 0) -> torch.Tensor:
        """Copy ``k``'s fixed-noise samples (copy 0's inputs are its separate run's)."""
        from ganlab.data.transforms import to_uint8

        model = self.copy_model(k)
        inputs = self.fixed_inputs if k == 0 else model.sample_inputs(
            self.config.n_samples, self.device, torch.Generator(device=self.device).manual_seed(self.seeds[k] + 7919))
        out = model.sample(inputs=inputs)
        return to_uint8(out) if out.dim() == 4 else out.cpu()

    def evaluate(self) -> dict[str, float]:
        """Evaluate every copy as its separate run would (sampler seed ``seed_k + 1``); the history
        entry holds them under ``"copies"`` (seed -> metrics)."""
        if self.evaluator is None:
            return {}
        per_copy = {}
        for k, seed in enumerate(self.seeds):
            per_copy[str(seed)] = dict(self.evaluator.evaluate(self.copy_model(k).sampler(seed=seed + 1)))
        entry = {"step": self.step, "wall_time": round(self.history.wall_time, 3), "copies": per_copy}
        self.history.evals.append(entry)
        return entry

    def copy_history(self, k: int) -> History:
        """Copy ``k``'s :class:`History`: the batch's steps, losses (means over the copies), tracks
        and wall time; its own evaluations; images seen per copy; its own final snapshot."""
        h = self.history
        evals = [{"step": e["step"], "wall_time": e["wall_time"], **e["copies"][str(self.seeds[k])]}
                 for e in h.evals if "copies" in e]
        samples = list(h.samples) if k == 0 else [(self.step, self.snapshot(k))]
        return History(steps=list(h.steps), losses={key: list(v) for key, v in h.losses.items()},
                       evals=evals, samples=samples, wall_time=h.wall_time,
                       images_seen=h.images_seen // self.copies, resumed_from=h.resumed_from,
                       tracks=copy.deepcopy(h.tracks))
