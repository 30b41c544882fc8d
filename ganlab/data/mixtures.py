"""2-D Gaussian mixtures of the PacGAN protocol (Lin et al., 2018): ``ring8`` and ``grid25``.

* ``ring8``: 8 modes equally spaced on the unit circle (mode k at angle 2*pi*k/8), std 0.01.
* ``grid25``: 25 modes at {-4, -2, 0, 2, 4}^2 (mode k = 5*i + j at (v[i], v[j])), std 0.05.

Points are float32 ``(N, 2)``: a mode drawn uniformly (the ``label``) plus isotropic Gaussian
noise. Deterministic for ``(seed, split)``; default N 100,000 (train) / 10,000 (test).
"""

from __future__ import annotations

import math

import torch

from .spec import Parts, Request
from .transforms import make_generator

__all__ = ["ring8_means", "grid25_means", "RING8_STD", "GRID25_STD", "N_DEFAULT", "sample_mixture", "build_ring8", "build_grid25"]

RING8_STD = 0.01
GRID25_STD = 0.05
N_DEFAULT = {"train": 100_000, "test": 10_000}
_SPLIT_SALT = {"train": 0, "test": 1}


def ring8_means() -> torch.Tensor:
    """float32 ``(8, 2)``: the unit-circle modes of ``ring8``."""
    angle = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    return torch.stack([torch.cos(angle), torch.sin(angle)], 1).to(torch.float32)


def grid25_means() -> torch.Tensor:
    """float32 ``(25, 2)``: the modes of ``grid25`` on {-4, -2, 0, 2, 4}^2."""
    v = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    gx, gy = torch.meshgrid(v, v, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)


def sample_mixture(means: torch.Tensor, std: float, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` samples of the equal-weight isotropic mixture: float32 ``(n, 2)`` points, int64 ``(n,)`` modes."""
    labels = torch.randint(0, means.shape[0], (n,), generator=generator)
    noise = torch.randn((n, means.shape[1]), generator=generator) * std
    return means[labels] + noise, labels


def _build(req: Request, means: torch.Tensor, std: float, salt: int) -> Parts:
    n = req.limit if req.limit is not None else N_DEFAULT[req.split]
    points, labels = sample_mixture(means, std, n, make_generator(req.seed, salt, _SPLIT_SALT[req.split]))
    return Parts(points=points, labels=labels, info={"mode_means": means, "mode_std": std}, limited=True)


def build_ring8(req: Request) -> Parts:
    """Registry builder for ``ring8``."""
    return _build(req, ring8_means(), RING8_STD, 2001)


def build_grid25(req: Request) -> Parts:
    """Registry builder for ``grid25``."""
    return _build(req, grid25_means(), GRID25_STD, 2002)
