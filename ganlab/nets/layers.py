"""Small building blocks shared by the architectures: normalisation layers by name,
spectral normalisation of every weight layer, and argument checks with clear messages."""

from __future__ import annotations

from collections.abc import Iterable

import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from ganlab import rng

__all__ = ["NORMS", "check_choice", "norm2d", "apply_spectral_norm"]

#: Normalisation names accepted by the convolutional nets.
NORMS: tuple[str, ...] = ("batch", "instance", "layer", "none")


def check_choice(what: str, value: object, accepted: Iterable[object]) -> None:
    """Raise ``ValueError`` naming ``what``, the given ``value`` and the accepted values."""
    accepted = tuple(accepted)
    if value not in accepted:
        raise ValueError(
            f"{what} {value!r} is not supported; accepted: {', '.join(repr(a) for a in accepted)}"
        )


def norm2d(kind: str, channels: int) -> nn.Module:
    """A normalisation layer for ``(N, channels, H, W)`` feature maps.

    ``"batch"``: ``BatchNorm2d`` (statistics over N, H, W; couples the samples of a batch).
    ``"instance"``: ``InstanceNorm2d(affine=True)`` (per sample and channel, over H, W).
    ``"layer"``: ``GroupNorm(1, channels)``, i.e. layer norm over (C, H, W) per sample with a
    per-channel affine; works at any spatial size and is the safe choice for a WGAN-GP critic.
    ``"none"``: ``Identity``.
    """
    check_choice("norm", kind, NORMS)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    return nn.Identity()


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Register ``torch.nn.utils.parametrizations.spectral_norm`` on the ``weight`` of every
    ``Linear``, ``Conv2d`` and ``ConvTranspose2d`` inside ``module`` (in place); returns it.

    In train mode each forward pass runs one power iteration, so after a few passes the
    largest singular value of every (reshaped ``(out, -1)``) weight is close to 1.
    """
    for sub in list(module.modules()):
        if isinstance(sub, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            _spectral_norm(sub)
    return module


class StepDropout(nn.Module):
    """Dropout whose masks come from the training step's generator (:func:`ganlab.rng.current`),
    so a data-parallel run draws each rank's rows of the single run's masks; outside a training
    step it is ``nn.Dropout`` exactly (torch's global generator). ``(N, ...) -> (N, ...)``.

    Args:
        p: the probability of zeroing an element, ``0 <= p < 1``.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout p={p!r} is not accepted; accepted: 0 <= p < 1")
        self.p = float(p)

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        g = rng.current()
        if g is None:
            return F.dropout(x, self.p, training=True)
        keep = rng.rand(x.shape[0], *x.shape[1:], generator=g, device=x.device) >= self.p
        return x * keep.to(x.dtype) / (1.0 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"
