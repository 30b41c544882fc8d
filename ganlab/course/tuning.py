"""A small hyperparameter search with Optuna: TPE sampling, pruning on the intermediate FID.

Each trial builds a model from the sampled values, trains it with the real
:class:`~ganlab.train.Trainer` for the session's budget and reports the evaluator's metric at every
evaluation; Optuna's median pruner stops trials that are worse than the median of earlier trials at
the same step. The study is seeded (TPE's sampler), so a search is repeatable on one machine.
Trials keep no checkpoints and write no records: the point of a search is its best setting, which
the notebook then trains with several seeds like any other run.

Optuna is an optional dependency (``pip install "ganlab[tune]"``; the course's dev extras include
it): :func:`tune` raises a clear error without it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SearchSpace", "TuneResult", "tune", "optuna_available"]


def optuna_available() -> bool:
    """Whether Optuna can be imported."""
    try:
        import optuna  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class SearchSpace:
    """One hyperparameter: ``kind`` ``"log"`` (log-uniform float), ``"float"`` (uniform float) or
    ``"choice"`` (one of ``choices``)."""

    kind: str
    low: float = 0.0
    high: float = 1.0
    choices: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("log", "float", "choice"):
            raise ValueError(f"search space kind {self.kind!r} is not known; accepted: log, float, choice")
        if self.kind == "choice" and not self.choices:
            raise ValueError("a 'choice' search space needs choices")
        if self.kind != "choice" and not self.low < self.high:
            raise ValueError(f"search space needs low < high, got {self.low} and {self.high}")
        if self.kind == "log" and self.low <= 0:
            raise ValueError(f"a log search space needs low > 0, got {self.low}")

    def suggest(self, trial: Any, name: str) -> Any:
        if self.kind == "log":
            return trial.suggest_float(name, self.low, self.high, log=True)
        if self.kind == "float":
            return trial.suggest_float(name, self.low, self.high)
        return trial.suggest_categorical(name, list(self.choices))


@dataclass
class TuneResult:
    """What :func:`tune` returns: the study, its trials as a table, and the best values."""

    study: Any
    trials: Any  # pandas.DataFrame: number, state, value, params, seconds
    best_params: dict[str, Any]
    best_value: float


def tune(space: Mapping[str, SearchSpace], make_model: Callable[[dict[str, Any]], Any], dataset: Any,
         evaluator: Any, metric: str, *, n_trials: int, steps: int, batch_size: int, eval_every: int,
         seed: int = 0, device: str = "cpu", train_overrides: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
         startup_trials: int = 3) -> TuneResult:
    """Search ``space`` for the setting that minimises ``metric`` after ``steps`` iterations.

    Args:
        space: name -> :class:`SearchSpace`.
        make_model: ``params -> model`` (a freshly seeded model; seed it inside for comparable trials).
        evaluator: its ``evaluate(sampler)`` gives ``metric`` (e.g. ``fid[mnist_cnn,N=1000]``); it runs
            every ``eval_every`` iterations, and the median pruner compares trials there.
        n_trials: the search budget (pruned trials count).
        train_overrides: ``params -> TrainConfig fields`` (e.g. a sampled batch size).
        startup_trials: trials that run to the end before pruning starts.

    Raises:
        ValueError: bad budget values or an empty space; ImportError (with the install command)
            when Optuna is missing.
    """
    if not space:
        raise ValueError("tune needs at least one hyperparameter in space")
    for key, value in (("n_trials", n_trials), ("steps", steps), ("eval_every", eval_every)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{key} must be an integer >= 1, got {value!r}")
    try:
        import optuna
    except ImportError as exc:  # pragma: no cover - the dev extras install it
        raise ImportError('tune needs Optuna: pip install "ganlab[tune]" (or pip install optuna)') from exc
    import pandas as pd

    from ganlab.train import TrainConfig, Trainer

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup_trials)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=startup_trials, n_warmup_steps=0)
    study = optuna.create_study(direction="minimize", sampler=sampler, pruner=pruner)
    seconds: dict[int, float] = {}

    def objective(trial: Any) -> float:
        params = {name: s.suggest(trial, name) for name, s in space.items()}
        model = make_model(params)
        cfg = TrainConfig(steps=steps, batch_size=batch_size, seed=seed, device=device, eval_every=eval_every,
                          log_every=eval_every, progress=False, **(train_overrides(params) if train_overrides else {}))

        def report(trainer: Any, step: int) -> None:
            done = [e for e in trainer.history.evals if e["step"] <= step]
            if done:
                last = done[-1]
                trial.report(float(last[metric]), int(last["step"]))
                if trial.should_prune():
                    raise optuna.TrialPruned()

        trainer = Trainer(model, dataset, cfg, evaluator=evaluator, callbacks=[report])
        try:
            history = trainer.fit()
        finally:
            seconds[trial.number] = trainer.history.wall_time
        value = float(history.evals[-1][metric])
        return value if math.isfinite(value) else float("inf")

    study.optimize(objective, n_trials=n_trials, catch=())
    rows = [{"trial": t.number, "state": t.state.name.lower(), "value": t.value,
             "last reported": (t.intermediate_values[max(t.intermediate_values)] if t.intermediate_values else None),
             "seconds": seconds.get(t.number), **t.params} for t in study.trials]
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        raise RuntimeError("every trial was pruned or failed; raise n_trials or startup_trials")
    best = min(done, key=lambda t: t.value)
    return TuneResult(study, pd.DataFrame(rows).set_index("trial"), dict(best.params), float(best.value))
