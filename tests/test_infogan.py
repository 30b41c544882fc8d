"""InfoGAN: latent layout and code distributions, D + Q in one body pass, L_I by hand, the code
metrics (matching, many-to-one, slant) on cases whose answer is known, bad settings, a tiny run
and exact resume."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganlab.metrics import code_accuracy, code_predictions, evaluate_codes, slant
from ganlab.models import MODELS, InfoGAN, build
from ganlab.models.infogan import info_loss
from ganlab.nets import DCGANDiscriminator, DCGANGenerator, InfoGANDiscriminator
from ganlab.train import TrainConfig, Trainer
from tests.helpers import assert_resume_is_exact, tiny_images

NOISE, K, C = 16, 10, 2


def _infogan(**recipe) -> InfoGAN:
    torch.manual_seed(0)
    G = DCGANGenerator(nz=NOISE + K + C, image_size=28, channels=1, ngf=8)
    D = InfoGANDiscriminator(image_size=28, channels=1, ndf=8, n_categories=K, n_continuous=C, q_hidden=16)
    return build("infogan", G, D, noise_dim=NOISE, **recipe)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- latent
def test_latent_layout_and_code_distributions() -> None:
    model = _infogan()
    assert MODELS["infogan"] is InfoGAN and model.n_classes is None  # unsupervised: no cond_acc
    assert (model.noise_dim, model.n_categories, model.n_continuous, model.nz) == (NOISE, K, C, NOISE + K + C)
    n = 4000
    z = model.sample_inputs(n, "cpu", _gen())["z"]
    assert z.shape == (n, NOISE + K + C)
    parts = model.split_latent(z)
    noise, one_hot, cont = parts["noise"], parts["one_hot"], parts["continuous"]
    assert torch.equal(torch.cat([noise, one_hot, cont], 1), z)
    # one-hot block: exactly one 1 per row, categories uniform (each ~ n / K)
    assert torch.equal(one_hot.sum(1), torch.ones(n)) and set(one_hot.unique().tolist()) == {0.0, 1.0}
    counts = torch.bincount(parts["categories"], minlength=K)
    assert counts.min() > 0.8 * n / K and counts.max() < 1.2 * n / K
    # continuous codes U(-1, 1), not N(0, 1): bounded, std 1/sqrt(3), flat histogram
    for part in (cont, noise):  # the noise follows the published launcher: U(-1, 1) too
        assert part.min() >= -1 and part.max() <= 1
        assert abs(part.mean()) < 0.05 and abs(part.std() - 1 / math.sqrt(3)) < 0.02
    hist = torch.histc(cont.flatten(), bins=4, min=-1, max=1) / cont.numel()
    assert torch.allclose(hist, torch.full((4,), 0.25), atol=0.03)
    # noise="normal": N(0, 1) noise, codes unchanged in law
    zn = _infogan(noise="normal").sample_inputs(n, "cpu", _gen())["z"]
    assert abs(zn[:, :NOISE].std() - 1) < 0.03 and zn[:, NOISE + K:].abs().max() <= 1
    # balanced when asked: every category exactly as often
    zb = model.sample_inputs(50, "cpu", _gen(), categories="balanced")["z"]
    assert model.split_latent(zb)["categories"].tolist() == (torch.arange(50) % K).tolist()


def test_fixed_codes_replace_only_their_part() -> None:
    model = _infogan()
    base = model.split_latent(model.sample_inputs(6, "cpu", _gen(3))["z"])
    fixed = model.split_latent(model.sample_inputs(6, "cpu", _gen(3), categories=7)["z"])
    assert fixed["categories"].tolist() == [7] * 6
    assert torch.equal(fixed["noise"], base["noise"]) and torch.equal(fixed["continuous"], base["continuous"])
    cats = torch.tensor([0, 1, 2, 3, 4, 9])
    traversal = torch.linspace(-2, 2, 6)[:, None].repeat(1, C)  # beyond [-1, 1], as the paper's
    z = model.sample_inputs(6, "cpu", _gen(3), categories=cats, continuous=traversal)["z"]
    p = model.split_latent(z)
    assert torch.equal(p["categories"], cats) and torch.equal(p["continuous"], traversal)
    assert torch.equal(p["noise"], base["noise"])
    # z = the noise part only, or a full latent kept as is
    noise = torch.zeros(6, NOISE)
    assert torch.equal(model.split_latent(model.sample_inputs(6, z=noise)["z"])["noise"], noise)
    assert torch.equal(model.sample_inputs(6, z=z)["z"], z)
    codes = torch.cat([F.one_hot(cats, K).float(), traversal], 1)
    assert torch.equal(model.sample_inputs(6, z=noise, codes=codes)["z"], torch.cat([noise, codes], 1))
    # sample / latent give the same layout
    assert model.sample(6, seed=0, categories=2).shape == (6, 1, 28, 28)
    assert model.split_latent(model.latent(8))["one_hot"].sum(1).tolist() == [1.0] * 8


# ----------------------------------------------------------------------------- D + Q
@pytest.mark.parametrize("fc_hidden", [0, 32])
def test_forward_with_q_is_one_body_pass_and_forward_is_its_logit(fc_hidden: int) -> None:
    torch.manual_seed(0)
    D = InfoGANDiscriminator(ndf=8, n_categories=K, n_continuous=C, fc_hidden=fc_hidden)
    if fc_hidden:  # the published trunk: a shared FC layer with batch norm, D's logit from it
        assert isinstance(D.body[-3], nn.Linear) and D.body[-3].out_features == fc_hidden
        assert isinstance(D.body[-2], nn.BatchNorm1d) and isinstance(D.d_head, nn.Linear)
        assert D.feat_dim == fc_hidden
    calls = {"body": 0, "q": 0}
    D.body.register_forward_hook(lambda *_: calls.__setitem__("body", calls["body"] + 1))
    D.q.register_forward_hook(lambda *_: calls.__setitem__("q", calls["q"] + 1))
    x = torch.rand(6, 1, 28, 28) * 2 - 1
    logits, cat, cont = D.forward_with_q(x)
    assert calls == {"body": 1, "q": 1}
    assert logits.shape == (6,) and cat.shape == (6, K) and cont.shape == (6, C)
    assert D(x).shape == (6,) and calls == {"body": 2, "q": 1}  # forward: no Q
    for mode in (True, False):  # batch statistics (train) and running statistics (eval)
        D.train(mode)
        assert torch.equal(D(x), D.forward_with_q(x)[0])
    # no continuous code: an empty (N, 0) output
    D0 = InfoGANDiscriminator(ndf=8, n_categories=3, n_continuous=0)
    assert D0.forward_with_q(x)[2].shape == (6, 0)


def test_one_g_forward_per_iteration() -> None:
    model = _infogan()
    calls = {"G": 0, "body": 0}
    for name, net in (("G", model.G), ("body", model.D.body)):  # training passes (not the final grid)
        net.register_forward_hook(lambda m, *_, name=name: calls.__setitem__(name, calls[name] + m.training))
    Trainer(model, tiny_images(48), TrainConfig(steps=3, batch_size=8, device="cpu", precision="fp32",
                                                 progress=False)).fit()
    assert calls == {"G": 3, "body": 9}  # per iteration: G once; D body on real, fake (D), fake (G)


# ----------------------------------------------------------------------------- L_I
def test_info_loss_matches_a_by_hand_computation() -> None:
    cat_logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
    categories = torch.tensor([0, 1])
    means = torch.tensor([[0.5, -0.5], [0.0, 1.0]])
    codes = torch.tensor([[1.0, 0.5], [-0.5, 1.0]])

    def ce(row, k):
        return -(row[k] - math.log(sum(math.exp(v) for v in row)))

    by_hand_ce = (ce([2.0, 0.0, -1.0], 0) + ce([0.5, 0.5, 3.0], 1)) / 2
    by_hand_nll = (0.5 * (0.5**2 + 1.0**2) + 0.5 * (0.5**2 + 0.0)) / 2  # 0.5 (c - mu)^2, summed, mean
    loss, logs = info_loss(cat_logits, means, categories, codes, lambda_cat=0.5, lambda_cont=2.0)
    assert loss.item() == pytest.approx(0.5 * by_hand_ce + 2.0 * by_hand_nll, rel=1e-6)
    assert logs["l_cat"].item() == pytest.approx(by_hand_ce, rel=1e-6)
    assert logs["l_cont"].item() == pytest.approx(by_hand_nll, rel=1e-6)
    assert logs["mi_lower_bound"].item() == pytest.approx(math.log(3) - by_hand_ce, rel=1e-6)
    # the model decodes the codes from z and uses its lambdas
    model = _infogan(lambda_cat=0.5, lambda_cont=2.0)
    z = model.sample_inputs(2, z=torch.zeros(2, NOISE), categories=torch.tensor([4, 7]),
                            continuous=codes)["z"]
    logits10 = torch.randn(2, K, generator=_gen())
    mine, _ = model._info(logits10, means, z)
    ref = 0.5 * F.cross_entropy(logits10, torch.tensor([4, 7])) + 2.0 * by_hand_nll
    assert mine.item() == pytest.approx(ref.item(), rel=1e-6)


def test_l_info_enters_both_d_and_g_losses() -> None:
    from ganlab.losses import d_loss_bce, g_loss_nonsaturating
    from ganlab.models import StepContext

    model = _infogan(lambda_cat=0.7, lambda_cont=1.5)
    ds = tiny_images(16)
    batch = ds.batch(torch.arange(8))
    losses = {}
    for group in ("d", "g"):
        ctx = StepContext(torch.device("cpu"), _gen(4), 8)
        losses[group], logs = model.phase_loss(group, batch, ctx)
    z = model.sample_inputs(8, "cpu", _gen(4))["z"]  # the same draws as each phase's
    fake = model.G(z)
    logits, cat, cont = model.D.forward_with_q(fake)
    p = model.split_latent(z)
    l_info = 0.7 * F.cross_entropy(cat, p["categories"]) + 1.5 * (0.5 * (cont - p["continuous"]) ** 2).sum(1).mean()
    d_ref = d_loss_bce(model.D(batch.real), logits) + l_info
    assert losses["d"].item() == pytest.approx(d_ref.item(), rel=1e-5)
    assert losses["g"].item() == pytest.approx((g_loss_nonsaturating(logits) + l_info).item(), rel=1e-5)


def test_mi_lower_bound_is_at_most_log_k() -> None:
    g = _gen(1)
    for k in (2, 10, 20):
        cats = torch.randint(k, (64,), generator=g)
        for scale in (0.1, 1.0, 10.0):
            _, logs = info_loss(torch.randn(64, k, generator=g) * scale, torch.zeros(64, 0), cats, torch.zeros(64, 0))
            assert logs["mi_lower_bound"].item() <= math.log(k)
        _, logs = info_loss(F.one_hot(cats, k).float() * 50, torch.zeros(64, 0), cats, torch.zeros(64, 0))
        assert logs["mi_lower_bound"].item() == pytest.approx(math.log(k), abs=1e-6)  # Q exact: the bound is H(c)


# ----------------------------------------------------------------------------- code metrics
def test_code_accuracy_on_a_permuted_perfect_assignment_and_on_random_ones() -> None:
    perm = torch.randperm(10, generator=_gen(2))
    codes = torch.arange(1000) % 10
    res = code_accuracy(codes, perm[codes], 10, 10)
    assert res["accuracy"] == 1.0 and res["mapping"] == perm.tolist() and res["method"] == "hungarian"
    # one mistake in 1000
    noisy = perm[codes].clone()
    noisy[0] = (noisy[0] + 1) % 10
    assert code_accuracy(codes, noisy, 10, 10)["accuracy"] == pytest.approx(0.999)
    # random predictions: about chance (1 / 10; the fitted matching adds a little)
    g = _gen(3)
    acc = code_accuracy(torch.randint(10, (20000,), generator=g), torch.randint(10, (20000,), generator=g), 10, 10)
    assert 0.09 < acc["accuracy"] < 0.12
    # fewer codes than classes: one-to-one into the classes
    assert code_accuracy(torch.tensor([0, 1, 1]), torch.tensor([5, 2, 2]), 2, 10)["mapping"] == [5, 2]


def test_code_accuracy_many_to_one() -> None:
    codes = torch.arange(2000) % 20
    res = code_accuracy(codes, codes % 10, 20, 10)  # 20 categories for 10 digits, two per digit
    assert res["method"] == "majority" and res["accuracy"] == 1.0
    assert res["mapping"] == list(range(10)) * 2
    predicted = codes % 10
    predicted[codes == 3] = torch.where(torch.arange(100) < 70, 3, 4)  # code 3: 70 % digit 3
    res = code_accuracy(codes, predicted, 20, 10)
    assert res["mapping"][3] == 3 and res["accuracy"] == pytest.approx(1 - 30 / 2000)


def test_code_nmi_separates_a_collapsed_generator_from_a_meaningful_code() -> None:
    from sklearn.metrics import normalized_mutual_info_score

    codes = torch.arange(2000) % 20
    collapsed = code_accuracy(codes, torch.full((2000,), 7), 20, 10)  # one digit for every code value
    assert collapsed["accuracy"] == 1.0 and collapsed["nmi"] == pytest.approx(0.0, abs=1e-12)
    two_per_digit = code_accuracy(codes, codes % 10, 20, 10)
    # H(class) = log 10, H(code) = log 20, I = log 10: NMI = 2 log 10 / (log 10 + log 20)
    assert two_per_digit["nmi"] == pytest.approx(2 * math.log(10) / (math.log(10) + math.log(20)))
    perm = torch.randperm(10, generator=_gen(5))
    assert code_accuracy(codes % 10, perm[codes % 10], 10, 10)["nmi"] == pytest.approx(1.0)
    g = _gen(6)
    c, p = torch.randint(10, (3000,), generator=g), torch.randint(10, (3000,), generator=g)
    res = code_accuracy(c, p, 10, 10)
    assert res["nmi"] < 0.02 and res["nmi"] == pytest.approx(normalized_mutual_info_score(c.numpy(), p.numpy()))


def test_code_accuracy_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match=r"codes must lie in \[0, 10\); got \[0, 10\]"):
        code_accuracy(torch.arange(11), torch.zeros(11, dtype=torch.long), 10, 10)
    with pytest.raises(ValueError, match="same length; got 3 and 2"):
        code_accuracy(torch.arange(3), torch.arange(2), 10, 10)
    with pytest.raises(ValueError, match="1-D integer"):
        code_accuracy(torch.rand(3), torch.arange(3), 10, 10)


class _DigitsG(nn.Module):
    """A "generator" of the InfoGAN layout that draws a real digit of class perm[category]."""

    def __init__(self, perm: torch.Tensor, per_class: int = 30) -> None:
        super().__init__()
        from ganlab.data import load

        ds = load("mnist5k", split="test")
        x, y = ds.get(slice(None), device="cpu")[0], ds.labels
        self.register_buffer("bank", torch.stack([x[y == c][:per_class] for c in range(10)]))
        self.perm, self.per_class, self.nz = perm, per_class, NOISE + K + C
        self.out_shape = (1, 28, 28)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        cat = z[:, NOISE:NOISE + K].argmax(1)
        j = ((z[:, 0] + 1) / 2 * self.per_class).long().clamp(0, self.per_class - 1)
        return self.bank[self.perm[cat], j]


def test_evaluate_codes_recovers_a_known_code_to_digit_map() -> None:
    perm = torch.randperm(10, generator=_gen(5))
    G = _DigitsG(perm)
    model = build("infogan", G, InfoGANDiscriminator(ndf=8, n_categories=K, n_continuous=C), noise_dim=NOISE)
    codes, predicted = code_predictions(model, "mnist_cnn", n=300, seed=0)
    assert torch.equal(codes, torch.arange(300) % 10)
    res = code_accuracy(codes, predicted, 10, 10)
    assert res["mapping"] == perm.tolist()
    assert res["accuracy"] > 0.95  # mnist_cnn's own accuracy on real digits
    out = evaluate_codes(model, "mnist_cnn", n=300, seed=0)
    assert list(out) == ["code_acc[mnist_cnn,N=300]", "code_nmi[mnist_cnn,N=300]"]
    assert out["code_acc[mnist_cnn,N=300]"] == res["accuracy"] and out["code_nmi[mnist_cnn,N=300]"] == res["nmi"] > 0.9
    with pytest.raises(ValueError, match="no categorical code"):
        code_predictions(build("dcgan", *(_plain_pair())), "mnist_cnn", n=10)


def _plain_pair():
    torch.manual_seed(0)
    return DCGANGenerator(nz=8, image_size=28, channels=1, ngf=8), DCGANDiscriminator(image_size=28, channels=1, ndf=8)


def _ellipse(angle_deg: float, a: float = 9.0, b: float = 2.5, size: int = 28, ss: int = 4) -> torch.Tensor:
    """A bright ellipse on black in [-1, 1], major axis ``angle_deg`` from vertical (+: top to the right)."""
    t = math.radians(angle_deg)
    r = (torch.arange(size * ss, dtype=torch.float64) + 0.5) / ss - 0.5  # sub-pixel centres
    rows, cols = torch.meshgrid(r, r, indexing="ij")
    x, y = cols - (size - 1) / 2, -(rows - (size - 1) / 2)
    s = x * math.sin(t) + y * math.cos(t)  # along the major axis
    u = x * math.cos(t) - y * math.sin(t)
    inside = ((s / a) ** 2 + (u / b) ** 2 <= 1).double()
    cover = inside.reshape(size, ss, size, ss).mean(dim=(1, 3))
    return (cover * 2 - 1).float()[None]


def test_slant_of_rendered_ellipses() -> None:
    angles = [-20.0, -8.0, 0.0, 8.0, 20.0, 35.0]
    images = torch.stack([_ellipse(a) for a in angles])
    got = torch.rad2deg(slant(images))
    assert torch.allclose(got, torch.tensor(angles), atol=2.0), got
    assert got[4] > 0 > got[0]  # "/" is positive
    # a shifted copy has the same slant; (N, H, W) works too; no ink -> NaN
    shifted = torch.roll(images[4], shifts=(3, -2), dims=(1, 2))
    assert abs(torch.rad2deg(slant(shifted[None]))[0] - 20) < 2
    assert torch.equal(slant(images[:, 0]), slant(images))
    assert torch.isnan(slant(-torch.ones(1, 1, 28, 28))).all()
    with pytest.raises(ValueError, match="grey images"):
        slant(torch.zeros(2, 3, 28, 28))


# ----------------------------------------------------------------------------- bad settings
def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="n_categories must be an int >= 2"):
        InfoGANDiscriminator(n_categories=1)
    with pytest.raises(ValueError, match="n_continuous must be an int >= 0"):
        InfoGANDiscriminator(n_continuous=-1)
    with pytest.raises(ValueError, match="image_size 30 is not supported"):
        InfoGANDiscriminator(image_size=30)
    with pytest.raises(ValueError, match="fc_hidden must be an int >= 0"):
        InfoGANDiscriminator(fc_hidden=-5)
    for key in ("lambda_cat", "lambda_cont"):
        with pytest.raises(ValueError, match=f"{key} must be a number >= 0; got -0.1"):
            _infogan(**{key: -0.1})
    with pytest.raises(ValueError, match="noise 'laplace' is not known; accepted: uniform, normal"):
        _infogan(noise="laplace")
    with pytest.raises(ValueError, match="unknown setting 'lam'"):
        _infogan(lam=1.0)
    D = InfoGANDiscriminator(ndf=8)
    with pytest.raises(ValueError, match=r"G.nz = 28 but the latent \[noise 62 \| categorical 10 \| continuous 2\] "
                                         r"has 74; build G with nz=74 or set noise_dim=16"):
        build("infogan", DCGANGenerator(nz=28, image_size=28, channels=1, ngf=8), D)
    with pytest.raises(ValueError, match="needs a discriminator with a Q head"):
        build("infogan", *_plain_pair())
    model = _infogan()
    with pytest.raises(ValueError, match=r"categories must lie in \[0, 10\); got \[10, 10\]"):
        model.sample_inputs(3, categories=10)
    with pytest.raises(ValueError, match=r"continuous must be a float tensor of shape \(3, 2\)"):
        model.sample_inputs(3, continuous=torch.zeros(3, 3))
    with pytest.raises(ValueError, match="not both"):
        model.sample_inputs(3, codes=torch.zeros(3, K + C), categories=1)
    with pytest.raises(ValueError, match="takes z=, codes=, categories=, continuous=; not labels"):
        model.sample(3, labels=torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"z must be the noise \(3, 16\) or a full latent \(3, 28\)"):
        model.sample_inputs(3, z=torch.zeros(3, 5))


# ----------------------------------------------------------------------------- training
def test_tiny_run_trains_q_with_finite_losses() -> None:
    model = _infogan()
    before = {k: v.detach().clone() for k, v in model.D.q.state_dict().items()}
    g_before = [p.detach().clone() for p in model.G.parameters()]
    cfg = TrainConfig(steps=5, batch_size=8, device="cpu", precision="fp32", log_every=1, progress=False)
    h = Trainer(model, tiny_images(48), cfg).fit()  # the images' labels (none) are not used
    for key in ("d", "g", "l_info", "l_cat", "l_cont", "mi_lower_bound"):
        assert len(h.losses[key]) == 5 and all(math.isfinite(v) for v in h.losses[key]), key
    assert all(v <= math.log(K) for v in h.losses["mi_lower_bound"])
    after = model.D.q.state_dict()
    for k in ("1.weight", "4.weight", "4.bias"):  # hidden FC, output FC
        assert not torch.equal(before[k], after[k]), f"Q's {k} did not change"
    assert any(not torch.equal(a, p) for a, p in zip(g_before, model.G.parameters()))


def test_lambda_zero_leaves_q_untrained() -> None:
    model = _infogan(lambda_cat=0.0, lambda_cont=0.0)
    before = model.D.q[4].weight.detach().clone()
    Trainer(model, tiny_images(48), TrainConfig(steps=2, batch_size=8, device="cpu", precision="fp32",
                                                 progress=False)).fit()
    assert torch.equal(model.D.q[4].weight, before)  # L_I is Q's only signal


def test_infogan_run_resumes_bit_for_bit(tmp_path) -> None:
    assert_resume_is_exact(_infogan, lambda: tiny_images(48), tmp_path)
    assert any(k.startswith("D.q.") for k in _infogan().state_dict())
