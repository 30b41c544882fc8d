"""``make ddp-check``: does a data-parallel run follow the single-process run?

Trains the same short run twice on the CPU — once in this process with :class:`Trainer`, once
as ``world_size`` gloo processes on 127.0.0.1 with :class:`DistributedTrainer` and the same
*global* batch — for each family asked (default: the vanilla GAN and WGAN-GP, so the gradient
penalty's double backward is covered), on ``ring8`` points with MLPs without batch norm or
dropout. Prints one JSON line::

    {"world_size": 2, "max_abs_param_diff": 1.2e-07, "families": ["gan", "wgan_gp"],
     "per_family": {"gan": ..., "wgan_gp": ...}, "steps": 30, "batch_size": 64, ...}

where ``max_abs_param_diff`` is the largest absolute difference of any generator or
discriminator parameter after the run, and exits 1 when it exceeds ``--tolerance`` (1e-4).

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

from ganlab.data.dataset import Dataset, DatasetInfo
from ganlab.data.mixtures import RING8_STD, ring8_means, sample_mixture
from ganlab.io import safe_torch_load
from ganlab.models import build
from ganlab.models.base import Family
from ganlab.nets import MLPDiscriminator, MLPGenerator
from ganlab.rng import ShardGenerator
from ganlab.train.config import TrainConfig
from ganlab.train.loop import Trainer

__all__ = ["toy_data", "toy_model", "job_config", "run_single", "run_distributed", "max_param_diff", "main"]

FAMILIES = ("gan", "wgan_gp")


def toy_data(n: int = 1024, family: str = "gan") -> Any:
    """``n`` ``ring8`` points (float32 ``(n, 2)``), generated in memory (seed 0); for
    ``"cyclegan"``, an :class:`~ganlab.data.UnpairedDataset` of two domains of 64 random
    ``(1, 8, 8)`` images."""
    if family == "cyclegan":
        from ganlab.data.unpaired import UnpairedDataset

        def domain(name: str, seed: int) -> Dataset:
            images = torch.randint(0, 256, (64, 1, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))
            return Dataset(info=DatasetInfo(name=name, kind="image", channels=1, size=8, n_classes=None, classes=None,
                                            source="random", licence="none"), images=images)

        return UnpairedDataset(DatasetInfo(name="toy_ab", kind="image", channels=1, size=8, n_classes=None,
                                           classes=None, source="random", licence="none"), domain("a", 1), domain("b", 2))
    points, labels = sample_mixture(ring8_means(), RING8_STD, n, torch.Generator().manual_seed(0))
    info = DatasetInfo(name="ring8", kind="points", channels=None, size=None, n_classes=None,
                       classes=None, source="generated", licence="none")
    return Dataset(info=info, points=points)


def toy_model(family: str, seed: int = 0) -> Family:
    """The 2-D toy GAN of ``family``: MLP G ``(N, 8) -> (N, 2)`` and D ``(N, 2) -> (N,)``, 2 x 64
    hidden units, no batch norm, no dropout; weights from ``torch.manual_seed(seed)``. For
    ``"cyclegan"``: two tiny ResNet generators ``(N, 1, 8, 8) -> (N, 1, 8, 8)`` and two PatchGAN
    discriminators with instance norm, ``pool_size=0``."""
    torch.manual_seed(seed)
    if family == "cyclegan":  # ResNet Gs and PatchGAN Ds with instance norm, no pool: exact under DDP
        from ganlab.nets import PatchDiscriminator, ResNetGenerator

        nets = [ResNetGenerator(channels=1, image_size=8, ngf=4, blocks=1) for _ in range(2)]
        nets += [PatchDiscriminator(in_channels=1, ndf=4, n_layers=1, norm="instance") for _ in range(2)]
        return build("cyclegan", *nets, pool_size=0)
    G = MLPGenerator(nz=8, out_shape=(2,), hidden=(64, 64), out_activation=None, norm="none")
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
    """Largest absolute difference of any generator or discriminator parameter (not EMA, not
    buffers) between two ``state_dict``s of ``family``'s toy model."""
    names = [f"{net}.{p}" for net, module in toy_model(family).networks().items()
             for p, _ in module.named_parameters()]
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in names)


def check(families: tuple[str, ...] = FAMILIES, steps: int = 30, batch_size: int = 64, world_size: int = 2,
          launcher: str = "spawn", broken: str | None = None) -> dict[str, Any]:
    """Train each family in one process and on ``world_size`` processes; the JSON report."""
    t0 = time.perf_counter()
    jobs = [{"name": f, "family": f, "steps": steps, "batch_size": batch_size, "seed": 0, "broken": broken}
            for f in families]
    single = {job["name"]: run_single(job) for job in jobs}
    t1 = time.perf_counter()
    multi = run_distributed(jobs, world_size, launcher)
    t2 = time.perf_counter()
    per = {f: max_param_diff(single[f], multi[f]["state"], f) for f in families}
    return {"world_size": world_size, "max_abs_param_diff": max(per.values()), "families": list(families),
            "per_family": per, "steps": steps, "batch_size": batch_size, "per_rank_batch": batch_size // world_size,
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
