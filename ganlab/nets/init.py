"""The DCGAN weight initialisation (Radford et al. 2015): N(0, 0.02) weights."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

__all__ = ["init_dcgan_weights"]

_WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.Linear)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.InstanceNorm2d, nn.GroupNorm, nn.LayerNorm)


def _weight_tensor(module: nn.Module) -> torch.Tensor | None:
    """The trainable weight tensor (the ``original`` one under a spectral-norm parametrization)."""
    if parametrize.is_parametrized(module, "weight"):
        return module.parametrizations.weight.original
    return getattr(module, "weight", None)


@torch.no_grad()
def init_dcgan_weights(module: nn.Module, std: float = 0.02) -> nn.Module:
    """Initialise ``module`` and all its children in place, the DCGAN way; returns ``module``.

    Convolutions, transposed convolutions and linear layers: weight ~ N(0, std), bias = 0.
    Normalisation layers with an affine part (batch / instance / group / layer norm):
    weight ~ N(1, std), bias = 0. Other modules are left untouched. Works on modules that
    already carry a spectral-norm parametrization (it initialises the unnormalised weight).
    One call covers the whole tree: ``init_dcgan_weights(net)`` (no ``net.apply`` needed).
    """
    for sub in module.modules():
        if isinstance(sub, _WEIGHTED):
            weight = _weight_tensor(sub)
            if weight is not None:
                weight.normal_(0.0, std)
            if getattr(sub, "bias", None) is not None:
                sub.bias.zero_()
        elif isinstance(sub, _NORMS):
            if getattr(sub, "weight", None) is not None:
                sub.weight.normal_(1.0, std)
            if getattr(sub, "bias", None) is not None:
                sub.bias.zero_()
    return module
