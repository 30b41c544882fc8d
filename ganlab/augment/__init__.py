"""Augmentations applied per sample on image batches: classical, DiffAugment, ADA.

Images are ``(N, C, H, W)`` float in ``[-1, 1]``; every random parameter is drawn per sample
from torch's global RNG (which the trainer checkpoints).

* :func:`classical` (``["blur", "flip", "affine"]``): the real images only;
* :class:`DiffAugment` (``"color,translation,cutout"``): every image D sees, differentiably;
* :class:`ADA`: every image D sees, with probability p adapted from ``E[sign(D(x_real))]``.

A family takes them as ``build(name, G, D, augment={...})`` (see :mod:`ganlab.augment.pipeline`
and ``docs/ARCHITECTURE.md``).
"""

from .ada import ADA, ADA_COLOUR, ADA_GEOMETRIC, ADA_OPS, ADAPipeline, parse_ada_ops
from .classical import CLASSICAL_DEFAULTS, CLASSICAL_OPS, Classical, GaussianBlur, classical
from .diffaugment import (
    DIFFAUGMENT_OPS,
    DiffAugment,
    brightness,
    color,
    contrast,
    cutout,
    cutout_mask,
    parse_policy,
    saturation,
    translation,
)
from .pipeline import (
    ADA_DEFAULTS,
    AUGMENT_KINDS,
    DIFFAUGMENT_DEFAULTS,
    Augmentation,
    normalize_spec,
)

__all__ = [
    "ADA", "ADAPipeline", "ADA_COLOUR", "ADA_DEFAULTS", "ADA_GEOMETRIC", "ADA_OPS", "AUGMENT_KINDS",
    "Augmentation", "CLASSICAL_DEFAULTS", "CLASSICAL_OPS", "Classical", "DIFFAUGMENT_DEFAULTS",
    "DIFFAUGMENT_OPS", "DiffAugment", "GaussianBlur", "brightness", "classical", "color", "contrast",
    "cutout", "cutout_mask", "normalize_spec", "parse_ada_ops", "parse_policy", "saturation",
    "translation",
]
