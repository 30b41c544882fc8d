"""Batched seeds: per-copy random draws, batched networks, and the claim that matters — each copy of
a batch follows its own separate run's trajectory (weights, EMA, losses, evaluations), resumes
exactly, and records one run per seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

import ganlab.course.session
from ganlab import rng
from ganlab.course.experiment import train_seeds, train_seeds_jointly
from ganlab.data import Dataset
from ganlab.metrics import Evaluator
from ganlab.models import build
from ganlab.nets import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from ganlab.nets.batched import NotBatchable, batchable_reason, stack_networks
from ganlab.train import TrainConfig, Trainer
from ganlab.train.seeds import (
    CopyData,
    SeedBatchTrainer,
    batch_reason,
    data_reason,
    stack_family,
    unstack_family,
)
from tests.helpers import tiny_points

SEEDS = [3, 7, 11]


# ----- per-copy random draws --------------------------------------------------------------------
def test_copy_generators_draw_each_copys_rows_from_its_own_stream() -> None:
    gens = rng.CopyGenerators(SEEDS)
    z = rng.randn(12, 5, generator=gens)
    u = rng.rand(6, 1, 1, generator=gens)
    for k, s in enumerate(SEEDS):
        g = torch.Generator().manual_seed(s)
        assert torch.equal(z[4 * k:4 * (k + 1)], torch.randn(4, 5, generator=g))
        assert torch.equal(u[2 * k:2 * (k + 1)], torch.rand(2, 1, 1, generator=g))
    state = gens.get_state()
    a = rng.randn(3, 2, generator=gens)
    gens.set_state(state)
    assert torch.equal(a, rng.randn(3, 2, generator=gens))
    plain = torch.Generator().manual_seed(1)
    assert torch.equal(rng.randn(4, 3, generator=plain), torch.randn(4, 3, generator=torch.Generator().manual_seed(1)))
    with pytest.raises(ValueError, match="cannot be split evenly over 3 copies"):
        rng.randn(4, 2, generator=gens)
    with pytest.raises(ValueError, match="this batch has 3"):
        gens.set_state(state[:2])


# ----- batched networks ---------------------------------------------------------------------------
def _toy_g(seed: int, norm: str = "batch") -> MLPGenerator:
    torch.manual_seed(seed)
    return MLPGenerator(nz=2, out_shape=(2,), hidden=(16, 16), norm=norm, activation="relu", out_activation=None)


def _toy_d(seed: int, pack: int = 1, maxout: int = 1, fourier: int = 0, scale: float = 0.5) -> MLPDiscriminator:
    torch.manual_seed(seed + 100)
    return MLPDiscriminator(in_shape=(2,), hidden=(16, 16), dropout=0.0, pack=pack, maxout=maxout,
                            fourier=fourier, fourier_scale=scale)


@pytest.mark.parametrize(("pack", "maxout", "fourier"), [(1, 1, 0), (2, 1, 0), (2, 3, 0), (1, 1, 6), (2, 1, 6)])
def test_batched_networks_compute_each_copy_as_the_copy_does(pack: int, maxout: int, fourier: int) -> None:
    gens, discs = [_toy_g(s) for s in SEEDS], [_toy_d(s, pack, maxout, fourier) for s in SEEDS]
    G, D = stack_networks(gens), stack_networks(discs)
    z = torch.randn(3 * 8, 2)
    out = G(z)  # training mode: batch norm on each copy's own 8 rows, running stats updated
    d_out = D(out)
    for k in range(3):
        ref = gens[k](z[8 * k:8 * (k + 1)])
        assert torch.allclose(out[8 * k:8 * (k + 1)], ref, atol=1e-6)
        assert torch.allclose(d_out[8 // pack * k:8 // pack * (k + 1)], discs[k](ref), atol=1e-5)
        d_back = D.unstack(k)
        assert torch.equal(d_back(ref), discs[k](ref))  # each copy's own frequencies come back
        back = G.unstack(k)
        assert type(back) is MLPGenerator
        for a, b in zip(back.state_dict().values(), gens[k].state_dict().values()):
            assert torch.allclose(a.float(), b.float(), atol=1e-7)  # running stats too
    G.eval()
    assert torch.allclose(G(z)[:8], gens[0].eval()(z[:8]), atol=1e-6)
    with pytest.raises(ValueError, match="cannot be split over 3 copies"):
        G(torch.randn(4, 2))
    with pytest.raises(ValueError, match="copy 5 does not exist"):
        G.unstack(5)


def test_what_does_not_batch_says_why() -> None:
    assert batchable_reason(_toy_g(0)) is None
    assert "not an MLP" in batchable_reason(DCGANGenerator(nz=8, image_size=28, channels=1, ngf=4))
    assert "Dropout(p=0.3)" in batchable_reason(MLPDiscriminator(in_shape=(2,), hidden=(8,)))
    assert "parametrizations" in batchable_reason(MLPDiscriminator(in_shape=(2,), hidden=(8,), dropout=0,
                                                                   spectral_norm=True))
    with pytest.raises(NotBatchable, match="differ in architecture"):
        stack_networks([_toy_g(0), MLPGenerator(nz=2, out_shape=(2,), hidden=(8, 16), norm="batch",
                                                activation="relu", out_activation=None)])
    with pytest.raises(NotBatchable, match="differ in architecture"):  # buffers count: 6 vs 4 frequencies
        stack_networks([_toy_d(0, fourier=6), _toy_d(1, fourier=4)])
    with pytest.raises(NotBatchable, match="one class"):
        stack_networks([_toy_g(0), _toy_d(0)])
    gan = build("gan", _toy_g(0), _toy_d(0), real_range=(0.7, 1.0))
    assert "label ranges" in batch_reason([gan, gan])
    noisy = build("gan", _toy_g(0), _toy_d(0), instance_noise=0.1)
    assert "instance noise" in batch_reason([noisy])
    sn = build("sngan", DCGANGenerator(nz=8, image_size=28, channels=1, ngf=4),
               DCGANDiscriminator(image_size=28, channels=1, ndf=4, norm="none"))
    assert "does not draw all its randomness" in batch_reason([sn])
    assert "recipes differ" in batch_reason([build("gan", _toy_g(0), _toy_d(0), lr_g=1e-3),
                                             build("gan", _toy_g(1), _toy_d(1))])


# ----- the claim: each copy follows its separate run --------------------------------------------------
RECIPES = {  # kind -> family, PacGAN pack, G's norm, recipe
    "gan": ("gan", 1, "none", {"lr_g": 2e-3, "lr_d": 2e-3}),
    "gan_bn": ("gan", 1, "batch", {"lr_g": 2e-3, "lr_d": 2e-3}),
    "pacgan2": ("gan", 2, "batch", {"lr_g": 2e-3, "lr_d": 2e-3}),
    "pacgan2_fourier": ("gan", 2, "batch", {"lr_g": 2e-3, "lr_d": 2e-3}),
    "wgan_gp": ("wgan_gp", 1, "none", {"lr_g": 1e-3, "lr_d": 1e-3, "d_steps": 2, "gp_weight": 0.1}),
    "lsgan": ("lsgan", 1, "none", {}),
    "wgan": ("wgan", 1, "none", {"d_steps": 2}),
}


def _model(kind: str, seed: int):
    family, pack, norm, recipe = RECIPES[kind]
    d = _toy_d(seed, pack, maxout=2 if kind == "pacgan2" else 1, fourier=6 if kind.endswith("fourier") else 0)
    return build(family, _toy_g(seed, norm), d, **recipe)


def _pre_bn_bias(net: nn.Module) -> set[str]:
    """Biases of linear layers that a batch norm follows, and the norm's running mean: their gradient
    is zero in exact arithmetic, so Adam turns rounding noise into steps of size lr there (the
    function the network computes does not depend on them)."""
    names, layers = set(), list(net.net)
    for i, layer in enumerate(layers[:-1]):
        if isinstance(layer, nn.Linear) and isinstance(layers[i + 1], nn.BatchNorm1d):
            names |= {f"net.{i}.bias", f"net.{i + 1}.running_mean"}
    return names


def _cfg(**kw) -> TrainConfig:
    base = {"steps": 12, "batch_size": 16, "device": "cpu", "log_every": 4, "progress": False,
            "precision": "fp32", "ema_decay": 0.9, "eval_every": 6}
    return TrainConfig(**{**base, **kw})


@pytest.mark.parametrize("kind", list(RECIPES))
def test_each_copy_follows_its_separate_run(kind: str) -> None:
    data = tiny_points(256)
    ev = Evaluator(tiny_points(512, seed=5), extractor="points", n=64, metrics=("fid",))
    separate = []
    for s in SEEDS:
        tr = Trainer(_model(kind, s), data, _cfg(seed=s), evaluator=ev)
        tr.fit()
        separate.append(tr)
    batch = SeedBatchTrainer([_model(kind, s) for s in SEEDS], data, _cfg(seed=999), SEEDS, evaluator=ev)
    batch.fit()
    z = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
    for k, tr in enumerate(separate):
        copy = batch.copy_model(k)
        for name in ("G", "D", "G_ema"):
            skip = _pre_bn_bias(getattr(copy, name))
            for (key, a), b in zip(getattr(copy, name).state_dict().items(),
                                   getattr(tr.model, name).state_dict().values()):
                if key not in skip:
                    assert torch.allclose(a.float(), b.float(), rtol=1e-4, atol=1e-5), f"copy {k} {name}.{key}"
        # the functions agree (eval mode: batch norm uses running means, which carry the pre-BN
        # biases' noise: a looser bound there)
        tol = 1e-3 if RECIPES[kind][2] == "batch" else 1e-4
        assert torch.allclose(copy.sample(z=z), tr.model.sample(z=z), atol=tol)
        hist = batch.copy_history(k)
        assert [e["step"] for e in hist.evals] == [e["step"] for e in tr.history.evals] == [6, 12]
        for mine, theirs in zip(hist.evals, tr.history.evals):
            assert mine["fid[points,N=64]"] == pytest.approx(theirs["fid[points,N=64]"], rel=1e-3, abs=1e-4)
    for key in ("d", "g"):  # logged losses: the mean over the copies of the separate runs' losses
        mean = torch.tensor([tr.history.losses[key] for tr in separate]).mean(0)
        assert torch.allclose(torch.tensor(batch.history.losses[key]), mean, rtol=1e-4, atol=1e-5)


def _named(scale: float, seed: int):
    """A PacGAN2 with a Fourier D of frequency scale ``scale``: the model of one data set's run."""
    return build("gan", _toy_g(seed, "batch"), _toy_d(seed, 2, fourier=6, scale=scale), lr_g=2e-3, lr_d=2e-3)


def _ring_of(n: int, radius: float) -> Dataset:
    """``n`` points on a circle of ``radius`` (a second 2-D data set of tiny_points' size)."""
    data = tiny_points(n, seed=9)
    data.points = radius * data.points / data.points.norm(dim=1, keepdim=True)
    return data


def test_copies_of_two_runs_on_two_data_sets_follow_their_separate_runs() -> None:
    """One batch holds run A (Gaussian points, frequency scale 0.5) and run B (a ring, scale 2)
    with the same seeds: every copy ends where its own run, on its own data, ends."""
    runs = {"a": (0.5, tiny_points(256), Evaluator(tiny_points(512, seed=5), extractor="points", n=64,
                                                      metrics=("fid",))),
            "b": (2.0, _ring_of(256, 2.0), Evaluator(_ring_of(512, 2.0), extractor="points", n=64, metrics=("fid",)))}
    seeds = [3, 7]
    copies = [(name, s) for name in runs for s in seeds]
    separate = {}
    for name, s in copies:
        scale, data, ev = runs[name]
        tr = Trainer(_named(scale, s), data, _cfg(seed=s), evaluator=ev)
        tr.fit()
        separate[name, s] = tr
    batch = SeedBatchTrainer([_named(runs[n][0], s) for n, s in copies], [runs[n][1] for n, _ in copies],
                             _cfg(seed=999), [s for _, s in copies], evaluator=[runs[n][2] for n, _ in copies],
                             names=[n for n, _ in copies])
    batch.fit()
    assert batch.copy_keys == ["a/3", "a/7", "b/3", "b/7"]
    assert batch.run_identity()["config"]["runs"] == ["a", "a", "b", "b"]
    assert [d["name"] for d in batch.dataset.summary()["datasets"]] == ["tinypts", "tinypts"]
    z = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
    for k, key in enumerate(copies):
        tr, copy = separate[key], batch.copy_model(k)
        assert copy.D.net[0].scale == runs[key[0]][0]  # the unstacked D says its own scale
        for net in ("G", "D"):
            skip = _pre_bn_bias(getattr(copy, net))
            for (name, a), b in zip(getattr(copy, net).state_dict().items(),
                                    getattr(tr.model, net).state_dict().values()):
                if name not in skip:
                    assert torch.allclose(a.float(), b.float(), rtol=1e-4, atol=1e-5), f"copy {key} {net}.{name}"
        assert torch.allclose(copy.sample(z=z), tr.model.sample(z=z), atol=1e-3)
        mine, theirs = batch.copy_history(k).evals, tr.history.evals
        assert [e["step"] for e in mine] == [6, 12]
        assert [e["fid[points,N=64]"] for e in mine] == pytest.approx([e["fid[points,N=64]"] for e in theirs],
                                                                      rel=1e-3, abs=1e-4)
    # each copy's rows of a batch are its own data set's, in its own seed's order
    order = batch.dataset.epoch_order(0)[: 4 * 16].reshape(4, 16)
    for k, (name, s) in enumerate(copies):
        rows = batch.dataset.batch(order[k]).real
        assert torch.equal(rows, runs[name][1].batch(runs[name][1].epoch_order(0, s)[:16]).real)
    assert torch.allclose(batch.dataset.batch(order[2]).real.norm(dim=1), torch.full((16,), 2.0))


def test_copies_on_data_sets_that_cannot_batch_say_why() -> None:
    assert data_reason([tiny_points(64), tiny_points(64, seed=1)]) is None
    assert "one length" in data_reason([tiny_points(64), tiny_points(32)])
    assert "Dataset objects" in data_reason([tiny_points(64), list(range(64))])
    with pytest.raises(ValueError, match="one length"):
        CopyData([tiny_points(64), tiny_points(32)], [1, 2], 16)
    with pytest.raises(ValueError, match="one data set per copy"):
        CopyData([tiny_points(64)] * 3, [1, 2], 16)
    models = [_named(0.5, s) for s in (1, 1)]
    with pytest.raises(ValueError, match="one distinct seed per model"):  # seed 1 twice in one run
        SeedBatchTrainer(models, [tiny_points(64)] * 2, _cfg(), [1, 1], names=["a", "a"])
    with pytest.raises(ValueError, match="one run name per copy"):
        SeedBatchTrainer(models, tiny_points(64), _cfg(), [1, 2], names=["a"])
    with pytest.raises(ValueError, match="one evaluator per copy"):
        SeedBatchTrainer(models, tiny_points(64), _cfg(), [1, 2], evaluator=[None])


def test_a_batch_resumes_bit_for_bit(tmp_path: Path) -> None:
    data = tiny_points(256)

    def fit(steps: int, folder: Path) -> SeedBatchTrainer:
        tr = SeedBatchTrainer([_model("wgan_gp", s) for s in SEEDS], data,
                              _cfg(steps=steps, checkpoint_every=4, checkpoint_dir=str(folder), resume=True,
                                   eval_every=0), SEEDS)
        tr.fit()
        return tr

    whole = fit(12, tmp_path / "whole")
    fit(8, tmp_path / "cut")
    resumed = fit(12, tmp_path / "cut")
    assert resumed.history.resumed_from == 8
    for a, b in zip(whole.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)
    assert torch.equal(whole._latent_gen.get_state(), resumed._latent_gen.get_state())
    other = SeedBatchTrainer([_model("wgan_gp", s) for s in [3, 7, 12]], data,
                             _cfg(steps=12, checkpoint_dir=str(tmp_path / "cut"), resume=True), [3, 7, 12])
    from ganlab.train import CheckpointError
    with pytest.raises(CheckpointError, match="seed"):
        other.fit()


def test_stack_and_unstack_family_keep_the_recipe() -> None:
    models = [_model("wgan_gp", s) for s in SEEDS]
    batched = stack_family(models)
    assert batched.family == "wgan_gp" and batched.copies == 3
    assert batched.recipe.as_dict() == models[0].recipe.as_dict()
    back = unstack_family(batched, 1)
    assert back.recipe.as_dict() == models[1].recipe.as_dict() and not back.training
    for a, b in zip(back.G.state_dict().values(), models[1].G.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="one distinct seed per model"):
        SeedBatchTrainer(models, tiny_points(64), _cfg(), [1, 1, 2])


# ----- the course helper ----------------------------------------------------------------------------
def test_train_seeds_batches_when_it_can_and_records_each_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GANLAB_DATA_DIR", raising=False)
    S = ganlab.course.session.start("02_toy_2d_mode_collapse", profile="smoke", seed=0, device="cpu",
                                    results_dir=tmp_path)
    data = tiny_points(256)
    ev = Evaluator(tiny_points(512, seed=5), extractor="points", n=64, metrics=("fid",))
    runs = train_seeds(S, "toy", lambda s: _model("gan", s), data, SEEDS, evaluator=ev, steps=6, batch_size=16)
    assert [r.trainer.seeds for r in runs] == [SEEDS] * 3 and len({id(r.trainer) for r in runs}) == 1
    recs = [json.loads(r.record.read_text()) for r in runs]
    assert [r["seed"] for r in recs] == SEEDS and all(r["extra"]["batched_seeds"] == SEEDS for r in recs)
    assert all(r["config"]["batch_size"] == 16 and "untrained" in r["extra"] for r in recs)
    assert len({r.metrics["fid[points,N=64]"] for r in runs}) == 3  # three different models
    again = train_seeds(S, "toy", lambda s: _model("gan", s), data, SEEDS, evaluator=ev, steps=6, batch_size=16)
    assert again[0].history.resumed_from == 6  # the finished batch loads instead of training
    assert again[1].metrics == runs[1].metrics
    solo = train_seeds(S, "toy_solo", lambda s: _model("gan", s), data, SEEDS[:2], evaluator=ev, steps=4,
                       batch_size=16, batch=False)
    assert solo[0].trainer is not solo[1].trainer

    def conv(seed: int):
        torch.manual_seed(seed)
        return build("dcgan", DCGANGenerator(nz=8, image_size=28, channels=1, ngf=4),
                     DCGANDiscriminator(image_size=28, channels=1, ndf=4))
    with pytest.raises(NotBatchable, match="cannot batch its seeds: G: DCGANGenerator is not an MLP"):
        train_seeds(S, "conv", conv, data, SEEDS, batch=True)


def test_train_seeds_jointly_batches_two_runs_and_records_each(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GANLAB_DATA_DIR", raising=False)
    S = ganlab.course.session.start("02_toy_2d_mode_collapse", profile="smoke", seed=0, device="cpu",
                                    results_dir=tmp_path)
    ev = Evaluator(tiny_points(512, seed=5), extractor="points", n=64, metrics=("fid",))
    runs = {"pts_gan": (lambda s: _named(0.5, s), tiny_points(256), ev),
            "ring_gan": (lambda s: _named(2.0, s), _ring_of(256, 2.0), None)}
    out = train_seeds_jointly(S, runs, [3, 7], steps=6, batch_size=16, extra={"method": "gan"})
    assert list(out) == ["pts_gan", "ring_gan"] and len({id(r.trainer) for rs in out.values() for r in rs}) == 1
    assert Path(S.checkpoint_dir("pts_gan+ring_gan-seeds3-7")).is_dir()
    recs = {name: [json.loads(r.record.read_text()) for r in rs] for name, rs in out.items()}
    assert [r["seed"] for r in recs["ring_gan"]] == [3, 7] and recs["ring_gan"][0]["run"] == "ring_gan"
    assert all(r["extra"]["batched_runs"] == ["pts_gan", "ring_gan"] and r["extra"]["method"] == "gan"
               for rs in recs.values() for r in rs)
    assert "untrained" in recs["pts_gan"][0]["extra"] and "untrained" not in recs["ring_gan"][0]["extra"]
    assert out["pts_gan"][0].metrics and not out["ring_gan"][0].metrics  # only run A has an evaluator
    again = train_seeds_jointly(S, runs, [3, 7], steps=6, batch_size=16)
    assert again["ring_gan"][1].history.resumed_from == 6  # the finished joint batch loads
    # data sets of different lengths: run by run (two batches), or NotBatchable when asked to batch
    uneven = {"pts_gan": runs["pts_gan"], "short": (lambda s: _named(2.0, s), tiny_points(128), None)}
    apart = train_seeds_jointly(S, uneven, [3, 7], steps=4, batch_size=16)
    assert apart["pts_gan"][0].trainer is not apart["short"][0].trainer
    with pytest.raises(NotBatchable, match="cannot train as one batch: .*one length"):
        train_seeds_jointly(S, uneven, [3, 7], steps=4, batch_size=16, batch=True)
    with pytest.raises(ValueError, match="at least one run and distinct seeds"):
        train_seeds_jointly(S, runs, [3, 3])


def test_batched_linear_is_a_per_copy_matmul() -> None:
    from ganlab.nets.batched import BatchedLinear

    layers = [nn.Linear(4, 3) for _ in range(2)]
    bl = BatchedLinear(layers)
    x = torch.randn(2, 5, 4)
    y = bl(x)
    for k in range(2):
        assert torch.allclose(y[k], layers[k](x[k]), atol=1e-6)
