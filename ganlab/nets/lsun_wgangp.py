"""The two WGAN-GP configurations of the LSUN-bedroom report (64x64x3), built by
:func:`wgangp_lsun`.

The report bases both on the Keras "WGAN-GP" example, so, where the report is silent, the
layers follow that example's pattern: every generator "Conv2d" that doubles the side is
nearest-neighbour x2 upsampling followed by a 3x3 convolution (no bias), batch norm and
LeakyReLU(0.2); the last one has batch norm before the tanh, as the report lists it. Critic
convolutions are 5x5, stride 2, padding 2 (TensorFlow "same"), LeakyReLU(0.2), no norm; the
critic zero-pads the 64x64 input by 2 pixels first (64 -> 68), which is how the report's
34x34 after the first stride-2 convolution comes about (68 -> 34 -> 17 -> 9).

Version 1 (latent 128): G 128 -> dense 8192 (= 128 x 8x8, BN, LeakyReLU) -> 128 x 16x16
-> 256 x 32x32 -> 3 x 64x64 (BN, tanh). Critic 3 x 64x64 -> pad 68 -> 128 x 34x34
-> 256 x 17x17 -> 64 x 9x9 -> flatten 5184 -> dense 1. Exactly the report's shapes.

Version 2 (latent 1024): G 1024 -> dense 128 (read as 2 x 8x8: the report's "Dense: 128"
followed by a 16x16 convolution, keeping version 1's 8x8 start) -> 256 x 16x16 -> 64 x 32x32
-> 3 x 64x64, dropout 0.2 after each hidden convolution block. Deviation: not after the
output convolution, where it would push samples outside [-1, 1]. Critic 3 x 64x64 -> pad 68
-> 128 x 34x34 -> 256 x 17x17 -> flatten 73,984 -> dense 1. Deviation: the report prints
"Flatten: 18496" (= 17*17*64), which does not match its own 256-channel 17x17 layer; we follow
the listed convolutions. The report adds N(0, 0.001^2) noise to real and fake critic inputs:
returned as ``extras["instance_noise"]`` for the training step to apply
(:func:`ganlab.losses.instance_noise`); the critic itself is deterministic.

Both use PyTorch's default initialisation (the Keras example uses Keras defaults; the report
names none). Gradient-penalty weight 10 and batch size 128 (the report's) are in ``extras``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

__all__ = ["LSUNGenerator", "LSUNCritic", "wgangp_lsun"]


class LSUNGenerator(nn.Module):
    """Dense + upsample-convolution generator: ``z (N, nz)`` -> ``(N, 3, 64, 64)`` in [-1, 1].

    Args:
        nz: latent size.
        start_channels: channels of the 8x8 map the dense layer is reshaped to (the dense layer
            has ``start_channels * 64`` outputs).
        widths: output channels of the hidden up-blocks (8 -> 16 -> 32 ...); a final up-block
            maps to ``channels``. ``len(widths) + 1`` doublings from 8x8.
        channels: image channels.
        dropout: dropout after each hidden up-block (0 disables it).
        slope: LeakyReLU negative slope.
    """

    def __init__(
        self,
        nz: int = 128,
        start_channels: int = 128,
        widths: Sequence[int] = (128, 256),
        channels: int = 3,
        dropout: float = 0.0,
        slope: float = 0.2,
    ) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {dropout!r}")
        self.nz = int(nz)
        self.start_channels = int(start_channels)
        size = 8 * 2 ** (len(widths) + 1)
        self.out_shape = (channels, size, size)
        self.dense = nn.Sequential(
            nn.Linear(self.nz, self.start_channels * 64, bias=False),
            nn.BatchNorm1d(self.start_channels * 64),
            nn.LeakyReLU(slope, inplace=True),
        )
        blocks: list[nn.Module] = []
        width_in = self.start_channels
        for width in widths:
            blocks += _up(width_in, width) + [nn.LeakyReLU(slope, inplace=True)]
            if dropout > 0:
                blocks.append(nn.Dropout(dropout))
            width_in = width
        blocks += _up(width_in, channels) + [nn.Tanh()]
        self.net = nn.Sequential(*blocks)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``z``: ``(N, nz)`` -> ``(N, *out_shape)`` in [-1, 1]."""
        if z.dim() != 2 or z.shape[1] != self.nz:
            raise ValueError(f"expected z of shape (N, {self.nz}); got {tuple(z.shape)}")
        x = self.dense(z).reshape(z.shape[0], self.start_channels, 8, 8)
        return self.net(x)


def _up(width_in: int, width: int) -> list[nn.Module]:
    """x2 nearest upsampling, 3x3 convolution (no bias: batch norm follows), batch norm."""
    return [
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(width_in, width, 3, 1, 1, bias=False),
        nn.BatchNorm2d(width),
    ]


class LSUNCritic(nn.Module):
    """Strided-convolution critic without normalisation: ``(N, 3, 64, 64)`` -> scores ``(N,)``.

    Args:
        widths: output channels of the 5x5 stride-2 convolutions.
        channels: image channels.
        image_size: input side (zero-padded by ``pad`` on each side first).
        pad: zero padding of the input (2 reproduces the report's 34x34 first map).
        slope: LeakyReLU negative slope.
    """

    def __init__(
        self,
        widths: Sequence[int] = (128, 256, 64),
        channels: int = 3,
        image_size: int = 64,
        pad: int = 2,
        slope: float = 0.2,
    ) -> None:
        super().__init__()
        self.in_shape = (channels, image_size, image_size)
        layers: list[nn.Module] = [nn.ZeroPad2d(pad)] if pad else []
        side, width_in = image_size + 2 * pad, channels
        for width in widths:
            layers += [nn.Conv2d(width_in, width, 5, 2, 2), nn.LeakyReLU(slope, inplace=True)]
            side, width_in = (side + 1) // 2, width
        layers += [nn.Flatten(), nn.Linear(width_in * side * side, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(N, *in_shape)`` -> scores ``(N,)``."""
        if tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(
                f"expected images of shape (N, {', '.join(map(str, self.in_shape))}); "
                f"got {tuple(x.shape)}"
            )
        return self.net(x).reshape(x.shape[0])


def wgangp_lsun(version: int) -> tuple[LSUNGenerator, LSUNCritic, dict[str, Any]]:
    """The report's WGAN-GP ``version`` 1 or 2 for 64x64x3 images: ``(G, critic, extras)``.

    ``extras``: ``nz``, ``gp_weight`` (10), ``batch_size`` (128) and ``instance_noise`` (std of
    the Gaussian noise added to critic inputs: 0 in version 1, 0.001 in version 2).

    Raises:
        ValueError: ``version`` not in (1, 2).
    """
    if version == 1:
        g = LSUNGenerator(nz=128, start_channels=128, widths=(128, 256))
        d = LSUNCritic(widths=(128, 256, 64))
        noise = 0.0
    elif version == 2:
        g = LSUNGenerator(nz=1024, start_channels=2, widths=(256, 64), dropout=0.2)
        d = LSUNCritic(widths=(128, 256))
        noise = 0.001
    else:
        raise ValueError(f"wgangp_lsun version {version!r} is not supported; accepted: 1, 2")
    extras: dict[str, Any] = {
        "nz": g.nz,
        "gp_weight": 10.0,
        "batch_size": 128,
        "instance_noise": noise,
    }
    return g, d, extras
