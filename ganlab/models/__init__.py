"""GAN families: one class each (the contract: ``base.Family``; one G and one D: ``base.GANModel``).

``build(name, *networks, **recipe)`` makes one by name; ``MODELS`` lists them. Adding a family is
one file with a ``Family`` (or ``GANModel``) subclass and one line here.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from ganlab.models.base import Family, GANModel, Phase, Recipe, Sampler, StepContext
from ganlab.models.bce import DCGAN, VanillaGAN
from ganlab.models.conditional import ConditionalGAN
from ganlab.models.cyclegan import CycleGAN
from ganlab.models.generation import generate_batched
from ganlab.models.infogan import InfoGAN
from ganlab.models.lsgan import LSGAN
from ganlab.models.pix2pix import Pix2Pix
from ganlab.models.realness import RealnessGAN
from ganlab.models.sngan import SNGAN
from ganlab.models.srgan import SRGAN, SRResNetFamily
from ganlab.models.stylegan import StyleGAN
from ganlab.models.wgan import WGAN, WGANGP

__all__ = ["Family", "GANModel", "Phase", "StepContext", "Sampler", "Recipe", "MODELS", "build",
           "generate_batched", "VanillaGAN", "DCGAN", "LSGAN", "WGAN", "WGANGP", "ConditionalGAN", "InfoGAN", "SNGAN", "StyleGAN",
           "Pix2Pix", "CycleGAN", "SRResNetFamily", "SRGAN", "RealnessGAN"]

MODELS: dict[str, type[Family]] = {
    cls.family: cls for cls in (VanillaGAN, DCGAN, LSGAN, WGAN, WGANGP, ConditionalGAN, InfoGAN,
                                SNGAN, StyleGAN, Pix2Pix, CycleGAN, SRResNetFamily, SRGAN, RealnessGAN)
}


def build(name: str, *networks: nn.Module, **recipe: Any) -> Family:
    """The family ``name`` around its networks (``G, D`` for most families).

    Raises:
        ValueError: unknown family name (lists the accepted ones) or unknown recipe key.
    """
    try:
        cls = MODELS[name]
    except KeyError:
        raise ValueError(f"model {name!r} is not known; accepted: {', '.join(MODELS)}") from None
    return cls(*networks, **recipe)
