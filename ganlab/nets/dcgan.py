"""DCGAN generator, discriminator and critic (Radford et al. 2015) for 28, 32 and 64 px.

The 64 px configuration with ``nz=100, ngf=ndf=64, norm="batch"`` is the published DCGAN:

    G: z 100 -> 512x4x4 -> 256x8x8 -> 128x16x16 -> 64x32x32 -> 3x64x64
       (ConvTranspose2d 4x4; the first from 1x1 with stride 1, the others stride 2 padding 1;
       norm + ReLU after each hidden layer, tanh out). 3,576,704 parameters.
    D: 3x64x64 -> 64x32x32 -> 128x16x16 -> 256x8x8 -> 512x4x4 -> 1
       (Conv2d 4x4 stride 2 padding 1, LeakyReLU(0.2), no norm after the first layer,
       a final 4x4 valid conv to one logit). 2,765,568 parameters.

Smaller images use the same blocks with fewer up/down steps (channel multipliers of ngf/ndf):

    ====  ===========  =========================================================
    size  start map    G widths (D mirrors them)
    ====  ===========  =========================================================
    64    4x4          8, 4, 2, 1 -> channels    (4 stride-2 steps: 4->8->16->32->64)
    32    4x4          4, 2, 1 -> channels       (3 stride-2 steps: 4->8->16->32)
    28    7x7          4, 2 -> channels          (2 stride-2 steps: 7->14->28)
    ====  ===========  =========================================================

e.g. 28 px: G z -> ngf*4 x 7x7 -> ngf*2 x 14x14 -> channels x 28x28, and
D channels x 28x28 -> ndf*2 x 14x14 -> ndf*4 x 7x7 -> 7x7 valid conv -> 1 logit.

Convolutions carry no bias when ``norm != "none"`` (the published choice: a following norm
would cancel it); with ``norm="none"`` every convolution has a bias. Weights are initialised
by :func:`~ganlab.nets.init.init_dcgan_weights` in the constructors.
"""

from __future__ import annotations

import torch
from torch import nn

from ganlab.nets.init import init_dcgan_weights
from ganlab.nets.layers import NORMS, apply_spectral_norm, check_choice, norm2d

__all__ = ["DCGANGenerator", "DCGANDiscriminator", "DCGANCritic", "DCGAN_SIZES", "CHANNELS"]

#: image size -> (side of the smallest feature map, width multipliers from smallest map up)
_SPECS: dict[int, tuple[int, tuple[int, ...]]] = {
    64: (4, (8, 4, 2, 1)),
    32: (4, (4, 2, 1)),
    28: (7, (4, 2)),
}
#: Supported image sizes (square images).
DCGAN_SIZES: tuple[int, ...] = tuple(sorted(_SPECS))
#: Supported channel counts.
CHANNELS: tuple[int, ...] = (1, 3)


def _check(image_size: int, channels: int, norm: str, width: int, width_name: str) -> None:
    check_choice("image_size", image_size, DCGAN_SIZES)
    check_choice("channels", channels, CHANNELS)
    check_choice("norm", norm, NORMS)
    if int(width) <= 0:
        raise ValueError(f"{width_name} must be a positive int; got {width!r}")


def _check_dropout(dropout: float) -> None:
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1); got {dropout!r}")


class DCGANGenerator(nn.Module):
    """DCGAN generator: ``z (N, nz)`` -> images ``(N, channels, image_size, image_size)`` in [-1, 1].

    Args:
        nz: latent size.
        image_size: 28, 32 or 64.
        channels: 1 (grey) or 3 (RGB).
        ngf: base width; the widest layer has ``ngf * 8`` (64 px) or ``ngf * 4`` channels.
        norm: ``"batch"`` (published), ``"instance"``, ``"layer"`` or ``"none"``.
        dropout: dropout probability after each hidden block's ReLU (0 disables it).

    Attributes:
        nz, out_shape: the generator contract; ``out_shape == (channels, image_size, image_size)``.
    """

    def __init__(
        self,
        nz: int = 100,
        image_size: int = 64,
        channels: int = 3,
        ngf: int = 64,
        norm: str = "batch",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        _check(image_size, channels, norm, ngf, "ngf")
        _check_dropout(dropout)
        if int(nz) <= 0:
            raise ValueError(f"nz must be a positive int; got {nz!r}")
        self.nz = int(nz)
        self.out_shape = (channels, image_size, image_size)
        start, mults = _SPECS[image_size]
        bias = norm == "none"
        layers: list[nn.Module] = []
        width_in = self.nz
        for i, mult in enumerate(mults):
            width = ngf * mult
            if i == 0:  # 1x1 -> start x start
                layers.append(nn.ConvTranspose2d(width_in, width, start, 1, 0, bias=bias))
            else:  # doubles the side
                layers.append(nn.ConvTranspose2d(width_in, width, 4, 2, 1, bias=bias))
            layers += [norm2d(norm, width), nn.ReLU(inplace=True)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width_in = width
        layers += [nn.ConvTranspose2d(width_in, channels, 4, 2, 1, bias=bias), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_dcgan_weights(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``z``: ``(N, nz)`` (or ``(N, nz, 1, 1)``) -> ``(N, *out_shape)`` in [-1, 1]."""
        if z.dim() not in (2, 4) or z.shape[1] != self.nz or z.shape[2:] not in ((), (1, 1)):
            raise ValueError(f"expected z of shape (N, {self.nz}); got {tuple(z.shape)}")
        return self.net(z.reshape(z.shape[0], self.nz, 1, 1))


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator: images ``(N, channels, image_size, image_size)`` -> logits ``(N,)``
    (or ``(N, outputs)`` with ``outputs > 1``: RealnessGAN's logits over its outcomes).

    Args:
        image_size: 28, 32 or 64.
        channels: 1 or 3.
        ndf: base width (first layer has ``ndf`` channels at 64 and 32 px, ``ndf * 2`` at 28 px).
        norm: ``"batch"`` (published), ``"instance"``, ``"layer"`` or ``"none"``; never applied to
            the first layer. Use ``"layer"`` / ``"none"`` / ``"instance"`` for a WGAN-GP critic
            (batch norm couples samples and breaks the per-sample gradient penalty).
        spectral_norm: spectral normalisation on every convolution (SNGAN).
        dropout: dropout probability after each LeakyReLU (0 disables it).
        slope: negative slope of the LeakyReLU.
        outputs: scores per image from the last convolution (1: a logit; N > 1: a row of N).
    """

    def __init__(
        self,
        image_size: int = 64,
        channels: int = 3,
        ndf: int = 64,
        norm: str = "batch",
        spectral_norm: bool = False,
        dropout: float = 0.0,
        slope: float = 0.2,
        outputs: int = 1,
    ) -> None:
        super().__init__()
        _check(image_size, channels, norm, ndf, "ndf")
        _check_dropout(dropout)
        if not isinstance(outputs, int) or isinstance(outputs, bool) or outputs < 1:
            raise ValueError(f"outputs must be an integer >= 1, got {outputs!r}")
        self.in_shape = (channels, image_size, image_size)
        self.outputs = outputs
        start, mults = _SPECS[image_size]
        bias = norm == "none"
        widths = [ndf * m for m in reversed(mults)]  # e.g. 64, 128, 256, 512
        layers: list[nn.Module] = []
        width_in = channels
        for i, width in enumerate(widths):
            layers.append(nn.Conv2d(width_in, width, 4, 2, 1, bias=bias))
            if i > 0:
                layers.append(norm2d(norm, width))
            layers.append(nn.LeakyReLU(slope, inplace=True))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width_in = width
        layers.append(nn.Conv2d(width_in, outputs, start, 1, 0, bias=bias))  # start x start -> 1x1
        self.net = nn.Sequential(*layers)
        init_dcgan_weights(self)
        if spectral_norm:
            apply_spectral_norm(self.net)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(N, channels, image_size, image_size)`` in [-1, 1] -> logits ``(N,)``
        (``(N, outputs)`` when ``outputs > 1``)."""
        if tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(
                f"expected images of shape (N, {', '.join(map(str, self.in_shape))}); "
                f"got {tuple(x.shape)}"
            )
        out = self.net(x)
        return out.reshape(x.shape[0]) if self.outputs == 1 else out.reshape(x.shape[0], self.outputs)


class DCGANCritic(DCGANDiscriminator):
    """The DCGAN discriminator as a Wasserstein critic: same layers, ``norm="layer"`` by default
    (GroupNorm(1, C)), so the gradient penalty stays per sample. Returns unbounded scores ``(N,)``.
    """

    def __init__(
        self,
        image_size: int = 64,
        channels: int = 3,
        ndf: int = 64,
        norm: str = "layer",
        spectral_norm: bool = False,
        dropout: float = 0.0,
        slope: float = 0.2,
    ) -> None:
        super().__init__(image_size, channels, ndf, norm, spectral_norm, dropout, slope)
