"""Image-to-image networks: pix2pix's U-Net and PatchGAN, CycleGAN's ResNet generator.

* :class:`UNetGenerator` (Isola et al. 2017): an encoder of stride-2 4x4 convolutions down to
  1 x 1, a decoder of transposed convolutions back up, and a skip connection from every encoder
  level to its mirror (so the low-level layout of the source — edges, positions — reaches the
  output directly). Dropout 0.5 in the innermost decoder layers is the only noise pix2pix uses.
* :class:`PatchDiscriminator`: a fully convolutional D that scores every overlapping patch of
  its input; ``n_layers`` sets the receptive field (:attr:`PatchDiscriminator.receptive_field`):
  ``"pixel"`` (1 x 1, PixelGAN), 0 -> 7 px, 1 -> 16 px, 2 -> 34 px, 3 -> 70 px (pix2pix's
  default at 256 px); ``"image"`` (ImageGAN) reduces to one score for the whole image.
* :class:`ResNetGenerator` (Johnson et al. 2016, CycleGAN's G): 7x7 stem, two stride-2
  downsamplings, residual blocks, two upsamplings, 7x7 head; instance norm, reflection padding.

Images are float ``(N, C, H, W)`` in [-1, 1]; generators end in ``tanh``; discriminators return
raw logits: a patch map ``(N, 1, H', W')`` (or ``(N, 1, 1, 1)`` for ``"image"``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ganlab.nets.layers import StepDropout, check_choice, norm2d

__all__ = ["UNetGenerator", "PatchDiscriminator", "ResNetGenerator", "patch_receptive_field"]


def _check_channels(what: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value not in (1, 3):
        raise ValueError(f"{what}={value!r} is not supported; accepted: 1 (grey) or 3 (RGB)")


class _Down(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, norm: str, first: bool = False) -> None:
        layers: list[nn.Module] = [] if first else [nn.LeakyReLU(0.2)]
        layers.append(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=norm == "none" or first))
        if not first:
            layers.append(norm2d(norm, c_out))
        super().__init__(*layers)


class _Up(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, norm: str, dropout: float, last: bool = False) -> None:
        layers: list[nn.Module] = [nn.ReLU(), nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=last or norm == "none")]
        if last:
            layers.append(nn.Tanh())
        else:
            layers.append(norm2d(norm, c_out))
            if dropout > 0:
                layers.append(StepDropout(dropout))  # pix2pix's noise, from the step's generator
        super().__init__(*layers)


class UNetGenerator(nn.Module):
    """pix2pix's U-Net: ``(N, in_channels, S, S)`` in [-1, 1] -> ``(N, out_channels, S, S)`` in [-1, 1].

    Args:
        in_channels, out_channels: channels of the source and of the output (1 or 3).
        image_size: S, a power of two from 8 to 256; the encoder has log2(S) levels (down to 1 x 1).
        ngf: width of the first level; level i has ``ngf * min(2**i, 8)`` channels (pix2pix).
        dropout: dropout rate in the innermost ``dropout_layers`` decoder levels (0.5 in pix2pix;
            it stays on at test time only if you keep the net in train mode).
        dropout_layers: how many decoder levels next to the bottleneck get dropout (3 in pix2pix).
        norm: ``"batch"`` (pix2pix), ``"instance"`` or ``"none"``.

    Raises:
        ValueError: unsupported channels, image size, width or norm.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, image_size: int = 32, ngf: int = 64,
                 dropout: float = 0.5, dropout_layers: int = 3, norm: str = "batch") -> None:
        super().__init__()
        _check_channels("in_channels", in_channels)
        _check_channels("out_channels", out_channels)
        sizes = [2 ** k for k in range(3, 9)]
        check_choice("image_size", image_size, sizes)
        check_choice("norm", norm, ("batch", "instance", "none"))
        if isinstance(ngf, bool) or not isinstance(ngf, int) or ngf < 1:
            raise ValueError(f"ngf={ngf!r} is not accepted; accepted: a positive int")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout={dropout!r} is not accepted; accepted: 0 <= dropout < 1")
        self.in_channels, self.out_channels, self.image_size = in_channels, out_channels, image_size
        self.nz = 0  # no latent input: the source image is the input (dropout is the noise)
        self.out_shape = (out_channels, image_size, image_size)
        depth = int(math.log2(image_size))
        widths = [ngf * min(2 ** i, 8) for i in range(depth)]
        self.downs = nn.ModuleList(
            _Down(in_channels if i == 0 else widths[i - 1], widths[i], norm, first=i == 0) for i in range(depth)
        )
        # the innermost down level has no norm (its output is 1 x 1: batch norm would see one value)
        if depth > 1 and norm != "none":
            self.downs[-1] = nn.Sequential(nn.LeakyReLU(0.2), nn.Conv2d(widths[-2], widths[-1], 4, 2, 1))
        ups = []
        for i in reversed(range(depth)):  # up level i mirrors down level i
            c_in = widths[i] if i == depth - 1 else widths[i] * 2
            c_out = out_channels if i == 0 else widths[i - 1]
            drop = dropout if (depth - 1 - i) < dropout_layers and i > 0 else 0.0
            ups.append(_Up(c_in, c_out, norm, drop, last=i == 0))
        self.ups = nn.ModuleList(ups)

    def forward(self, source: Tensor) -> Tensor:
        """``(N, in_channels, S, S)`` -> ``(N, out_channels, S, S)`` in [-1, 1]."""
        if source.dim() != 4 or tuple(source.shape[1:]) != (self.in_channels, self.image_size, self.image_size):
            raise ValueError(f"UNetGenerator expects (N, {self.in_channels}, {self.image_size}, {self.image_size}) "
                             f"sources; given {tuple(source.shape)}")
        skips = []
        x = source
        for down in self.downs:
            x = down(x)
            skips.append(x)
        skips.pop()  # the bottleneck itself
        for i, up in enumerate(self.ups):
            x = up(x)
            if skips and i < len(self.ups) - 1:
                x = torch.cat([x, skips.pop()], dim=1)
        return x


def patch_receptive_field(n_layers: int | str, image_size: int | None = None) -> int:
    """Receptive field (px) of one output of :class:`PatchDiscriminator` with ``n_layers``.

    ``"pixel"``: 1; ``n_layers >= 0``: two stride-1 4x4 convolutions (7 px) widened by
    ``n_layers`` stride-2 4x4 convolutions, ``r -> 2 (r - 1) + 4``: 7, 16, 34, 70, 142, 286;
    ``"image"``: the whole image (``image_size``).
    """
    if not (n_layers in ("pixel", "image") or (isinstance(n_layers, int) and not isinstance(n_layers, bool)
                                              and 0 <= n_layers <= 6)):
        raise ValueError(f"n_layers={n_layers!r} is not supported; accepted: 'pixel', 0..6 or 'image'")
    if n_layers == "pixel":
        return 1
    if n_layers == "image":
        if image_size is None:
            raise ValueError("the receptive field of an 'image' discriminator is the image size: give image_size")
        return int(image_size)
    r = 7
    for _ in range(int(n_layers)):
        r = 2 * (r - 1) + 4
    return r


class PatchDiscriminator(nn.Module):
    """PatchGAN: ``(N, in_channels, S, S)`` in [-1, 1] -> logits of every patch ``(N, 1, H', W')``.

    pix2pix's D sees the source and the (real or generated) target concatenated on channels
    (``in_channels = C_source + C_target``); CycleGAN's sees one domain's image.

    Args:
        in_channels: input channels.
        ndf: width of the first layer (doubling per stride-2 layer, capped at ``8 * ndf``).
        n_layers: ``"pixel"`` (1 x 1 convolutions: each pixel judged alone), an int >= 0 (the
            number of stride-2 layers; see :func:`patch_receptive_field`), or ``"image"`` (stride-2
            layers down to 4 x 4 and a 4 x 4 valid convolution: one logit per image).
        norm: ``"batch"`` (pix2pix), ``"instance"`` (CycleGAN) or ``"none"``.
        image_size: S (needed for ``"image"``; checked on input when given).

    Raises:
        ValueError: unsupported ``n_layers``, norm, or an ``"image"`` D without a power-of-two size.
    """

    def __init__(self, in_channels: int = 6, ndf: int = 64, n_layers: int | str = 3, norm: str = "batch",
                 image_size: int | None = None) -> None:
        super().__init__()
        check_choice("norm", norm, ("batch", "instance", "none"))
        if not (n_layers in ("pixel", "image") or (isinstance(n_layers, int) and not isinstance(n_layers, bool)
                                                  and 0 <= n_layers <= 6)):
            raise ValueError(f"n_layers={n_layers!r} is not supported; accepted: 'pixel', 0..6 or 'image'")
        self.n_layers, self.image_size, self.in_channels = n_layers, image_size, in_channels
        act = nn.LeakyReLU(0.2)
        if n_layers == "pixel":
            layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 1), act, nn.Conv2d(ndf, 2 * ndf, 1, bias=norm == "none"),
                                       norm2d(norm, 2 * ndf), act, nn.Conv2d(2 * ndf, 1, 1)]
        elif n_layers == "image":
            if image_size is None or image_size < 8 or image_size & (image_size - 1):
                raise ValueError(f"an 'image' discriminator needs image_size a power of two >= 8; given {image_size!r}")
            layers, c, size = [nn.Conv2d(in_channels, ndf, 4, 2, 1), act], ndf, image_size // 2
            while size > 4:
                c_next = min(2 * c, 8 * ndf)
                layers += [nn.Conv2d(c, c_next, 4, 2, 1, bias=norm == "none"), norm2d(norm, c_next), act]
                c, size = c_next, size // 2
            layers.append(nn.Conv2d(c, 1, 4, 1, 0))
        else:
            # pix2pix's NLayerDiscriminator: n stride-2 layers, one stride-1 layer, the 1-channel head
            layers, c = [], in_channels
            for i in range(n_layers):
                c_next = min(ndf * 2 ** i, 8 * ndf)
                layers.append(nn.Conv2d(c, c_next, 4, 2, 1, bias=i == 0 or norm == "none"))
                if i > 0:
                    layers.append(norm2d(norm, c_next))
                layers.append(act)
                c = c_next
            c_next = min(ndf * 2 ** n_layers, 8 * ndf)
            layers += [nn.Conv2d(c, c_next, 4, 1, 1, bias=n_layers == 0 or norm == "none")]
            if n_layers > 0:
                layers.append(norm2d(norm, c_next))
            layers += [act, nn.Conv2d(c_next, 1, 4, 1, 1)]
        self.net = nn.Sequential(*layers)

    @property
    def receptive_field(self) -> int:
        """Pixels of input one logit sees (see :func:`patch_receptive_field`)."""
        return patch_receptive_field(self.n_layers, self.image_size)

    def forward(self, x: Tensor) -> Tensor:
        """``(N, in_channels, S, S)`` -> ``(N, 1, H', W')`` logits (``(N, 1, 1, 1)`` for ``"image"``)."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"PatchDiscriminator expects (N, {self.in_channels}, H, W) inputs; given {tuple(x.shape)}")
        if self.image_size is not None and tuple(x.shape[2:]) != (self.image_size, self.image_size):
            raise ValueError(f"PatchDiscriminator was built for {self.image_size} px; given {tuple(x.shape[2:])}")
        return self.net(x)


class _ResBlock(nn.Module):
    def __init__(self, c: int, norm: str) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3, bias=False), norm2d(norm, c), nn.ReLU(),
                                  nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3, bias=False), norm2d(norm, c))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResNetGenerator(nn.Module):
    """CycleGAN's generator: ``(N, channels, S, S)`` in [-1, 1] -> ``(N, channels, S, S)`` in [-1, 1].

    Args:
        channels: image channels of both domains (1 or 3).
        image_size: S, a multiple of 4 (two stride-2 downsamplings).
        ngf: stem width (the residual blocks run at ``4 * ngf`` channels, S / 4 px).
        blocks: residual blocks (CycleGAN: 6 at 128 px, 9 at 256 px).
        norm: ``"instance"`` (CycleGAN) or ``"batch"``.

    Raises:
        ValueError: unsupported channels, size, width, block count or norm.
    """

    def __init__(self, channels: int = 3, image_size: int = 28, ngf: int = 32, blocks: int = 6,
                 norm: str = "instance") -> None:
        super().__init__()
        _check_channels("channels", channels)
        check_choice("norm", norm, ("instance", "batch"))
        if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 8 or image_size % 4:
            raise ValueError(f"image_size={image_size!r} is not supported; accepted: a multiple of 4, >= 8")
        for what, v in (("ngf", ngf), ("blocks", blocks)):
            if isinstance(v, bool) or not isinstance(v, int) or v < (1 if what == "ngf" else 0):
                raise ValueError(f"{what}={v!r} is not accepted; accepted: a {'positive' if what == 'ngf' else 'non-negative'} int")
        self.channels, self.image_size, self.nz = channels, image_size, 0
        self.out_shape = (channels, image_size, image_size)
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(channels, ngf, 7, bias=False), norm2d(norm, ngf), nn.ReLU()]
        c = ngf
        for _ in range(2):
            layers += [nn.Conv2d(c, 2 * c, 3, 2, 1, bias=False), norm2d(norm, 2 * c), nn.ReLU()]
            c *= 2
        layers += [_ResBlock(c, norm) for _ in range(blocks)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1, bias=False), norm2d(norm, c // 2), nn.ReLU()]
            c //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(c, channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """``(N, channels, S, S)`` -> ``(N, channels, S, S)`` in [-1, 1]."""
        if x.dim() != 4 or tuple(x.shape[1:]) != self.out_shape:
            raise ValueError(f"ResNetGenerator expects (N, {self.channels}, {self.image_size}, {self.image_size}) "
                             f"images; given {tuple(x.shape)}")
        return self.net(x)
