"""The training engine: step ratios, clipping, resume equivalence, NaN guard, checkpoints, learning."""

from __future__ import annotations

import pytest
import torch

from ganlab.models import MODELS, build
from ganlab.train import CheckpointError, NonFiniteLossError, TrainConfig, Trainer, latest_good
from ganlab.train.checkpoint import list_checkpoints
from tests.helpers import dcgan_pair, mlp_pair, tiny_images, tiny_points


def _weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize(("d_steps", "g_steps"), [(1, 1), (3, 1), (1, 3), (5, 2)])
def test_step_ratios_are_honoured(d_steps: int, g_steps: int) -> None:
    G, D = mlp_pair()
    model = build("gan", G, D, d_steps=d_steps, g_steps=g_steps)
    calls = {"d": 0, "g": 0}
    d_loss, g_loss = model.d_loss, model.g_loss

    def counting_d(*a):
        calls["d"] += 1
        return d_loss(*a)

    def counting_g(*a):
        calls["g"] += 1
        return g_loss(*a)

    model.d_loss, model.g_loss = counting_d, counting_g
    hist = Trainer(model, tiny_points(), TrainConfig(steps=4, batch_size=32, device="cpu",
                                                     log_every=2, progress=False)).fit()
    assert calls == {"d": 4 * d_steps, "g": 4 * g_steps}
    assert hist.images_seen == 4 * d_steps * 32
    assert hist.steps == [2, 4]


def test_wgan_weights_stay_clipped() -> None:
    G, D = mlp_pair()
    model = build("wgan", G, D, lr_d=0.5, lr_g=0.5)  # huge steps push weights far without clipping
    Trainer(model, tiny_points(), TrainConfig(steps=3, batch_size=32, device="cpu",
                                              progress=False)).fit()
    c = model.recipe.extra["clip"]
    assert c == 0.01
    for p in model.D.parameters():
        assert p.abs().max().item() <= c + 1e-12


def test_recipes_match_their_papers() -> None:
    G, D = mlp_pair()
    wgan = build("wgan", G, D).recipe
    assert (wgan.optimizer, wgan.lr_d, wgan.d_steps, wgan.extra["clip"]) == ("rmsprop", 5e-5, 5, 0.01)
    gp = build("wgan_gp", G, D).recipe
    assert (gp.lr_d, gp.betas, gp.d_steps, gp.extra["gp_weight"]) == (1e-4, (0.0, 0.9), 5, 10.0)
    dc = build("dcgan", G, D).recipe
    assert (dc.lr_g, dc.betas, dc.d_steps, dc.g_steps) == (2e-4, (0.5, 0.999), 1, 1)
    assert isinstance(build("dcgan", G, D).configure_optimizers()["d"], torch.optim.Adam)
    assert isinstance(build("wgan", G, D).configure_optimizers()["d"], torch.optim.RMSprop)


def test_bad_model_names_and_settings() -> None:
    G, D = mlp_pair()
    with pytest.raises(ValueError, match="accepted: gan, dcgan, lsgan, wgan, wgan_gp"):
        build("stylegan9", G, D)
    with pytest.raises(ValueError, match="unknown setting 'lr'"):
        build("dcgan", G, D, lr=1e-3)
    with pytest.raises(ValueError, match="d_steps must be an integer >= 1"):
        build("dcgan", G, D, d_steps=0)
    with pytest.raises(ValueError, match="real_range"):
        build("gan", G, D, real_range=(0.9, 0.7))
    with pytest.raises(ValueError, match="batch_size 128 is larger than the dataset"):
        Trainer(build("gan", G, D), tiny_points(64), TrainConfig(batch_size=128))
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        TrainConfig(steps=0).validate()
    assert set(MODELS) >= {"gan", "dcgan", "lsgan", "wgan", "wgan_gp"}


def _run(tmp, steps: int, resume: bool, family: str = "dcgan", **cfg):
    G, D = dcgan_pair()
    model = build(family, G, D)
    config = TrainConfig(steps=steps, batch_size=16, seed=3, device="cpu", precision="fp32",
                         log_every=2, checkpoint_every=3, checkpoint_dir=str(tmp),
                         resume=resume, ema_decay=0.9, progress=False, **cfg)
    trainer = Trainer(model, tiny_images(48), config)
    return trainer, trainer.fit()


@pytest.mark.parametrize(("family", "cut", "total"), [("dcgan", 6, 9), ("wgan_gp", 3, 5)])
def test_interrupted_and_resumed_run_ends_with_identical_weights(tmp_path, family, cut, total) -> None:
    full, hist_full = _run(tmp_path / "a", total, False, family)
    _run(tmp_path / "b", cut, False, family)  # "interrupted" after step `cut` (a checkpoint there)
    resumed, hist_res = _run(tmp_path / "b", total, True, family)
    assert resumed.history.resumed_from == cut
    a, b = _weights(full.model), _weights(resumed.model)
    assert a.keys() == b.keys() and any(k.startswith("G_ema.") for k in a)
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after resume"
    assert hist_full.losses["d"] == pytest.approx(hist_res.losses["d"], rel=0, abs=0)
    assert resumed.cursor == full.cursor


def test_same_seed_same_losses_deterministic(tmp_path) -> None:
    runs = [_run(tmp_path / str(i), 4, False, deterministic=True)[1].losses for i in range(2)]
    assert runs[0] == runs[1]


def test_nan_guard_names_step_and_keeps_last_good_checkpoint(tmp_path) -> None:
    G, D = mlp_pair()
    model = build("gan", G, D)
    real_d_loss = model.d_loss
    calls = {"n": 0}

    def poisoned(real, fake):
        calls["n"] += 1
        loss, logs = real_d_loss(real, fake)
        return (loss * float("nan") if calls["n"] == 5 else loss), logs

    model.d_loss = poisoned
    cfg = TrainConfig(steps=20, batch_size=32, device="cpu", log_every=3, checkpoint_every=2,
                      checkpoint_dir=str(tmp_path), progress=False)
    with pytest.raises(NonFiniteLossError, match=r"discriminator loss became non-finite at step 5") as err:
        Trainer(model, tiny_points(), cfg).fit()
    assert "ckpt-00000004.pt" in str(err.value)
    steps = [int(p.stem.split("-")[1]) for p in list_checkpoints(tmp_path)]
    assert max(steps) == 4  # nothing written after the NaN


def test_truncated_checkpoint_falls_back_to_previous(tmp_path) -> None:
    _run(tmp_path, 9, False)
    ckpts = list_checkpoints(tmp_path)
    assert [p.name for p in ckpts] == ["ckpt-00000003.pt", "ckpt-00000006.pt", "ckpt-00000009.pt"]
    data = ckpts[-1].read_bytes()
    ckpts[-1].write_bytes(data[: len(data) // 2])
    with pytest.warns(UserWarning, match="does not match its sha256"):
        path, state = latest_good(tmp_path)
    assert path.name == "ckpt-00000006.pt" and state["step"] == 6
    with pytest.warns(UserWarning):
        resumed, _ = _run(tmp_path, 9, True)
    assert resumed.history.resumed_from == 6 and resumed.step == 9


def test_checkpoint_from_other_architecture_is_refused(tmp_path) -> None:
    _run(tmp_path, 3, False)
    G = __import__("ganlab.nets", fromlist=["x"]).DCGANGenerator(nz=16, image_size=28, channels=1, ngf=12)
    D = __import__("ganlab.nets", fromlist=["x"]).DCGANDiscriminator(image_size=28, channels=1, ndf=12)
    cfg = TrainConfig(steps=6, batch_size=16, device="cpu", checkpoint_dir=str(tmp_path),
                      resume=True, ema_decay=0.9, progress=False)
    with pytest.raises(CheckpointError, match="architecture"):
        Trainer(build("dcgan", G, D), tiny_images(48), cfg).fit()
    cfg2 = TrainConfig(steps=6, batch_size=16, device="cpu", checkpoint_dir=str(tmp_path),
                       resume=True, progress=False)
    with pytest.raises(CheckpointError, match="family 'dcgan'"):
        Trainer(build("lsgan", *dcgan_pair()), tiny_images(48), cfg2).fit()


def test_checkpoint_of_another_run_is_refused_not_silently_resumed(tmp_path) -> None:
    """A fully convolutional G loads a checkpoint made on other data or with another recipe without
    a shape error: the run's identity (trajectory config, recipe, data) must catch it."""
    _run(tmp_path, 3, False)

    def resume(data=None, family_kw=None, **cfg):
        G, D = dcgan_pair()
        base = dict(steps=6, batch_size=16, seed=3, device="cpu", precision="fp32", log_every=2,
                    checkpoint_every=3, checkpoint_dir=str(tmp_path), resume=True, ema_decay=0.9,
                    progress=False)
        return Trainer(build("dcgan", G, D, **(family_kw or {})), data or tiny_images(48),
                       TrainConfig(**{**base, **cfg})).fit()

    with pytest.raises(CheckpointError, match=r"data\.n: checkpoint 48, this run 40"):
        resume(tiny_images(40))
    with pytest.raises(CheckpointError, match=r"recipe\.lr_g: checkpoint 0\.0002, this run 0\.001"):
        resume(family_kw={"lr_g": 1e-3})
    with pytest.raises(CheckpointError, match=r"config\.batch_size: checkpoint 16, this run 8.*RETRAIN"):
        resume(batch_size=8)
    assert len(list_checkpoints(tmp_path)) == 1  # nothing saved was lost
    hist = resume(log_every=3, eval_every=0)  # other steps / logging: the same run, extended
    assert hist.resumed_from == 3


def test_evaluation_hook_and_samples() -> None:
    class CountingEvaluator:
        def __init__(self) -> None:
            self.sizes: list[tuple[int, ...]] = []

        def evaluate(self, sample_fn):
            x = sample_fn(10)
            self.sizes.append(tuple(x.shape))
            return {"fake[mean,N=10]": float(x.mean())}

    ev = CountingEvaluator()
    G, D = dcgan_pair()
    cfg = TrainConfig(steps=6, batch_size=16, device="cpu", eval_every=2, sample_every=3,
                      n_samples=4, progress=False)
    hist = Trainer(build("dcgan", G, D), tiny_images(48), cfg, evaluator=ev).fit()
    assert [e["step"] for e in hist.evals] == [2, 4, 6]
    assert ev.sizes == [(10, 1, 28, 28)] * 3
    assert [s for s, _ in hist.samples] == [3, 6]
    grid = hist.samples[-1][1]
    assert grid.dtype == torch.uint8 and grid.shape == (4, 1, 28, 28)
    assert G.training  # evaluation put G back in train mode


def test_bf16_autocast_path_runs_and_is_finite() -> None:
    G, D = dcgan_pair()
    trainer = Trainer(build("wgan_gp", G, D), tiny_images(48),
                      TrainConfig(steps=2, batch_size=16, device="cpu", precision="bf16",
                                  channels_last=True, log_every=1, progress=False))
    hist = trainer.fit()
    assert trainer.amp_dtype == torch.bfloat16 and trainer.channels_last
    assert all(torch.isfinite(torch.tensor(v)).all() for v in hist.losses.values())
    assert "gp" in hist.losses and hist.losses["gp"][-1] >= 0


def _nearest_mode_distance(points: torch.Tensor, means: torch.Tensor) -> float:
    return torch.cdist(points, means).min(dim=1).values.mean().item()


def test_short_run_on_ring8_learns() -> None:
    from ganlab.data import load

    ds = load("ring8", limit=20000)
    means = ds.info.mode_means
    torch.manual_seed(0)
    from ganlab.nets import MLPDiscriminator, MLPGenerator

    G = MLPGenerator(nz=16, out_shape=(2,), hidden=(128, 128), out_activation=None)
    D = MLPDiscriminator(in_shape=(2,), hidden=(128, 128), dropout=0.0)
    model = build("gan", G, D, lr_g=1e-3, lr_d=1e-3)
    before = _nearest_mode_distance(model.sample(2500, seed=1), means)
    Trainer(model, ds, TrainConfig(steps=600, batch_size=256, device="cpu", seed=0,
                                   log_every=100, progress=False)).fit()
    after = _nearest_mode_distance(model.sample(2500, seed=1), means)
    assert after < 0.5 * before, (before, after)


def test_auto_precision_is_fp32_for_mlps_and_mixed_for_conv_nets() -> None:
    from ganlab.device import autocast_dtype

    mlp = Trainer(build("gan", *mlp_pair()), tiny_points(), TrainConfig(device="cpu", batch_size=32))
    assert mlp.amp_dtype is None and not mlp.channels_last
    conv = Trainer(build("dcgan", *dcgan_pair()), tiny_images(48), TrainConfig(device="cpu", batch_size=16))
    assert conv.amp_dtype == autocast_dtype(torch.device("cpu"), "auto")


def test_describe_device_names_the_cpu_and_its_threads() -> None:
    from ganlab.device import cpu_model, describe_device

    text = describe_device(torch.device("cpu"))
    assert cpu_model() in text and f"{torch.get_num_threads()} threads" in text
    import os

    if not os.path.exists("/proc/cpuinfo"):
        pytest.skip("no /proc/cpuinfo on this system")
    with open("/proc/cpuinfo") as fh:  # Linux, as in CI: the model name is read from here
        names = [ln.split(":", 1)[1].strip() for ln in fh if ln.lower().startswith("model name")]
    assert names and " ".join(names[0].split()) == cpu_model()


def test_cuda_speed_flags_change_nothing_on_cpu_and_restore_on_cuda() -> None:
    """TF32 + cuDNN autotuning only on CUDA, only inside the block, previous flags restored."""
    from ganlab.device import _set_tf32_state, _tf32_on, _tf32_state, cuda_speed_flags

    saved = (_tf32_state(), torch.backends.cudnn.benchmark)
    off = "ieee" if isinstance(_tf32_on(), str) else False
    try:
        _set_tf32_state(off)
        torch.backends.cudnn.benchmark = False
        with cuda_speed_flags("cpu"):
            assert (_tf32_state(), torch.backends.cudnn.benchmark) == (off, False)
        with cuda_speed_flags("cuda", enabled=False):
            assert (_tf32_state(), torch.backends.cudnn.benchmark) == (off, False)
        with pytest.raises(RuntimeError, match="failing step"), cuda_speed_flags("cuda"):
            assert (_tf32_state(), torch.backends.cudnn.benchmark) == (_tf32_on(), True)
            raise RuntimeError("a failing step")
        assert (_tf32_state(), torch.backends.cudnn.benchmark) == (off, False)
    finally:
        _set_tf32_state(saved[0])
        torch.backends.cudnn.benchmark = saved[1]
