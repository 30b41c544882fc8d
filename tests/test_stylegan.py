"""StyleGAN-lite: the generator's pieces (mapping, equalised lr, AdaIN, noise, mixing, truncation),
the family, exact resume, and the two disentanglement measures (path length, separability)
checked against closed forms and torchmetrics' PPL."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from ganlab.metrics.path_length import (
    feature_distance,
    filtered_mean,
    path_lengths,
    perceptual_path_length,
    ppl_metrics,
    slerp_unit,
)
from ganlab.metrics.separability import conditional_entropy, factor_entropies, separability_metrics
from ganlab.models import build
from ganlab.nets import DCGANDiscriminator, DCGANGenerator, StyleGenerator
from ganlab.nets.stylegan import EqualLinear, PixelNorm, adain
from tests.helpers import assert_resume_is_exact, tiny_images


def _G(**kw) -> StyleGenerator:
    torch.manual_seed(0)
    return StyleGenerator(**{"nz": 16, "image_size": 32, "channels": 3, "width": 4, **kw})


def _model(**kw):
    G = _G(**kw)
    D = DCGANDiscriminator(image_size=32, channels=3, ndf=4, norm="none")
    return build("stylegan", G, D)


# ----- the generator ---------------------------------------------------------------------
def test_generator_shapes_layers_and_range() -> None:
    G = _G()
    assert G.n_styles == 8 and G.resolutions == (4, 4, 8, 8, 16, 16, 32, 32)
    x = G(torch.randn(5, 16))
    assert x.shape == (5, 3, 32, 32) and x.abs().max() <= 1
    G64 = StyleGenerator(nz=8, image_size=64, channels=1, width=2)
    assert G64.n_styles == 10 and G64(torch.randn(2, 8)).shape == (2, 1, 64, 64)
    assert StyleGenerator(nz=8, image_size=28, channels=1, width=2)(torch.randn(2, 8)).shape == (2, 1, 28, 28)


def test_bad_settings_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="image_size"):
        StyleGenerator(image_size=48)
    with pytest.raises(ValueError, match="mapping_depth=0 needs w_dim == nz"):
        StyleGenerator(nz=16, w_dim=32, mapping_depth=0)
    with pytest.raises(ValueError, match="mixing_prob"):
        StyleGenerator(mixing_prob=1.5)
    G = _G()
    with pytest.raises(ValueError, match=r"expected z of shape \(N, 16\)"):
        G(torch.randn(2, 15))
    with pytest.raises(ValueError, match="styles of shape"):
        G.synthesis(torch.randn(2, 3, 16))
    with pytest.raises(ValueError, match="noise_mode"):
        G.synthesis(torch.randn(2, 16), noise_mode="fresh")
    with pytest.raises(ValueError, match="StyleGenerator"):
        build("stylegan", DCGANGenerator(nz=16, image_size=32, channels=3, ngf=4),
              DCGANDiscriminator(image_size=32, channels=3, ndf=4, norm="none"))


def test_eval_mode_is_a_function_of_z_training_mode_draws_noise() -> None:
    G = _G(mixing_prob=0.0)
    with torch.no_grad():
        for layer in G.layers:  # give the noise a visible effect
            layer.noise.scale.fill_(0.5)
        z = torch.randn(3, 16)
        G.eval()
        assert torch.equal(G(z), G(z))
        assert not torch.allclose(G(z), G(z, noise_mode="none"))
        G.train()
        assert not torch.allclose(G(z), G(z))
        assert torch.allclose(G(z, noise_mode="const"), G.eval()(z))


def test_mapping_depth_zero_is_pixel_normalised_z() -> None:
    G = _G(mapping_depth=0)
    z = torch.randn(4, 16) * 3
    w = G.eval().mapping(z)
    assert torch.allclose(w, PixelNorm()(z))
    assert torch.allclose(w.pow(2).mean(dim=1), torch.ones(4), atol=1e-5)
    assert len([m for m in _G(mapping_depth=8).map.modules() if isinstance(m, EqualLinear)]) == 8


def test_an_untrained_deep_mapping_keeps_ws_apart() -> None:
    """With the He gain every layer keeps the second moment: an 8-layer mapping must not send all
    z to one w (without the gain the spread of w shrinks ~30x and every sample gets one style)."""
    with torch.no_grad():
        z = torch.randn(2000, 16)
        for depth in (2, 8):
            w = _G(mapping_depth=depth).map(z)
            assert 0.5 < w.pow(2).mean().sqrt().item() < 2.0
            spread = (w - w.mean(0)).norm(dim=1).mean().item()
            assert spread > 0.3 * math.sqrt(16), f"depth {depth}: w spread {spread:.2f}"


def test_equalised_lr_moves_effective_weights_lr_mul_times_slower() -> None:
    """A first Adam step moves every stored weight by lr, so the effective weight by lr * lr_mul / sqrt(fan_in)."""
    moves = {}
    for lr_mul in (1.0, 0.01):
        torch.manual_seed(0)
        layer = EqualLinear(16, 8, lr_mul=lr_mul)
        before = (layer.weight * layer.scale).detach().clone()
        opt = torch.optim.Adam(layer.parameters(), lr=1e-3)
        layer(torch.randn(32, 16)).pow(2).sum().backward()
        opt.step()
        moves[lr_mul] = ((layer.weight * layer.scale).detach() - before).abs().mean().item()
        # at initialisation the effective weights have unit variance / fan_in whatever lr_mul is
        assert abs(before.std().item() * 4 - 1) < 0.15
    assert moves[1.0] == pytest.approx(1e-3 / 4, rel=1e-3)
    assert moves[0.01] / moves[1.0] == pytest.approx(0.01, rel=1e-2)  # float32 rounding of the stored weights


def test_adain_matches_instance_norm_and_sets_each_channels_statistics() -> None:
    x = torch.randn(4, 6, 8, 8) * 3 + 2
    scale, bias = torch.rand(4, 6) + 0.5, torch.randn(4, 6)
    y = adain(x, scale, bias)
    ref = scale[:, :, None, None] * nn.functional.instance_norm(x) + bias[:, :, None, None]
    assert torch.allclose(y, ref, atol=1e-5)
    assert torch.allclose(y.mean(dim=(2, 3)), bias, atol=1e-5)
    assert torch.allclose(y.std(dim=(2, 3), unbiased=False), scale, atol=1e-3)


def test_style_mixing_takes_layers_from_each_code() -> None:
    G = _G().eval()
    w1, w2 = torch.randn(2, 16), torch.randn(2, 16)
    ws = G.mix(w1, w2, torch.tensor([3, 8]))
    assert torch.equal(ws[0, :3], w1[0].expand(3, -1)) and torch.equal(ws[0, 3:], w2[0].expand(5, -1))
    assert torch.equal(ws[1], w1[1].expand(8, -1))  # crossover L: no mixing
    # the image with all layers from w1 is the unmixed image of w1
    assert torch.allclose(G.synthesis(G.mix(w1, w2, 8)), G.synthesis(w1))
    # fine layers (last two, 32 px) change the image less than coarse ones (first two, 4 px)
    coarse = (G.synthesis(G.mix(w2, w1, 2)) - G.synthesis(w1)).abs().mean()
    assert coarse > 0


def test_training_forward_mixes_with_the_set_probability() -> None:
    G = _G(mixing_prob=1.0)
    seen = []
    G.synthesis = lambda ws, noise_mode=None: seen.append(ws) or torch.zeros(ws.shape[0], 3, 32, 32)  # type: ignore[method-assign]
    G.train()
    G(torch.randn(64, 16))
    ws = seen[-1]
    differs = (ws[:, 0:1] != ws).any(dim=2)  # (N, L): layer l's w differs from layer 0's
    assert differs.any(dim=1).all(), "every sample is mixed at mixing_prob=1"
    G.mixing_prob = 0.0
    G(torch.randn(8, 16))
    assert not (seen[-1][:, 0:1] != seen[-1]).any()


def test_truncation_and_the_tracked_mean_of_w() -> None:
    G = _G(w_avg_beta=0.9)  # 200 updates: the start value's weight 0.9^200 is nil
    assert torch.equal(G.w_avg, torch.zeros(16))
    G.train()
    for _ in range(200):
        G.mapping(torch.randn(64, 16))
    with torch.no_grad():
        mean = G.map(torch.randn(20000, 16)).mean(0)
    assert torch.allclose(G.w_avg, mean, atol=0.05 * mean.abs().max().item() + 1e-3)
    w = torch.randn(5, 16)
    assert torch.allclose(G.truncate(w, 1.0), w)
    assert torch.allclose(G.truncate(w, 0.0), G.w_avg.expand(5, -1))
    half = G.truncate(w, torch.tensor([0.5] * 5))
    assert torch.allclose(half, (w + G.w_avg) / 2, atol=1e-6)


# ----- the family ------------------------------------------------------------------------
def test_family_applies_spectral_norm_and_samples_with_truncation() -> None:
    from ganlab.metrics.lipschitz import has_spectral_norm

    m = _model()
    assert has_spectral_norm(m.D) and m.recipe.extra["loss"] == "hinge"
    assert m.describe()["generator"]["n_styles"] == 8
    x0 = m.sample(6, seed=1, psi=0.0)
    assert torch.allclose(x0, x0[:1].expand_as(x0), atol=1e-6), "psi = 0: every sample is the mean image"
    assert torch.equal(m.sample(6, seed=1, psi=1.0), m.sample(6, seed=1))
    with pytest.raises(ValueError, match="psi must lie in"):
        m.sample(2, seed=0, psi=1.5)
    s = m.sampler(seed=3, psi=0.5)
    a, b = s(4), s(4)
    assert a.shape == (4, 3, 32, 32) and not torch.equal(a, b)


def test_stylegan_run_resumes_bit_for_bit(tmp_path) -> None:
    """Noise and mixing draw from torch's global RNG in training: checkpointed, so resume is exact."""
    assert_resume_is_exact(_model, lambda: tiny_images(48, channels=3, size=32), tmp_path)


# ----- perceptual path length --------------------------------------------------------------
class _LinearG(nn.Module):
    """x = c * w reshaped to an image; mapping = identity, so W = Z and the path length is known."""

    def __init__(self, nz: int = 16, c: float = 0.5) -> None:
        super().__init__()
        self.nz, self.c = nz, c
        self.dummy = nn.Parameter(torch.zeros(1))

    def mapping(self, z):
        return z

    def synthesis(self, w):
        return (self.c * w).view(-1, 1, 4, self.nz // 4)

    def forward(self, z):
        return self.synthesis(self.mapping(z))


def _sq(x0, x1):
    return (x0.double() - x1.double()).pow(2).flatten(1).sum(1)


def test_path_length_of_a_linear_generator_in_w_is_2_c2_d() -> None:
    """lerp in W: d / eps^2 = c^2 |w1 - w0|^2 exactly, whose mean is 2 c^2 d (w ~ N(0, I))."""
    G, n = _LinearG(16, 0.5), 4000
    for sampling in ("full", "end"):
        v = path_lengths(G, _sq, space="w", n=n, sampling=sampling, seed=1)
        assert v.mean() == pytest.approx(2 * 0.25 * 16, rel=0.03)


def test_path_length_of_a_linear_generator_in_z_is_c2_nz_theta2() -> None:
    """slerp at radius sqrt(nz): the path moves at speed sqrt(nz) * theta, theta = angle(z0, z1)."""
    G, n, nz = _LinearG(16, 0.5), 4000, 16
    g = torch.Generator().manual_seed(123)
    a, b = torch.randn(200_000, nz, generator=g, dtype=torch.float64), torch.randn(200_000, nz, generator=g, dtype=torch.float64)
    theta2 = torch.acos(nn.functional.cosine_similarity(a, b).clamp(-1, 1)).pow(2).mean().item()
    for sampling in ("full", "end"):
        v = path_lengths(G, _sq, space="z", n=n, sampling=sampling, seed=2)
        assert v.mean() == pytest.approx(0.25 * nz * theta2, rel=0.03)


def test_slerp_unit_stays_on_the_sphere_and_hits_the_endpoints() -> None:
    a, b = torch.randn(10, 8, dtype=torch.float64), torch.randn(10, 8, dtype=torch.float64)
    for t in (0.0, 0.3, 1.0):
        p = slerp_unit(a, b, torch.full((10,), t, dtype=torch.float64))
        assert torch.allclose(p.norm(dim=1), torch.ones(10, dtype=torch.float64))
    assert torch.allclose(slerp_unit(a, b, torch.zeros(10, dtype=torch.float64)), nn.functional.normalize(a, dim=1))
    assert torch.allclose(slerp_unit(a, b, torch.ones(10, dtype=torch.float64)), nn.functional.normalize(b, dim=1))
    assert torch.allclose(slerp_unit(a, a, torch.full((10,), 0.5, dtype=torch.float64)), nn.functional.normalize(a, dim=1))


def test_w_path_length_matches_torchmetrics() -> None:
    """End-point sampling in W is torchmetrics' lerp PPL from latent1 towards latent2, fed the
    same w pairs: same per-sample distances and the same outlier-filtered mean."""
    from torchmetrics.functional.image import perceptual_path_length as tm_ppl

    torch.manual_seed(0)
    mapping = nn.Sequential(nn.Linear(8, 8), nn.LeakyReLU(0.2), nn.Linear(8, 8))
    synth = nn.Sequential(nn.Linear(8, 3 * 8 * 8), nn.Tanh())

    class G(nn.Module):
        nz = 8

        def __init__(self):
            super().__init__()
            self.m, self.s = mapping, synth

        def mapping(self, z):
            return self.m(z)

        def synthesis(self, w):
            return self.s(w).view(-1, 3, 8, 8)

    g, n, seed = G(), 600, 4
    ours = path_lengths(g, _sq, space="w", n=n, sampling="end", seed=seed, batch_size=n)
    gen = torch.Generator().manual_seed(seed)  # the draws path_lengths makes in one batch
    z0, z1 = torch.randn(n, 8, generator=gen, dtype=torch.float64), torch.randn(n, 8, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        ws = iter([g.mapping(z0.float()), g.mapping(z1.float())])

    class Wrapped(nn.Module):
        def sample(self, k):
            return next(ws)

        def forward(self, w):
            return (g.synthesis(w) + 1) * 127.5

    class Sq(nn.Module):
        def forward(self, a, b):
            return _sq(a, b).float()

    mean, _, kept = tm_ppl(Wrapped(), num_samples=n, batch_size=n, sim_net=Sq(), interpolation_method="lerp")
    assert filtered_mean(ours) == pytest.approx(float(mean), rel=2e-2)
    assert np.median(ours) == pytest.approx(float(kept.median()), rel=2e-2)


def test_ppl_keys_name_distance_n_and_sampling() -> None:
    G = _G().eval()
    out = ppl_metrics(G, distance="shapes_cnn", n=8, samplings=("full", "end"))
    assert set(out) == {"ppl_z[shapes_cnn,N=8]", "ppl_z[shapes_cnn,N=8,sampling=end]",
                        "ppl_w[shapes_cnn,N=8]", "ppl_w[shapes_cnn,N=8,sampling=end]"}
    assert all(math.isfinite(v) and v >= 0 for v in out.values())
    with pytest.raises(ValueError, match="space 'w' needs a generator with mapping"):
        path_lengths(DCGANGenerator(nz=8, image_size=32, channels=3, ngf=4), _sq, space="w", n=4)
    with pytest.raises(ValueError, match="distance 'vgg' is not known"):
        feature_distance("vgg")
    # a plain generator has a Z path length
    assert perceptual_path_length(DCGANGenerator(nz=8, image_size=32, channels=3, ngf=4),
                                  feature_distance("shapes_cnn"), space="z", n=8) > 0


def test_classifier_distance_is_zero_for_equal_images_and_grows_with_change() -> None:
    d = feature_distance("shapes_cnn")
    from ganlab import data

    x = data.load("shapes", split="test", limit=8).get(torch.arange(8))[0]
    assert torch.allclose(d(x, x), torch.zeros(8, dtype=torch.float64))
    small, large = d(x, (x + 0.05).clamp(-1, 1)), d(x, x.flip(0))
    assert (small < large).all()


def test_lpips_offline_says_what_is_missing(monkeypatch) -> None:
    import torchmetrics.functional.image.lpips as lp

    from ganlab.metrics import PerceptualWeightsUnavailable

    def offline(*a, **k):
        raise OSError("could not download vgg16-397923af.pth")

    monkeypatch.setattr(lp, "_LPIPS", offline)
    monkeypatch.setattr("ganlab.metrics.image_quality._LPIPS_CACHE", {})
    with pytest.raises(PerceptualWeightsUnavailable, match=r"vgg16-397923af\.pth, or offline use a domain distance"):
        feature_distance("lpips")


# ----- linear separability ------------------------------------------------------------------
def test_conditional_entropy_matches_sklearn_mutual_information() -> None:
    from sklearn.metrics import mutual_info_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 5000)
    x = np.where(rng.random(5000) < 0.7, y, rng.integers(0, 4, 5000))
    _, counts = np.unique(y, return_counts=True)
    p = counts / counts.sum()
    h_y = float(-(p * np.log(p)).sum())
    assert conditional_entropy(y, x) == pytest.approx(h_y - mutual_info_score(y, x), abs=1e-10)
    assert conditional_entropy(y, y) == pytest.approx(0.0, abs=1e-12)
    indep = conditional_entropy(rng.integers(0, 2, 20000), rng.integers(0, 2, 20000))
    assert indep == pytest.approx(math.log(2), abs=5e-3)
    with pytest.raises(ValueError, match="equal length"):
        conditional_entropy(y, x[:10])


def test_factor_entropies_tell_linear_from_xor_factors() -> None:
    rng = np.random.default_rng(1)
    codes = rng.standard_normal((4000, 6))
    labels = {"linear": (codes[:, 0] > 0).astype(int),
              "xor": ((codes[:, 1] > 0) ^ (codes[:, 2] > 0)).astype(int)}
    conf = {k: np.ones(4000) for k in labels}
    h = factor_entropies(codes, labels, conf, keep=1.0)
    assert h["linear"] < 0.02
    assert h["xor"] > 0.6  # ln 2 = 0.693: a linear cut knows nothing of an XOR


def test_separability_keys_and_range() -> None:
    G = _G().eval()
    out = separability_metrics(G, n=64, per_factor=True)
    for space in ("z", "w"):
        v = out[f"separability_{space}[shapes_cnn,N=64]"]
        assert 1.0 <= v <= 486.0
        ent = [out[f"entropy_{space}[shapes_cnn,N=64,factor={f}]"] for f in ("shape", "colour", "size", "x", "y")]
        assert v == pytest.approx(math.exp(sum(ent)))
    plain = separability_metrics(DCGANGenerator(nz=8, image_size=32, channels=3, ngf=4), n=32)
    assert list(plain) == ["separability_z[shapes_cnn,N=32]"]
    with pytest.raises(ValueError, match="predicts no factors"):
        separability_metrics(G, extractor="mnist_cnn", n=8)


# ----- figures, disentanglement of a family, shipped weights ------------------------------------
def test_latent_paths_share_endpoints_and_differ_between():
    from ganlab.viz import latent_paths

    G = _G(mapping_depth=2).eval()
    with torch.no_grad():
        for layer in G.layers:
            layer.noise.scale.fill_(0.3)
    p = latent_paths(G, n_pairs=2, n_steps=5, seed=3)
    assert p["Z"].shape == p["W"].shape == (10, 3, 32, 32)
    # Endpoints of both pairs agree. Not bit for bit: the Z row maps all P*T codes in one batch,
    # the W row only the 2*P endpoints, and the matmul kernels' blocking (so the rounding) depends
    # on the batch size and the CPU (|diff| up to 1.1e-5 seen here, above 1e-5 on a CI machine).
    for i in (0, 4, 5, 9):
        assert (p["Z"][i] - p["W"][i]).abs().max() < 1e-4
    assert (p["Z"][2] - p["W"][2]).abs().max() > 0.1  # the paths differ between
    with pytest.raises(ValueError, match="mapping network"):
        latent_paths(DCGANGenerator(nz=8, image_size=32, channels=3, ngf=4))


def test_style_mixing_grid_layout():
    from ganlab.viz import style_mixing_grid

    G = _G().eval()
    grid = style_mixing_grid(G, crossover=8, n_rows=2, n_cols=3, seed=1)
    assert grid.shape == (12, 3, 32, 32)
    assert torch.equal(grid[0], torch.full_like(grid[0], -1.0))  # blank corner
    # crossover L: every cell is its row source A
    assert torch.allclose(grid[5], grid[4], atol=1e-5) and torch.allclose(grid[9], grid[8], atol=1e-5)
    full_b = style_mixing_grid(G, crossover=0, n_rows=2, n_cols=3, seed=1)
    assert torch.allclose(full_b[5], full_b[1], atol=1e-5)  # crossover 0: every cell is its column source B
    with pytest.raises(ValueError, match="crossover"):
        style_mixing_grid(G, crossover=9)


def test_disentanglement_metrics_of_a_family():
    from ganlab.metrics import disentanglement_metrics

    out = disentanglement_metrics(_model(), n_ppl=8, n_sep=32)
    assert set(out) == {"ppl_z[shapes_cnn,N=8]", "ppl_w[shapes_cnn,N=8]",
                        "separability_z[shapes_cnn,N=32]", "separability_w[shapes_cnn,N=32]"}
    assert list(disentanglement_metrics(_G(), n_ppl=4, extractor=None)) == ["ppl_z[shapes_cnn,N=4]", "ppl_w[shapes_cnn,N=4]"]


def test_stylegan_checkpoint_round_trip(tmp_path):
    from ganlab.course.pretrained import SPECS, load_generator, train_checkpoint

    assert SPECS["stylegan_shapes"]["arch"] == "stylegan"
    path = train_checkpoint("stylegan_shapes", tmp_path, steps=2, progress=False)
    G = load_generator("stylegan_shapes", tmp_path)
    assert isinstance(G, StyleGenerator) and not G.training and path.is_file()
    z = torch.randn(3, G.nz)
    assert torch.equal(G(z), G(z))
    assert G.n_styles == (8 if SPECS["stylegan_shapes"]["generator"]["layers_per_resolution"] == 2 else 4)
