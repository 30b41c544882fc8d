"""The one training loop for every GAN family.

Per iteration: the family's phases in order (by default ``d_steps`` discriminator updates, each on
a fresh real batch and fresh fakes, then ``g_steps`` generator updates), each phase training one
optimiser group on the loss the family computes from a :class:`~ganlab.data.Batch`. Losses stay on the device and are summed there; they are
read (one host sync) every ``log_every`` iterations, where the non-finite guard also looks.
Mixed precision: fp16 autocast + GradScaler on CUDA, bf16 autocast on CPUs with native bf16.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ganlab import rng
from ganlab.data.batch import Batch
from ganlab.data.transforms import to_uint8
from ganlab.device import autocast_dtype, cuda_speed_flags, pick_device
from ganlab.models.base import Family, Phase, Recipe, StepContext
from ganlab.train.checkpoint import CheckpointError, latest_good, save_checkpoint
from ganlab.train.config import History, TrainConfig
from ganlab.train.ema import update_ema

__all__ = ["Trainer", "NonFiniteLossError"]

CHECKPOINT_FORMAT = 1
_RECIPE_DEFAULTS = {k: v for k, v in Recipe().as_dict().items() if k in ("scheduler", "lr_gamma")}
_PHASE_CODES = 8  # the NaN flag encodes (step, phase index) as step * 8 + index


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; training stopped (the last good checkpoint is kept)."""


_GROUP_WORDS = {"d": "discriminator", "g": "generator"}


def _is_conv(module: nn.Module) -> bool:
    return any(p.dim() == 4 for p in module.parameters())


class Trainer:
    """Train ``model`` on ``dataset`` as ``config`` says.

    Args:
        model: a :class:`ganlab.models.Family` (its networks, optimiser groups and phases).
        dataset: a :class:`ganlab.data.Dataset` (or anything with ``len``, ``epoch_order`` and
            ``batch(idx, device) -> Batch`` / ``get(idx) -> (x, y)``).
        config: :class:`TrainConfig`.
        evaluator: object with ``evaluate(sample_fn) -> dict[str, float]`` (e.g.
            :class:`ganlab.metrics.Evaluator`), called every ``eval_every`` iterations and at the end.
        callbacks: functions ``f(trainer, step)`` called after every log point (plots, custom logs).
        restore: a finished run's state (:func:`ganlab.train.checkpoint.finished_run`, e.g. the
            course's shipped weights): when it is this run, :meth:`fit` takes its result instead
            of training (:meth:`restore_finished`; ``restored`` says whether it did,
            ``restore_refused`` why not). The run's own finished checkpoint comes first.
    """

    def __init__(self, model: Family, dataset: Any, config: TrainConfig | None = None,
                 evaluator: Any | None = None,
                 callbacks: list[Callable[[Trainer, int], None]] | None = None,
                 restore: dict[str, Any] | None = None) -> None:
        self.model = model
        self.restore = restore
        self.restored = False  # True once fit() took the run from ``restore``
        self.restore_refused: str | None = None  # why ``restore`` did not fit this run
        self.dataset = dataset
        self.config = (config or TrainConfig()).validate()
        self.evaluator = evaluator
        self.callbacks = list(callbacks or [])
        self.device = pick_device(self.config.device)
        self.history = History()
        self.step = 0
        self.cursor = 0  # real batches consumed so far
        n = len(dataset)
        bs = self.config.batch_size
        if n < bs:
            raise ValueError(
                f"batch_size {bs} is larger than the dataset ({n} samples); use batch_size <= {n}")
        self.batches_per_epoch = n // bs
        model.check_data(dataset)
        self.phases = model.phases()
        if not self.phases or len(self.phases) >= _PHASE_CODES:
            raise ValueError(f"{model.family}: phases() must list 1 to {_PHASE_CODES - 1} phases, got {self.phases}")
        nets = model.networks()
        for ph in self.phases:
            if ph.group not in model.groups or not isinstance(ph.repeats, int) or ph.repeats < 1:
                raise ValueError(f"{model.family}: phase {ph} needs a group in {list(model.groups)} and repeats >= 1")
            unknown = [f for f in ph.freeze if f not in nets]
            if unknown:
                raise ValueError(f"{model.family}: phase {ph.group!r} freezes unknown networks {unknown}")
        conv = all(_is_conv(m) for m in nets.values())
        # "auto" mixed precision only for conv nets: bf16's spacing (~0.008 near 1) is too coarse
        # for small MLPs on 2-D points, where the ring8 modes are 0.01 wide.
        self.amp_dtype = autocast_dtype(self.device, self.config.precision)
        if self.config.precision == "auto" and not conv:
            self.amp_dtype = None
        cl = self.config.channels_last
        self.channels_last = (self.amp_dtype is not None) if cl is None else bool(cl)
        self.channels_last = self.channels_last and conv
        self.checkpoint_dir = Path(self.config.checkpoint_dir) if self.config.checkpoint_dir else None
        self._order: tuple[int, Tensor] | None = None

    # ----- data and latents -----------------------------------------------------------
    def _next_batch(self) -> Batch:
        epoch, pos = divmod(self.cursor, self.batches_per_epoch)
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, self.dataset.epoch_order(epoch, self.config.seed))
        bs = self.config.batch_size
        idx = self._shard(self._order[1][pos * bs:(pos + 1) * bs])
        self.cursor += 1
        if hasattr(self.dataset, "batch"):
            batch = self.dataset.batch(idx)
        else:
            batch = Batch(*self.dataset.get(idx))
        return batch.to(self.device, channels_last=self.channels_last)

    def _shard(self, idx: Tensor) -> Tensor:
        """The rows of a global batch's indices (``(B,)`` or ``(B, 2)``) this process trains on
        (all of them; a data-parallel rank takes its slice)."""
        return idx

    @property
    def step_batch_size(self) -> int:
        """Rows of every batch this process computes (``StepContext.batch_size``): the configured
        batch size (a data-parallel rank computes its share)."""
        return self.config.batch_size

    def _phase_context(self, phase: Phase) -> contextlib.AbstractContextManager[Any]:
        """Entered around each phase's updates, after its ``freeze`` (a data-parallel run routes
        the networks it trains through their ``DistributedDataParallel`` wrappers here)."""
        return contextlib.nullcontext()

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    # ----- checkpoint state -------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: weights, optimisers, scaler, RNGs, position."""
        rng: dict[str, Any] = {"torch": torch.get_rng_state(), "latent": self._latent_gen.get_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return {
            "format": CHECKPOINT_FORMAT, "family": self.model.family, "step": self.step,
            "cursor": self.cursor, "model": self.model.state_dict(),
            "opt": {k: o.state_dict() for k, o in self.optimizers.items()},
            "sched": {k: sch.state_dict() for k, sch in self.schedulers.items()},
            "scaler": self.scaler.state_dict(), "rng": rng,
            "history": self.history.to_dict(), "config": self.config.as_dict(),
            "samples": [[step, grid] for step, grid in self.history.samples],
            "recipe": self.model.recipe.as_dict(), "identity": self.run_identity(),
        }

    #: Config fields that define a run's trajectory: a checkpoint made with other values is another run.
    IDENTITY_FIELDS = ("batch_size", "seed", "precision", "ema_decay")

    def run_identity(self) -> dict[str, Any]:
        """What makes a checkpoint this run's: the trajectory-defining config fields, the family's
        recipe and the data (name, split, size, image shape). ``steps``, logging and checkpoint
        intervals are not part of it (a run may be extended or logged differently), except
        ``steps`` of a run with a learning-rate schedule (the schedule depends on the length)."""
        cfg = self.config.as_dict()
        summary = getattr(self.dataset, "summary", None)
        data = summary() if callable(summary) else {"n": len(self.dataset)}
        fields = self.IDENTITY_FIELDS
        if self.model.recipe.scheduler != "none":  # the schedule spans the run: its length is part of it
            fields = (*fields, "steps")
        return json.loads(json.dumps({
            "config": {k: cfg[k] for k in fields},
            "recipe": self.model.recipe.as_dict(),
            "data": {k: data[k] for k in ("name", "split", "n", "shape", "source_shape") if k in data},
        }, default=str))

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`.

        Raises:
            CheckpointError: the checkpoint is of another family or architecture, or of another
                run (:meth:`run_identity`: batch size, seed, precision, EMA, recipe or data differ).
        """
        if state.get("family") != self.model.family:
            raise CheckpointError(
                f"checkpoint is of family {state.get('family')!r}, this model is {self.model.family!r}")
        try:
            self.model.load_state_dict(state["model"])
        except RuntimeError as exc:
            first = str(exc).splitlines()[1:2] or [str(exc)]
            raise CheckpointError(
                f"checkpoint does not fit this model's architecture: {first[0].strip()}") from None
        if "identity" in state:  # (checkpoints of format 1 written before it was stored: not checked)
            differ = self._identity_differences(state["identity"])
            if differ:
                raise CheckpointError(
                    "checkpoint is of another run (" + "; ".join(differ) + "): delete its folder "
                    f"{self.checkpoint_dir} (a notebook: RETRAIN = True) to train this one, or restore "
                    "the settings it was made with")
        for k, opt in self.optimizers.items():
            opt.load_state_dict(state["opt"][k])
        for k, sch in self.schedulers.items():
            sch.load_state_dict(state.get("sched", {})[k])
        self.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"]["torch"])
        self._latent_gen.set_state(state["rng"]["latent"])
        if "cuda" in state["rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)
        self.step = int(state["step"])
        self.cursor = int(state["cursor"])
        self.history = History.from_dict(state["history"])
        self.history.samples = [(int(step), grid) for step, grid in state.get("samples", [])]
        self.history.resumed_from = self.step

    def _identity_differences(self, identity: dict[str, Any]) -> list[str]:
        """How a checkpoint's :meth:`run_identity` differs from this run's (empty: the same run)."""
        saved = dict(identity)
        # recipe fields added later (scheduler, lr_gamma) were their defaults in older checkpoints
        saved["recipe"] = {**_RECIPE_DEFAULTS, **saved.get("recipe", {})}
        return _differences(saved, self.run_identity())

    def restore_finished(self, state: dict[str, Any]) -> str | None:
        """Take the result of a finished run instead of training it: the weights, history and
        training samples of a :func:`ganlab.train.checkpoint.finished_run` state (no optimiser
        state: the run cannot continue from it). Called by :meth:`fit` with ``restore``.

        Nothing is changed unless the state is this very run: the same family, step count
        (= ``config.steps``), :meth:`run_identity` and weight shapes. Networks the state does not
        hold (``state["networks"]``) keep their current weights.

        Returns:
            None when restored, else why the state does not fit (then the run trains as usual).
        """
        cfg = self.config
        if not state.get("finished"):
            return "not a finished run's weights"
        if state.get("family") != self.model.family:
            return f"it is of family {state.get('family')!r}, this run {self.model.family!r}"
        if int(state.get("step", -1)) != cfg.steps:
            return f"it trained {state.get('step')} steps, this run asks for {cfg.steps}"
        differ = self._identity_differences(state.get("identity", {}))
        if differ:
            return "; ".join(differ)
        own = self.model.state_dict()
        weights = state["model"]
        kept = set(state.get("networks", ()))
        wrong = [k for k, v in weights.items() if k not in own or (torch.is_tensor(v) and v.shape != own[k].shape)]
        absent = [k for k in own if k not in weights and k.split(".", 1)[0] in kept]
        if wrong or absent:
            return f"its weights do not fit this model ({(wrong + absent)[0]} and {len(wrong + absent) - 1} more)"
        self.model.load_state_dict(weights, strict=False)  # fp16 copies are cast to each tensor's dtype
        self.step = int(state["step"])
        self.cursor = int(state["cursor"])
        self.history = History.from_dict(state["history"])
        self.history.samples = [(int(step), grid) for step, grid in state.get("samples", [])]
        self.history.resumed_from = self.step
        return None

    def _save(self) -> Path | None:
        if self.checkpoint_dir is None:
            return None
        return save_checkpoint(self.checkpoint_dir, self.step, self.state_dict(),
                               keep=self.config.keep_checkpoints)

    # ----- the loop ---------------------------------------------------------------------
    def _prepare(self) -> None:
        cfg, model = self.config, self.model
        torch.manual_seed(cfg.seed)
        model.to(self.device).train()
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
        if cfg.ema_decay is not None:
            model.enable_ema()
            model.to(self.device)
        if cfg.compile:
            for net in model.networks().values():
                net.compile()
        self.optimizers = model.configure_optimizers()
        self.schedulers = model.configure_schedulers(self.optimizers, cfg.steps)
        use_scaler = self.amp_dtype == torch.float16 and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=use_scaler)
        self._latent_gen = self._make_latent_generator()
        fixed = torch.Generator(device=self.device).manual_seed(cfg.seed + 7919)
        # a paired / unpaired set also gives the inputs the snapshot translates (its first sources)
        get_conditions = getattr(self.dataset, "fixed_conditions", None)
        conditions = {k: v.to(self.device) for k, v in (get_conditions(cfg.n_samples) if get_conditions else {}).items()}
        n_fixed = next(iter(conditions.values())).shape[0] if conditions else cfg.n_samples
        self.fixed_inputs = model.sample_inputs(n_fixed, self.device, fixed, **conditions)
        if cfg.resume and self.checkpoint_dir is not None:
            found = latest_good(self.checkpoint_dir, map_location=self.device)
            if found is not None:
                path, state = found
                self.load_state_dict(state)
                print(f"Resuming from {path.name} (step {self.step} of {cfg.steps}).")
        if self.restore is not None and self.step < cfg.steps:
            self.restore_refused = self.restore_finished(self.restore)
            self.restored = self.restore_refused is None
            print("Took the given finished run: nothing to train." if self.restored else
                  f"The given finished run is not this run ({self.restore_refused}): training it.")
        if hasattr(self.dataset, "to"):
            self.dataset.to(self.device)

    def _make_latent_generator(self) -> Any:
        """The run's latent RNG (checkpointed; a batch of seeds has one per copy)."""
        return torch.Generator(device=self.device).manual_seed(self.config.seed)

    def _backward_step(self, loss: Tensor, opt: torch.optim.Optimizer) -> None:
        opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(opt)
        self.scaler.update()

    def _add(self, key: str, value: Tensor) -> None:
        """Sum a logged scalar on the device (no host sync) and count its updates."""
        prev = self._acc.get(key)
        self._acc[key] = value.detach().float() if prev is None else prev + value.detach().float()
        self._counts[key] = self._counts.get(key, 0) + 1

    def _iteration(self, bad: Tensor) -> Tensor:
        """One iteration: every phase of the family, each its ``repeats`` updates, in order.

        Returns the updated NaN flag: 0 while all losses are finite, else
        ``step * 8 + phase index`` of the first non-finite loss; it lives on the device and is
        read at log time (no host sync per step).
        """
        model = self.model
        ctx = StepContext(self.device, self._latent_gen, self.step_batch_size)
        batch: Batch | None = None
        nets = model.networks()
        for p_idx, phase in enumerate(self.phases):
            frozen = [nets[name] for name in phase.freeze]
            for net in frozen:
                net.requires_grad_(False)
            try:
                with self._phase_context(phase):
                    for i in range(phase.repeats):
                        if batch is None or phase.fresh_batch:
                            batch = self._next_batch()
                        ctx.index, ctx.last = i, i == phase.repeats - 1
                        with self._autocast(), rng.step_generator(self._latent_gen):
                            loss, logs = model.phase_loss(phase.group, batch, ctx)
                        self._backward_step(loss, self.optimizers[phase.group])
                        model.after_step(phase.group)
                        self._add(phase.group, loss)
                        for k, v in logs.items():
                            self._add(k, v)
                        code = (self.step + 1) * _PHASE_CODES + p_idx
                        bad = torch.where((bad == 0) & ~torch.isfinite(loss.detach()), code, bad)
            finally:
                for net in frozen:
                    net.requires_grad_(True)
        self._after_phases()
        for name in model.generators:
            ema = model.ema(name)
            if ema is not None:
                update_ema(ema, getattr(model, name), self.config.ema_decay or 0.999)
        for sch in self.schedulers.values():
            sch.step()
        return bad

    def _after_phases(self) -> None:
        """Called after an iteration's phases, before the EMA update (a data-parallel run averages
        batch-tracked buffers over its ranks here)."""

    def _tick(self) -> None:
        """Add the training time since the last tick to the history (evaluation is excluded)."""
        now = time.perf_counter()
        self.history.wall_time += now - self._t0
        self._t0 = now

    def _flush(self, bad: Tensor, pbar: Any) -> None:
        flag = int(bad.item())  # the one host sync per log interval
        if flag != 0:
            step, p_idx = divmod(flag, _PHASE_CODES)
            group = self.phases[p_idx].group
            which = _GROUP_WORDS.get(group, f"{group!r} phase")
            kept = latest_good(self.checkpoint_dir) if self.checkpoint_dir else None
            where = f"; the last good checkpoint is kept: {kept[0]}" if kept else ""
            means = ", ".join(f"{ph.group}={self._acc[ph.group].item():.4g}"
                              for ph in self.phases if ph.group in self._acc)
            raise NonFiniteLossError(
                f"the {which} loss became non-finite at step {step} "
                f"(mean since the last log: {means}); training stopped{where}. "
                "Try a lower learning rate or precision='fp32'.")
        values = {k: v.item() / self._counts[k] for k, v in self._acc.items()}
        self._acc, self._counts = {}, {}
        self._tick()
        self.history.steps.append(self.step)
        for k, v in values.items():
            self.history.losses.setdefault(k, []).append(v)
        if pbar is not None:
            pbar.set_postfix({ph.group: f"{values[ph.group]:.3f}" for ph in self.phases
                              if ph.group in values}, refresh=False)
        for cb in self.callbacks:
            cb(self, self.step)

    def _due(self, every: int) -> bool:
        return self.step == self.config.steps or (every > 0 and self.step % every == 0)

    def snapshot(self) -> Tensor:
        """Fixed-noise samples: uint8 ``(n_samples, C, H, W)`` on the CPU (float points for 2-D data)."""
        out = self.model.sample(inputs=self.fixed_inputs)
        return to_uint8(out) if out.dim() == 4 else out.cpu()

    def evaluate(self) -> dict[str, float]:
        """Run the evaluator now and append the result to the history."""
        if self.evaluator is None:
            return {}
        metrics = dict(self.evaluator.evaluate(self.model.sampler(seed=self.config.seed + 1)))
        entry = {"step": self.step, "wall_time": round(self.history.wall_time, 3), **metrics}
        self.history.evals.append(entry)
        return entry

    def fit(self) -> History:
        """Train until ``config.steps``; returns the :class:`History`.

        Raises:
            NonFiniteLossError: a loss became NaN/inf (the last good checkpoint stays on disk).
        """
        cfg = self.config
        self._prepare()
        if self.step >= cfg.steps:
            print(f"Run already complete at step {self.step}; nothing to train.")
            return self.history
        det_before = torch.are_deterministic_algorithms_enabled()
        if cfg.deterministic:
            torch.use_deterministic_algorithms(True)
        pbar = None
        if cfg.progress:
            from tqdm.auto import tqdm
            pbar = tqdm(total=cfg.steps, initial=self.step, desc=cfg.desc or self.model.family,
                        mininterval=1.0, dynamic_ncols=True)
        self._acc, self._counts = {}, {}
        bad = torch.zeros((), dtype=torch.long, device=self.device)
        self._t0 = time.perf_counter()
        try:
            while self.step < cfg.steps:
                cursor = self.cursor
                with cuda_speed_flags(self.device, enabled=not cfg.deterministic):
                    bad = self._iteration(bad)
                self.step += 1
                self.history.images_seen += (self.cursor - cursor) * cfg.batch_size
                if pbar is not None:
                    pbar.update(1)
                if self._due(cfg.log_every) or (self.checkpoint_dir and self._due(cfg.checkpoint_every)):
                    self._flush(bad, pbar)
                extra = [self._due(cfg.sample_every), self._due(cfg.eval_every) and self.evaluator,
                         self.checkpoint_dir is not None and self._due(cfg.checkpoint_every)]
                if any(extra):
                    self._tick()
                    if extra[0]:
                        self.history.samples.append((self.step, self.snapshot()))
                    if extra[1]:
                        self.evaluate()
                    if extra[2]:
                        self._save()
                    self._t0 = time.perf_counter()
        finally:
            if pbar is not None:
                pbar.close()
            torch.use_deterministic_algorithms(det_before)
        return self.history


def finite_or_nan(x: float) -> float:
    """``x`` if finite else NaN (JSON records store NaN for failed metrics)."""
    return x if math.isfinite(x) else float("nan")


def _differences(saved: dict[str, Any], wanted: dict[str, Any], prefix: str = "") -> list[str]:
    """``"key: checkpoint X, this run Y"`` for every leaf where two nested dicts differ."""
    out = []
    for key in sorted(set(saved) | set(wanted)):
        a, b = saved.get(key), wanted.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: checkpoint {a!r}, this run {b!r}")
    return out
