"""Build nets by kind name, and count parameters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from ganlab.nets.conditional import (
    CBNGenerator,
    ConcatDiscriminator,
    ConcatGenerator,
    ProjectionDiscriminator,
)
from ganlab.nets.dcgan import DCGANCritic, DCGANDiscriminator, DCGANGenerator
from ganlab.nets.layers import check_choice
from ganlab.nets.mlp import MLPDiscriminator, MLPGenerator
from ganlab.nets.stylegan import StyleGenerator

__all__ = [
    "GENERATORS",
    "DISCRIMINATORS",
    "build_generator",
    "build_discriminator",
    "count_parameters",
]

#: Generator classes by kind.
GENERATORS: dict[str, Callable[..., nn.Module]] = {
    "mlp": MLPGenerator,
    "dcgan": DCGANGenerator,
    "cond_concat": ConcatGenerator,
    "cond_cbn": CBNGenerator,
    "stylegan": StyleGenerator,
}
#: Discriminator / critic classes by kind.
DISCRIMINATORS: dict[str, Callable[..., nn.Module]] = {
    "mlp": MLPDiscriminator,
    "dcgan": DCGANDiscriminator,
    "dcgan_critic": DCGANCritic,
    "cond_concat": ConcatDiscriminator,
    "projection": ProjectionDiscriminator,
}


def build_generator(kind: str, **kwargs: Any) -> nn.Module:
    """``build_generator("dcgan", image_size=28, channels=1)``; kinds: ``GENERATORS``' keys."""
    check_choice("generator kind", kind, GENERATORS)
    return GENERATORS[kind](**kwargs)


def build_discriminator(kind: str, **kwargs: Any) -> nn.Module:
    """``build_discriminator("mlp", in_shape=(2,), pack=4)``; kinds: ``DISCRIMINATORS``' keys."""
    check_choice("discriminator kind", kind, DISCRIMINATORS)
    return DISCRIMINATORS[kind](**kwargs)


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameter elements in ``module`` (buffers such as BN running statistics and
    spectral-norm vectors are not parameters); ``trainable_only`` counts those requiring grad."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
