"""Perceptual path length (Karras et al., StyleGAN, CVPR 2019, section 4.1), in Z and in W.

For a generator with a mapping network (``mapping(z) -> w``, ``synthesis(w) -> x``) and a
perceptual distance ``d``:

    PPL_Z = E[ d(G(slerp(z0, z1; t)), G(slerp(z0, z1; t + eps))) / eps^2 ]
    PPL_W = E[ d(g(lerp(f(z0), f(z1); t)), g(lerp(f(z0), f(z1); t + eps))) / eps^2 ]

with z0, z1 ~ N(0, I), eps = 1e-4 and t ~ U(0, 1) (``sampling="full"``) or t = 0
(``sampling="end"``: path endpoints only, as the paper's "end" column). As in the official
code, Z is interpolated on the sphere (z0, z1 normalised; here scaled back to radius sqrt(nz),
which the mapping's PixelNorm ignores and a plain DCGAN generator expects), W linearly; the
generator runs in eval mode with its fixed noise maps, and the mean is taken over the samples
between the 1st and 99th percentile (the paper's outlier filtering). A smaller PPL means that
small steps along the latent path change the image less evenly, i.e. a smoother, less
entangled space.

The distance is named in every key (``ppl_z[shapes_cnn,N=2000]``):

* ``shapes_cnn`` / ``mnist_cnn``: an LPIPS-style distance on the shipped classifier's three
  conv blocks: features unit-normalised over channels at each position, squared differences
  summed over channels, averaged over positions, summed over blocks (LPIPS without its learned
  per-channel weights). Offline, always available.
* ``lpips``: LPIPS (VGG) of torchmetrics, the paper's distance; its backbone weights come from
  torchvision's download cache, so offline it raises :class:`PerceptualWeightsUnavailable`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ganlab.metrics.image_quality import PerceptualWeightsUnavailable, lpips_network
from ganlab.metrics.keys import metric_key

__all__ = ["DISTANCES", "SAMPLINGS", "SPACES", "PerceptualWeightsUnavailable", "feature_distance",
           "path_lengths", "perceptual_path_length", "ppl_metrics", "slerp_unit", "filtered_mean"]

SPACES: tuple[str, ...] = ("z", "w")
SAMPLINGS: tuple[str, ...] = ("full", "end")
DISTANCES: tuple[str, ...] = ("shapes_cnn", "mnist_cnn", "lpips")


Distance = Callable[[Tensor, Tensor], Tensor]


def _classifier_distance(name: str, device: torch.device | str) -> Distance:
    from ganlab.metrics.extractors import get_extractor

    ext = get_extractor(name, device=device)

    def distance(x0: Tensor, x1: Tensor) -> Tensor:
        total = torch.zeros(x0.shape[0], device=x0.device, dtype=torch.float64)
        for f0, f1 in zip(ext.layer_features(x0), ext.layer_features(x1)):
            f0 = nn.functional.normalize(f0.double(), dim=1, eps=1e-10)
            f1 = nn.functional.normalize(f1.double(), dim=1, eps=1e-10)
            total += (f0 - f1).pow(2).sum(dim=1).mean(dim=(1, 2))
        return total

    return distance


def _lpips_distance(device: torch.device | str) -> Distance:
    net = lpips_network("vgg", device)

    def distance(x0: Tensor, x1: Tensor) -> Tensor:
        if x0.shape[1] == 1:
            x0, x1 = x0.expand(-1, 3, -1, -1), x1.expand(-1, 3, -1, -1)
        return net(x0.float(), x1.float()).reshape(-1).double()

    return distance


def feature_distance(name: str, device: torch.device | str = "cpu") -> Distance:
    """The perceptual distance ``d(x0, x1) -> (N,)`` float64 of images ``(N, C, H, W)`` in [-1, 1].

    Raises:
        ValueError: unknown name (lists :data:`DISTANCES`).
        PerceptualWeightsUnavailable: ``"lpips"`` without its VGG weights.
    """
    if name in ("shapes_cnn", "mnist_cnn"):
        return _classifier_distance(name, device)
    if name == "lpips":
        return _lpips_distance(device)
    raise ValueError(f"distance {name!r} is not known; accepted: {', '.join(DISTANCES)}")


def slerp_unit(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation between the *directions* of ``a`` and ``b`` ``(N, d)`` at ``t``
    ``(N,)``: a unit vector ``(N, d)`` on the great circle (the official PPL code's slerp)."""
    a = nn.functional.normalize(a, dim=1)
    b = nn.functional.normalize(b, dim=1)
    d = (a * b).sum(dim=1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.acos(d)
    t = t.view(-1, 1)
    c = torch.cos(omega * t)
    # direction of b orthogonal to a (for a nearly equal to b, fall back to linear interpolation)
    ortho = b - d * a
    norm = ortho.norm(dim=1, keepdim=True)
    safe = norm > 1e-7
    ortho = torch.where(safe, ortho / norm.clamp_min(1e-12), torch.zeros_like(ortho))
    out = a * c + ortho * torch.sin(omega * t)
    lin = nn.functional.normalize(a + (b - a) * t, dim=1)
    return torch.where(safe, out, lin)


def filtered_mean(values: np.ndarray, low: float = 1.0, high: float = 99.0) -> float:
    """Mean of the values between the ``low``-th and ``high``-th percentiles (inclusive; the
    official code's "lower" / "higher" percentile methods, so both bounds are sample values)."""
    lo, hi = np.percentile(values, low, method="lower"), np.percentile(values, high, method="higher")
    kept = values[(values >= lo) & (values <= hi)]
    return float(kept.mean())


def _check(generator: nn.Module, space: str, sampling: str, n: int, eps: float) -> None:
    if space not in SPACES:
        raise ValueError(f"space {space!r} is not known; accepted: {', '.join(SPACES)}")
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling {sampling!r} is not known; accepted: {', '.join(SAMPLINGS)}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    if not (isinstance(eps, float) and 0 < eps < 1):
        raise ValueError(f"eps must be a float in (0, 1), got {eps!r}")
    if not isinstance(getattr(generator, "nz", None), int):
        raise ValueError(f"generator {type(generator).__name__} has no integer 'nz'")
    if space == "w" and not (hasattr(generator, "mapping") and hasattr(generator, "synthesis")):
        raise ValueError(f"space 'w' needs a generator with mapping(z) and synthesis(w) "
                         f"(a StyleGenerator); {type(generator).__name__} has none")


@torch.no_grad()
def path_lengths(generator: nn.Module, distance: Distance, *, space: str = "w", n: int = 2000,
                 sampling: str = "full", eps: float = 1e-4, seed: int = 0,
                 batch_size: int = 250) -> np.ndarray:
    """The ``n`` per-sample path lengths ``d(G(p_t), G(p_{t+eps})) / eps^2`` (float64 ``(n,)``).

    ``generator``: ``nz`` and ``forward(z)``; for ``space="w"`` also ``mapping`` and ``synthesis``.
    For ``space="z"`` a generator with a mapping network runs ``synthesis(mapping(z))``, so both
    spaces see the same (untruncated) generator. Eval mode (fixed noise); the mode is restored.
    """
    _check(generator, space, sampling, n, eps)
    from ganlab.models.generation import module_device

    device = module_device(generator)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    was_training = generator.training
    generator.eval()
    nz = generator.nz
    out = []
    try:
        for start in range(0, n, batch_size):
            k = min(batch_size, n - start)
            z0 = torch.randn(k, nz, generator=gen, dtype=torch.float64)
            z1 = torch.randn(k, nz, generator=gen, dtype=torch.float64)
            t = torch.rand(k, generator=gen, dtype=torch.float64) if sampling == "full" else torch.zeros(k, dtype=torch.float64)
            if space == "z":
                za = slerp_unit(z0, z1, t) * math.sqrt(nz)
                zb = slerp_unit(z0, z1, t + eps) * math.sqrt(nz)
                zs = torch.cat([za, zb]).float().to(device)
                x = generator(zs)
            else:
                w0 = generator.mapping(z0.float().to(device)).double()
                w1 = generator.mapping(z1.float().to(device)).double()
                tt = t.to(device).view(-1, 1)
                wa, wb = w0 + (w1 - w0) * tt, w0 + (w1 - w0) * (tt + eps)
                x = generator.synthesis(torch.cat([wa, wb]).float())
            x = x.float()
            out.append((distance(x[:k], x[k:]) / eps**2).cpu().numpy())
    finally:
        generator.train(was_training)
    return np.concatenate(out).astype(np.float64)


def perceptual_path_length(generator: nn.Module, distance: Distance, **kwargs: Any) -> float:
    """:func:`path_lengths`' mean over the 1st-99th percentile (the paper's PPL)."""
    return filtered_mean(path_lengths(generator, distance, **kwargs))


def ppl_metrics(generator: nn.Module, *, distance: str = "shapes_cnn", n: int = 2000,
                spaces: tuple[str, ...] = SPACES, samplings: tuple[str, ...] = ("full",),
                eps: float = 1e-4, seed: int = 0, device: torch.device | str | None = None) -> dict[str, float]:
    """``{"ppl_z[shapes_cnn,N=2000]": ..., "ppl_w[...]": ...}``; the end-point variant's key has
    ``sampling=end``. ``distance`` is a name of :data:`DISTANCES`."""
    from ganlab.models.generation import module_device

    d = feature_distance(distance, device if device is not None else module_device(generator))
    out = {}
    for space in spaces:
        for sampling in samplings:
            extra = {} if sampling == "full" else {"sampling": sampling}
            key = metric_key(f"ppl_{space}", distance, n, **extra)
            out[key] = perceptual_path_length(generator, d, space=space, n=n, sampling=sampling,
                                              eps=eps, seed=seed)
    return out
