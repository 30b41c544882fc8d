"""Class-conditional DCGAN networks (notebook 08) for 28, 32 and 64 px, 1 or 3 channels.

Same sizes, widths and layer conventions as :mod:`ganlab.nets.dcgan` (4x4 (transposed)
convolutions, stride 2 padding 1, the first G layer from 1x1 to the smallest map, no conv bias
in front of a norm, ``init_dcgan_weights``). Conditional contract:

* generator: attributes ``nz``, ``n_classes``, ``out_shape``; ``forward(z, y)`` with ``z`` float
  ``(N, nz)`` and ``y`` integer ``(N,)`` in ``[0, n_classes)`` -> ``(N, *out_shape)`` in [-1, 1];
* discriminator: attributes ``n_classes``, ``in_shape``; ``forward(x, y)`` -> raw logits ``(N,)``.

Two schemes:

1. Concatenation (``ConcatGenerator`` / ``ConcatDiscriminator``): ``nn.Embedding(n_classes,
   embed_dim)`` then a ``Linear`` to one image-sized plane, concatenated as an extra channel:
   in D to the input image (``channels + 1`` input channels), in G to the projected noise map
   at the smallest feature size (7x7 at 28 px, 4x4 at 32 / 64 px), e.g. 28 px, ``ngf=32``::

       G: z -> 128x7x7 (+ label plane 1x7x7) -> 129x7x7 -> 64x14x14 -> 1x28x28
       D: image 1x28x28 (+ label plane 1x28x28) -> 64x14x14 -> 128x7x7 -> 7x7 conv -> 1

2. Conditional batch norm / projection (``CBNGenerator`` / ``ProjectionDiscriminator``):
   G is the DCGAN generator with every hidden ``BatchNorm2d`` replaced by
   :class:`ConditionalBatchNorm2d` (``BatchNorm2d(affine=False)`` then a per-class gain and bias
   looked up in embeddings that start at 1 and 0, so at initialisation G ignores ``y``);
   D (Miyato & Koyama 2018) is a DCGAN conv body without batch norm, ``phi(x)`` its last feature
   map summed over H, W (or flattened), and ``logit = psi(phi(x)) + <embed(y), phi(x)>``.

Embedding initialisation: ``init_dcgan_weights`` leaves ``nn.Embedding`` alone. The concat label
embeddings keep PyTorch's N(0, 1) (with the N(0, 0.02) linear map after them the label plane
starts at std ~0.02 * sqrt(embed_dim), visible next to the feature maps); the CBN gains / biases
are set to exactly 1 / 0; the projection embedding is Xavier-uniform as in Miyato's code.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from ganlab.nets.dcgan import _SPECS, _check, _check_dropout
from ganlab.nets.init import init_dcgan_weights
from ganlab.nets.layers import apply_spectral_norm, check_choice, norm2d

__all__ = [
    "ConcatGenerator",
    "ConcatDiscriminator",
    "CBNGenerator",
    "ProjectionDiscriminator",
    "ConditionalBatchNorm2d",
    "check_labels",
]

#: How ``ProjectionDiscriminator`` turns its last feature map into ``phi(x)``.
POOLINGS: tuple[str, ...] = ("sum", "flatten")


# ----------------------------------------------------------------------------- checks
def _check_n_classes(n_classes: int) -> int:
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
        raise ValueError(f"n_classes must be an int >= 2; got {n_classes!r}")
    return n_classes


def _check_positive(what: str, value: int) -> int:
    if isinstance(value, bool) or int(value) != value or int(value) <= 0:
        raise ValueError(f"{what} must be a positive int; got {value!r}")
    return int(value)


def check_labels(y: object, n_classes: int, batch: int | None = None) -> torch.Tensor:
    """Validate class labels and return them as int64.

    Accepted: an integer tensor (int64, or another integer dtype, cast to int64) of shape
    ``(N,)`` (``N == batch`` if given) with values in ``[0, n_classes)``. Anything else raises
    ``ValueError`` naming what was given and what is accepted. The value range is checked for
    labels on the CPU only: on an accelerator that check would be a host sync per forward pass
    (the trainer has none), and an out-of-range label there still fails in ``nn.Embedding``.
    """
    n = "N" if batch is None else str(batch)
    accepted = f"an int64 tensor of shape ({n},) with class indices in [0, {n_classes})"
    if not isinstance(y, torch.Tensor):
        raise ValueError(f"expected labels y as {accepted}; got {type(y).__name__}")
    if y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool:
        raise ValueError(f"expected labels y as {accepted}; got dtype {y.dtype}")
    if y.dim() != 1 or (batch is not None and y.shape[0] != batch):
        raise ValueError(f"expected labels y as {accepted}; got shape {tuple(y.shape)}")
    if y.device.type == "cpu" and y.numel() and bool(((y < 0) | (y >= n_classes)).any()):
        raise ValueError(
            f"expected labels y as {accepted}; got values in [{int(y.min())}, {int(y.max())}]"
        )
    return y.long()


def _check_z(z: torch.Tensor, nz: int) -> torch.Tensor:
    """``(N, nz)`` or ``(N, nz, 1, 1)`` -> ``(N, nz, 1, 1)`` (the DCGAN generator's rule)."""
    if z.dim() not in (2, 4) or z.shape[1] != nz or z.shape[2:] not in ((), (1, 1)):
        raise ValueError(f"expected z of shape (N, {nz}); got {tuple(z.shape)}")
    return z.reshape(z.shape[0], nz, 1, 1)


def _check_images(x: torch.Tensor, in_shape: tuple[int, ...]) -> None:
    if tuple(x.shape[1:]) != in_shape or x.dim() != 4:
        raise ValueError(
            f"expected images of shape (N, {', '.join(map(str, in_shape))}); got {tuple(x.shape)}"
        )


# ----------------------------------------------------------------------------- DCGAN pieces
def _up_conv(width_in: int, width: int, first_side: int | None, bias: bool) -> nn.ConvTranspose2d:
    """The DCGAN G convolution: 1x1 -> ``first_side`` (stride 1) if given, else side x 2."""
    if first_side is not None:
        return nn.ConvTranspose2d(width_in, width, first_side, 1, 0, bias=bias)
    return nn.ConvTranspose2d(width_in, width, 4, 2, 1, bias=bias)


def _relu_dropout(dropout: float) -> list[nn.Module]:
    return [nn.ReLU(inplace=True)] + ([nn.Dropout(dropout)] if dropout > 0 else [])


def _down_body(
    channels_in: int, widths: list[int], norm: str, bias: bool, slope: float, dropout: float
) -> list[nn.Module]:
    """The DCGAN D body: stride-2 4x4 convs to ``widths``, norm on all but the first, LeakyReLU."""
    layers: list[nn.Module] = []
    width_in = channels_in
    for i, width in enumerate(widths):
        layers.append(nn.Conv2d(width_in, width, 4, 2, 1, bias=bias))
        if i > 0:
            layers.append(norm2d(norm, width))
        layers.append(nn.LeakyReLU(slope, inplace=True))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width_in = width
    return layers


class ConditionalBatchNorm2d(nn.Module):
    """``BatchNorm2d(affine=False)`` followed by a per-class affine: ``gamma[y] * bn(x) + beta[y]``.

    ``gamma`` and ``beta`` are ``nn.Embedding(n_classes, num_features)`` initialised to 1 and 0,
    so a fresh layer equals the plain (non-affine) batch norm for every label.
    """

    def __init__(self, num_features: int, n_classes: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.num_features = _check_positive("num_features", num_features)
        self.n_classes = _check_n_classes(n_classes)
        self.bn = nn.BatchNorm2d(num_features, eps=eps, momentum=momentum, affine=False)
        self.gamma = nn.Embedding(n_classes, num_features)
        self.beta = nn.Embedding(n_classes, num_features)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        self.gamma.weight.fill_(1.0)
        self.beta.weight.zero_()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``x`` ``(N, C, H, W)``, ``y`` int64 ``(N,)`` (already validated) -> ``(N, C, H, W)``."""
        h = self.bn(x)
        return h * self.gamma(y)[:, :, None, None] + self.beta(y)[:, :, None, None]


# ----------------------------------------------------------------------------- concat
class ConcatGenerator(nn.Module):
    """Conditional DCGAN generator with the label as an extra channel of the first feature map.

    ``z`` -> ``ngf * m0`` x s x s (1x1 -> s x s transposed conv, norm, ReLU), concatenated with
    ``Linear(Embedding(y))`` reshaped to 1 x s x s (s = 7 at 28 px, 4 at 32 / 64 px), then the
    DCGAN up-sampling blocks (the first of them takes ``ngf * m0 + 1`` channels) and tanh.

    Args:
        nz, image_size, channels, ngf, norm, dropout: as :class:`~ganlab.nets.DCGANGenerator`.
        n_classes: number of classes (>= 2).
        embed_dim: size of the label embedding.
    """

    def __init__(
        self,
        nz: int = 100,
        n_classes: int = 10,
        image_size: int = 64,
        channels: int = 3,
        ngf: int = 64,
        embed_dim: int = 50,
        norm: str = "batch",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        _check(image_size, channels, norm, ngf, "ngf")
        _check_dropout(dropout)
        self.nz = _check_positive("nz", nz)
        self.n_classes = _check_n_classes(n_classes)
        self.embed_dim = _check_positive("embed_dim", embed_dim)
        self.out_shape = (channels, image_size, image_size)
        start, mults = _SPECS[image_size]
        self.start = start
        bias = norm == "none"
        widths = [ngf * m for m in mults]
        self.project = nn.Sequential(
            _up_conv(self.nz, widths[0], start, bias), norm2d(norm, widths[0]),
            *_relu_dropout(dropout),
        )  # fmt: skip
        self.embed = nn.Embedding(self.n_classes, self.embed_dim)
        self.label_map = nn.Linear(self.embed_dim, start * start)
        layers: list[nn.Module] = []
        width_in = widths[0] + 1  # + the label plane
        for width in widths[1:]:
            layers += [_up_conv(width_in, width, None, bias), norm2d(norm, width)]
            layers += _relu_dropout(dropout)
            width_in = width
        layers += [_up_conv(width_in, channels, None, bias), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_dcgan_weights(self)  # convs / linear N(0, 0.02), norms N(1, 0.02); embedding N(0, 1)

    def label_plane(self, y: torch.Tensor) -> torch.Tensor:
        """int64 ``(N,)`` (validated) -> the label channel ``(N, 1, s, s)``."""
        return self.label_map(self.embed(y)).reshape(y.shape[0], 1, self.start, self.start)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``z`` ``(N, nz)``, ``y`` int64 ``(N,)`` -> ``(N, *out_shape)`` in [-1, 1]."""
        z = _check_z(z, self.nz)
        y = check_labels(y, self.n_classes, z.shape[0])
        h = self.project(z)
        return self.net(torch.cat([h, self.label_plane(y).to(h.dtype)], dim=1))


class ConcatDiscriminator(nn.Module):
    """Conditional DCGAN discriminator with the label as an extra input channel.

    ``Linear(Embedding(y))`` reshaped to 1 x H x W is concatenated to the image; the rest is
    :class:`~ganlab.nets.DCGANDiscriminator` with ``channels + 1`` input channels.

    Args:
        image_size, channels, ndf, norm, spectral_norm, dropout, slope: as
            :class:`~ganlab.nets.DCGANDiscriminator`. ``spectral_norm`` covers every conv and the
            label ``Linear``; the embedding is left unnormalised (it only feeds that linear map,
            so it does not change D's Lipschitz constant in ``x``).
        n_classes: number of classes (>= 2).
        embed_dim: size of the label embedding.
    """

    def __init__(
        self,
        n_classes: int = 10,
        image_size: int = 64,
        channels: int = 3,
        ndf: int = 64,
        embed_dim: int = 50,
        norm: str = "batch",
        spectral_norm: bool = False,
        dropout: float = 0.0,
        slope: float = 0.2,
    ) -> None:
        super().__init__()
        _check(image_size, channels, norm, ndf, "ndf")
        _check_dropout(dropout)
        self.n_classes = _check_n_classes(n_classes)
        self.embed_dim = _check_positive("embed_dim", embed_dim)
        self.in_shape = (channels, image_size, image_size)
        start, mults = _SPECS[image_size]
        bias = norm == "none"
        self.embed = nn.Embedding(self.n_classes, self.embed_dim)
        self.label_map = nn.Linear(self.embed_dim, image_size * image_size)
        widths = [ndf * m for m in reversed(mults)]
        body = _down_body(channels + 1, widths, norm, bias, slope, dropout)
        body.append(nn.Conv2d(widths[-1], 1, start, 1, 0, bias=bias))  # start x start -> 1x1
        self.net = nn.Sequential(*body)
        init_dcgan_weights(self)
        if spectral_norm:
            apply_spectral_norm(self)

    def label_plane(self, y: torch.Tensor) -> torch.Tensor:
        """int64 ``(N,)`` (validated) -> the label channel ``(N, 1, H, W)``."""
        side = self.in_shape[1]
        return self.label_map(self.embed(y)).reshape(y.shape[0], 1, side, side)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``x`` ``(N, *in_shape)`` in [-1, 1], ``y`` int64 ``(N,)`` -> logits ``(N,)``."""
        _check_images(x, self.in_shape)
        y = check_labels(y, self.n_classes, x.shape[0])
        h = torch.cat([x, self.label_plane(y).to(x.dtype)], dim=1)
        return self.net(h).reshape(x.shape[0])


# ----------------------------------------------------------------------------- CBN / projection
class CBNGenerator(nn.Module):
    """The DCGAN generator with conditional batch norm after every hidden layer.

    Layers as :class:`~ganlab.nets.DCGANGenerator` with ``norm="batch"`` (no conv bias), each
    ``BatchNorm2d`` replaced by :class:`ConditionalBatchNorm2d`. At initialisation every gain is
    1 and every bias 0, so with ``embed_z=0`` the output does not depend on ``y`` until training
    moves them — which is slow: measured on mnist5k, such a G still ignored the label after
    1,500 steps. ``embed_z > 0`` also feeds a learned class embedding of that size to the first
    layer beside z (BigGAN's "shared embedding" input), so the label acts from the first step.

    Args:
        nz, image_size, channels, ngf, dropout: as :class:`~ganlab.nets.DCGANGenerator`.
        n_classes: number of classes (>= 2).
        embed_z: size of the class embedding concatenated to z (0 = none).
    """

    def __init__(
        self,
        nz: int = 100,
        n_classes: int = 10,
        image_size: int = 64,
        channels: int = 3,
        ngf: int = 64,
        dropout: float = 0.0,
        embed_z: int = 0,
    ) -> None:
        super().__init__()
        _check(image_size, channels, "batch", ngf, "ngf")
        _check_dropout(dropout)
        self.nz = _check_positive("nz", nz)
        self.n_classes = _check_n_classes(n_classes)
        self.out_shape = (channels, image_size, image_size)
        if isinstance(embed_z, bool) or int(embed_z) != embed_z or embed_z < 0:
            raise ValueError(f"embed_z must be an int >= 0; got {embed_z!r}")
        self.embed_z = int(embed_z)
        self.z_embed = nn.Embedding(self.n_classes, self.embed_z) if self.embed_z else None
        start, mults = _SPECS[image_size]
        convs: list[nn.Module] = []
        norms: list[nn.Module] = []
        width_in = self.nz + self.embed_z
        for i, mult in enumerate(mults):
            width = ngf * mult
            convs.append(_up_conv(width_in, width, start if i == 0 else None, False))
            norms.append(ConditionalBatchNorm2d(width, self.n_classes))
            width_in = width
        self.convs = nn.ModuleList(convs)
        self.norms = nn.ModuleList(norms)
        self.act = nn.Sequential(*_relu_dropout(dropout))
        self.out = nn.Sequential(_up_conv(width_in, channels, None, False), nn.Tanh())
        init_dcgan_weights(self)  # convs N(0, 0.02); BN(affine=False) and embeddings untouched
        for m in self.norms:
            m.reset_parameters()  # gains 1, biases 0, whatever init_dcgan_weights may do

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``z`` ``(N, nz)``, ``y`` int64 ``(N,)`` -> ``(N, *out_shape)`` in [-1, 1]."""
        h = _check_z(z, self.nz)
        y = check_labels(y, self.n_classes, h.shape[0])
        if self.z_embed is not None:
            h = torch.cat([h, self.z_embed(y).to(h.dtype)[:, :, None, None]], dim=1)
        for conv, norm in zip(self.convs, self.norms):
            h = self.act(norm(conv(h), y))
        return self.out(h)


class ProjectionDiscriminator(nn.Module):
    """Projection discriminator (Miyato & Koyama 2018) on a DCGAN conv body without batch norm.

    ``phi(x)``: the DCGAN D body (stride-2 4x4 convs with bias, LeakyReLU) up to its last
    ``ndf * m0`` x s x s map, summed over H, W (``pooling="sum"``, ``feat_dim = ndf * m0``) or
    flattened (``"flatten"``, ``feat_dim = ndf * m0 * s * s``; then ``psi`` is the DCGAN D's final
    s x s conv). ``logit = psi(phi(x)) + <embed(y), phi(x)>`` with ``psi = Linear(feat_dim, 1)``
    and ``embed = Embedding(n_classes, feat_dim)``.

    Args:
        image_size, channels, ndf, dropout, slope: as :class:`~ganlab.nets.DCGANDiscriminator`.
        n_classes: number of classes (>= 2).
        spectral_norm: spectral normalisation of every conv, ``psi`` and ``embed`` (default on).
        pooling: ``"sum"`` or ``"flatten"``.
    """

    def __init__(
        self,
        n_classes: int = 10,
        image_size: int = 64,
        channels: int = 3,
        ndf: int = 64,
        spectral_norm: bool = True,
        pooling: str = "sum",
        dropout: float = 0.0,
        slope: float = 0.2,
    ) -> None:
        super().__init__()
        _check(image_size, channels, "none", ndf, "ndf")
        _check_dropout(dropout)
        check_choice("pooling", pooling, POOLINGS)
        self.n_classes = _check_n_classes(n_classes)
        self.in_shape = (channels, image_size, image_size)
        self.pooling = pooling
        start, mults = _SPECS[image_size]
        widths = [ndf * m for m in reversed(mults)]
        self.body = nn.Sequential(*_down_body(channels, widths, "none", True, slope, dropout))
        self.feat_dim = widths[-1] * (start * start if pooling == "flatten" else 1)
        self.psi = nn.Linear(self.feat_dim, 1)
        self.embed = nn.Embedding(self.n_classes, self.feat_dim)
        init_dcgan_weights(self)
        nn.init.xavier_uniform_(self.embed.weight)
        if spectral_norm:
            apply_spectral_norm(self)  # convs and psi
            _spectral_norm(self.embed)

    def phi(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``(N, *in_shape)`` -> features ``(N, feat_dim)``."""
        h = self.body(x)
        return h.sum(dim=(2, 3)) if self.pooling == "sum" else h.flatten(1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``x`` ``(N, *in_shape)`` in [-1, 1], ``y`` int64 ``(N,)`` -> logits ``(N,)``."""
        _check_images(x, self.in_shape)
        y = check_labels(y, self.n_classes, x.shape[0])
        h = self.phi(x)
        return self.psi(h).reshape(-1) + (self.embed(y).to(h.dtype) * h).sum(dim=1)
