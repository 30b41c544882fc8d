"""The Optuna search of notebook 16 (``ganlab.course.tuning``): seeded TPE, the sampled values reach
the model, pruning on the intermediate metric stops bad trials, and bad settings are refused."""

from __future__ import annotations

import pytest

pytest.importorskip("optuna")

from ganlab.course.tuning import SearchSpace, tune  # noqa: E402
from ganlab.metrics import Evaluator  # noqa: E402
from ganlab.models import build  # noqa: E402
from tests.helpers import mlp_pair, tiny_points  # noqa: E402

KEY = "fid[points,N=64]"


def _search(n_trials: int = 4, **kw):
    seen = []

    def make(params):
        seen.append(dict(params))
        G, D = mlp_pair()
        return build("gan", G, D, lr_g=params["lr"], lr_d=params["lr"], d_steps=params["d"])

    ev = Evaluator(tiny_points(256, seed=3), extractor="points", n=64, metrics=("fid",))
    space = {"lr": SearchSpace("log", 1e-4, 1e-2), "d": SearchSpace("choice", choices=(1, 2))}
    res = tune(space, make, tiny_points(256), ev, KEY, n_trials=n_trials, steps=8, batch_size=16, eval_every=2,
               seed=5, **kw)
    return res, seen


def test_a_seeded_search_is_repeatable_and_reaches_the_model() -> None:
    a, seen = _search()
    b, _ = _search()
    assert len(a.trials) == 4 and list(a.trials.columns[:4]) == ["state", "value", "last reported", "seconds"]
    assert a.trials["lr"].tolist() == b.trials["lr"].tolist()  # TPE's sampler is seeded
    assert [p["lr"] for p in seen] == a.trials["lr"].tolist()   # the sampled values built the models
    assert all(1e-4 <= p["lr"] <= 1e-2 and p["d"] in (1, 2) for p in seen)
    done = a.trials[a.trials["state"] == "complete"]
    assert a.best_value == pytest.approx(done["value"].min()) and a.best_params in [
        {"lr": r.lr, "d": r.d} for r in done.itertuples()]


def test_pruning_stops_trials_worse_than_the_median() -> None:
    res, _ = _search(n_trials=12, startup_trials=2)
    assert set(res.trials["state"]) <= {"complete", "pruned"}
    pruned = res.trials[res.trials["state"] == "pruned"]
    assert len(pruned) >= 1, res.trials
    study = res.study
    for number in pruned.index:  # a pruned trial stopped before the last evaluation (step 8)
        t = study.trials[number]
        assert max(t.intermediate_values) < 8
        assert pruned.loc[number, "value"] == pytest.approx(t.intermediate_values[max(t.intermediate_values)])


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="kind 'grid' is not known"):
        SearchSpace("grid")
    with pytest.raises(ValueError, match="low > 0"):
        SearchSpace("log", 0.0, 1.0)
    with pytest.raises(ValueError, match="needs choices"):
        SearchSpace("choice")
    with pytest.raises(ValueError, match="low < high"):
        SearchSpace("float", 1.0, 1.0)
    with pytest.raises(ValueError, match="at least one hyperparameter"):
        tune({}, lambda p: None, tiny_points(64), None, KEY, n_trials=1, steps=1, batch_size=8, eval_every=1)
    with pytest.raises(ValueError, match="n_trials must be an integer >= 1"):
        tune({"x": SearchSpace("float")}, lambda p: None, tiny_points(64), None, KEY, n_trials=0, steps=1,
             batch_size=8, eval_every=1)
