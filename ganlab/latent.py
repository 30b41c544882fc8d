"""Walking through a generator's latent space: interpolation, directions, decoding.

Everything here is a pure function of tensors (plus, for :func:`principal_directions` and
:func:`mean_output_change`, a generator that is only run forward). Latent codes are float
tensors of shape ``(nz,)`` (one code) or ``(N, nz)`` (a batch); a generator follows the course
contract (``G.nz``, ``G.out_shape``, ``G(z)`` with z ``(N, nz)`` -> images ``(N, C, H, W)`` in
``[-1, 1]``).

Interpolation
    :func:`lerp` walks the straight segment between two codes; :func:`slerp` walks the great
    circle arc between them (Shoemake's formula, as used for GANs by White, 2016). Under a
    standard Gaussian prior in ``nz`` dimensions almost all codes lie near the shell of radius
    ``sqrt(nz)``; the midpoint of a straight segment between two independent codes has norm
    about ``sqrt(nz / 2)`` -- a code the generator has essentially never seen during training.
    ``slerp`` keeps the norm of equal-norm endpoints exactly, so every interpolant is typical.
    :func:`interpolation_codes` builds the report layout: two endpoints and ``n_between``
    evenly spaced interpolants.

Directions
    :func:`random_direction` draws an isotropic unit vector. :func:`principal_directions`
    finds the latent directions along which the generator's *output* varies most, with a method
    in the spirit of GANSpace (Härkönen et al., 2020), applied to the output images instead of
    an intermediate layer:

    1. sample ``n_codes`` codes ``z ~ N(0, I)`` and generate ``x = G(z)`` (flattened);
    2. PCA of the outputs: the top-``k`` right singular vectors ``V`` of the centred ``X``
       (randomized SVD, seeded);
       scores ``S = (X - mean) V`` (uncorrelated, decreasing variance);
    3. least-squares regression of the latent codes onto the scores, ``Z_c ≈ S U``; row ``j``
       of ``U`` is the latent displacement that, on average, goes with one unit of output
       component ``j``. Because the scores are uncorrelated, ``U[j] ∝ Cov(z, s_j)``, which for
       isotropic Gaussian codes is also the gradient direction of the best linear predictor of
       ``s_j`` from ``z``: the latent direction that moves output component ``j`` fastest.
    4. each row is normalised to unit length and its sign fixed so that moving along it
       increases the component's score.

    No Jacobians and no backward passes are needed, so it works for any generator (including
    ones with batch norm in eval mode) at the cost of ``n_codes`` forward passes.
    :func:`move_along` displaces codes along a direction and :func:`mean_output_change`
    measures how much the output moves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ganlab.models.generation import generate_batched

__all__ = [
    "METHODS",
    "as_t",
    "lerp",
    "slerp",
    "interpolate",
    "interpolation_codes",
    "code_for_seed",
    "random_direction",
    "principal_directions",
    "move_along",
    "decode",
    "mean_output_change",
]

METHODS = ("lerp", "slerp")

# Below this angle (radians) between the endpoints slerp is numerically lerp (error O(angle^2)).
_PARALLEL_EPS = 1e-4
# Within this angle of pi the endpoints are treated as antiparallel (the arc is not unique).
_ANTIPARALLEL_EPS = 1e-3

TLike = float | int | Sequence[float] | torch.Tensor


def as_t(t: TLike) -> tuple[torch.Tensor, bool]:
    """Validate interpolation positions.

    Args:
        t: a number, a sequence of numbers or a 0-D / 1-D tensor, every value in ``[0, 1]``.

    Returns:
        ``(t, scalar)``: ``t`` as a float64 1-D tensor ``(T,)`` on the CPU, and whether the input
        was a single number (so the caller returns ``(nz,)`` instead of ``(T, nz)``).

    Raises:
        ValueError: values outside ``[0, 1]``, non-finite values, or a tensor with 2+ dimensions.
    """
    scalar = isinstance(t, (int, float)) or (isinstance(t, torch.Tensor) and t.dim() == 0)
    tt = torch.as_tensor(t, dtype=torch.float64).detach().cpu()
    if tt.dim() > 1:
        raise ValueError(f"t must be a number or a 1-D tensor, got shape {tuple(tt.shape)}")
    tt = tt.reshape(-1)
    if not torch.isfinite(tt).all():
        raise ValueError(f"t must be finite numbers in [0, 1], got {tt.tolist()}")
    if tt.numel() and (tt.min() < 0 or tt.max() > 1):
        bad = [v for v in tt.tolist() if v < 0 or v > 1]
        raise ValueError(f"t must lie in [0, 1] (0 = first code, 1 = second), got {bad[:5]}")
    return tt, scalar


def _check_pair(z0: torch.Tensor, z1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Flatten ``(nz,)`` / ``(1, nz)`` codes to ``(nz,)`` and check that they match."""
    if not isinstance(z0, torch.Tensor) or not isinstance(z1, torch.Tensor):
        raise ValueError(
            f"z0 and z1 must be torch tensors, got {type(z0).__name__} and {type(z1).__name__}"
        )
    shapes = (tuple(z0.shape), tuple(z1.shape))
    for z in (z0, z1):
        if not (z.dim() == 1 or (z.dim() == 2 and z.shape[0] == 1)):
            raise ValueError(
                f"z0 and z1 must each be one latent code of shape (nz,) or (1, nz), got {shapes}"
            )
    a, b = z0.reshape(-1), z1.reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"z0 and z1 must have the same number of dimensions, got {shapes}")
    if not a.is_floating_point() or not b.is_floating_point():
        raise ValueError(f"latent codes must be floating point, got {z0.dtype} and {z1.dtype}")
    if a.device != b.device:
        raise ValueError(f"z0 and z1 are on different devices: {a.device} and {b.device}")
    return a, b


def _finish(
    out: torch.Tensor, a: torch.Tensor, b: torch.Tensor, tt: torch.Tensor, scalar: bool
) -> torch.Tensor:
    """Cast back, make the endpoints bit-exact, drop the T axis for a scalar t."""
    out = out.to(dtype=a.dtype, device=a.device)
    out[tt == 0] = a
    out[tt == 1] = b
    return out[0] if scalar else out


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: TLike) -> torch.Tensor:
    """Linear interpolation ``(1 - t) z0 + t z1``.

    Args:
        z0, z1: latent codes ``(nz,)`` (or ``(1, nz)``), same size, dtype and device.
        t: a number in ``[0, 1]`` or a 1-D tensor / sequence ``(T,)`` of them.

    Returns:
        ``(nz,)`` for a number ``t``, else ``(T, nz)``; dtype and device of ``z0``. ``t = 0``
        gives ``z0`` and ``t = 1`` gives ``z1`` exactly.

    Raises:
        ValueError: t outside ``[0, 1]`` or malformed, codes of different shapes.
    """
    a, b = _check_pair(z0, z1)
    tt, scalar = as_t(t)
    a64, b64 = a.detach().double().cpu(), b.detach().double().cpu()
    w = tt[:, None]
    return _finish((1 - w) * a64 + w * b64, a, b, tt, scalar)


def _unit_orthogonal(u: torch.Tensor) -> torch.Tensor:
    """A deterministic unit vector orthogonal to the unit vector ``u`` (float64, ``(nz,)``)."""
    e = torch.zeros_like(u)
    e[int(torch.argmin(u.abs()))] = 1.0
    v = e - (e @ u) * u
    return v / v.norm()


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: TLike) -> torch.Tensor:
    """Spherical linear interpolation along the great-circle arc from ``z0`` to ``z1``.

    With ``Ω`` the angle between the codes,
    ``slerp(t) = sin((1 - t) Ω) / sin Ω · z0 + sin(t Ω) / sin Ω · z1``.
    For endpoints of equal norm every interpolant has that norm; for unequal norms the norm
    stays between the two. The angle is computed as ``2·atan2(|â − b̂|, |â + b̂|)`` in float64,
    which is accurate for all angles (``arccos`` of the dot product is not near 0 and π).

    Degenerate cases:
        * angle below 1e-4 rad (parallel codes): the arc is the segment, so :func:`lerp` is used;
        * angle within 1e-3 rad of π (antiparallel codes, e.g. ``z1 = -z0``): every great circle
          through both is a shortest arc; a deterministic one is chosen (through the coordinate
          axis least aligned with ``z0``) and the norm is interpolated linearly along it;
        * a zero-norm endpoint: there is no direction to rotate, :func:`lerp` is used.

    Args:
        z0, z1: latent codes ``(nz,)`` (or ``(1, nz)``), same size, dtype and device.
        t: a number in ``[0, 1]`` or a 1-D tensor / sequence ``(T,)`` of them.

    Returns:
        ``(nz,)`` for a number ``t``, else ``(T, nz)``; dtype and device of ``z0``; the endpoints
        are returned exactly at ``t = 0`` and ``t = 1``.

    Raises:
        ValueError: t outside ``[0, 1]`` or malformed, codes of different shapes.
    """
    a, b = _check_pair(z0, z1)
    tt, scalar = as_t(t)
    a64, b64 = a.detach().double().cpu(), b.detach().double().cpu()
    na, nb = a64.norm(), b64.norm()
    if na == 0 or nb == 0:
        return lerp(z0, z1, t)
    ua, ub = a64 / na, b64 / nb
    omega = 2 * torch.atan2((ua - ub).norm(), (ua + ub).norm())
    w = tt[:, None]
    if omega < _PARALLEL_EPS:
        out = (1 - w) * a64 + w * b64
    elif math.pi - omega < _ANTIPARALLEL_EPS:
        v = _unit_orthogonal(ua)
        radius = (1 - w) * na + w * nb
        out = radius * (torch.cos(math.pi * w) * ua + torch.sin(math.pi * w) * v)
    else:
        s = torch.sin(omega)
        out = torch.sin((1 - w) * omega) / s * a64 + torch.sin(w * omega) / s * b64
    return _finish(out, a, b, tt, scalar)


def interpolate(z0: torch.Tensor, z1: torch.Tensor, t: TLike, method: str = "lerp") -> torch.Tensor:
    """:func:`lerp` or :func:`slerp` by name (``method`` in :data:`METHODS`)."""
    if method == "lerp":
        return lerp(z0, z1, t)
    if method == "slerp":
        return slerp(z0, z1, t)
    raise ValueError(f"unknown interpolation method {method!r}; accepted: {', '.join(METHODS)}")


def interpolation_codes(
    z0: torch.Tensor, z1: torch.Tensor, n_between: int = 8, method: str = "lerp"
) -> torch.Tensor:
    """The report's strip: ``z0``, ``n_between`` evenly spaced interpolants, ``z1``.

    Args:
        z0, z1: latent codes ``(nz,)``.
        n_between: number of interpolants strictly between the endpoints (``>= 0``; 8 in the
            LSUN-bedroom report, giving 10 codes).
        method: ``"lerp"`` or ``"slerp"``.

    Returns:
        ``(n_between + 2, nz)`` codes at ``t = linspace(0, 1, n_between + 2)``; row 0 is ``z0``
        and the last row is ``z1``, exactly.

    Raises:
        ValueError: negative or non-integer ``n_between``, unknown method, mismatched codes.
    """
    if isinstance(n_between, bool) or not isinstance(n_between, int) or n_between < 0:
        raise ValueError(f"n_between must be an integer >= 0, got {n_between!r}")
    t = torch.linspace(0, 1, n_between + 2, dtype=torch.float64)
    return interpolate(z0, z1, t, method)


def code_for_seed(seed: int, nz: int, device: torch.device | str | None = None) -> torch.Tensor:
    """The latent code ``(nz,)`` ~ N(0, I) that integer ``seed`` names (same on every machine).

    Drawn with a CPU ``torch.Generator`` seeded with ``seed`` and then moved to ``device``, so a
    seed picks the same code on CPU, CUDA and MPS.

    Raises:
        ValueError: ``seed`` is not an integer in ``[0, 2**63)`` or ``nz < 1``.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ValueError(f"seed must be an integer in [0, 2**63), got {seed!r}")
    _check_nz(nz)
    g = torch.Generator().manual_seed(seed)
    return torch.randn(nz, generator=g).to(device or "cpu")


def _check_nz(nz: int) -> None:
    if isinstance(nz, bool) or not isinstance(nz, int) or nz < 1:
        raise ValueError(f"nz must be a positive integer, got {nz!r}")


def random_direction(
    nz: int,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """An isotropic random unit vector ``(nz,)`` (a normalised Gaussian draw).

    Args:
        nz: latent size.
        generator: optional CPU ``torch.Generator`` for reproducibility (drawn on the CPU, then
            moved to ``device``).
        device: where the result lives (default CPU).
    """
    _check_nz(nz)
    v = torch.randn(nz, generator=generator)
    return (v / v.norm()).to(device or "cpu")


def _gen_device(G: nn.Module) -> torch.device:
    for p in G.parameters():
        return p.device
    for b in G.buffers():
        return b.device
    return torch.device("cpu")


def _check_generator(G: nn.Module) -> int:
    nz = getattr(G, "nz", None)
    if not isinstance(nz, int) or nz < 1:
        raise ValueError(
            f"generator {type(G).__name__} must have an integer attribute `nz` (latent size), "
            f"got {nz!r}"
        )
    return nz


@torch.no_grad()
def decode(
    G: nn.Module,
    z: torch.Tensor,
    batch_size: int = 256,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Run the generator on codes without gradients, in batches; results on the CPU.

    The generator is used as it is (call ``G.eval()`` first for batch-norm generators; the
    loaders in ``ganlab.course.pretrained`` return it in eval mode).

    Args:
        G: generator (``G.nz``; ``G(z)`` in ``[-1, 1]``).
        z: codes ``(N, nz)`` or one code ``(nz,)``.
        batch_size: codes per forward pass.
        device: where to run (default: the generator's parameters' device).

    Returns:
        float32 images ``(N, *G.out_shape)`` (``(1, ...)`` for one code) on the CPU.

    Raises:
        ValueError: ``z`` does not have ``G.nz`` columns.
    """
    nz = _check_generator(G)
    z2 = z.reshape(1, -1) if z.dim() == 1 else z
    if z2.dim() != 2 or z2.shape[1] != nz:
        raise ValueError(f"codes must have shape (N, {nz}) or ({nz},), got {tuple(z.shape)}")
    if z2.shape[0] == 0:
        return torch.empty(0)
    dev = torch.device(device) if device is not None else _gen_device(G)
    return generate_batched(G, z2.to(torch.float32), batch_size=batch_size, device=dev,
                            out_device="cpu", eval_mode=False)


@torch.no_grad()
def principal_directions(
    G: nn.Module,
    n_codes: int = 1024,
    k: int = 5,
    *,
    seed: int = 0,
    batch_size: int = 256,
    return_variance: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Latent directions along which the generator's output varies most (see module docstring).

    Output PCA of ``n_codes`` generated images, then least-squares regression of the codes
    onto the top-``k`` PCA scores (GANSpace-style, on the output instead of a hidden layer).

    Args:
        G: generator (``G.nz``; run forward only, no gradients; use eval mode).
        n_codes: number of sampled codes (more = more stable directions; ``>= k + 1``).
        k: number of directions (``1 <= k <= min(n_codes - 1, nz, output size)``).
        seed: seed of the CPU generator that draws the codes (results are reproducible).
        batch_size: codes per forward pass.
        return_variance: also return the fraction of output variance each component explains.

    Returns:
        float32 unit vectors ``(k, nz)`` on the generator's device, ordered by explained output
        variance (direction 0 = "principal direction 1"); with ``return_variance`` also a float32
        ``(k,)`` CPU tensor of explained-variance fractions in ``[0, 1]``.

    Raises:
        ValueError: ``k`` or ``n_codes`` out of range, or a generator without ``nz``.
    """
    nz = _check_generator(G)
    if isinstance(n_codes, bool) or not isinstance(n_codes, int) or n_codes < 2:
        raise ValueError(f"n_codes must be an integer >= 2, got {n_codes!r}")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= min(n_codes - 1, nz):
        raise ValueError(
            f"k must be an integer in [1, min(n_codes - 1, nz)] = [1, {min(n_codes - 1, nz)}], "
            f"got {k!r}"
        )
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n_codes, nz, generator=g)
    x = decode(G, z, batch_size=batch_size).reshape(n_codes, -1).double()
    if k > x.shape[1]:
        raise ValueError(f"k={k} exceeds the generator's output size {x.shape[1]}")
    xc = x - x.mean(0, keepdim=True)
    # Top-k PCA by randomized SVD (Halko et al.): exact enough for the leading components and
    # far cheaper than a full SVD of an (n_codes, pixels) matrix. Seeded, so deterministic.
    q = min(k + 10, *xc.shape)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        _, sv, v = torch.svd_lowrank(xc, q=q, niter=6)
    comps = v[:, :k].T  # (k, D) output principal axes
    # Fix each axis's sign (SVD's is arbitrary): largest-magnitude entry positive.
    idx = comps.abs().argmax(dim=1)
    comps = comps * torch.sign(comps.gather(1, idx[:, None]))
    scores = xc @ comps.T  # (n, k), uncorrelated
    zc = z.double() - z.double().mean(0, keepdim=True)
    u = torch.linalg.lstsq(scores, zc).solution  # (k, nz): Z_c ≈ S U
    norms = u.norm(dim=1, keepdim=True).clamp_min(1e-12)
    dirs = (u / norms).float().to(_gen_device(G))
    if return_variance:
        total = xc.pow(2).sum().clamp_min(1e-30)  # = sum of all squared singular values
        return dirs, (sv[:k] ** 2 / total).float()
    return dirs


def move_along(
    z: torch.Tensor, direction: torch.Tensor, alpha: float | Sequence[float] | torch.Tensor
) -> torch.Tensor:
    """Displace codes along a direction: ``z + alpha · direction``.

    The direction is used as given (those from :func:`random_direction` and
    :func:`principal_directions` have unit norm, so ``alpha`` is a distance in latent units;
    a standard Gaussian code has norm about ``sqrt(nz)``).

    Args:
        z: one code ``(nz,)`` or a batch ``(N, nz)``.
        direction: ``(nz,)`` (or ``(1, nz)``).
        alpha: a number (any real), or a 1-D tensor / sequence ``(A,)`` of numbers.

    Returns:
        For a number: same shape as ``z``. For ``A`` values: ``(A, *z.shape)``, i.e. ``(A, nz)``
        for one code (a walk) or ``(A, N, nz)`` for a batch.

    Raises:
        ValueError: the direction does not match the codes' size, or ``alpha`` is not finite.
    """
    d = direction.reshape(-1) if direction.dim() == 2 and direction.shape[0] == 1 else direction
    if d.dim() != 1 or z.dim() not in (1, 2) or z.shape[-1] != d.shape[0]:
        raise ValueError(
            f"direction must have shape (nz,) matching the codes (nz,) or (N, nz); "
            f"got codes {tuple(z.shape)} and direction {tuple(direction.shape)}"
        )
    scalar = isinstance(alpha, (int, float)) or (isinstance(alpha, torch.Tensor) and alpha.dim() == 0)
    a = torch.as_tensor(alpha, dtype=z.dtype).to(z.device).reshape(-1)
    if not torch.isfinite(a).all():
        raise ValueError(f"alpha must be finite, got {a.tolist()}")
    d = d.to(z.device, z.dtype)
    if scalar:
        return z + a[0] * d
    return z.unsqueeze(0) + a.reshape(-1, *([1] * z.dim())) * d


@torch.no_grad()
def mean_output_change(
    G: nn.Module, z: torch.Tensor, direction: torch.Tensor, alpha: float
) -> float:
    """How much moving codes by ``alpha`` along ``direction`` changes the images.

    Args:
        G: generator (eval mode).
        z: codes ``(N, nz)``.
        direction: ``(nz,)``.
        alpha: step length (latent units when ``direction`` has unit norm).

    Returns:
        The root-mean-square pixel difference ``sqrt(mean((G(z + alpha d) - G(z))^2))`` over all
        codes and pixels, in image units (images are in ``[-1, 1]``, so the value is in ``[0, 2]``).
    """
    before = decode(G, z)
    after = decode(G, move_along(z, direction, float(alpha)))
    return float((after - before).pow(2).mean().sqrt())
