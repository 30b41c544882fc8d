"""Data-parallel training (``ganlab.train.distributed``) on CPU gloo processes over 127.0.0.1: a run
on two processes follows the single-process run (``make ddp-check``), the check can fail, resume
is exact, checkpoints move between one and several processes, and what cannot be exact says why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from ganlab import rng
from ganlab.models import build
from ganlab.nets import MLPDiscriminator, MLPGenerator
from ganlab.train import Trainer
from ganlab.train import distributed as ddp
from ganlab.train.ddp_check import (
    check,
    job_config,
    max_param_diff,
    run_distributed,
    run_single,
    toy_data,
    toy_model,
)

ROOT = Path(__file__).resolve().parents[1]


def test_shard_generator_gives_each_rank_its_slice_of_the_single_draw() -> None:
    single = torch.Generator().manual_seed(5)
    z, u = torch.randn(8, 3, generator=single), torch.rand(8, 1, generator=single)
    parts_z, parts_u = [], []
    for r in range(2):
        g = rng.ShardGenerator(5, r, 2)
        parts_z.append(rng.randn(4, 3, generator=g))
        parts_u.append(rng.rand(4, 1, generator=g))
        assert torch.equal(g.get_state(), single.get_state())  # every rank stays in the single run's state
    assert torch.equal(torch.cat(parts_z), z)
    assert torch.equal(torch.cat(parts_u), u)
    with pytest.raises(ValueError, match="rank 2 is not in a world of 2"):
        rng.ShardGenerator(0, 2, 2)


def test_ddp_check_passes_and_prints_one_json_line() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "ganlab.train.ddp_check", "--steps", "20"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [ln for ln in out.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert report["world_size"] == 2
    assert report["families"] == ["gan", "dcgan", "lsgan", "wgan", "wgan_gp", "sngan", "cgan", "infogan", "stylegan",
                                  "realnessgan", "srresnet", "srgan", "pix2pix"]
    from ganlab.models import MODELS
    from ganlab.train.ddp_check import ALL_FAMILIES

    assert sorted(ALL_FAMILIES) == sorted(MODELS)  # every family has a toy model and is checked
    assert report["steps_capped"] == {"stylegan": 2}
    assert report["max_abs_param_diff"] < 1e-4 and report["passed"]


def test_the_check_fails_when_families_draw_their_own() -> None:
    """Fake labels (cgan), codes (infogan), StyleGAN-lite's noise and mixing and pix2pix's dropout
    masks are step randomness too: drawn per rank, the runs part."""
    report = check(("cgan", "infogan", "stylegan", "pix2pix"), steps=20, broken="own-z")
    assert min(report["per_family"].values()) > 1e-3


def test_step_dropout_and_noise_follow_the_step_generator() -> None:
    from ganlab.nets.layers import StepDropout

    drop = StepDropout(0.5).train()
    x = torch.ones(8, 6)
    torch.manual_seed(1)
    outside = drop(x)  # outside a training step: nn.Dropout's masks exactly
    torch.manual_seed(1)
    assert torch.equal(outside, torch.nn.Dropout(0.5).train()(x))
    with rng.step_generator(torch.Generator().manual_seed(4)):
        whole = drop(x)
    halves = []
    for r in range(2):
        with rng.step_generator(rng.ShardGenerator(4, r, 2)):
            halves.append(drop(x[:4]))
    assert torch.equal(torch.cat(halves), whole) and set(whole.unique().tolist()) == {0.0, 2.0}
    assert torch.equal(drop.eval()(x), x)
    with pytest.raises(ValueError, match="dropout p=1.0"):
        StepDropout(1.0)


def test_rng_randint_is_torch_randint_and_shards() -> None:
    single = torch.Generator().manual_seed(3)
    want = torch.randint(10, (8,), generator=single)
    assert torch.equal(rng.randint(10, 8, generator=torch.Generator().manual_seed(3)), want)
    parts = [rng.randint(10, 4, generator=rng.ShardGenerator(3, r, 2)) for r in range(2)]
    assert torch.equal(torch.cat(parts), want)
    copies = rng.randint(10, 8, generator=rng.CopyGenerators([3, 4]))
    assert torch.equal(copies[:4], torch.randint(10, (4,), generator=torch.Generator().manual_seed(3)))


def test_the_check_fails_when_each_rank_draws_its_own_noise() -> None:
    report = check(("gan",), steps=20, broken="own-z")
    assert report["max_abs_param_diff"] > 1e-3  # far above the 1e-4 tolerance: the check can fail


def test_resume_and_checkpoints_between_one_and_two_processes(tmp_path: Path) -> None:
    base = {"family": "wgan_gp", "batch_size": 32, "seed": 0}
    # a single-process checkpoint at step 3, for the distributed run to resume
    single_dir = tmp_path / "single"
    Trainer(toy_model("wgan_gp"), toy_data(), job_config({**base, "steps": 3, "checkpoint_dir": str(single_dir),
                                                           "checkpoint_every": 3})).fit()
    ddp_dir = tmp_path / "ddp"
    jobs = [
        {**base, "name": "full", "steps": 6},
        {**base, "name": "cut", "steps": 3, "checkpoint_dir": str(ddp_dir), "checkpoint_every": 3},
        {**base, "name": "resumed", "steps": 6, "checkpoint_dir": str(ddp_dir), "checkpoint_every": 3,
         "resume": True},
        {**base, "name": "from_single", "steps": 6, "checkpoint_dir": str(single_dir), "checkpoint_every": 3,
         "resume": True},
        {"name": "cyclegan", "family": "cyclegan", "steps": 1, "batch_size": 64, "seed": 0},
    ]
    multi = run_distributed(jobs, world_size=2)
    # four networks, generators called three times before one backward, frozen Ds in G's phase: exact
    # after a step (the tiny CycleGAN's instance norm over 2x2 maps then amplifies float noise: one
    # process at 1 vs 2 threads differs by 2e-5 after 3 steps, so longer runs cannot be compared)
    assert max_param_diff(run_single(jobs[-1]), multi["cyclegan"]["state"], "cyclegan") < 1e-6
    full = multi["full"]["state"]
    # a resumed distributed run continues exactly
    for k, v in full.items():
        assert torch.equal(multi["resumed"]["state"][k], v), k
    # the distributed run follows the single-process one (weights and logged global-batch losses)
    one = Trainer(toy_model("wgan_gp"), toy_data(), job_config({**base, "steps": 6}))
    one.fit()
    assert max_param_diff(one.model.state_dict(), full, "wgan_gp") < 1e-5
    for key, values in one.history.losses.items():
        assert torch.allclose(torch.tensor(multi["full"]["history"][key]), torch.tensor(values), atol=1e-5), key
    # a single-process checkpoint resumes on two processes ...
    assert max_param_diff(multi["from_single"]["state"], full, "wgan_gp") < 1e-5
    # ... and a distributed checkpoint (step 3; drop the resumed run's step 6) in one process
    for name in ("ckpt-00000006.pt", "ckpt-00000006.json"):
        (ddp_dir / name).unlink()
    back = Trainer(toy_model("wgan_gp"), toy_data(), job_config({**base, "steps": 6, "checkpoint_dir": str(ddp_dir),
                                                                 "checkpoint_every": 3, "resume": True}))
    back.fit()
    assert back.history.resumed_from == 3
    assert max_param_diff(back.model.state_dict(), full, "wgan_gp") < 1e-5


def _fake_world(monkeypatch: pytest.MonkeyPatch, world: int = 2) -> None:
    monkeypatch.setattr(ddp.dist, "is_initialized", lambda: True)
    monkeypatch.setattr(ddp.dist, "get_rank", lambda *a: 0)
    monkeypatch.setattr(ddp.dist, "get_world_size", lambda *a: world)
    monkeypatch.setattr(ddp.dist, "get_backend", lambda *a: "gloo")


def test_what_cannot_be_exact_raises_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="initialised process group"):
        ddp.DistributedTrainer(toy_model("gan"), toy_data(), job_config({"steps": 1, "batch_size": 64}))
    _fake_world(monkeypatch)
    cfg = job_config({"steps": 1, "batch_size": 64})

    torch.manual_seed(0)
    bn = build("gan", MLPGenerator(nz=8, out_shape=(2,), hidden=(16,), out_activation=None, norm="batch"),
               MLPDiscriminator(in_shape=(2,), hidden=(16,), dropout=0.0))
    with pytest.raises(ValueError, match=r"G: BatchNorm1d .*SyncBatchNorm runs only on GPU"):
        ddp.DistributedTrainer(bn, toy_data(), cfg)
    assert any(isinstance(m, nn.BatchNorm1d) for m in bn.G.modules())
    assert ddp.distributed_reason(bn, 64, 2, "cuda") is None  # on CUDA: SyncBatchNorm

    dropout = build("gan", MLPGenerator(nz=8, out_shape=(2,), hidden=(16,), out_activation=None),
                    MLPDiscriminator(in_shape=(2,), hidden=(16,), dropout=0.3))
    with pytest.raises(ValueError, match=r"D: Dropout\(p=0.3\)"):
        ddp.DistributedTrainer(dropout, toy_data(), cfg)
    noisy = build("gan", toy_model("gan").G, toy_model("gan").D, instance_noise=0.1)
    with pytest.raises(ValueError, match="instance noise"):
        ddp.DistributedTrainer(noisy, toy_data(), cfg)
    with pytest.raises(ValueError, match="batch_size 63 cannot be split evenly over 2"):
        ddp.DistributedTrainer(toy_model("gan"), toy_data(), job_config({"steps": 1, "batch_size": 63}))
    pooled = build("cyclegan", *toy_model("cyclegan").networks().values())  # pool_size 50
    with pytest.raises(ValueError, match="pool of 50 past fakes is one per process"):
        ddp.DistributedTrainer(pooled, toy_data(family="cyclegan"), cfg)
    assert ddp.distributed_reason(toy_model("wgan_gp"), 64, 2) is None
    assert ddp.distributed_reason(toy_model("cyclegan"), 64, 2) is None
    from ganlab.nets import DCGANDiscriminator, StyleGenerator, UNetGenerator

    style = build("stylegan", StyleGenerator(nz=8, image_size=32, channels=1, width=4),
                  DCGANDiscriminator(image_size=32, channels=1, ndf=4, norm="none"))
    assert ddp.distributed_reason(style, 64, 2) is None  # noise inputs and mixing: the step's generator
    noisy_unet = build("pix2pix", UNetGenerator(in_channels=1, out_channels=1, image_size=8, ngf=4, norm="none"),
                       toy_model("pix2pix").D)  # pix2pix's dropout (0.5) is its noise: StepDropout
    assert ddp.distributed_reason(noisy_unet, 64, 2) is None
