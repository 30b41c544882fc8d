"""Notebook 16 (ablations): the cosine learning-rate schedule, an EMA update of the generator's
weights, and the Welch t statistic with its degrees of freedom, written by hand.

The cosine and Welch references are written here (the package uses torch's
``CosineAnnealingLR`` and ``scipy.stats.ttest_ind``); ``tests/test_exercises_nb13_16.py``
validates them against those libraries. The EMA reference is ``ganlab.train.ema.update_ema``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from ganlab.exercises import Case, register
from ganlab.train.ema import update_ema

# ----------------------------------------------------------------------------- 16.cosine_lr


def cosine_lr(base_lr: float, step: int, steps: int) -> float:
    """Reference: cosine annealing from ``base_lr`` at step 0 to 0 at step ``steps``,
    ``base_lr * (1 + cos(pi * step / steps)) / 2`` (torch's ``CosineAnnealingLR`` with
    ``T_max=steps, eta_min=0``, the training loop's ``scheduler="cosine"``)."""
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * step / steps))


def _observe_schedule(fn: Callable[..., Any], case: Case) -> torch.Tensor:
    """The learning rate at every step 0..steps of the case, as one float64 tensor."""
    base_lr, steps = case.args
    return torch.tensor([float(fn(base_lr, i, steps)) for i in range(steps + 1)], dtype=torch.float64)


def _cos_cases() -> list[Case]:
    return [Case("base_lr 2e-4 over 10 steps", (2e-4, 10)), Case("base_lr 1.0 over 7 steps", (1.0, 7)),
            Case("base_lr 0.05 over 1 step", (0.05, 1))]


def _cos_no_shift(base_lr, step, steps):
    return base_lr * math.cos(math.pi * step / steps)


def _cos_quarter(base_lr, step, steps):
    return base_lr * math.cos(0.5 * math.pi * step / steps)


def _cos_off_by_one(base_lr, step, steps):
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * step / max(steps - 1, 1)))


def _cos_rising(base_lr, step, steps):
    return base_lr * 0.5 * (1.0 - math.cos(math.pi * step / steps))


def _cos_linear(base_lr, step, steps):
    return base_lr * (1.0 - step / steps)


register(
    "16.cosine_lr",
    title="cosine learning-rate schedule",
    hint=("the rate follows half a cosine period, from base_lr at step 0 down to 0 at step `steps`: "
          "base_lr * (1 + cos(pi * step / steps)) / 2. cos alone goes negative; pi / 2 stops at a "
          "quarter period; the last step is `steps`, not `steps - 1`."),
    reference=cosine_lr, cases=_cos_cases, observe=_observe_schedule, atol=1e-12, rtol=1e-6,
    wrong=(_cos_no_shift, _cos_quarter, _cos_off_by_one, _cos_rising, _cos_linear),
)

# ----------------------------------------------------------------------------- 16.ema_update


def _small_net(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def _ema_cases() -> list[Case]:
    out = []
    for label, decay in (("decay 0.9", 0.9), ("decay 0.999", 0.999), ("decay 0.5", 0.5)):
        G = _small_net(1)
        with torch.no_grad():          # the model's batch-norm statistics moved on since the copy
            G(torch.randn(16, 3, generator=torch.Generator().manual_seed(2)) * 3 + 1)
        out.append(Case(f"a tiny G (linear, batch norm), {label}", (_small_net(0).eval(), G, decay)))
    return out


def _observe_ema(fn: Callable[..., Any], case: Case) -> dict[str, Any]:
    """The EMA copy's state after the call (it is updated in place) and the model's (unchanged);
    batch norm's ``num_batches_tracked`` counter is left out (copying it or not changes nothing)."""
    ema, model, decay = case.args
    fn(ema, model, decay)

    def state(net: nn.Module) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}

    return {"EMA copy's state_dict": state(ema), "model's state_dict (must stay as it was)": state(model)}


def _ema_swapped(ema, model, decay):
    update_ema(ema, model, 1.0 - decay)


@torch.no_grad()
def _ema_no_buffers(ema, model, decay):
    for pe, p in zip(ema.parameters(), model.parameters()):
        pe.mul_(decay).add_(p, alpha=1.0 - decay)


@torch.no_grad()
def _ema_averaged_buffers(ema, model, decay):
    for te, t in zip(ema.state_dict().values(), model.state_dict().values()):
        if te.is_floating_point():
            te.mul_(decay).add_(t, alpha=1.0 - decay)
        else:
            te.copy_(t)


@torch.no_grad()
def _ema_into_model(ema, model, decay):
    update_ema(model, ema, 1.0 - decay)          # the average written into the model, not the copy


register(
    "16.ema_update",
    title="EMA of the generator's weights",
    hint=("in place and without gradients, for every parameter: ema_p <- decay * ema_p + (1 - decay) * p "
          "(decay near 1: the copy moves slowly); buffers such as batch-norm running statistics are "
          "copied from the model, not averaged; the model itself is left as it is."),
    reference=update_ema, cases=_ema_cases, observe=_observe_ema, atol=1e-6,
    wrong=(_ema_swapped, _ema_no_buffers, _ema_averaged_buffers, _ema_into_model),
)

# ----------------------------------------------------------------------------- 16.welch_t


def welch_t(a: Any, b: Any) -> tuple[float, float]:
    """Reference: Welch's t statistic of mean(a) - mean(b) with unbiased (ddof = 1) variances, and
    its Welch-Satterthwaite degrees of freedom (``scipy.stats.ttest_ind(a, b, equal_var=False)``)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))
    return float(t), float(df)


def _welch_cases() -> list[Case]:
    return [Case("3 seeds each (FIDs 61, 58, 66 vs 70, 79, 74)", (np.array([61.0, 58.0, 66.0]), np.array([70.0, 79.0, 74.0]))),
            Case("3 vs 5 seeds, unequal spreads", (np.array([120.0, 95.0, 141.0]), np.array([88.0, 90.0, 87.5, 91.0, 89.0]))),
            Case("4 vs 2 seeds, a is better", (np.array([40.0, 42.0, 39.5, 41.0]), np.array([55.0, 49.0])))]


def _welch_pooled(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    sp = ((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / (a.size + b.size - 2)
    return float((a.mean() - b.mean()) / math.sqrt(sp * (1 / a.size + 1 / b.size))), float(a.size + b.size - 2)


def _welch_ddof0(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    va, vb = a.var() / a.size, b.var() / b.size
    return (float((a.mean() - b.mean()) / math.sqrt(va + vb)),
            float((va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))))


def _welch_student_df(a, b):
    return welch_t(a, b)[0], float(len(a) + len(b) - 2)


def _welch_std_not_var(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    va, vb = a.std(ddof=1) / a.size, b.std(ddof=1) / b.size
    return (float((a.mean() - b.mean()) / math.sqrt(va + vb)),
            float((va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))))


def _welch_reversed(a, b):
    t, df = welch_t(a, b)
    return -t, df


register(
    "16.welch_t",
    title="Welch's t statistic and degrees of freedom",
    hint=("with s² the unbiased variances (ddof = 1) and n the sizes: t = (mean(a) - mean(b)) / "
          "sqrt(s_a²/n_a + s_b²/n_b), no pooled variance; df = (s_a²/n_a + s_b²/n_b)² / "
          "((s_a²/n_a)²/(n_a - 1) + (s_b²/n_b)²/(n_b - 1)), not n_a + n_b - 2. Return (t, df)."),
    reference=welch_t, cases=_welch_cases, atol=1e-7, rtol=1e-5,
    wrong=(_welch_pooled, _welch_ddof0, _welch_student_df, _welch_std_not_var, _welch_reversed),
)
