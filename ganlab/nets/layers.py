"""Small building blocks shared by the architectures: normalisation layers by name,
spectral normalisation of every weight layer, dropout drawn from the step's generator, random
Fourier features, and argument checks with clear messages."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from ganlab import rng

__all__ = ["NORMS", "check_choice", "norm2d", "apply_spectral_norm", "StepDropout", "FourierFeatures"]

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


class FourierFeatures(nn.Module):
    """Random Fourier features of each sample of a pack: ``(..., pack * d) -> (..., pack * 2 * n)``.

    Each d-dimensional sample ``x`` becomes ``[sin(2 pi x B), cos(2 pi x B)]`` with a fixed
    (not trained) ``B`` of shape ``(d, n)`` drawn from ``N(0, scale^2)`` at construction, from
    torch's global generator (so ``torch.manual_seed`` before building seeds it, as it seeds the
    linear layers); ``scale`` is in cycles per unit of the input. A ReLU network on raw 2-D
    coordinates learns fine detail very slowly (spectral bias, Rahaman et al. 2019); random Fourier
    features (Rahimi & Recht 2007; Tancik et al. 2020) in front of it remove that bottleneck: a
    small discriminator trained alone then tells grid25's modes (std 0.05) from modes three times
    wider within a thousand steps, which the same network on raw coordinates does not (notebook 02,
    section 3; ``tests/test_nets.py``).

    The samples of a PacGAN pack are mapped one by one with the same ``B`` and the features
    concatenated in pack order, so a pack of m samples gives ``m * 2n`` features.

    Args:
        in_features: d, the size of one sample (2 for the toy mixtures).
        n_frequencies: n, frequencies per sample (each gives a sine and a cosine).
        scale: standard deviation of the frequencies, > 0.
        pack: samples per input row (1 = ordinary rows of d values).
    """

    def __init__(self, in_features: int, n_frequencies: int, scale: float, pack: int = 1) -> None:
        super().__init__()
        for what, value in (("in_features", in_features), ("n_frequencies", n_frequencies), ("pack", pack)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"FourierFeatures {what} must be an int >= 1; got {value!r}")
        if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
            raise ValueError(f"FourierFeatures scale must be a finite number > 0 (cycles per unit); got {scale!r}")
        self.in_features, self.n_frequencies, self.pack, self.scale = in_features, n_frequencies, pack, float(scale)
        self.register_buffer("freqs", torch.randn(in_features, n_frequencies) * (2 * math.pi * self.scale))

    @property
    def out_features(self) -> int:
        return self.pack * 2 * self.n_frequencies

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.pack * self.in_features:
            raise ValueError(f"expected inputs (..., {self.pack * self.in_features}); got {tuple(x.shape)}")
        phase = x.unflatten(-1, (self.pack, self.in_features)) @ self.freqs
        return torch.cat([phase.sin(), phase.cos()], dim=-1).flatten(-2)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, n_frequencies={self.n_frequencies}, scale={self.scale}, pack={self.pack}"
