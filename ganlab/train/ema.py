"""Exponential moving average of generator weights (Karras et al.; Yazici et al. 2019)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["update_ema"]


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """``ema <- decay * ema + (1 - decay) * model`` for parameters; buffers (BN stats) are copied."""
    ema_params = list(ema.parameters())
    params = list(model.parameters())
    torch._foreach_lerp_(ema_params, [p.detach() for p in params], 1.0 - decay)
    for b_ema, b in zip(ema.buffers(), model.buffers()):
        b_ema.copy_(b)
