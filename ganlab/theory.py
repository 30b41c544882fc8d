"""Numerical checks of GAN theory on 1-D densities (notebook 01).

Everything here is a plain function of densities given as callables ``p(x) -> array`` (vectorised
over NumPy arrays) or of discrete probability vectors, integrated with :func:`scipy.integrate.quad`
so the notebook can check identities to ~1e-8 rather than to a grid's resolution:

* :func:`optimal_discriminator` — Goodfellow et al. (2014), Proposition 1:
  ``D*(x) = p_data(x) / (p_data(x) + p_g(x))``.
* :func:`optimal_logit` — the same in logit form, ``log p_data - log p_g``.
* :func:`gan_value` — the value ``V(D, G) = E_data[log D] + E_g[log(1 - D)]`` of any
  discriminator ``D(x) in (0, 1)``; at ``D*`` it equals ``C(G) = -log 4 + 2 JSD(p_data || p_g)``
  (Theorem 1).
* :func:`kl_divergence`, :func:`js_divergence` (densities) and :func:`js_divergence_discrete`
  (probability vectors), in nats.
* :func:`wasserstein1` — the Wasserstein-1 (earth mover's) distance between two 1-D
  distributions given by samples / support points with optional weights
  (:func:`scipy.stats.wasserstein_distance`).

Conventions: ``0 log 0 = 0``; where both densities vanish, ``D*`` is taken as 1/2.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import integrate, special, stats

__all__ = [
    "Density",
    "gaussian",
    "uniform",
    "optimal_discriminator",
    "optimal_logit",
    "gan_value",
    "kl_divergence",
    "js_divergence",
    "js_divergence_discrete",
    "wasserstein1",
    "LOG2",
    "LOG4",
]

Density = Callable[[np.ndarray], np.ndarray]

LOG2 = math.log(2.0)
LOG4 = math.log(4.0)


def gaussian(mean: float, std: float) -> Density:
    """Density of ``N(mean, std^2)`` (vectorised)."""
    if not std > 0:
        raise ValueError(f"std must be > 0, got {std!r}")
    norm = 1.0 / (std * math.sqrt(2.0 * math.pi))

    def pdf(x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, dtype=np.float64) - mean) / std
        return norm * np.exp(-0.5 * z * z)

    return pdf


def uniform(low: float, high: float) -> Density:
    """Density of ``U[low, high]`` (vectorised)."""
    if not high > low:
        raise ValueError(f"need high > low, got low={low!r}, high={high!r}")
    height = 1.0 / (high - low)

    def pdf(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return np.where((x >= low) & (x <= high), height, 0.0)

    return pdf


def _ratio(p: np.ndarray, total: np.ndarray) -> np.ndarray:
    """``p / total`` with 1/2 where ``total == 0``."""
    out = np.full_like(total, 0.5, dtype=np.float64)
    np.divide(p, total, out=out, where=total > 0)
    return out


def optimal_discriminator(p_data: Density, p_g: Density) -> Callable[[np.ndarray], np.ndarray]:
    """``D*(x) = p_data(x) / (p_data(x) + p_g(x))`` as a vectorised function (1/2 where both are 0)."""

    def d_star(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        pd, pg = p_data(x), p_g(x)
        return _ratio(pd, pd + pg)

    return d_star


def optimal_logit(p_data: Density, p_g: Density) -> Callable[[np.ndarray], np.ndarray]:
    """The logit of ``D*``: ``log p_data(x) - log p_g(x)`` (``±inf`` where one density is 0, 0 where both are).

    Use it with ``gan_value(..., logits=True)`` when the densities are far apart: ``D*`` itself
    then rounds to exactly 1 where ``p_g`` is still positive, and ``log(1 - D*)`` to ``-inf``.
    """

    def logit(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        pd, pg = p_data(x), p_g(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.log(pd) - np.log(pg)
        return np.where((pd == 0) & (pg == 0), 0.0, out)  # D* = 1/2 where both vanish

    return logit


def _quad(f: Callable[[float], float], lo: float, hi: float, points: Sequence[float] | None,
          epsabs: float = 1e-13) -> float:
    pts = None if points is None else sorted(p for p in points if lo < p < hi)
    val, _ = integrate.quad(f, lo, hi, points=pts or None, limit=500, epsabs=epsabs,
                            epsrel=max(1e-12, epsabs))
    return float(val)


def _check_range(lo: float, hi: float) -> None:
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise ValueError(f"need a finite integration range lo < hi, got lo={lo!r}, hi={hi!r}")


def gan_value(d: Callable[[np.ndarray], np.ndarray], p_data: Density, p_g: Density,
              lo: float, hi: float, points: Sequence[float] | None = None,
              logits: bool = False, epsabs: float = 1e-13) -> float:
    """``V(D, G) = ∫ p_data log D + p_g log(1 - D) dx`` over ``[lo, hi]``, by adaptive quadrature.

    Args:
        d: discriminator output ``D(x)`` in [0, 1], or its logit when ``logits=True`` (then
            ``log D = -softplus(-l)`` and ``log(1 - D) = -softplus(l)`` are computed stably, so a
            network whose sigmoid rounds to exactly 0 or 1 in the tails still gets a finite value).
        p_data, p_g: densities; their mass outside ``[lo, hi]`` is ignored.
        points: breakpoints of the integrand (discontinuities), passed to ``quad``.
        epsabs: absolute tolerance of the quadrature; loosen it (e.g. 1e-7) for a float32
            network, whose output carries roundoff of that order.

    Returns:
        V in nats; ``-inf`` if D is 0 where p_data > 0 (or 1 where p_g > 0).
    """
    _check_range(lo, hi)

    def f(x: float) -> float:
        xs = np.array([x], dtype=np.float64)
        dx = float(np.asarray(d(xs)).reshape(-1)[0])
        pd, pg = float(p_data(xs)[0]), float(p_g(xs)[0])
        if logits:
            a = pd * float(np.logaddexp(0.0, -dx)) if pd > 0 else 0.0
            b = pg * float(np.logaddexp(0.0, dx)) if pg > 0 else 0.0
            return -a - b
        return float(special.xlogy(pd, dx) + special.xlogy(pg, 1.0 - dx))

    return _quad(f, lo, hi, points, epsabs)


def kl_divergence(p: Density, q: Density, lo: float, hi: float,
                  points: Sequence[float] | None = None) -> float:
    """``KL(p || q) = ∫ p log(p / q) dx`` over ``[lo, hi]`` (nats; ``inf`` if p > 0 where q = 0)."""
    _check_range(lo, hi)

    def f(x: float) -> float:
        xs = np.array([x], dtype=np.float64)
        px, qx = float(p(xs)[0]), float(q(xs)[0])
        if px == 0.0:
            return 0.0
        if qx == 0.0:
            return math.inf
        return px * math.log(px / qx)

    return _quad(f, lo, hi, points)


def js_divergence(p: Density, q: Density, lo: float, hi: float,
                  points: Sequence[float] | None = None) -> float:
    """Jensen-Shannon divergence ``½ KL(p || m) + ½ KL(q || m)``, ``m = (p + q) / 2``, in nats.

    Lies in ``[0, log 2]``: 0 iff p = q, ``log 2`` iff the supports are disjoint.
    """
    _check_range(lo, hi)

    def f(x: float) -> float:
        xs = np.array([x], dtype=np.float64)
        px, qx = float(p(xs)[0]), float(q(xs)[0])
        m = 0.5 * (px + qx)
        if m == 0.0:
            return 0.0
        return 0.5 * (special.xlogy(px, px / m) + special.xlogy(qx, qx / m))

    return _quad(f, lo, hi, points)


def js_divergence_discrete(p: Sequence[float] | np.ndarray, q: Sequence[float] | np.ndarray) -> float:
    """JSD (nats) between two probability vectors on the same support (normalised here).

    Equals ``scipy.spatial.distance.jensenshannon(p, q) ** 2``.
    """
    a = np.asarray(p, dtype=np.float64)
    b = np.asarray(q, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"p and q must be 1-D of the same length, got shapes {a.shape} and {b.shape}")
    if (a < 0).any() or (b < 0).any() or a.sum() <= 0 or b.sum() <= 0:
        raise ValueError("p and q must be non-negative with positive mass")
    a, b = a / a.sum(), b / b.sum()
    m = 0.5 * (a + b)
    return float(0.5 * special.xlogy(a, _ratio(a, m)).sum() + 0.5 * special.xlogy(b, _ratio(b, m)).sum())


def wasserstein1(u_values: Sequence[float] | np.ndarray, v_values: Sequence[float] | np.ndarray,
                 u_weights: Sequence[float] | np.ndarray | None = None,
                 v_weights: Sequence[float] | np.ndarray | None = None) -> float:
    """Wasserstein-1 distance between two 1-D distributions (support points + optional weights).

    ``W1 = ∫ |F_u(x) - F_v(x)| dx``; e.g. point masses at 0 and θ are ``|θ|`` apart.
    A thin wrapper of :func:`scipy.stats.wasserstein_distance`.
    """
    return float(stats.wasserstein_distance(u_values, v_values, u_weights, v_weights))
