"""Generator, discriminator and critic architectures.

Contracts (docs/ARCHITECTURE.md): a generator has ``nz`` and ``out_shape`` and maps ``(N, nz)``
to ``(N, *out_shape)`` (image generators end in tanh, values in [-1, 1]); a discriminator or
critic maps ``(N, *in_shape)`` to raw logits ``(N,)`` (``(N // pack,)`` for PacGAN), no sigmoid.

* :mod:`~ganlab.nets.mlp`: ``MLPGenerator``, ``MLPDiscriminator`` (vanilla GAN, PacGAN, 2-D toys)
* :mod:`~ganlab.nets.dcgan`: ``DCGANGenerator``, ``DCGANDiscriminator``, ``DCGANCritic`` (28/32/64 px)
* :mod:`~ganlab.nets.conditional`: ``ConcatGenerator``, ``ConcatDiscriminator``, ``CBNGenerator``,
  ``ProjectionDiscriminator`` (class-conditional DCGANs; ``forward(z, y)`` / ``forward(x, y)``)
* :mod:`~ganlab.nets.lsun_wgangp`: ``wgangp_lsun(version)`` (the LSUN-bedroom WGAN-GP v1 / v2)
* :mod:`~ganlab.nets.stylegan`: ``StyleGenerator``, ``MappingNetwork`` (StyleGAN-lite: mapping,
  AdaIN, noise, style mixing, truncation)
* :mod:`~ganlab.nets.image_to_image`: ``UNetGenerator``, ``PatchDiscriminator`` (pix2pix),
  ``ResNetGenerator`` (CycleGAN); sources in, images out
* :mod:`~ganlab.nets.srresnet`: ``SRResNet``, ``SRDiscriminator`` (SRGAN, x2 / x4 / x8 super-resolution)
  and the frozen feature networks of its content loss (``vgg19_features``, ``random_vgg_features``)
* :mod:`~ganlab.nets.init`: ``init_dcgan_weights``
* :mod:`~ganlab.nets.registry`: ``build_generator``, ``build_discriminator``, ``count_parameters``
"""

from __future__ import annotations

from ganlab.nets.conditional import (
    CBNGenerator,
    ConcatDiscriminator,
    ConcatGenerator,
    ConditionalBatchNorm2d,
    ProjectionDiscriminator,
)
from ganlab.nets.dcgan import CHANNELS, DCGAN_SIZES, DCGANCritic, DCGANDiscriminator, DCGANGenerator
from ganlab.nets.image_to_image import (
    PatchDiscriminator,
    ResNetGenerator,
    UNetGenerator,
    patch_receptive_field,
)
from ganlab.nets.infogan import InfoGANDiscriminator
from ganlab.nets.init import init_dcgan_weights
from ganlab.nets.layers import NORMS, apply_spectral_norm, norm2d
from ganlab.nets.lsun_wgangp import LSUNCritic, LSUNGenerator, wgangp_lsun
from ganlab.nets.mlp import MLPDiscriminator, MLPGenerator
from ganlab.nets.registry import (
    DISCRIMINATORS,
    GENERATORS,
    build_discriminator,
    build_generator,
    count_parameters,
)
from ganlab.nets.srresnet import SR_SCALES, SRDiscriminator, SRResNet
from ganlab.nets.stylegan import MappingNetwork, StyleGenerator

__all__ = [
    "CHANNELS",
    "DCGAN_SIZES",
    "DISCRIMINATORS",
    "GENERATORS",
    "NORMS",
    "CBNGenerator",
    "ConcatDiscriminator",
    "ConcatGenerator",
    "ConditionalBatchNorm2d",
    "DCGANCritic",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "InfoGANDiscriminator",
    "LSUNCritic",
    "LSUNGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
    "ProjectionDiscriminator",
    "MappingNetwork",
    "PatchDiscriminator",
    "ResNetGenerator",
    "UNetGenerator",
    "patch_receptive_field",
    "StyleGenerator",
    "SR_SCALES",
    "SRDiscriminator",
    "SRResNet",
    "apply_spectral_norm",
    "build_discriminator",
    "build_generator",
    "count_parameters",
    "init_dcgan_weights",
    "norm2d",
    "wgangp_lsun",
]
