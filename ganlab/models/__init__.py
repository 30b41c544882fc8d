"""GAN families: one class each, differing only in their D and G steps (see ``base.GANModel``).

``build(name, G, D, **recipe)`` makes one by name; ``MODELS`` lists them. Adding a family is one
file with a ``GANModel`` subclass and one line here.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from ganlab.models.base import GANModel, Recipe
from ganlab.models.bce import DCGAN, VanillaGAN
from ganlab.models.lsgan import LSGAN
from ganlab.models.wgan import WGAN, WGANGP

__all__ = ["GANModel", "Recipe", "MODELS", "build", "VanillaGAN", "DCGAN", "LSGAN", "WGAN", "WGANGP"]

MODELS: dict[str, type[GANModel]] = {
    cls.family: cls for cls in (VanillaGAN, DCGAN, LSGAN, WGAN, WGANGP)
}


def build(name: str, G: nn.Module, D: nn.Module, **recipe: Any) -> GANModel:
    """The family ``name`` around generator ``G`` and discriminator/critic ``D``.

    Raises:
        ValueError: unknown family name (lists the accepted ones) or unknown recipe key.
    """
    try:
        cls = MODELS[name]
    except KeyError:
        raise ValueError(f"model {name!r} is not known; accepted: {', '.join(MODELS)}") from None
    return cls(G, D, **recipe)
