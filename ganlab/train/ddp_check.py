"""``make ddp-check``: does a data-parallel run follow the single-process run?

Trains the same short run twice on the CPU — once in this process with :class:`Trainer`, once
as ``world_size`` gloo processes on 127.0.0.1 with :class:`DistributedTrainer` and the same
*global* batch — for each family asked (default :data:`FAMILIES`: the vanilla GAN, LSGAN,
WGAN-GP with its gradient penalty's double backward, the conditional GAN with its fake labels,
InfoGAN with its codes, SNGAN, StyleGAN-lite with its noise inputs and style mixing, RealnessGAN,
SRResNet, SRGAN and pix2pix with its dropout), on toy models without batch norm (:func:`toy_model`:
``ring8`` points, random 8 and 28 px images). Prints one JSON line::

    {"world_size": 2, "max_abs_param_diff": 4.4e-07, "families": ["gan", "lsgan", ...],
     "per_family": {"gan": ..., "cgan": ...}, "steps": 30, "batch_size": 64, ...}

where ``max_abs_param_diff`` is the largest absolute difference of any generator or
discriminator parameter (or floating-point buffer) after the run, and exits 1 when it exceeds ``--tolerance`` (1e-4).

``--broken own-z`` makes every rank draw its own latent codes and penalty weights (its own
generator, seeded ``seed + rank``) instead of its slice of the global draw: the check must then
fail, which shows it can. ``--launcher torchrun`` starts the ranks with ``torchrun``
(``python -m torch.distributed.run``) instead of ``torch.multiprocessing``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganlab.data.dataset import Dataset, DatasetInfo
from ganlab.data.mixtures import RING8_STD, ring8_means, sample_mixture
from ganlab.io import safe_torch_load
from ganlab.models import build
from ganlab.models.base import Family
from ganlab.nets import MLPDiscriminator, MLPGenerator
from ganlab.rng import ShardGenerator
from ganlab.train.config import TrainConfig
from ganlab.train.loop import Trainer

__all__ = ["ALL_FAMILIES", "toy_data", "toy_model", "job_config", "run_single", "run_distributed", "max_param_diff", "main"]



#: every family of ganlab.models (ganlab.models.MODELS), each with a toy model below
ALL_FAMILIES = ("gan", "dcgan", "lsgan", "wgan", "wgan_gp", "sngan", "cgan", "infogan", "stylegan", "realnessgan",
                "srresnet", "srgan", "pix2pix", "cyclegan")
#: what ``make ddp-check`` compares by default: every family exact on the CPU but CycleGAN (its
#: instance norm over 2 x 2 maps amplifies float noise over steps; tests/test_distributed.py
#: compares it after one step)
FAMILIES = ALL_FAMILIES[:-1]
#: toy runs that are chaotic in float noise even in one process, compared after fewer steps: the
#: StyleGAN-lite toy at 1 vs 2 threads differs by 1.3e-7 after 2 steps, 3.7e-5 after 5 and 3e-3
#: after 30 (Adam turns rounding noise in near-zero gradients into full-size steps)
STEPS_CAP = {"stylegan": 2}


def _random_images(name: str, n: int, size: int, seed: int) -> Dataset:
    images = torch.randint(0, 256, (n, 1, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))
    return Dataset(info=DatasetInfo(name=name, kind="image", channels=1, size=size, n_classes=None, classes=None,
                                    source="random", licence="none"), images=images)


def toy_data(n: int = 1024, family: str = "gan") -> Any:
    """``n`` ``ring8`` points (float32 ``(n, 2)``, with their mode as label for ``"cgan"``),
    generated in memory (seed 0); for ``"cyclegan"``, an :class:`~ganlab.data.UnpairedDataset` of
    two domains of 64 random ``(1, 8, 8)`` images; for ``"srresnet"`` / ``"srgan"``, 128 random
    ``(1, 8, 8)`` targets paired with their 2 x 2 average-pooled ``(1, 4, 4)`` sources; for
    ``"pix2pix"``, 128 random ``(1, 8, 8)`` sources paired with 128 random targets."""
    if family == "cyclegan":
        from ganlab.data.unpaired import UnpairedDataset

        return UnpairedDataset(DatasetInfo(name="toy_ab", kind="image", channels=1, size=8, n_classes=None,
                                           classes=None, source="random", licence="none"),
                               _random_images("a", 64, 8, 1), _random_images("b", 64, 8, 2))
    if family == "stylegan":
        return _random_images("toy_28", 256, 28, 6)
    if family == "pix2pix":
        target = _random_images("toy_pairs", 128, 8, 4)
        return Dataset(info=target.info, images=target.images, sources=_random_images("s", 128, 8, 5).images)
    if family in ("srresnet", "srgan"):
        hr = _random_images("toy_x2", 128, 8, 3)
        lr = torch.nn.functional.avg_pool2d(hr.images.float(), 2).round().to(torch.uint8)
        return Dataset(info=hr.info, images=hr.images, sources=lr)
    points, labels = sample_mixture(ring8_means(), RING8_STD, n, torch.Generator().manual_seed(0))
    info = DatasetInfo(name="ring8", kind="points", channels=None, size=None,
                       n_classes=8 if family == "cgan" else None, classes=None, source="generated", licence="none")
    return Dataset(info=info, points=points, labels=labels if family == "cgan" else None)


class _ToyConditional(nn.Module):
    """A class-conditional MLP: ``[input | Embedding(y)] -> 64 -> 64 -> out`` (``G(z, y)`` with
    ``out=2``, ``D(x, y)`` with ``out=1`` squeezed to ``(N,)``)."""

    def __init__(self, n_in: int, out: int, n_classes: int = 8, nz: int | None = None) -> None:
        super().__init__()
        self.n_classes, self.out = n_classes, out
        if nz is not None:
            self.nz = nz
        self.embed = nn.Embedding(n_classes, 8)
        self.net = nn.Sequential(nn.Linear(n_in + 8, 64), nn.LeakyReLU(0.2), nn.Linear(64, 64), nn.LeakyReLU(0.2),
                                 nn.Linear(64, out))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.net(torch.cat([x, self.embed(y)], dim=1))
        return h.squeeze(1) if self.out == 1 else h


class _ToyInfoD(nn.Module):
    """An InfoGAN D + Q on 2-D points: shared ``2 -> 64 -> 64`` body, a logit head and a Q head
    (4 category logits, 1 continuous mean); no batch norm."""

    n_categories, n_continuous = 4, 1

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, 64), nn.LeakyReLU(0.2), nn.Linear(64, 64), nn.LeakyReLU(0.2))
        self.d_head, self.q_head = nn.Linear(64, 1), nn.Linear(64, self.n_categories + self.n_continuous)

    def forward_with_q(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.body(x)
        q = self.q_head(h)
        return self.d_head(h).squeeze(1), q[:, :self.n_categories], q[:, self.n_categories:]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.d_head(self.body(x)).squeeze(1)


def toy_model(family: str, seed: int = 0) -> Family:
    """The toy model of ``family`` (:data:`ALL_FAMILIES`), no batch norm, weights from
    ``torch.manual_seed(seed)``: for the 2-D families an MLP G ``(N, 8) -> (N, 2)`` and D ``(N, 2)
    -> (N,)``, 2 x 64 hidden units (``cgan``: both conditioned on the mode's label; ``infogan``: G
    on 3 noise + 4 categories + 1 continuous code, D with a Q head; ``realnessgan``: D over 4
    outcomes). ``"cyclegan"``: two tiny ResNet generators ``(N, 1, 8, 8) -> (N, 1, 8, 8)`` and two
    PatchGAN discriminators with instance norm, ``pool_size=0``. ``"srresnet"`` / ``"srgan"``: an
    x2 SRResNet (4 channels, 1 block, no batch norm) and a 2-conv D; pixel-MSE content loss.
    ``"pix2pix"``: an 8 px U-Net (dropout 0.5, no norm) and a PatchGAN D with instance norm.
    ``"sngan"``: the 2-D MLPs, D spectrally normalised. ``"stylegan"``: a 28 px StyleGAN-lite
    (width 4, mapping depth 2, noise inputs and style mixing on) against a DCGAN D without norm."""
    torch.manual_seed(seed)
    if family == "cyclegan":  # ResNet Gs and PatchGAN Ds with instance norm, no pool: exact under DDP
        from ganlab.nets import PatchDiscriminator, ResNetGenerator

        nets = [ResNetGenerator(channels=1, image_size=8, ngf=4, blocks=1) for _ in range(2)]
        nets += [PatchDiscriminator(in_channels=1, ndf=4, n_layers=1, norm="instance") for _ in range(2)]
        return build("cyclegan", *nets, pool_size=0)
    if family == "stylegan":  # noise inputs, style mixing and w_avg: all drawn / tracked per step
        from ganlab.nets import DCGANDiscriminator, StyleGenerator

        G = StyleGenerator(nz=8, image_size=28, channels=1, width=4, mapping_depth=2, layers_per_resolution=1)
        return build("stylegan", G, DCGANDiscriminator(image_size=28, channels=1, ndf=4, norm="none"))
    if family == "pix2pix":  # a U-Net with pix2pix's dropout as its noise, no norm; a PatchGAN D with instance norm
        from ganlab.nets import PatchDiscriminator, UNetGenerator

        G = UNetGenerator(in_channels=1, out_channels=1, image_size=8, ngf=4, dropout=0.5, norm="none")
        return build("pix2pix", G, PatchDiscriminator(in_channels=2, ndf=4, n_layers=1, norm="instance"))
    if family in ("srresnet", "srgan"):
        from ganlab.nets import SRResNet

        G = SRResNet(scale=2, channels=1, width=4, blocks=1, norm="none")
        if family == "srresnet":
            return build("srresnet", G)
        D = nn.Sequential(nn.Conv2d(1, 4, 3, 2, 1), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(64, 1), nn.Flatten(0))
        return build("srgan", G, D, content="mse", adv_weight=0.1)
    if family == "cgan":
        return build("cgan", _ToyConditional(8, 2, nz=8), _ToyConditional(2, 1), fake_labels="uniform")
    if family == "infogan":
        G = MLPGenerator(nz=3 + 4 + 1, out_shape=(2,), hidden=(64, 64), out_activation=None, norm="none")
        return build("infogan", G, _ToyInfoD(), noise_dim=3)
    G = MLPGenerator(nz=8, out_shape=(2,), hidden=(64, 64), out_activation=None, norm="none")
    if family == "sngan":  # spectral norm on D's linear layers (its power iteration: buffers)
        return build("sngan", G, MLPDiscriminator(in_shape=(2,), hidden=(64, 64), dropout=0.0))
    if family == "realnessgan":
        D = nn.Sequential(nn.Linear(2, 64), nn.LeakyReLU(0.2), nn.Linear(64, 64), nn.LeakyReLU(0.2), nn.Linear(64, 4))
        return build("realnessgan", G, D, outcomes=4)
    D = MLPDiscriminator(in_shape=(2,), hidden=(64, 64), dropout=0.0)
    return build(family, G, D)


def job_config(job: dict[str, Any]) -> TrainConfig:
    """The :class:`TrainConfig` of a job dict (``steps``, ``batch_size``, ``seed``, optional
    ``checkpoint_dir``, ``checkpoint_every``, ``resume``): fp32 on the CPU, EMA on."""
    return TrainConfig(steps=job["steps"], batch_size=job["batch_size"], seed=job.get("seed", 0), device="cpu",
                       precision="fp32", ema_decay=0.99, log_every=max(1, job["steps"] // 3), progress=False,
                       checkpoint_dir=job.get("checkpoint_dir"), checkpoint_every=job.get("checkpoint_every", 0),
                       resume=bool(job.get("resume", False)))


def run_single(job: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Train ``job`` in this process; returns the model's ``state_dict`` (CPU tensors)."""
    trainer = Trainer(toy_model(job["family"]), toy_data(family=job["family"]), job_config(job))
    trainer.fit()
    return _cpu_state(trainer.model)


def _cpu_state(model: Family) -> dict[str, Any]:
    """``model.state_dict()`` with its tensors copied to the CPU (extra state kept as it is)."""
    return {k: v.detach().cpu().clone() if torch.is_tensor(v) else v for k, v in model.state_dict().items()}


def _worker(jobs: list[dict[str, Any]], out_dir: str) -> None:
    """One rank: run every job with :class:`DistributedTrainer`; rank 0 saves each final state
    to ``out_dir/<name>.pt``."""
    import torch.distributed as dist

    from ganlab.train.distributed import DistributedTrainer, init_from_env

    torch.set_num_threads(1)
    rank, world = init_from_env("gloo")

    class OwnZ(DistributedTrainer):  # the deliberately broken variant: each rank its own draws
        def _make_latent_generator(self) -> ShardGenerator:
            return ShardGenerator(self.config.seed + self.rank, 0, 1, self.device)

    try:
        for job in jobs:
            cls = OwnZ if job.get("broken") == "own-z" else DistributedTrainer
            trainer = cls(toy_model(job["family"]), toy_data(family=job["family"]), job_config(job))
            trainer.fit()
            if rank == 0:
                state = _cpu_state(trainer.model)
                torch.save({"state": state, "history": trainer.history.losses}, Path(out_dir) / f"{job['name']}.pt")
            dist.barrier()
    finally:
        dist.destroy_process_group()


def _spawned(rank: int, world: int, port: int, jobs: list[dict[str, Any]], out_dir: str) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    _worker(jobs, out_dir)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_distributed(jobs: list[dict[str, Any]], world_size: int = 2,
                    launcher: str = "spawn") -> dict[str, dict[str, Any]]:
    """Run ``jobs`` (in order, in one process group) on ``world_size`` gloo CPU processes.

    Returns:
        job name -> ``{"state": state_dict, "history": losses}`` of rank 0 after the job.
    """
    with tempfile.TemporaryDirectory(prefix="ganlab-ddp-") as out:
        port = _free_port()
        if launcher == "spawn":
            import torch.multiprocessing as mp

            mp.spawn(_spawned, args=(world_size, port, jobs, out), nprocs=world_size, join=True)
        elif launcher == "torchrun":
            spec = Path(out) / "jobs.json"
            spec.write_text(json.dumps(jobs))
            env = {**os.environ, "OMP_NUM_THREADS": "1"}
            subprocess.run([sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={world_size}",
                            "--master_addr=127.0.0.1", f"--master_port={port}",
                            "-m", "ganlab.train.ddp_check", "--worker", str(spec)], check=True, env=env)
        else:
            raise ValueError(f"launcher {launcher!r} is not known; accepted: spawn, torchrun")
        return {job["name"]: safe_torch_load(Path(out) / f"{job['name']}.pt") for job in jobs}


def max_param_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], family: str) -> float:
    """Largest absolute difference of any generator or discriminator parameter or floating-point
    buffer (spectral norm's vectors, StyleGAN-lite's ``w_avg``; not the EMA copies) between two
    ``state_dict``s of ``family``'s toy model."""
    names = [f"{net}.{p}" for net, module in toy_model(family).networks().items()
             for p, t in [*module.named_parameters(), *module.named_buffers()] if t.is_floating_point()]
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in names)


def check(families: tuple[str, ...] = FAMILIES, steps: int = 30, batch_size: int = 64, world_size: int = 2,
          launcher: str = "spawn", broken: str | None = None) -> dict[str, Any]:
    """Train each family in one process and on ``world_size`` processes; the JSON report."""
    t0 = time.perf_counter()
    jobs = [{"name": f, "family": f, "steps": min(steps, STEPS_CAP.get(f, steps)), "batch_size": batch_size,
             "seed": 0, "broken": broken} for f in families]
    single = {job["name"]: run_single(job) for job in jobs}
    t1 = time.perf_counter()
    multi = run_distributed(jobs, world_size, launcher)
    t2 = time.perf_counter()
    per = {f: max_param_diff(single[f], multi[f]["state"], f) for f in families}
    return {"world_size": world_size, "max_abs_param_diff": max(per.values()), "families": list(families),
            "per_family": per, "steps": steps, "steps_capped": {j["name"]: j["steps"] for j in jobs if j["steps"] != steps}, "batch_size": batch_size, "per_rank_batch": batch_size // world_size,
            "launcher": launcher, "broken": broken, "device": "cpu", "backend": "gloo",
            "seconds_single": round(t1 - t0, 2), "seconds_distributed": round(t2 - t1, 2)}


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module); returns the exit code (1: the difference exceeds the tolerance)."""
    ap = argparse.ArgumentParser(prog="python -m ganlab.train.ddp_check", description=__doc__.splitlines()[0])
    ap.add_argument("--families", nargs="+", default=list(FAMILIES))
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=64, help="the global batch")
    ap.add_argument("--world-size", type=int, default=2)
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--launcher", choices=("spawn", "torchrun"), default="spawn")
    ap.add_argument("--broken", choices=("own-z",), default=None, help="a variant that must fail the check")
    ap.add_argument("--worker", metavar="JOBS_JSON", help=argparse.SUPPRESS)  # a torchrun rank
    args = ap.parse_args(argv)
    if args.worker:
        spec = Path(args.worker)
        _worker(json.loads(spec.read_text()), str(spec.parent))
        return 0
    torch.set_num_threads(1)
    report = check(tuple(args.families), args.steps, args.batch_size, args.world_size, args.launcher, args.broken)
    report["tolerance"] = args.tolerance
    report["passed"] = report["max_abs_param_diff"] <= args.tolerance
    print(json.dumps(report))
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
