"""One training run as the notebooks do it: train (or resume, or load when finished), evaluate, record.

:func:`train_run` wires a notebook :class:`~ganlab.course.session.Session` to the trainer: budget and
intervals from the profile, a checkpoint folder per run (on Drive when mounted), ``resume`` on
by default — so re-running a cell after a disconnect continues where it stopped, and re-running
a finished cell loads the result in seconds instead of training again — and a JSON record in
``RESULTS_DIR`` that notebook 17 builds its tables from. In a ``pretrained`` session a notebook's
headline runs come from the course's shipped finished runs (:mod:`ganlab.course.shipped_runs`)
when they are exactly the runs asked for; their records say so (``extra.loaded_from``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from ganlab.course.ranks import fit, on_main
from ganlab.course.records import save_record
from ganlab.io import atomic_write_json
from ganlab.models.base import Family
from ganlab.train import History, TrainConfig, Trainer

__all__ = ["RunResult", "train_run", "train_seeds", "train_seeds_jointly", "record_as", "seed_summary", "train_on_datasets",
           "make_evaluator", "final_metrics"]


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
        fresh: delete this run's checkpoints first and train from scratch (also when the
            session is ``pretrained``).
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
    cfg = _run_config(session, name, f"{name}-seed{seed}", seed, fresh, overrides)
    extra = dict(extra or {})
    if evaluator is not None and "untrained" not in extra:
        extra["untrained"] = on_main(lambda: dict(evaluator.evaluate(model.to(session.device).sampler(seed=seed + 1))))
    shipped = None if fresh else _shipped(session, Path(cfg.checkpoint_dir).name)
    trainer = fit(model, dataset, cfg, evaluator=evaluator, callbacks=callbacks,
                  restore=shipped[0] if shipped else None)
    history = trainer.history
    if shipped and trainer.restored:
        extra["loaded_from"] = shipped[1]
    if not history.samples:
        history.samples.append((trainer.step, trainer.snapshot()))
    metrics = final_metrics(history)
    path = Path()
    if record:
        path = on_main(lambda: save_record(
            session.results_dir, notebook=session.notebook, run=name, dataset=dataset.info.name, seed=seed,
            model=model, config={**cfg.as_dict(), "checkpoint_dir": None, "profile": S.profile},
            history=history, metrics=metrics, device=session.device, extra=extra))
    return RunResult(name, model, history, metrics, path, trainer, extra.get("untrained"))


def _shipped(session: Any, folder: str) -> tuple[dict[str, Any], str] | None:
    """With ``session.pretrained``: the course's shipped finished run of checkpoint folder
    ``folder`` and where it came from (:func:`ganlab.course.shipped_runs.find`), else None."""
    if not getattr(session, "pretrained", False):
        return None
    from ganlab.course.shipped_runs import find

    found = find(session.notebook, folder, Path(session.checkpoint_root) / "shipped")
    if found is not None:
        print(f"PRETRAINED: {found[1]} ({found[0]['step']} steps, trained in "
              f"{found[0]['history'].get('wall_time', 0):.0f} s when it was made)")
    return found


def _run_config(session: Any, name: str, folder: str, seed: int, fresh: bool,
                overrides: dict[str, Any]) -> TrainConfig:
    """The profile's TrainConfig of one run (or batch of seeds), checkpointing into ``folder``."""
    S = session.settings
    ckpt_dir = Path(session.checkpoint_dir(folder))
    if fresh and ckpt_dir.exists():
        shutil.rmtree(ckpt_dir)
    base = {"steps": S.steps, "batch_size": S.batch_size, "log_every": S.log_every,
            "sample_every": S.sample_every, "eval_every": S.eval_every,
            "checkpoint_every": S.checkpoint_every}
    base.update(overrides)
    base["log_every"] = min(base["log_every"], base["steps"])
    return TrainConfig(seed=seed, device=str(session.device), checkpoint_dir=str(ckpt_dir),
                       resume=True, desc=name, **base)


def _train_batch(session: Any, names: list[str], models: list[list[Family]], datasets: list[Any],
                 evaluators: list[Any], seeds: list[int], *, untrained: Mapping[int, dict[str, float]] | None,
                 fresh: bool, extra: dict[str, Any], callbacks: Sequence[Callable[[Trainer, int], None]],
                 **overrides: Any) -> dict[str, list[RunResult]]:
    """The seeds of the runs ``names`` (run i: ``models[i]`` on ``datasets[i]``, one model per seed)
    as one batched model (:class:`ganlab.train.seeds.SeedBatchTrainer`); one :class:`RunResult`
    and record per run and seed. ``untrained`` serves a single run only."""
    S = session.settings
    folder = f"{'+'.join(names)}-seeds{'-'.join(map(str, seeds))}"
    cfg = _run_config(session, "+".join(names), folder, seeds[0], fresh, overrides)
    copies = [(i, seed) for i in range(len(names)) for seed in seeds]  # batch order: run-major
    flat = [m for run_models in models for m in run_models]
    base_untrained: dict[tuple[int, int], dict[str, float]] = {}
    for (i, seed), model in zip(copies, flat):
        evaluator = evaluators[i]
        if len(names) == 1 and untrained is not None and seed in untrained:
            base_untrained[i, seed] = dict(untrained[seed])
        elif evaluator is not None:
            base_untrained[i, seed] = on_main(
                lambda m=model, s=seed, ev=evaluator: dict(ev.evaluate(m.to(session.device).sampler(seed=s + 1))))
    shipped = None if fresh else _shipped(session, folder)
    several = len(names) > 1
    trainer = fit(flat,
                  [datasets[i] for i, _ in copies] if several else datasets[0], cfg,
                  evaluator=[evaluators[i] for i, _ in copies] if several else evaluators[0],
                  callbacks=callbacks, restore=shipped[0] if shipped else None,
                  seeds=[s for _, s in copies], names=[names[i] for i, _ in copies] if several else None)
    if shipped and trainer.restored:
        extra = {**extra, "loaded_from": shipped[1]}
    out: dict[str, list[RunResult]] = {name: [] for name in names}
    for k, (i, seed) in enumerate(copies):
        history = trainer.copy_history(k)
        model = trainer.copy_model(k)
        metrics = final_metrics(history)
        rec_extra = {**extra, "batched_seeds": seeds,
                     "note": "trained in one batch with batched_seeds; losses are means over the batch"}
        if several:
            rec_extra["batched_runs"] = list(names)
            rec_extra["note"] = ("trained in one batch with the batched_seeds of batched_runs; losses are "
                                 "means over the batch")
        if (i, seed) in base_untrained:
            rec_extra["untrained"] = base_untrained[i, seed]
        config = {**cfg.as_dict(), "seed": seed, "batch_size": trainer.per_copy_batch,
                  "checkpoint_dir": None, "profile": S.profile}
        path = on_main(functools.partial(
            save_record, session.results_dir, notebook=session.notebook, run=names[i],
            dataset=datasets[i].info.name, seed=seed, model=model, config=config, history=history,
            metrics=metrics, device=session.device, extra=rec_extra))
        out[names[i]].append(RunResult(names[i], model, history, metrics, path, trainer,
                                       base_untrained.get((i, seed))))
    return out


def train_seeds(session: Any, name: str, make_model: Callable[[int], Family], dataset: Any,
                seeds: Sequence[int], *, evaluator: Any = None,
                untrained: Mapping[int, dict[str, float]] | None = None,
                callbacks: Callable[[int], Sequence[Callable[[Trainer, int], None]]] | None = None,
                batch: bool | None = None, **kwargs: Any) -> list[RunResult]:
    """Run ``name`` once per seed with ``make_model(seed)`` (a freshly built, seeded model), one
    record per seed, so notebook 17's tables show mean ± std over them.

    Small fully connected models train as one batched model (:mod:`ganlab.train.seeds`: each copy
    follows its separate run's trajectory, several times faster for the 2-D toys); everything
    else trains seed after seed with :func:`train_run`.

    Args:
        seeds: e.g. ``range(SEED, SEED + T.seeds)``; at least one.
        untrained: ``{seed: metrics}`` of the untrained generator, when several runs share the
            same initial generator per seed (same architecture, only the recipe or the data
            differ): measured once by the caller instead of once per run. Missing seeds are
            measured here.
        callbacks: ``seed -> [callback, ...]`` (fresh callback objects per seed; a batch gets
            the first seed's, called with the batch's trainer).
        batch: ``None`` (default): batch the seeds when the models allow it
            (:func:`ganlab.train.seeds.batch_reason`); ``False``: one run per seed; ``True``:
            batch or raise ``NotBatchable`` saying why not.
        kwargs: passed to :func:`train_run` (``fresh``, ``steps``, ``ema_decay``...).

    Returns:
        One :class:`RunResult` per seed, in the order of ``seeds``.

    Raises:
        ValueError: no seeds, or a seed repeated.
    """
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"train_seeds needs distinct seeds, at least one; got {seeds}")
    shared_extra = dict(kwargs.pop("extra", None) or {})
    built: dict[int, Family] = {}  # models made while deciding, reused (each is built once)
    if batch is not False and len(seeds) > 1:
        from ganlab.nets.batched import NotBatchable
        from ganlab.train.seeds import batch_reason

        built[seeds[0]] = make_model(seeds[0])
        reason = batch_reason([built[seeds[0]]])
        if reason is None:
            built.update((s, make_model(s)) for s in seeds[1:])
            reason = batch_reason([built[s] for s in seeds])
        if reason is None:
            return _train_batch(session, [name], [[built[s] for s in seeds]], [dataset], [evaluator], seeds,
                                untrained=untrained, fresh=bool(kwargs.pop("fresh", False)), extra=shared_extra,
                                callbacks=list(callbacks(seeds[0])) if callbacks else [], **kwargs)[name]
        if batch:
            raise NotBatchable(f"run {name!r} cannot batch its seeds: {reason}")
    out = []
    for seed in seeds:
        extra = dict(shared_extra)
        if untrained is not None and seed in untrained:
            extra["untrained"] = dict(untrained[seed])
        model = built.pop(seed) if seed in built else make_model(seed)
        out.append(train_run(session, name, model, dataset, evaluator=evaluator, seed=seed,
                             extra=extra, callbacks=list(callbacks(seed)) if callbacks else (), **kwargs))
    return out


def train_seeds_jointly(session: Any, runs: Mapping[str, tuple[Callable[[int], Family], Any, Any]],
                        seeds: Sequence[int], *, batch: bool | None = None,
                        **kwargs: Any) -> dict[str, list[RunResult]]:
    """Several runs with their seeds (one model on ring8 and on grid25, say) trained as ONE batched
    model when they batch together: one family, recipe and architecture, and data sets of one
    length, item shape and kind. A batch of 20 copies costs less than two of 10 one after another
    on a CPU (:mod:`ganlab.bench.seeds_bench`, ``--runs 2``); each copy still follows its separate
    run. Otherwise each run goes through :func:`train_seeds`.

    Args:
        runs: run name -> ``(make_model, dataset, evaluator or None)``; ``make_model(seed)``
            builds a freshly seeded model as for :func:`train_seeds`.
        seeds: every run's seeds, distinct, at least one.
        batch: ``None`` (default): one batch when the runs allow it, else run by run; ``False``:
            :func:`train_seeds` run by run; ``True``: one batch or raise ``NotBatchable`` saying why.
        kwargs: passed to :func:`train_run` (``fresh``, ``steps``, ``extra``...).

    Returns:
        ``{name: [one RunResult per seed]}``, in the order of ``runs`` and ``seeds``; the checkpoint
        folder of a joint batch is ``"<name1>+<name2>...-seeds<s1>-<s2>..."``.

    Raises:
        ValueError: no runs, no seeds or a seed repeated.
    """
    seeds = [int(s) for s in seeds]
    if not runs or not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"train_seeds_jointly needs at least one run and distinct seeds; got runs "
                         f"{list(runs)} and seeds {seeds}")
    names = list(runs)
    if batch is not False and len(names) > 1:
        from ganlab.nets.batched import NotBatchable
        from ganlab.train.seeds import batch_reason, data_reason

        reason = data_reason([runs[n][1] for n in names])
        models: list[list[Family]] = []
        if reason is None:
            models = [[runs[n][0](s) for s in seeds] for n in names]
            reason = batch_reason([m for ms in models for m in ms])
        if reason is None:
            return _train_batch(session, names, models, [runs[n][1] for n in names], [runs[n][2] for n in names],
                                seeds, untrained=None, fresh=bool(kwargs.pop("fresh", False)),
                                extra=dict(kwargs.pop("extra", None) or {}), callbacks=[], **kwargs)
        if batch:
            raise NotBatchable(f"runs {names} cannot train as one batch: {reason}")
    return {n: train_seeds(session, n, runs[n][0], runs[n][1], seeds, evaluator=runs[n][2],
                           batch=batch, **dict(kwargs)) for n in names}


def record_as(session: Any, run: RunResult, name: str) -> RunResult:
    """Record a finished run under a second run name: one training that is a row of two
    experiments (e.g. no augmentation at 100 % data is both the data study's baseline and the
    augmentation table's first row; a tuning grid's seed-0 run at the chosen setting is that
    setting's seed 0). The record's ``extra.same_training_as`` names the original; a run trained
    with ``record=False`` gets its first record here.

    Raises:
        ValueError: a bad name.
    """
    if not name or "/" in name:
        raise ValueError(f"run name must be a non-empty string without '/', got {name!r}")
    def write() -> Path:
        if not run.record or not Path(run.record).is_file():
            cfg = run.trainer.config
            return save_record(session.results_dir, notebook=session.notebook, run=name,
                               dataset=run.trainer.dataset.info.name, seed=cfg.seed, model=run.model,
                               config={**cfg.as_dict(), "checkpoint_dir": None, "profile": session.settings.profile},
                               history=run.history, metrics=run.metrics, device=session.device,
                               extra={"same_training_as": run.name,
                                      **({"untrained": run.untrained} if run.untrained else {})})
        rec = json.loads(Path(run.record).read_text(encoding="utf-8"))
        rec["run"] = name
        rec.setdefault("extra", {})["same_training_as"] = run.name
        return atomic_write_json(Path(run.record).with_name(f"{rec['notebook']}__{name}__seed{rec['seed']}.json"), rec)

    return dataclasses.replace(run, name=name, record=on_main(write))  # (under torchrun: rank 0 writes)


def seed_summary(groups: Mapping[Any, Sequence[RunResult]], keys: Mapping[str, str],
                 *, ratio_to_untrained: str | None = None) -> Any:
    """A pandas table, one row per group of runs (the seeds of one condition): for each
    ``label: metric key`` its ``mean`` and ``std`` (ddof = 1; NaN for one seed), plus ``seeds``.

    Args:
        groups: condition -> its runs (e.g. ``{"blur": [run_seed0, run_seed1, run_seed2]}``).
        keys: column label -> metric key of the runs' final metrics.
        ratio_to_untrained: a label of ``keys``: also ``<label> / untrained`` (mean, std) from
            each run's untrained baseline.

    Raises:
        ValueError: an empty group, or a key a run does not have.
    """
    import numpy as np
    import pandas as pd

    rows = []
    for cond, runs in groups.items():
        if not runs:
            raise ValueError(f"group {cond!r} has no runs")
        row: dict[str, Any] = {"condition": cond, "seeds": len(runs)}
        cols = dict(keys)
        for label, key in cols.items():
            missing = [r.name for r in runs if key not in r.metrics]
            if missing:
                raise ValueError(f"metric {key!r} missing in runs {missing}; they have {sorted(runs[0].metrics)}")
            vals = np.array([r.metrics[key] for r in runs], dtype=float)
            row[f"{label} mean"] = vals.mean()
            row[f"{label} std"] = vals.std(ddof=1) if len(vals) > 1 else math.nan
            if label == ratio_to_untrained:
                ratios = np.array([r.metrics[key] / (r.untrained or {}).get(key, math.nan) for r in runs])
                row[f"{label} / untrained mean"] = ratios.mean()
                row[f"{label} / untrained std"] = ratios.std(ddof=1) if len(ratios) > 1 else math.nan
        rows.append(row)
    return pd.DataFrame(rows).set_index("condition")


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
