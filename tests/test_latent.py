"""ganlab.latent: interpolation, directions and decoding, on a tiny stand-in generator."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganlab.latent import (
    code_for_seed,
    decode,
    interpolate,
    interpolation_codes,
    lerp,
    mean_output_change,
    move_along,
    principal_directions,
    random_direction,
    slerp,
)

NZ = 16


class TinyGenerator(nn.Module):
    """Linear + tanh generator with latent coordinates of very different influence.

    Latent coordinate j is scaled by ``2 * 0.75**j`` before a random linear map, so a few
    directions dominate the output: a principal direction must beat a random one.
    """

    def __init__(self, nz: int = NZ, size: int = 8, channels: int = 1, seed: int = 0) -> None:
        super().__init__()
        self.nz = nz
        self.out_shape = (channels, size, size)
        g = torch.Generator().manual_seed(seed)
        self.fc = nn.Linear(nz, channels * size * size)
        scales = 2 * 0.75 ** torch.arange(nz, dtype=torch.float32)
        with torch.no_grad():
            self.fc.weight.copy_(torch.randn(channels * size * size, nz, generator=g) * scales / 4)
            self.fc.bias.zero_()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.fc(z)).view(-1, *self.out_shape)


@pytest.fixture(scope="module")
def G() -> TinyGenerator:
    return TinyGenerator().eval()


def pair(nz: int = NZ, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    return code_for_seed(seed, nz), code_for_seed(seed + 1, nz)


# ----------------------------------------------------------------- lerp
def test_lerp_endpoints_exact_and_linear():
    z0, z1 = pair()
    t = torch.linspace(0, 1, 11)
    out = lerp(z0, z1, t)
    assert out.shape == (11, NZ) and out.dtype == torch.float32
    assert torch.equal(out[0], z0) and torch.equal(out[-1], z1)
    expected = (1 - t[:, None]) * z0 + t[:, None] * z1
    torch.testing.assert_close(out, expected)
    # Equal steps in t are equal steps in space: second differences vanish.
    torch.testing.assert_close(out[2:] - 2 * out[1:-1] + out[:-2], torch.zeros(9, NZ), atol=1e-5, rtol=0)
    torch.testing.assert_close(lerp(z0, z1, 0.5), (z0 + z1) / 2)


def test_scalar_and_sequence_t_shapes():
    z0, z1 = pair()
    assert lerp(z0, z1, 0.3).shape == (NZ,)
    assert slerp(z0, z1, torch.tensor(0.3)).shape == (NZ,)
    assert slerp(z0, z1, [0.0, 0.5, 1.0]).shape == (3, NZ)
    assert lerp(z0[None], z1[None], [0.2]).shape == (1, NZ)  # (1, nz) codes are accepted
    assert slerp(z0.double(), z1.double(), 0.4).dtype == torch.float64


# ----------------------------------------------------------------- slerp
def test_slerp_endpoints_exact():
    z0, z1 = pair()
    out = slerp(z0, z1, torch.linspace(0, 1, 7))
    assert torch.equal(out[0], z0) and torch.equal(out[-1], z1)
    assert torch.equal(slerp(z0, z1, 0.0), z0) and torch.equal(slerp(z0, z1, 1), z1)


def test_slerp_preserves_norm_for_equal_norm_endpoints():
    z0, z1 = pair(nz=128)
    z1 = z1 * (z0.norm() / z1.norm())
    norms = slerp(z0, z1, torch.linspace(0, 1, 21)).norm(dim=1)
    torch.testing.assert_close(norms, torch.full_like(norms, float(z0.norm())), rtol=1e-5, atol=0)
    # ... while lerp's midpoint is shorter (chord of the arc).
    assert lerp(z0, z1, 0.5).norm() < 0.8 * z0.norm()


def test_slerp_constant_angular_speed_and_stays_in_plane():
    z0, z1 = pair()
    z1 = z1 * (z0.norm() / z1.norm())  # constant angular speed holds for equal norms
    out = slerp(z0, z1, torch.linspace(0, 1, 9)).double()
    unit = out / out.norm(dim=1, keepdim=True)
    steps = torch.acos((unit[1:] * unit[:-1]).sum(1).clamp(-1, 1))
    torch.testing.assert_close(steps, torch.full_like(steps, float(steps.mean())), rtol=1e-3, atol=1e-6)
    basis = torch.stack([z0, z1], 1).double()
    coef = torch.linalg.lstsq(basis, out.T).solution
    assert (basis @ coef - out.T).abs().max() < 1e-5


def test_slerp_unequal_norms_stay_between():
    z0, z1 = pair(nz=64)
    z1 = 1.5 * z1
    norms = slerp(z0, z1, torch.linspace(0, 1, 21)).norm(dim=1)
    lo, hi = min(z0.norm(), z1.norm()), max(z0.norm(), z1.norm())
    assert (norms >= lo * (1 - 1e-5)).all() and (norms <= hi * (1 + 1e-5)).all()


def test_slerp_parallel_falls_back_to_lerp():
    z0 = code_for_seed(3, NZ)
    t = torch.linspace(0, 1, 5)
    for z1 in (2.0 * z0, z0.clone(), z0 + 1e-7 * code_for_seed(4, NZ)):
        out = slerp(z0, z1, t)
        assert torch.isfinite(out).all()
        torch.testing.assert_close(out, lerp(z0, z1, t), rtol=1e-5, atol=1e-6)


def test_slerp_antiparallel_is_finite_and_keeps_norm():
    z0 = code_for_seed(5, NZ)
    for z1 in (-z0, -z0 + 1e-6 * code_for_seed(6, NZ)):
        out = slerp(z0, z1, torch.linspace(0, 1, 11))
        assert torch.isfinite(out).all()
        assert torch.equal(out[0], z0) and torch.equal(out[-1], z1)
        torch.testing.assert_close(out.norm(dim=1), torch.full((11,), float(z0.norm())), rtol=1e-4, atol=0)
        # the midpoint is a quarter turn away from both ends, not the origin
        assert abs(float(out[5] @ z0)) < 1e-3 * float(z0.norm()) ** 2


def test_slerp_zero_endpoint_is_lerp():
    z0 = torch.zeros(NZ)
    z1 = code_for_seed(1, NZ)
    torch.testing.assert_close(slerp(z0, z1, [0.25, 0.75]), lerp(z0, z1, [0.25, 0.75]))


def test_gaussian_shell_lerp_midpoint_falls_slerp_does_not():
    nz, pairs = 512, 64
    g = torch.Generator().manual_seed(0)
    z = torch.randn(pairs, 2, nz, generator=g)
    mid_l = torch.stack([lerp(a, b, 0.5) for a, b in z]).norm(dim=1).mean()
    mid_s = torch.stack([slerp(a, b, 0.5) for a, b in z]).norm(dim=1).mean()
    assert abs(float(mid_l) / math.sqrt(nz / 2) - 1) < 0.05
    assert abs(float(mid_s) / math.sqrt(nz) - 1) < 0.05


@pytest.mark.parametrize("bad_t", [-0.1, 1.5, float("nan"), [0.2, 1.01], torch.zeros(2, 2)])
def test_bad_t_raises(bad_t):
    z0, z1 = pair()
    for fn in (lerp, slerp):
        with pytest.raises(ValueError, match="t must"):
            fn(z0, z1, bad_t)


def test_bad_codes_raise():
    z0, z1 = pair()
    with pytest.raises(ValueError, match=r"same number of dimensions.*\(16,\).*\(8,\)"):
        lerp(z0, z1[:8], 0.5)
    with pytest.raises(ValueError, match=r"one latent code"):
        slerp(torch.randn(2, NZ), torch.randn(2, NZ), 0.5)
    with pytest.raises(ValueError, match="floating point"):
        lerp(torch.arange(NZ), torch.arange(NZ), 0.5)


def test_unknown_method_names_accepted_ones():
    z0, z1 = pair()
    with pytest.raises(ValueError, match=r"'cubic'.*lerp, slerp"):
        interpolate(z0, z1, 0.5, "cubic")


# ------------------------------------------------------ interpolation_codes
@pytest.mark.parametrize("method", ["lerp", "slerp"])
def test_interpolation_codes_layout(method):
    z0, z1 = pair()
    codes = interpolation_codes(z0, z1, n_between=8, method=method)
    assert codes.shape == (10, NZ)
    assert torch.equal(codes[0], z0) and torch.equal(codes[-1], z1)
    torch.testing.assert_close(codes[1], interpolate(z0, z1, 1 / 9, method))
    assert interpolation_codes(z0, z1, n_between=0, method=method).shape == (2, NZ)


def test_interpolation_codes_bad_input():
    z0, z1 = pair()
    with pytest.raises(ValueError, match="n_between"):
        interpolation_codes(z0, z1, n_between=-1)
    with pytest.raises(ValueError, match="accepted"):
        interpolation_codes(z0, z1, method="linear")


# ---------------------------------------------------------------- codes, directions
def test_code_for_seed_is_deterministic():
    torch.manual_seed(123)  # the global RNG must not matter
    a = code_for_seed(7, NZ)
    torch.manual_seed(456)
    assert torch.equal(a, code_for_seed(7, NZ))
    assert not torch.equal(a, code_for_seed(8, NZ))
    with pytest.raises(ValueError, match="seed"):
        code_for_seed(-1, NZ)


def test_random_direction_unit_and_reproducible():
    d = random_direction(NZ, torch.Generator().manual_seed(1))
    assert d.shape == (NZ,)
    assert abs(float(d.norm()) - 1) < 1e-6
    assert torch.equal(d, random_direction(NZ, torch.Generator().manual_seed(1)))
    with pytest.raises(ValueError, match="nz"):
        random_direction(0)


def test_move_along_shapes_and_values():
    z = code_for_seed(0, NZ)
    d = random_direction(NZ, torch.Generator().manual_seed(2))
    torch.testing.assert_close(move_along(z, d, 2.0), z + 2 * d)
    walk = move_along(z, d, torch.linspace(-1, 1, 5))
    assert walk.shape == (5, NZ)
    torch.testing.assert_close(walk[0], z - d)
    batch = torch.randn(3, NZ)
    assert move_along(batch, d, 0.5).shape == (3, NZ)
    assert move_along(batch, d, [0.0, 1.0]).shape == (2, 3, NZ)
    with pytest.raises(ValueError, match="direction"):
        move_along(z, d[:4], 1.0)
    with pytest.raises(ValueError, match="alpha"):
        move_along(z, d, float("inf"))


def test_decode_batches_and_shapes(G):
    z = torch.randn(10, NZ)
    full = decode(G, z)
    assert full.shape == (10, 1, 8, 8)
    torch.testing.assert_close(decode(G, z, batch_size=3), full)
    assert decode(G, z[0]).shape == (1, 1, 8, 8)
    assert full.min() >= -1 and full.max() <= 1
    with pytest.raises(ValueError, match=r"\(N, 16\)"):
        decode(G, torch.randn(4, 3))


def test_principal_directions_shape_unit_deterministic(G):
    dirs, var = principal_directions(G, n_codes=256, k=3, return_variance=True)
    assert dirs.shape == (3, NZ)
    torch.testing.assert_close(dirs.norm(dim=1), torch.ones(3))
    assert torch.equal(dirs, principal_directions(G, n_codes=256, k=3))
    assert var.shape == (3,) and (var >= 0).all() and float(var.sum()) <= 1 + 1e-6
    assert (var[:-1] >= var[1:]).all()


def test_principal_direction_moves_output_more_than_random(G):
    d1 = principal_directions(G, n_codes=512, k=2)[0]
    z = torch.randn(64, NZ, generator=torch.Generator().manual_seed(9))
    g = torch.Generator().manual_seed(10)
    alpha = 1.5
    principal = mean_output_change(G, z, d1, alpha)
    randoms = [mean_output_change(G, z, random_direction(NZ, g), alpha) for _ in range(16)]
    assert principal > 1.5 * (sum(randoms) / len(randoms))
    assert principal > max(randoms)


def test_principal_directions_bad_input(G):
    with pytest.raises(ValueError, match="k must"):
        principal_directions(G, n_codes=64, k=0)
    with pytest.raises(ValueError, match="k must"):
        principal_directions(G, n_codes=64, k=NZ + 1)
    with pytest.raises(ValueError, match="nz"):
        principal_directions(nn.Linear(2, 2), n_codes=64, k=1)


def test_principal_directions_match_exact_pca_regression(G):
    """The randomized top-k PCA gives the same directions as a full SVD + least squares."""
    n, k = 256, 2
    dirs = principal_directions(G, n_codes=n, k=k, seed=3).double()
    z = torch.randn(n, NZ, generator=torch.Generator().manual_seed(3)).double()
    x = decode(G, z.float()).reshape(n, -1).double()
    xc = x - x.mean(0)
    _, _, vh = torch.linalg.svd(xc, full_matrices=False)
    scores = xc @ vh[:k].T
    u = torch.linalg.lstsq(scores, z - z.mean(0)).solution
    exact = u / u.norm(dim=1, keepdim=True)
    cos = (dirs * exact).sum(1).abs()
    assert (cos > 0.999).all(), cos
