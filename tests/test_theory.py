"""ganlab.theory against SciPy's reference implementations and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from ganlab import theory as T

LO, HI = -30.0, 30.0


def _kl_gauss(m1: float, s1: float, m2: float, s2: float) -> float:
    return math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5


def test_optimal_discriminator_formula() -> None:
    p, q = T.gaussian(1.0, 0.8), T.gaussian(-1.0, 1.0)
    d = T.optimal_discriminator(p, q)
    x = np.linspace(-4, 4, 101)
    np.testing.assert_allclose(d(x), p(x) / (p(x) + q(x)), rtol=1e-12)
    same = T.optimal_discriminator(p, p)
    np.testing.assert_allclose(same(x), 0.5)
    # both densities zero -> 1/2 by convention, no NaN
    d_u = T.optimal_discriminator(T.uniform(0, 1), T.uniform(2, 3))
    np.testing.assert_allclose(d_u(np.array([-5.0, 0.5, 2.5])), [0.5, 1.0, 0.0])


def test_kl_matches_closed_form_for_gaussians() -> None:
    got = T.kl_divergence(T.gaussian(0.5, 0.7), T.gaussian(-1.0, 1.3), LO, HI)
    assert got == pytest.approx(_kl_gauss(0.5, 0.7, -1.0, 1.3), abs=1e-9)


def test_jsd_matches_scipy_on_a_fine_discretisation() -> None:
    p, q = T.gaussian(1.0, 0.8), T.gaussian(-1.0, 1.0)
    x = np.linspace(-12, 12, 200_001)
    ref = jensenshannon(p(x), q(x)) ** 2  # scipy normalises the vectors; natural log
    assert T.js_divergence(p, q, LO, HI) == pytest.approx(ref, abs=1e-8)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_discrete_jsd_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p, q = rng.random(7), rng.random(7)
    q[2] = 0.0
    assert T.js_divergence_discrete(p, q) == pytest.approx(jensenshannon(p, q) ** 2, abs=1e-12)


def test_jsd_bounds() -> None:
    p = T.gaussian(0.0, 1.0)
    assert T.js_divergence(p, p, LO, HI) == pytest.approx(0.0, abs=1e-12)
    for theta in (0.2, 1.0, 5.0):
        u, v = T.uniform(0.0, 0.1), T.uniform(theta, theta + 0.1)
        got = T.js_divergence(u, v, -1.0, 7.0, points=[0.0, 0.1, theta, theta + 0.1])
        assert got == pytest.approx(T.LOG2, abs=1e-10)
    assert T.js_divergence_discrete([1, 0], [0, 1]) == pytest.approx(T.LOG2, abs=1e-15)


def test_value_at_optimum_is_minus_log4_plus_2jsd() -> None:
    p, q = T.gaussian(1.0, 0.8), T.gaussian(-1.0, 1.0)
    c = T.gan_value(T.optimal_discriminator(p, q), p, q, LO, HI)
    assert c == pytest.approx(-T.LOG4 + 2 * T.js_divergence(p, q, LO, HI), abs=1e-9)
    # p_g = p_data: C(G) = -log 4, its global minimum
    assert T.gan_value(T.optimal_discriminator(p, p), p, p, LO, HI) == pytest.approx(-T.LOG4, abs=1e-9)


def test_optimal_discriminator_maximises_the_value() -> None:
    p, q = T.gaussian(1.0, 0.8), T.gaussian(-1.0, 1.0)
    best = T.gan_value(T.optimal_discriminator(p, q), p, q, LO, HI)
    half = T.gan_value(lambda x: np.full_like(np.asarray(x, dtype=float), 0.5), p, q, LO, HI)
    assert half == pytest.approx(-T.LOG4, abs=1e-9)
    for scale in (0.5, 0.9, 1.1, 2.0):  # sharpen / flatten D*'s logit
        def d(x: np.ndarray, s: float = scale) -> np.ndarray:
            logit = np.log(p(x)) - np.log(q(x))
            return 1.0 / (1.0 + np.exp(-s * logit))
        assert T.gan_value(d, p, q, -12, 12) < best


def test_wasserstein1_matches_scipy_and_closed_forms() -> None:
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=300), rng.normal(1.0, 2.0, size=200)
    w = rng.random(300)
    assert T.wasserstein1(u, v) == pytest.approx(stats.wasserstein_distance(u, v))
    assert T.wasserstein1(u, v, u_weights=w) == pytest.approx(stats.wasserstein_distance(u, v, w))
    for theta in (-2.0, 0.3, 1.0):
        assert T.wasserstein1([0.0], [theta]) == pytest.approx(abs(theta))
    # a shift of a distribution moves it by exactly the shift
    grid = np.linspace(0.0, 0.1, 1001)
    assert T.wasserstein1(grid, grid + 0.7) == pytest.approx(0.7, abs=1e-12)


def test_bad_input_raises() -> None:
    with pytest.raises(ValueError, match="std"):
        T.gaussian(0.0, 0.0)
    with pytest.raises(ValueError, match="high > low"):
        T.uniform(1.0, 1.0)
    with pytest.raises(ValueError, match="range"):
        T.js_divergence(T.gaussian(0, 1), T.gaussian(0, 1), 1.0, -1.0)
    with pytest.raises(ValueError, match="same length"):
        T.js_divergence_discrete([0.5, 0.5], [1.0])


def test_densities_match_scipy() -> None:
    x = np.linspace(-6, 6, 241)
    np.testing.assert_allclose(T.gaussian(0.5, 1.7)(x), stats.norm(0.5, 1.7).pdf(x), rtol=1e-12)
    np.testing.assert_allclose(T.uniform(-1.0, 2.0)(x), stats.uniform(-1.0, 3.0).pdf(x), rtol=1e-12)


def test_gan_value_from_logits_is_stable() -> None:
    p, q = T.gaussian(1.0, 0.8), T.gaussian(-1.0, 1.0)

    def logit(x: np.ndarray) -> np.ndarray:  # log p - log q in closed form
        return stats.norm(1.0, 0.8).logpdf(x) - stats.norm(-1.0, 1.0).logpdf(x)

    best = T.gan_value(T.optimal_discriminator(p, q), p, q, LO, HI)
    # a logit far beyond float precision of sigmoid (|l| ~ 1e3 at the range's ends) stays finite
    assert T.gan_value(logit, p, q, LO, HI, logits=True) == pytest.approx(best, abs=1e-9)


def test_optimal_logit_far_apart() -> None:
    p, q = T.gaussian(1.0, 0.8), T.gaussian(7.0, 0.8)
    c = T.gan_value(T.optimal_logit(p, q), p, q, LO, HI, logits=True)
    assert math.isfinite(c)
    assert c == pytest.approx(-T.LOG4 + 2 * T.js_divergence(p, q, LO, HI), abs=1e-9)
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(1 / (1 + np.exp(-T.optimal_logit(p, q)(x))),
                               T.optimal_discriminator(p, q)(x), rtol=1e-9, atol=1e-300)
