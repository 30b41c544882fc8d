"""Super-resolution networks (Ledig et al., CVPR 2017): the SRResNet generator, the SRGAN
discriminator, and the frozen feature networks of SRGAN's content loss.

SRResNet (the paper's figure 4, ``width=64, blocks=16``)::

    LR (N, C, h, w) in [-1, 1]
      -> conv 9x9 (C -> width) + PReLU                                   "head", kept for the skip
      -> blocks x [conv 3x3, BN, PReLU, conv 3x3, BN, + input]           residual blocks
      -> conv 3x3, BN, + head                                            the long skip
      -> log2(scale) x [conv 3x3 (width -> 4 width), PixelShuffle(2), PReLU]   sub-pixel upsampling
      -> conv 9x9 (width -> C)                                           SR (N, C, h*s, w*s)

With ``residual=True`` the network predicts a correction to the bicubic upsampling of its input
(VDSR's global residual, Kim et al. 2016): ``SR = bicubic(LR) + net(LR)``, with the last conv
initialised to zero so that the untrained network *is* bicubic. Without it, the output goes
through tanh (the course's generator contract). Either way the output lies in [-1, 1] in eval
mode (the residual form is clamped there; in training it is left unclamped so every pixel keeps
its gradient).

The discriminator is the paper's VGG-style D (eight 3x3 convs, the width doubling every second
one, four of them stride 2; BN and LeakyReLU 0.2; dense 1024; one logit), at any ``width``; a
global average pool before the dense layers lets it judge crops of any size (the paper
flattened a 6x6 map of 96 px crops).

The content loss of SRGAN compares images in the feature space of a fixed network:
:func:`vgg19_features` cuts torchvision's VGG19 at the paper's phi_{i,j} (``"22"``: relu2_2,
``"54"``: relu5_4) with its ImageNet weights when they are on disk (or can be downloaded), and
raises :class:`FeatureWeightsUnavailable` naming the file to place otherwise;
:func:`random_vgg_features` is the offline substitute, a VGG-like stack (conv1_1 .. relu2_2) with
fixed random weights drawn from a seed. Neither is an optimised network: the families keep them
outside their ``state_dict`` (rebuilt from their description, so checkpoints do not carry them).
"""

from __future__ import annotations

import math
import os

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlab.nets.layers import check_choice

__all__ = ["SR_SCALES", "SR_NORMS", "VGG_LAYERS", "ResidualBlock", "SRResNet", "SRDiscriminator",
           "FeatureNetwork", "FeatureWeightsUnavailable", "bicubic", "vgg19_features",
           "random_vgg_features", "vgg19_weights_file"]

#: Upscaling factors SRResNet builds (powers of two: one x2 pixel-shuffle stage each).
SR_SCALES: tuple[int, ...] = (2, 4, 8)
#: Normalisations of SRResNet's blocks (``"batch"``: the paper; ``"none"``: EDSR's choice).
SR_NORMS: tuple[str, ...] = ("batch", "none")
#: VGG19 cut points phi_{i,j} (after the j-th conv's ReLU before the i-th max-pool) ->
#: number of ``torchvision.models.vgg19().features`` layers to keep.
VGG_LAYERS: dict[str, int] = {"22": 9, "54": 36}
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def bicubic(x: Tensor, scale: int) -> Tensor:
    """Bicubic ``scale`` x upsampling of ``(N, C, h, w)`` images, in float32.

    The Keys kernel with a = -0.5, as MATLAB's ``imresize`` (the SR literature's baseline) and
    PIL: torch's antialiased path (``antialias=True``) uses that kernel, its plain bicubic uses
    a = -0.75. Values are not clamped (bicubic overshoots near edges).
    """
    with torch.autocast(device_type=x.device.type, enabled=False):
        return F.interpolate(x.float(), scale_factor=scale, mode="bicubic", align_corners=False,
                             antialias=True)


def _check_positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}")


class ResidualBlock(nn.Module):
    """conv 3x3, norm, PReLU, conv 3x3, norm, plus the input: ``(N, width, h, w)`` -> same shape."""

    def __init__(self, width: int, norm: str = "batch") -> None:
        super().__init__()
        bias = norm == "none"
        def bn() -> nn.Module:
            return nn.BatchNorm2d(width) if norm == "batch" else nn.Identity()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1, bias=bias), bn(), nn.PReLU(width),
            nn.Conv2d(width, width, 3, padding=1, bias=bias), bn(),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class SRResNet(nn.Module):
    """SRResNet generator: ``(N, channels, h, w)`` in [-1, 1] -> ``(N, channels, h*scale, w*scale)``.

    Args:
        scale: upscaling factor, one of :data:`SR_SCALES` (2, 4, 8: a x2 pixel-shuffle stage each).
        channels: image channels (3 for RGB, 1 for grey).
        width: feature channels of the body (paper: 64).
        blocks: residual blocks (paper: 16).
        norm: ``"batch"`` (paper) or ``"none"``.
        residual: predict a correction to the bicubic upsampling (last conv zero-initialised, so
            the untrained network returns bicubic) instead of the image itself (tanh output).

    Attributes:
        scale, channels, width, blocks, norm, residual: as given.

    Raises:
        ValueError: an unsupported scale, norm, or non-positive sizes.
    """

    def __init__(self, scale: int = 4, channels: int = 3, width: int = 64, blocks: int = 16,
                 norm: str = "batch", residual: bool = False) -> None:
        super().__init__()
        if isinstance(scale, bool) or not isinstance(scale, int) or scale not in SR_SCALES:
            raise ValueError(f"SRResNet upscales by powers of two built from x2 pixel-shuffle stages; "
                             f"given scale={scale!r}; accepted: {', '.join(map(str, SR_SCALES))}")
        check_choice("norm", norm, SR_NORMS)
        for name, value in (("channels", channels), ("width", width)):
            _check_positive(name, value)
        if isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < 0:
            raise ValueError(f"blocks must be an int >= 0; got {blocks!r}")
        self.scale, self.channels, self.width, self.blocks = scale, channels, width, blocks
        self.norm, self.residual = norm, bool(residual)
        bias = norm == "none"
        self.head = nn.Sequential(nn.Conv2d(channels, width, 9, padding=4), nn.PReLU(width))
        self.body = nn.Sequential(*[ResidualBlock(width, norm) for _ in range(blocks)])
        self.body_out = nn.Sequential(nn.Conv2d(width, width, 3, padding=1, bias=bias),
                                      nn.BatchNorm2d(width) if norm == "batch" else nn.Identity())
        ups: list[nn.Module] = []
        for _ in range(int(math.log2(scale))):
            ups += [nn.Conv2d(width, 4 * width, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(width)]
        self.upsample = nn.Sequential(*ups)
        self.tail = nn.Conv2d(width, channels, 9, padding=4)
        if self.residual:
            nn.init.zeros_(self.tail.weight)
            nn.init.zeros_(self.tail.bias)

    def forward(self, x: Tensor) -> Tensor:
        """``x``: LR images ``(N, channels, h, w)`` in [-1, 1]; returns ``(N, channels, h*scale, w*scale)``.

        Raises:
            ValueError: ``x`` is not a 4-D tensor with ``channels`` channels.
        """
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"SRResNet expects low-resolution images (N, {self.channels}, h, w); "
                             f"given {tuple(x.shape)}")
        head = self.head(x)
        y = self.tail(self.upsample(head + self.body_out(self.body(head))))
        if not self.residual:
            return torch.tanh(y)
        y = bicubic(x, self.scale) + y
        return y if self.training else y.clamp(-1.0, 1.0)

    def extra_repr(self) -> str:
        return f"scale={self.scale}, residual={self.residual}"


class SRDiscriminator(nn.Module):
    """SRGAN's VGG-style discriminator: images ``(N, channels, H, W)`` in [-1, 1] -> ``(N,)`` logits.

    Eight 3x3 convs (``width``, then ``width`` stride 2, ``2 width``, ``2 width`` stride 2, ...
    up to ``8 width``; BN after all but the first, LeakyReLU 0.2), a global average pool, dense
    ``fc``, LeakyReLU, dense 1. Paper: ``width=64, fc=1024`` on 96 px crops.

    Args:
        channels: image channels.
        width: channels of the first conv.
        fc: units of the hidden dense layer.
        stages: stride-2 convs (paper: 4); crops must be at least ``2 ** stages`` px.
        norm: ``"batch"`` (paper) or ``"none"``.

    Raises:
        ValueError: non-positive sizes or an unknown norm; at call time, a wrong channel count.
    """

    def __init__(self, channels: int = 3, width: int = 64, fc: int = 1024, stages: int = 4,
                 norm: str = "batch") -> None:
        super().__init__()
        for name, value in (("channels", channels), ("width", width), ("fc", fc), ("stages", stages)):
            _check_positive(name, value)
        check_choice("norm", norm, SR_NORMS)
        self.channels, self.stages = channels, stages
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, padding=1), nn.LeakyReLU(0.2)]
        c_in = width
        for i in range(2 * stages - 1):
            c_out = width * 2 ** ((i + 1) // 2)
            stride = 2 if i % 2 == 0 else 1
            layers += [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=norm == "none"),
                       nn.BatchNorm2d(c_out) if norm == "batch" else nn.Identity(), nn.LeakyReLU(0.2)]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(c_in, fc), nn.LeakyReLU(0.2), nn.Linear(fc, 1))

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"SRDiscriminator expects images (N, {self.channels}, H, W); given {tuple(x.shape)}")
        h = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(h).squeeze(1)


# ----- feature networks of the content loss --------------------------------------------------
class FeatureWeightsUnavailable(RuntimeError):
    """The pretrained VGG19 weights of the content loss are not on this machine and cannot be fetched."""


class FeatureNetwork(nn.Module):
    """A frozen feature map: images ``(N, 3, H, W)`` in [-1, 1] -> features ``(N, C', H', W')``.

    Args:
        body: the convolutional stack.
        name: what it is (``"vgg19[54]"``, ``"random_vgg[22,w=16,seed=0]"``), for records.
        imagenet_input: map [-1, 1] to ImageNet-normalised input first (pretrained VGG).
        scale: features are multiplied by it (the paper rescales VGG features by 1/12.75).
    """

    def __init__(self, body: nn.Module, name: str, imagenet_input: bool, scale: float = 1.0) -> None:
        super().__init__()
        self.body, self.name, self.imagenet_input, self.scale = body, name, imagenet_input, float(scale)
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False).eval()

    def train(self, mode: bool = True) -> FeatureNetwork:  # always in eval mode
        return super().train(False)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"{self.name} expects images (N, 3, H, W) in [-1, 1]; given {tuple(x.shape)}")
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if self.imagenet_input:
            x = ((x + 1) / 2 - self.mean) / self.std
        return self.body(x) * self.scale


def vgg19_weights_file() -> str:
    """Where torchvision keeps VGG19's ImageNet weights (``<torch hub>/checkpoints/vgg19-dcbb9e9d.pth``)."""
    import torch.hub
    from torchvision.models import VGG19_Weights

    return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(VGG19_Weights.IMAGENET1K_V1.url))


def vgg19_features(layer: str = "54", *, download: bool = True, scale: float = 1 / 12.75) -> FeatureNetwork:
    """torchvision's ImageNet VGG19 cut at phi_{i,j} = ``layer`` (``"22"`` or ``"54"``), frozen.

    The weights are read from the torch hub cache (``weights_only`` load); when absent they are
    downloaded if ``download`` (about 550 MB).

    Raises:
        ValueError: unknown layer.
        FeatureWeightsUnavailable: the weights are not on disk and cannot be downloaded; the
            message names the file to place by hand.
    """
    check_choice("VGG layer", layer, tuple(VGG_LAYERS))
    from torchvision.models import VGG19_Weights, vgg19

    path = vgg19_weights_file()
    try:
        if os.path.isfile(path):
            state = torch.load(path, map_location="cpu", weights_only=True)
        elif download:
            state = VGG19_Weights.IMAGENET1K_V1.get_state_dict(progress=False)
        else:
            raise FileNotFoundError(path)
    except Exception as exc:
        raise FeatureWeightsUnavailable(
            f"SRGAN's VGG content loss needs torchvision's ImageNet VGG19 weights; they could not be "
            f"loaded ({type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}). Place "
            f"the file {os.path.basename(path)} (from {VGG19_Weights.IMAGENET1K_V1.url}) at {path}, "
            f"or use an offline content loss (content='mse' or 'random')."
        ) from None
    with torch.random.fork_rng(devices=[]):  # the random init (overwritten) leaves the global RNG alone
        net = vgg19(weights=None)
    net.load_state_dict(state)
    body = net.features[: VGG_LAYERS[layer]]
    return FeatureNetwork(body, f"vgg19[{layer}]", imagenet_input=True, scale=scale)


def random_vgg_features(width: int = 16, seed: int = 0, scale: float = 1.0) -> FeatureNetwork:
    """A VGG-like stack with fixed random weights: conv1_1, conv1_2, pool, conv2_1, conv2_2 (each
    3x3 + ReLU, widths ``width, width, 2 width, 2 width``), i.e. VGG19's phi_{2,2} architecture.

    Weights are He-normal (fan-in, ReLU gain) and biases zero, drawn from a generator seeded with
    ``seed`` (torch's global RNG is untouched), so the same (width, seed) always gives the same net.
    Input: images in [-1, 1] as they are.
    """
    _check_positive("width", width)
    g = torch.Generator().manual_seed(int(seed))
    widths = (width, width, "pool", 2 * width, 2 * width)
    layers: list[nn.Module] = []
    c_in = 3
    with torch.random.fork_rng(devices=[]):  # nn.Conv2d's own init draws from the global RNG
        for w in widths:
            if w == "pool":
                layers.append(nn.MaxPool2d(2))
                continue
            conv = nn.Conv2d(c_in, int(w), 3, padding=1)
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * math.sqrt(2.0 / (c_in * 9)))
                conv.bias.zero_()
            layers += [conv, nn.ReLU()]
            c_in = int(w)
    return FeatureNetwork(nn.Sequential(*layers), f"random_vgg[22,w={width},seed={seed}]",
                          imagenet_input=False, scale=scale)
