"""``shapes``: procedural RGB images with known generative factors (offline, any N, deterministic).

Each image is one antialiased shape on a dark background. Factors, all drawn independently and
uniformly, are returned as int64 tensors:

* ``shape``: circle, square, triangle (also the ``labels``)
* ``colour``: red, green, blue, yellow, magenta, cyan
* ``size``: half-extent 3.5, 5.0 or 6.5 px at 32 px (scaled with the image)
* ``x``, ``y``: centre at 1/4, 1/2 or 3/4 of the width / height, plus a uniform jitter of at
  most 1 px (at 32 px) so the set is not only 486 distinct pictures.

3 * 6 * 3 * 3 * 3 = 486 factor combinations ("modes"). Images are 32 or 64 px. Generation is
vectorised (a signed-distance function per pixel, coverage = clamp(0.5 - sdf, 0, 1)), in chunks.
"""

from __future__ import annotations

import math

import torch

from .spec import Parts, Request
from .transforms import convert_channels, make_generator

__all__ = ["SHAPES", "COLOURS", "FACTOR_SIZES", "SIZES", "N_DEFAULT", "generate_shapes", "build_shapes",
           "draw_factors", "render"]

SHAPES = ("circle", "square", "triangle")
COLOURS = {
    "red": (230, 50, 50),
    "green": (60, 200, 60),
    "blue": (60, 100, 240),
    "yellow": (240, 220, 50),
    "magenta": (220, 60, 220),
    "cyan": (50, 210, 220),
}
FACTOR_SIZES = {"shape": 3, "colour": len(COLOURS), "size": 3, "x": 3, "y": 3}
SIZES = (32, 64)
N_DEFAULT = {"train": 10_000, "test": 2_000}
_SPLIT_SALT = {"train": 0, "test": 1}
_HALF_EXTENT = (3.5, 5.0, 6.5)  # at 32 px
_POSITIONS = (0.25, 0.5, 0.75)
_JITTER = 1.0  # px at 32 px
_BACKGROUND = 18
_CHUNK = 2048


def _sdf(shape: int, dx: torch.Tensor, dy: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Signed distance (px, negative inside) to one kind of shape; ``dx`` (n,1,W), ``dy`` (n,H,1), ``r`` (n,1,1)."""
    if shape == 0:  # circle
        return (dx * dx + dy * dy).sqrt_().sub_(r)
    if shape == 1:  # square
        return torch.maximum(dx.abs(), dy.abs()).sub_(r)
    # isosceles triangle in the square [-r, r]^2, apex up: base y <= r, sides 2|x| - y <= r
    return torch.maximum(dy - r, (2 * dx.abs() - dy - r).mul_(1 / math.sqrt(5.0)))


def _render(factors: dict[str, torch.Tensor], jitter: torch.Tensor, size: int,
            palette: torch.Tensor | None = None, background: int = _BACKGROUND) -> torch.Tensor:
    """Draw images for a chunk of factors: uint8 ``(n, 3, size, size)``.

    ``palette`` float ``(n_colours, 3)`` in 0..255 paints colour ``k`` (default :data:`COLOURS`)
    on a flat ``background`` grey. Only a ``win x win`` window around each shape is computed (the
    shape plus its antialiased rim always fits), then pasted into a background canvas with one
    scatter.
    """
    n = factors["shape"].shape[0]
    scale = size / 32.0
    pos = torch.tensor(_POSITIONS) * size
    cx = pos[factors["x"]] + jitter[:, 0] * scale
    cy = pos[factors["y"]] + jitter[:, 1] * scale
    r = (torch.tensor(_HALF_EXTENT) * scale)[factors["size"]]
    half = math.ceil(max(_HALF_EXTENT) * scale + 1.5)
    win = 2 * half
    ox = (cx.floor().long() - half).clamp_(0, size - win)  # window origin, (n,)
    oy = (cy.floor().long() - half).clamp_(0, size - win)
    local = torch.arange(win)
    alpha = torch.empty((n, win, win))
    for kind in range(len(SHAPES)):
        idx = torch.nonzero(factors["shape"] == kind).squeeze(1)
        if idx.numel():
            dx = (ox[idx].view(-1, 1, 1) + local.view(1, 1, -1)) + 0.5 - cx[idx].view(-1, 1, 1)
            dy = (oy[idx].view(-1, 1, 1) + local.view(1, -1, 1)) + 0.5 - cy[idx].view(-1, 1, 1)
            sdf = _sdf(kind, dx, dy, r[idx].view(-1, 1, 1))
            alpha[idx] = sdf.neg_().add_(0.5).clamp_(0.0, 1.0)  # pixel coverage
    if palette is None:
        palette = torch.tensor(list(COLOURS.values()), dtype=torch.float32)
    palette = palette - background
    patch = alpha.unsqueeze(1) * palette[factors["colour"]].view(n, 3, 1, 1)
    patch = patch.add_(background + 0.5).to(torch.uint8)  # +0.5 then truncate = round (values >= 0)
    flat = (oy.view(-1, 1, 1) + local.view(1, -1, 1)) * size + (ox.view(-1, 1, 1) + local.view(1, 1, -1))
    canvas = torch.full((n, 3, size * size), background, dtype=torch.uint8)
    canvas.scatter_(2, flat.view(n, 1, -1).expand(n, 3, -1), patch.view(n, 3, -1))
    return canvas.view(n, 3, size, size)


def generate_shapes(n: int, size: int = 32, seed: int = 0, split: str = "train") -> Parts:
    """Generate ``n`` shapes images deterministically for ``(seed, split)``.

    Returns:
        :class:`Parts` with ``images`` uint8 ``(n, 3, size, size)``, ``labels`` = shape index
        int64 ``(n,)`` and ``factors`` {shape, colour, size, x, y} int64 ``(n,)``.
    """
    factors, jitter = draw_factors(n, seed, split)
    return Parts(images=render(factors, jitter, size), labels=factors["shape"].clone(), factors=factors,
                 limited=True)


def draw_factors(n: int, seed: int = 0, split: str = "train") -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """The factors (int64 ``(n,)`` each) and centre jitter (float ``(n, 2)``, px at 32 px) of ``n``
    images, deterministic for ``(seed, split)`` (the draws behind :func:`generate_shapes`)."""
    g = make_generator(seed, 1001, _SPLIT_SALT[split])
    factors = {k: torch.randint(0, m, (n,), generator=g) for k, m in FACTOR_SIZES.items()}
    jitter = (torch.rand((n, 2), generator=g) * 2 - 1) * _JITTER
    return factors, jitter


def render(factors: dict[str, torch.Tensor], jitter: torch.Tensor, size: int,
           palette: torch.Tensor | None = None, background: int = _BACKGROUND) -> torch.Tensor:
    """uint8 ``(n, 3, size, size)`` images of the given factors, drawn in chunks (see :func:`_render`)."""
    n = jitter.shape[0]
    images = torch.empty((n, 3, size, size), dtype=torch.uint8)
    for start in range(0, n, _CHUNK):
        sl = slice(start, start + _CHUNK)
        images[sl] = _render({k: v[sl] for k, v in factors.items()}, jitter[sl], size, palette, background)
    return images


def build_shapes(req: Request) -> Parts:
    """Registry builder: ``limit`` (default 10,000 train / 2,000 test) images at 32 or 64 px."""
    n = req.limit if req.limit is not None else N_DEFAULT[req.split]
    parts = generate_shapes(n, size=req.image_size or 32, seed=req.seed, split=req.split)
    if req.channels == 1:
        parts.images = convert_channels(parts.images, 1)  # type: ignore[arg-type]
    parts.info["factor_sizes"] = dict(FACTOR_SIZES)
    return parts
