"""Learning-rate schedules and optimisers of a recipe: the lr each schedule gives over a run, the
state a checkpoint keeps (a resumed run with a schedule ends with the same weights), and the
checkpoints written before schedules existed still resume."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from ganlab.models import build
from ganlab.train import TrainConfig, Trainer
from tests.helpers import mlp_pair, tiny_points


def _lrs(scheduler: str, steps: int = 8, **recipe) -> list[float]:
    G, D = mlp_pair()
    model = build("gan", G, D, lr_g=1.0, lr_d=1.0, scheduler=scheduler, **recipe)
    tr = Trainer(model, tiny_points(64), TrainConfig(steps=steps, batch_size=16, device="cpu", progress=False,
                                                    log_every=1, precision="fp32"),
                 callbacks=[lambda t, s: seen.append(t.optimizers["g"].param_groups[0]["lr"])])
    seen: list[float] = []
    tr.fit()
    return seen  # the lr after each iteration (the scheduler steps once per iteration)


def test_each_schedule_gives_its_learning_rates() -> None:
    assert _lrs("none") == [1.0] * 8
    assert _lrs("step", lr_gamma=0.5) == pytest.approx([1, 1, 1, 0.5, 0.5, 0.25, 0.25, 0.25])
    assert _lrs("exponential", lr_gamma=0.01)[-1] == pytest.approx(0.01, rel=1e-6)
    cos = _lrs("cosine")
    assert cos == pytest.approx([0.5 * (1 + math.cos(math.pi * i / 8)) for i in range(1, 9)], abs=1e-9)
    assert _lrs("linear") == pytest.approx([1 - i / 8 for i in range(1, 9)])


def test_nesterov_and_bad_settings() -> None:
    G, D = mlp_pair()
    opt = build("gan", G, D, optimizer="nesterov", betas=(0.9, 0.999)).configure_optimizers()["d"]
    assert isinstance(opt, torch.optim.SGD) and opt.defaults["nesterov"] and opt.defaults["momentum"] == 0.9
    with pytest.raises(ValueError, match="scheduler 'warm' is not known; accepted: none, step, exponential"):
        build("gan", G, D, scheduler="warm")
    with pytest.raises(ValueError, match=r"lr_gamma must be in \(0, 1\]"):
        build("gan", G, D, lr_gamma=0)
    with pytest.raises(ValueError, match="optimizer 'lion' is not known"):
        build("gan", G, D, optimizer="lion")


class _Stop(Exception):
    pass


def test_a_scheduled_run_resumes_exactly_and_its_length_is_part_of_it(tmp_path: Path) -> None:
    from ganlab.train import CheckpointError

    def trainer(steps: int, folder: Path, stop_at: int | None = None) -> Trainer:
        torch.manual_seed(0)
        G, D = mlp_pair()

        def stop(t, step):
            if step == stop_at:
                raise _Stop  # a killed session: the last checkpoint is the step-10 one
        return Trainer(build("gan", G, D, scheduler="cosine", lr_g=1e-2, lr_d=1e-2), tiny_points(256),
                       TrainConfig(steps=steps, batch_size=16, seed=1, device="cpu", progress=False, precision="fp32",
                                   checkpoint_every=5, checkpoint_dir=str(folder), resume=True, log_every=5),
                       callbacks=[stop])

    whole = trainer(20, tmp_path / "a")
    whole.fit()
    with pytest.raises(_Stop):
        trainer(20, tmp_path / "b", stop_at=15).fit()
    resumed = trainer(20, tmp_path / "b")
    resumed.fit()
    assert resumed.history.resumed_from == 10
    for a, b in zip(whole.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)
    assert whole.schedulers["g"].state_dict() == resumed.schedulers["g"].state_dict()
    with pytest.raises(CheckpointError, match="steps: checkpoint 20, this run 30"):
        trainer(30, tmp_path / "b").fit()  # a longer cosine schedule is another run


def test_checkpoints_from_before_schedules_still_resume(tmp_path: Path) -> None:
    """A checkpoint whose stored recipe has no scheduler / lr_gamma (written before they existed)
    is the same run as one with the defaults."""
    G, D = mlp_pair()
    cfg = TrainConfig(steps=4, batch_size=16, seed=0, device="cpu", progress=False, checkpoint_every=4,
                      checkpoint_dir=str(tmp_path), resume=True, precision="fp32")
    tr = Trainer(build("gan", G, D), tiny_points(64), cfg)
    tr.fit()
    state = tr.state_dict()
    for key in ("scheduler", "lr_gamma"):
        del state["identity"]["recipe"][key]
    del state["sched"]
    G2, D2 = mlp_pair()
    fresh = Trainer(build("gan", G2, D2), tiny_points(64), cfg)
    fresh._prepare()
    fresh.load_state_dict(state)  # no CheckpointError
    assert fresh.step == 4
