"""Fully connected generator and discriminator of the vanilla-GAN report (tables I and II).

With the defaults they are exactly the report's networks for MNIST 28x28:

* ``MLPGenerator``: z (100) -> 256 -> 512 -> 1024 -> 784, LeakyReLU(0.2) between layers,
  Tanh out, reshaped to (1, 28, 28). 1,486,352 parameters.
* ``MLPDiscriminator``: 784 -> 1024 -> 512 -> 256 -> 1, LeakyReLU(0.2) + Dropout(0.3) after
  each hidden layer. 1,460,225 parameters. Unlike the report's table II it ends without the
  sigmoid: it returns logits (the losses in :mod:`ganlab.losses` take logits).

For the 2-D toy mixtures use ``out_shape=(2,), out_activation=None`` and ``in_shape=(2,)``; the
PacGAN paper's toy networks are ``MLPGenerator(nz=2, out_shape=(2,), hidden=(400,) * 4,
norm="batch", activation="relu", out_activation=None)`` and ``MLPDiscriminator(in_shape=(2,),
hidden=(200,) * 3, maxout=5, dropout=0, pack=m)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ganlab.nets.layers import FourierFeatures, apply_spectral_norm, check_choice

__all__ = ["MLPGenerator", "MLPDiscriminator", "Maxout"]

_OUT_ACTIVATIONS = ("tanh", None)
_ACTIVATIONS = ("leaky_relu", "relu")
_NORMS = ("none", "batch")


class Maxout(nn.Module):
    """Maxout over groups of ``pieces`` consecutive features: ``(..., h * pieces) -> (..., h)``
    (Goodfellow et al. 2013; the PacGAN toy discriminator's units)."""

    def __init__(self, pieces: int) -> None:
        super().__init__()
        if isinstance(pieces, bool) or not isinstance(pieces, int) or pieces < 1:
            raise ValueError(f"maxout pieces must be an int >= 1; got {pieces!r}")
        self.pieces = pieces

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(-1, (x.shape[-1] // self.pieces, self.pieces)).amax(dim=-1)

    def extra_repr(self) -> str:
        return f"pieces={self.pieces}"


def _shape(value: int | Sequence[int], what: str) -> tuple[int, ...]:
    shape = (int(value),) if isinstance(value, int) else tuple(int(s) for s in value)
    if not shape or any(s <= 0 for s in shape):
        raise ValueError(f"{what} must be a non-empty tuple of positive ints; got {value!r}")
    return shape


def _hidden(value: Sequence[int]) -> tuple[int, ...]:
    hidden = tuple(int(h) for h in value)
    if any(h <= 0 for h in hidden):
        raise ValueError(f"hidden sizes must be positive ints; got {value!r}")
    return hidden


class MLPGenerator(nn.Module):
    """Maps latent codes ``z`` of shape ``(N, nz)`` to samples of shape ``(N, *out_shape)``.

    Args:
        nz: latent size.
        out_shape: sample shape, e.g. ``(1, 28, 28)`` for MNIST or ``(2,)`` for 2-D points.
        hidden: widths of the hidden layers, in order.
        slope: negative slope of the LeakyReLU after each hidden layer.
        out_activation: ``"tanh"`` (outputs in [-1, 1], for images) or ``None`` (unbounded,
            for 2-D toy data).
        norm: ``"none"`` or ``"batch"`` (BatchNorm1d after each hidden linear layer, before
            the activation: the PacGAN toy generator).
        activation: ``"leaky_relu"`` (with ``slope``) or ``"relu"``.

    Attributes:
        nz, out_shape: as given (the generator contract of ``ganlab``).
    """

    def __init__(
        self,
        nz: int = 100,
        out_shape: Sequence[int] | int = (1, 28, 28),
        hidden: Sequence[int] = (256, 512, 1024),
        slope: float = 0.2,
        out_activation: str | None = "tanh",
        norm: str = "none",
        activation: str = "leaky_relu",
    ) -> None:
        super().__init__()
        if out_activation == "none":
            out_activation = None
        check_choice("out_activation", out_activation, _OUT_ACTIVATIONS)
        check_choice("norm", norm, _NORMS)
        check_choice("activation", activation, _ACTIVATIONS)
        if int(nz) <= 0:
            raise ValueError(f"nz must be a positive int; got {nz!r}")
        self.nz = int(nz)
        self.out_shape = _shape(out_shape, "out_shape")
        layers: list[nn.Module] = []
        width = self.nz
        for h in _hidden(hidden):
            layers.append(nn.Linear(width, h))
            if norm == "batch":
                layers.append(nn.BatchNorm1d(h))
            layers.append(nn.LeakyReLU(slope) if activation == "leaky_relu" else nn.ReLU())
            width = h
        layers.append(nn.Linear(width, math.prod(self.out_shape)))
        if out_activation == "tanh":
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``z``: ``(N, nz)`` -> ``(N, *out_shape)`` (in [-1, 1] with the tanh output)."""
        if z.dim() != 2 or z.shape[1] != self.nz:
            raise ValueError(f"expected z of shape (N, {self.nz}); got {tuple(z.shape)}")
        return self.net(z).reshape(z.shape[0], *self.out_shape)


class MLPDiscriminator(nn.Module):
    """Scores samples of shape ``(N, *in_shape)`` with raw logits of shape ``(N // pack,)``.

    Args:
        in_shape: sample shape, e.g. ``(1, 28, 28)`` or ``(2,)``.
        hidden: widths of the hidden layers, in order.
        dropout: dropout probability after each hidden activation (0 disables it).
        slope: negative slope of the LeakyReLU.
        pack: PacGAN packing degree m. The batch ``(N, *in_shape)`` (N divisible by m) is
            reshaped to ``(N // m, m * d)``, d = prod(in_shape): consecutive samples form one
            pack, and one logit is returned per pack. ``pack=1`` is the ordinary D.
        spectral_norm: put spectral normalisation on every linear layer.
        maxout: pieces per maxout unit (the PacGAN toy D: 5); each hidden layer is then
            ``Linear(width, h * maxout)`` followed by :class:`Maxout` instead of the LeakyReLU.
            1 (default): the LeakyReLU layers.
        fourier: random Fourier features per sample in front of the first layer
            (:class:`~ganlab.nets.layers.FourierFeatures`, ``fourier`` frequencies, each a sine and
            a cosine): lets a small D resolve fine detail of low-dimensional data (the 2-D
            toys) within a short training budget. 0 (default): raw inputs.
        fourier_scale: standard deviation of those frequencies in cycles per unit of the input.
    """

    def __init__(
        self,
        in_shape: Sequence[int] | int = (1, 28, 28),
        hidden: Sequence[int] = (1024, 512, 256),
        dropout: float = 0.3,
        slope: float = 0.2,
        pack: int = 1,
        spectral_norm: bool = False,
        maxout: int = 1,
        fourier: int = 0,
        fourier_scale: float = 1.0,
    ) -> None:
        super().__init__()
        if isinstance(fourier, bool) or not isinstance(fourier, int) or fourier < 0:
            raise ValueError(f"fourier must be an int >= 0 (frequencies per sample; 0 = raw inputs); got {fourier!r}")
        if isinstance(maxout, bool) or not isinstance(maxout, int) or maxout < 1:
            raise ValueError(f"maxout must be an int >= 1 (pieces per unit; 1 = LeakyReLU); got {maxout!r}")
        if int(pack) < 1:
            raise ValueError(f"pack must be an int >= 1; got {pack!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {dropout!r}")
        self.in_shape = _shape(in_shape, "in_shape")
        self.pack = int(pack)
        self.in_features = self.pack * math.prod(self.in_shape)
        width = self.in_features
        layers: list[nn.Module] = []
        if fourier:
            layers.append(FourierFeatures(math.prod(self.in_shape), fourier, fourier_scale, self.pack))
            width = layers[0].out_features
        for h in _hidden(hidden):
            if maxout > 1:
                layers += [nn.Linear(width, h * maxout), Maxout(maxout)]
            else:
                layers += [nn.Linear(width, h), nn.LeakyReLU(slope)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)
        if spectral_norm:
            apply_spectral_norm(self.net)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(N, *in_shape)`` -> logits ``(N // pack,)``."""
        if tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(
                f"expected input of shape (N, {', '.join(map(str, self.in_shape))}); "
                f"got {tuple(x.shape)}"
            )
        n = x.shape[0]
        if n % self.pack:
            raise ValueError(f"batch size {n} is not divisible by pack={self.pack} (PacGAN)")
        return self.net(x.reshape(n // self.pack, self.in_features)).reshape(n // self.pack)
