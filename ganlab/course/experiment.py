"""One training run as the notebooks do it: train (or resume, or load when finished), evaluate, record.

:func:`train_run` wires a notebook :class:`~ganlab.course.session.Session` to the trainer: budget and
intervals from the profile, a checkpoint folder per run (on Drive when mounted), ``resume`` on
by default — so re-running a cell after a disconnect continues where it stopped, and re-running
a finished cell loads the result in seconds instead of training again — and a JSON record in
``RESULTS_DIR`` that notebook 17 builds its tables from.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from ganlab.course.records import save_record
from ganlab.models.base import Family
from ganlab.train import History, TrainConfig, Trainer

__all__ = ["RunResult", "train_run", "train_on_datasets", "make_evaluator", "final_metrics"]


@dataclass
class RunResult:
    """What a notebook gets back from :func:`train_run`."""

    name: str
    model: Family
    history: History
    metrics: dict[str, float]
    record: Path
    trainer: Trainer
    untrained: dict[str, float] | None = None

    @property
    def G(self) -> Any:  # noqa: N802 - the generator, as the notebooks call it
        """The generator (EMA copy when the run kept one)."""
        return self.model.sampling_generator()


def final_metrics(history: History) -> dict[str, float]:
    """The last evaluation's metrics (without its step and wall time)."""
    if not history.evals:
        return {}
    return {k: v for k, v in history.evals[-1].items() if k not in ("step", "wall_time")}


def make_evaluator(session: Any, dataset: str | None = None, *, split: str = "test",
                   extractor: str | None = None, n: int | None = None, **kwargs: Any) -> Any:
    """The profile's :class:`ganlab.metrics.Evaluator` (dataset, extractor and N from the settings).

    ``dataset`` is a registry name (default: the profile's) or a loaded Dataset. A name is
    loaded at the profile's ``image_size`` so the real images match the generator's output
    (e.g. 64 x 64 in ``full``); a Dataset is used as given.
    """
    from ganlab.data import load
    from ganlab.data.registry import entry
    from ganlab.metrics import Evaluator

    S = session.settings
    ref = dataset if dataset is not None else S.dataset
    if isinstance(ref, str):
        size = S.get("image_size") if entry(ref).kind != "points" else None
        ref = load(ref, split=split, image_size=size, root=session.data_dir)
    return Evaluator(ref, extractor=extractor or S.extractor, n=n or S.eval_n,
                     split=split, device=session.device,
                     cache_dir=Path(session.data_dir) / "metrics_cache", **kwargs)


def train_run(session: Any, name: str, model: Family, dataset: Any, *,
              evaluator: Any = None, seed: int | None = None, fresh: bool = False,
              record: bool = True, extra: dict[str, Any] | None = None,
              callbacks: Sequence[Callable[[Trainer, int], None]] = (),
              **overrides: Any) -> RunResult:
    """Train ``model`` on ``dataset`` with the session's profile and save a run record.

    Args:
        session: from :func:`ganlab.course.session.start`.
        name: run name (unique within the notebook), e.g. ``"dcgan"`` or ``"bn_ablated_G"``.
        evaluator: called every ``eval_every`` steps and at the end (see :func:`make_evaluator`).
        seed: defaults to the session's seed.
        fresh: delete this run's checkpoints first and train from scratch.
        extra: more record fields. ``extra["untrained"]`` holds the untrained generator's
            metrics: given by the caller, or measured here with ``evaluator`` before training
            (``model`` must then be untrained, as a freshly built one is).
        callbacks: functions ``f(trainer, step)`` the trainer calls at every log point (e.g. to
            measure a network over training); a run resumed from its checkpoint calls them only
            for the steps it still trains.
        overrides: :class:`~ganlab.train.TrainConfig` fields that differ from the profile
            (``steps``, ``batch_size``, ``eval_every``, ``ema_decay``...).

    Raises:
        ValueError: bad run name or config values (see TrainConfig).
    """
    if not name or "/" in name:
        raise ValueError(f"run name must be a non-empty string without '/', got {name!r}")
    S = session.settings
    seed = session.seed if seed is None else seed
    ckpt_dir = Path(session.checkpoint_dir(f"{name}-seed{seed}"))
    if fresh and ckpt_dir.exists():
        shutil.rmtree(ckpt_dir)
    base = {"steps": S.steps, "batch_size": S.batch_size, "log_every": S.log_every,
            "sample_every": S.sample_every, "eval_every": S.eval_every,
            "checkpoint_every": S.checkpoint_every}
    base.update(overrides)
    base["log_every"] = min(base["log_every"], base["steps"])
    cfg = TrainConfig(seed=seed, device=str(session.device), checkpoint_dir=str(ckpt_dir),
                      resume=True, desc=name, **base)
    extra = dict(extra or {})
    if evaluator is not None and "untrained" not in extra:
        extra["untrained"] = dict(evaluator.evaluate(model.to(session.device).sampler(seed=seed + 1)))
    trainer = Trainer(model, dataset, cfg, evaluator=evaluator, callbacks=list(callbacks))
    history = trainer.fit()
    if not history.samples:
        history.samples.append((trainer.step, trainer.snapshot()))
    metrics = final_metrics(history)
    path = Path()
    if record:
        path = save_record(session.results_dir, notebook=session.notebook, run=name,
                           dataset=dataset.info.name, seed=seed, model=model,
                           config={**cfg.as_dict(), "checkpoint_dir": None, "profile": S.profile},
                           history=history, metrics=metrics, device=session.device, extra=extra)
    return RunResult(name, model, history, metrics, path, trainer, extra.get("untrained"))


def train_on_datasets(session: Any, family: str, names: Sequence[str],
                      make_nets: Callable[[int], tuple[nn.Module, nn.Module]], *,
                      image_size: int, fresh: bool = False, seed: int | None = None,
                      **recipe: Any) -> dict[str, tuple[RunResult, dict[str, float]]]:
    """Train one family on further datasets, as the model notebooks do in ``full``.

    For each name: the train split (profile ``limit``) at ``image_size``, an evaluator on its test
    split, a freshly seeded ``make_nets(channels)``, the untrained generator's metrics (the
    baseline every claim is measured against, also stored in the record as
    ``extra.untrained``), then :func:`train_run` as run ``"<family>_<name>"``.

    Args:
        family: a ``ganlab.models`` name, e.g. ``"lsgan"``.
        names: ``ganlab.data`` names (the profile's ``extra_datasets``); empty: nothing to do.
        make_nets: ``channels -> (G, D)`` (1 for grey, 3 for RGB data).
        recipe: recipe overrides passed to ``ganlab.models.build``.

    Returns:
        ``{name: (run, untrained metrics)}`` in the order of ``names``.
    """
    import torch

    from ganlab.data import load
    from ganlab.models import build

    S = session.settings
    seed = session.seed if seed is None else seed
    out: dict[str, tuple[RunResult, dict[str, float]]] = {}
    for name in names:
        train = load(name, split="train", image_size=image_size, limit=S.get("limit"), seed=seed)
        evaluator = make_evaluator(session, load(name, split="test", image_size=image_size))
        torch.manual_seed(seed)
        model = build(family, *make_nets(train.info.channels), **recipe)
        run = train_run(session, f"{family}_{name}", model, train, evaluator=evaluator, seed=seed,
                        fresh=fresh)
        out[name] = (run, run.untrained or {})
    return out
