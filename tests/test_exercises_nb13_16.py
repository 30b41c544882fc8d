"""The references written in ganlab/exercises/nb16.py (and the hand-built ADA step of nb15) agree
with the libraries the course trains and tests with: torch's CosineAnnealingLR, scipy's Welch test,
ganlab.augment.ADA over several adjustments."""

from __future__ import annotations

import math

import pytest
import scipy.stats
import torch

from ganlab.augment import ADA
from ganlab.exercises.nb15 import _ada_adjust
from ganlab.exercises.nb16 import cosine_lr, welch_t


@pytest.mark.parametrize(("base_lr", "steps"), [(2e-4, 10), (1.0, 7), (0.05, 1), (3e-3, 300)])
def test_cosine_reference_is_torchs_cosine_annealing(base_lr: float, steps: int) -> None:
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=0.0)
    for i in range(steps + 1):
        assert math.isclose(opt.param_groups[0]["lr"], cosine_lr(base_lr, i, steps), rel_tol=1e-9, abs_tol=1e-15)
        opt.step()
        sched.step()


@pytest.mark.parametrize(("a", "b"), [([61.0, 58.0, 66.0], [70.0, 79.0, 74.0]),
                                      ([120.0, 95.0, 141.0], [88.0, 90.0, 87.5, 91.0, 89.0]),
                                      ([40.0, 42.0, 39.5, 41.0], [55.0, 49.0])])
def test_welch_reference_matches_scipy(a, b) -> None:
    t, df = welch_t(a, b)
    res = scipy.stats.ttest_ind(a, b, equal_var=False)
    assert math.isclose(t, float(res.statistic), rel_tol=1e-12)
    assert math.isclose(df, float(res.df), rel_tol=1e-12)
    assert math.isclose(2 * scipy.stats.t.sf(abs(t), df), float(res.pvalue), rel_tol=1e-9)


def test_ada_reference_steps_like_the_controller_over_a_run() -> None:
    torch.manual_seed(0)
    ada, p = ADA(target=0.6, interval=1, ramp_images=640), 0.0
    for _ in range(40):
        logits = torch.randn(64, 1) + 2.0 - 3.0 * float(ada.p)
        rt, p = _ada_adjust(float(p), logits, 0.6, 640)
        ada.observe(logits, 64)
        ada.step()
        assert abs(float(p) - float(ada.p)) < 1e-6 and float(rt) == float(ada.rt)
    assert 0.0 < float(p) < 1.0
