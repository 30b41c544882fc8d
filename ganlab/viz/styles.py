"""Figures of a generator with a mapping network (StyleGAN-lite): Z vs W paths, style mixing."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ganlab.latent import slerp
from ganlab.viz.codes import _positive

__all__ = ["latent_paths", "style_mixing_grid"]


def _styled(G: Any, what: str) -> nn.Module:
    if not all(hasattr(G, a) for a in ("mapping", "synthesis", "mix", "n_styles")):
        raise ValueError(f"{what} needs a generator with a mapping network (ganlab.nets.StyleGenerator); "
                         f"got {type(G).__name__}")
    return G


@torch.no_grad()
def latent_paths(G: nn.Module, n_pairs: int = 3, n_steps: int = 10, seed: int = 0) -> dict[str, Tensor]:
    """The same endpoint pairs interpolated in Z (slerp, as the paper) and in W (lerp of the
    mapped endpoints): ``{"Z": (n_pairs * n_steps, C, H, W), "W": ...}``, pair by pair, images
    in [-1, 1] on the CPU (eval mode, fixed noise); both rows of a pair share their endpoints.
    """
    G = _styled(G, "latent_paths")
    _positive(n_pairs, "n_pairs")
    if _positive(n_steps, "n_steps") < 2:
        raise ValueError(f"n_steps must be >= 2, got {n_steps}")
    was = G.training
    G.eval()
    try:
        gen = torch.Generator().manual_seed(seed)
        z0, z1 = torch.randn(2, n_pairs, G.nz, generator=gen)
        t = torch.linspace(0, 1, n_steps)
        device = next(G.parameters()).device
        zs = torch.cat([slerp(a, b, t) for a, b in zip(z0, z1)]).float().to(device)  # (P*T, nz)
        w0, w1 = G.mapping(z0.to(device)), G.mapping(z1.to(device))
        ws = torch.cat([a + (b - a) * t.to(device)[:, None] for a, b in zip(w0, w1)])
        return {"Z": G.synthesis(G.mapping(zs)).float().cpu(), "W": G.synthesis(ws).float().cpu()}
    finally:
        G.train(was)


@torch.no_grad()
def style_mixing_grid(G: nn.Module, crossover: int, n_rows: int = 4, n_cols: int = 6,
                      seed: int = 0, psi: float = 1.0) -> Tensor:
    """The paper's style-mixing figure as one image grid ``((n_rows + 1) * (n_cols + 1), C, H, W)``.

    Row 0: a blank corner, then the column sources B; column 0: the row sources A; cell (i, j):
    styles of layers ``< crossover`` from A_i (coarse: pose, shape, position at low resolution)
    and the rest from B_j (fine: colour, texture). Show with ``show_grid(..., nrow=n_cols + 1)``.
    Eval mode, fixed noise; ``psi`` truncates every w.
    """
    G = _styled(G, "style_mixing_grid")
    _positive(n_rows, "n_rows")
    _positive(n_cols, "n_cols")
    if isinstance(crossover, bool) or not isinstance(crossover, int) or not 0 <= crossover <= G.n_styles:
        raise ValueError(f"crossover must be an integer in [0, {G.n_styles}], got {crossover!r}")
    was = G.training
    G.eval()
    try:
        device = next(G.parameters()).device
        gen = torch.Generator().manual_seed(seed)
        za = torch.randn(n_rows, G.nz, generator=gen).to(device)
        zb = torch.randn(n_cols, G.nz, generator=gen).to(device)
        wa, wb = G.truncate(G.mapping(za), psi), G.truncate(G.mapping(zb), psi)
        xa, xb = G.synthesis(wa), G.synthesis(wb)
        mixed = G.synthesis(G.mix(wa.repeat_interleave(n_cols, 0), wb.repeat(n_rows, 1), crossover))
        blank = torch.full_like(xa[:1], -1.0)
        rows = [torch.cat([blank, xb])]
        for i in range(n_rows):
            rows.append(torch.cat([xa[i:i + 1], mixed[i * n_cols:(i + 1) * n_cols]]))
        return torch.cat(rows).float().cpu()
    finally:
        G.train(was)
