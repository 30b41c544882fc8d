"""``shapes_paired``: label maps -> rendered shapes, a pix2pix task whose right answer is known.

Every item is a pair built from the same draw of ``shapes`` factors (shape, colour, size, x, y):

* **source**: a flat *label map*: black background, the shape's region painted with the label
  code of its colour class, taken from the PASCAL VOC colour map (classes 1-6: maroon, green,
  olive, navy, purple, teal). A code is a class name, not an appearance: "blue" is olive here.
* **target** (the images): the same shape in its real colour (:data:`~ganlab.data.shapes.COLOURS`),
  lit by a linear light from a random direction (brightness 0.55 .. 1.3 across the shape), on a
  dark background with smooth random blotches (+-12 grey levels).

The light direction and the blotches are random per image and not in the label map: the
generator must *invent* appearance, so a pixel loss alone predicts their average (flat, blurry
shading) while an adversarial loss can pick one plausible sample — pix2pix's point, with a
checkable answer: ``shapes_cnn`` reads the shape, colour, size and position back from the output
and compares them with the factors the label map asked for (the task score).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import shapes
from .spec import Parts, Request
from .transforms import make_generator

__all__ = ["LABEL_PALETTE", "build_shapes_paired", "generate_pairs"]

#: PASCAL VOC colour map, classes 1..6: the label code of colour class k (red, green, blue, yellow, magenta, cyan).
LABEL_PALETTE = ((128, 0, 0), (0, 128, 0), (128, 128, 0), (0, 0, 128), (128, 0, 128), (0, 128, 128))
_LIGHT = (0.55, 1.3)  # brightness range across the shape
_BLOTCH = 12.0  # grey levels of background texture
_BLOTCH_GRID = 4  # the blotches are a 4 x 4 random grid, bicubically upsampled


def _appearance(factors: dict[str, torch.Tensor], jitter: torch.Tensor, size: int,
                g: torch.Generator) -> torch.Tensor:
    """The targets: uint8 ``(n, 3, size, size)`` lit shapes on a blotchy background."""
    n = jitter.shape[0]
    white = torch.full((len(shapes.COLOURS), 3), 255.0)
    alpha = shapes.render(factors, jitter, size, palette=white, background=0)[:, :1].float() / 255.0
    scale = size / 32.0
    pos = torch.tensor(shapes._POSITIONS) * size
    cx = (pos[factors["x"]] + jitter[:, 0] * scale).view(n, 1, 1, 1)
    cy = (pos[factors["y"]] + jitter[:, 1] * scale).view(n, 1, 1, 1)
    r = (torch.tensor(shapes._HALF_EXTENT) * scale)[factors["size"]].view(n, 1, 1, 1)
    theta = (torch.rand(n, generator=g) * 2 * math.pi).view(n, 1, 1, 1)
    grid = torch.arange(size, dtype=torch.float32) + 0.5
    xx, yy = grid.view(1, 1, 1, size), grid.view(1, 1, size, 1)
    along = ((xx - cx) * torch.cos(theta) + (yy - cy) * torch.sin(theta)) / r  # -1 .. 1 across the shape
    lo, hi = _LIGHT
    light = ((along.clamp(-1, 1) + 1) / 2) * (hi - lo) + lo
    colour = torch.tensor(list(shapes.COLOURS.values()), dtype=torch.float32)[factors["colour"]].view(n, 3, 1, 1)
    blotch = torch.rand((n, 1, _BLOTCH_GRID, _BLOTCH_GRID), generator=g) * 2 - 1
    blotch = F.interpolate(blotch, size=(size, size), mode="bicubic", align_corners=False)
    background = shapes._BACKGROUND + _BLOTCH * blotch.clamp(-1, 1)
    out = alpha * (colour * light).clamp(0, 255) + (1 - alpha) * background
    return out.round_().clamp_(0, 255).to(torch.uint8).expand(n, 3, size, size).contiguous()


def generate_pairs(n: int, size: int = 32, seed: int = 0, split: str = "train") -> Parts:
    """``n`` (label map, image) pairs, deterministic for ``(seed, split)``.

    Returns:
        :class:`Parts`: ``images`` (targets) and ``sources`` (label maps) uint8 ``(n, 3, size, size)``,
        ``labels`` = shape index and ``factors`` {shape, colour, size, x, y} int64 ``(n,)`` — the
        same factors as ``shapes`` for the same ``(seed, split)``.
    """
    factors, jitter = shapes.draw_factors(n, seed, split)
    maps = shapes.render(factors, jitter, size, palette=torch.tensor(LABEL_PALETTE, dtype=torch.float32),
                         background=0)
    g = make_generator(seed, 2002, 0 if split == "train" else 1)
    images = torch.empty_like(maps)
    for start in range(0, n, 2048):
        sl = slice(start, start + 2048)
        images[sl] = _appearance({k: v[sl] for k, v in factors.items()}, jitter[sl], size, g)
    return Parts(images=images, sources=maps, labels=factors["shape"].clone(), factors=factors,
                 limited=True, info={"factor_sizes": dict(shapes.FACTOR_SIZES)})


def build_shapes_paired(req: Request) -> Parts:
    """Registry builder: ``limit`` pairs (default 10,000 train / 2,000 test) at 32 or 64 px.

    Raises:
        ValueError: ``channels=1`` (the label codes and the colours need RGB).
    """
    if req.channels == 1:
        raise ValueError("shapes_paired is RGB on both sides (colour is part of the task); "
                         "given channels=1; accepted: channels=3 or None")
    n = req.limit if req.limit is not None else shapes.N_DEFAULT[req.split]
    return generate_pairs(n, size=req.image_size or 32, seed=req.seed, split=req.split)
