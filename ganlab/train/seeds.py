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

__all__ = ["SeedBatchTrainer", "CopyData", "batch_reason", "data_reason", "stack_family", "unstack_family"]


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


def data_reason(datasets: Sequence[Any]) -> str | None:
    """``None`` when copies on these data sets can train as one batch (one object, or
    :class:`ganlab.data.Dataset` objects of one length, item shape and kind), else why not."""
    from ganlab.data import Dataset

    unique = list({id(d): d for d in datasets}.values())
    if len(unique) <= 1:
        return None
    if not all(isinstance(d, Dataset) for d in unique):
        return ("copies on different data sets need ganlab.data.Dataset objects; given "
                f"{sorted({type(d).__name__ for d in unique})}")
    described = [(d.info.name, len(d), tuple(d.shape), d.images is None, d.labels is None, d.sources is None)
                 for d in unique]
    if len({row[1:] for row in described}) != 1:
        return ("copies on different data sets need sets of one length, item shape and kind (labels, sources); "
                f"given (name, n, shape, points, no labels, no sources) {described}")
    return None


def _concat(datasets: Sequence[Any]) -> Any:
    """The items of ``datasets`` (:class:`ganlab.data.Dataset`, equal length and item shape) one
    after another as one data set: data set ``u``'s item ``i`` is item ``u * N + i``."""
    from ganlab.data import Dataset

    reason = data_reason(datasets)
    if reason:
        raise ValueError(reason)
    first = datasets[0]

    def cat(field: str) -> torch.Tensor | None:
        parts = [getattr(d, field) for d in datasets]
        return None if parts[0] is None else torch.cat([t.to(first.device) for t in parts])

    keys = set.intersection(*(set(d.factors) for d in datasets))
    info = dataclasses.replace(first.info, name="+".join(d.info.name for d in datasets))
    return Dataset(info=info, images=cat("images"), points=cat("points"), labels=cat("labels"),
                   factors={k: torch.cat([d.factors[k].to(first.device) for d in datasets]) for k in sorted(keys)},
                   sources=cat("sources"), split=first.split)


class CopyData:
    """The data seen by K copies at once: epoch ``e``'s order is, batch by batch, copy 0's next
    ``B`` indices (its own data set's ``epoch_order(e, seed_0)``), then copy 1's, ...

    Args:
        dataset: one data set for every copy, or one per copy (:class:`ganlab.data.Dataset` objects
            of one length, item shape and kind; the same object may serve several copies).
        seeds: the copies' seeds, in batch order.
        batch_size: rows per copy and step.

    Everything else (``info``, ``batch``, ``to``...) is the data set's; with several data sets, of
    their concatenation (data set ``u``'s item ``i`` is item ``u * N + i``), and :meth:`summary`
    lists them with each copy's.

    Raises:
        ValueError: a batch larger than the data set, as many data sets as copies are needed, or
            data sets that differ in length, item shape or kind.
    """

    def __init__(self, dataset: Any, seeds: Sequence[int], batch_size: int) -> None:
        self.seeds, self.batch_size = list(seeds), int(batch_size)
        per_copy = list(dataset) if isinstance(dataset, (list, tuple)) else [dataset] * len(self.seeds)
        if len(per_copy) != len(self.seeds):
            raise ValueError(f"one data set per copy is needed: {len(per_copy)} data sets for {len(self.seeds)} "
                             "copies; accepted: one data set for all, or a list as long as the seeds")
        unique: list[Any] = []
        for d in per_copy:
            if not any(d is u for u in unique):
                unique.append(d)
        self.datasets = unique
        self.copy_source = [next(u for u, d0 in enumerate(unique) if d0 is d) for d in per_copy]
        self.n = len(unique[0])
        self.dataset = unique[0] if len(unique) == 1 else _concat(unique)
        if self.n < self.batch_size:
            raise ValueError(f"batch_size {batch_size} is larger than the dataset ({self.n} samples); "
                             f"use batch_size <= {self.n}")

    def __len__(self) -> int:
        return self.n * len(self.seeds)

    def epoch_order(self, epoch: int, seed: int = 0) -> torch.Tensor:
        b, n_batches = self.batch_size, self.n // self.batch_size
        orders = [self.datasets[u].epoch_order(epoch, s)[: n_batches * b].reshape(n_batches, b) + u * self.n
                  for u, s in zip(self.copy_source, self.seeds)]
        return torch.stack(orders, dim=1).reshape(-1)  # (batch, copy, row) -> flat

    def summary(self) -> dict[str, Any]:
        """The data set's summary (for run identities); with several, each one's and each copy's."""
        if len(self.datasets) == 1:
            return self.dataset.summary()
        return {"datasets": [d.summary() for d in self.datasets], "copy_dataset": list(self.copy_source)}

    def __getattr__(self, name: str) -> Any:
        if name == "dataset":  # not set yet (copy / pickle): no recursion
            raise AttributeError(name)
        return getattr(self.dataset, name)


class SeedBatchTrainer(Trainer):
    """Train copies of one model, one per seed, as one batched model.

    The copies may also be several runs' seeds on different data sets of one shape (ring8 and
    grid25, say): give one data set, evaluator and run name per copy. Each copy still follows its
    separate run, and the batch is larger, which is what makes batching pay.

    Args:
        models: one freshly built model per seed (``make_model(seed)``), all of one family,
            recipe and architecture; each is initialised as its separate run would be.
        dataset: the data set every copy trains on, or one per copy (see :class:`CopyData`).
        config: the run's :class:`TrainConfig`; ``batch_size`` is per copy, ``seed`` is ignored
            (each copy has its own).
        seeds: one per model, in order.
        evaluator, callbacks, restore: as for :class:`Trainer`; the evaluator (or one per copy)
            evaluates every copy with its seed's sampler, as its separate run would; callbacks get
            this trainer.
        names: the run each copy belongs to (one per copy), when the batch holds several runs;
            a copy is then ``"<name>/<seed>"`` in the evaluations (else ``"<seed>"``).

    Raises:
        NotBatchable: the models cannot be batched (:func:`batch_reason`).
        ValueError: one seed per model, one name / evaluator / data set per copy when given, and
            distinct copies (seeds, or (name, seed) pairs) are needed.
    """

    def __init__(self, models: Sequence[Family], dataset: Any, config: TrainConfig,
                 seeds: Sequence[int], evaluator: Any | None = None,
                 callbacks: list[Callable[[Trainer, int], None]] | None = None,
                 restore: dict[str, Any] | None = None, names: Sequence[str] | None = None) -> None:
        seeds = [int(s) for s in seeds]
        self.names = None if names is None else [str(n) for n in names]
        if self.names is not None and len(self.names) != len(seeds):
            raise ValueError(f"one run name per copy is needed; got {len(self.names)} names for {len(seeds)} seeds")
        keys = [str(s) for s in seeds] if self.names is None else [f"{n}/{s}" for n, s in zip(self.names, seeds)]
        if len(seeds) != len(models) or len(set(keys)) != len(keys) or not seeds:
            raise ValueError(f"one distinct seed per model (per run, with names) is needed; got {len(models)} "
                             f"models and copies {keys}")
        per_copy_eval = list(evaluator) if isinstance(evaluator, (list, tuple)) else [evaluator] * len(seeds)
        if len(per_copy_eval) != len(seeds):
            raise ValueError(f"one evaluator per copy is needed; got {len(per_copy_eval)} for {len(seeds)} copies")
        self.copy_keys = keys
        self.copy_evaluators = per_copy_eval
        evaluator = next((e for e in per_copy_eval if e is not None), None)
        self.seeds = seeds
        self.copies = len(seeds)
        self.per_copy_batch = config.batch_size
        model = stack_family(models)
        batched_cfg = dataclasses.replace(config, batch_size=config.batch_size * self.copies, seed=seeds[0])
        super().__init__(model, CopyData(dataset, seeds, config.batch_size), batched_cfg,
                         evaluator=evaluator, callbacks=callbacks, restore=restore)

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
        if self.names is not None:
            ident["config"]["runs"] = list(self.names)
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
        """Evaluate every copy as its separate run would (sampler seed ``seed_k + 1``, its own
        evaluator); the history entry holds them under ``"copies"`` (copy key -> metrics, the key
        ``"<seed>"`` or ``"<name>/<seed>"``)."""
        if self.evaluator is None:
            return {}
        per_copy = {}
        for k, (seed, ev) in enumerate(zip(self.seeds, self.copy_evaluators)):
            if ev is not None:
                per_copy[self.copy_keys[k]] = dict(ev.evaluate(self.copy_model(k).sampler(seed=seed + 1)))
        entry = {"step": self.step, "wall_time": round(self.history.wall_time, 3), "copies": per_copy}
        self.history.evals.append(entry)
        return entry

    def copy_history(self, k: int) -> History:
        """Copy ``k``'s :class:`History`: the batch's steps, losses (means over the copies), tracks
        and wall time; its own evaluations; images seen per copy; its own final snapshot."""
        h = self.history
        evals = [{"step": e["step"], "wall_time": e["wall_time"], **e["copies"][self.copy_keys[k]]}
                 for e in h.evals if self.copy_keys[k] in e.get("copies", {})]
        samples = list(h.samples) if k == 0 else [(self.step, self.snapshot(k))]
        return History(steps=list(h.steps), losses={key: list(v) for key, v in h.losses.items()},
                       evals=evals, samples=samples, wall_time=h.wall_time,
                       images_seen=h.images_seen // self.copies, resumed_from=h.resumed_from,
                       tracks=copy.deepcopy(h.tracks))
