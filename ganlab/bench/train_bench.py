"""Training throughput: the real :class:`ganlab.train.Trainer` against a plain tutorial-style loop.

Both train the same DCGAN (``ganlab.nets`` G and D; the plain loop appends a Sigmoid to D and
uses ``BCELoss``) at the same configuration on synthetic data. The plain loop is what a typical
tutorial writes: a torchvision dataset (``FakeData``) of PIL images through per-item transforms
and a ``DataLoader``, and ``.item()`` on both losses every step. The two are measured
alternately in one process, so machine load affects both alike.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch
from torch import nn

__all__ = ["add_arguments", "run", "plain_loop_img_per_s", "trainer_img_per_s"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m ganlab.bench train``."""
    parser.add_argument("--model", default="dcgan", choices=("dcgan",))
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20, help="timed iterations per round")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (median taken)")
    parser.add_argument("--nz", type=int, default=100)
    parser.add_argument("--width", type=int, default=64, help="ngf = ndf")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"))
    parser.add_argument("--channels-last", default="auto", choices=("auto", "on", "off"))
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--compare-plain", action="store_true",
                        help="also time the plain tutorial loop and report the ratio")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers of the plain loop")


def _nets(args: argparse.Namespace) -> tuple[nn.Module, nn.Module]:
    from ganlab.nets import DCGANDiscriminator, DCGANGenerator

    torch.manual_seed(0)
    G = DCGANGenerator(nz=args.nz, image_size=args.image_size, channels=args.channels, ngf=args.width)
    D = DCGANDiscriminator(image_size=args.image_size, channels=args.channels, ndf=args.width)
    return G, D


def trainer_img_per_s(args: argparse.Namespace, steps: int) -> tuple[float, dict[str, Any]]:
    """Images/s of the real trainer over ``steps`` iterations after ``args.warmup`` warm-up ones."""
    from ganlab.data.dataset import Dataset, DatasetInfo
    from ganlab.models import build
    from ganlab.train import TrainConfig, Trainer

    n = args.batch_size * 8
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, args.channels, args.image_size, args.image_size),
                           dtype=torch.uint8, generator=g)
    info = DatasetInfo(name="synthetic", kind="image", channels=args.channels, size=args.image_size,
                       n_classes=None, classes=None, source="random uint8", licence="none")
    ds = Dataset(info=info, images=images)
    G, D = _nets(args)
    model = build("dcgan", G, D, lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999))
    cl = {"auto": None, "on": True, "off": False}[args.channels_last]
    cfg = TrainConfig(steps=args.warmup, batch_size=args.batch_size, device=args.device,
                      precision=args.precision, channels_last=cl, compile=args.compile,
                      log_every=max(args.warmup, 1), progress=False)
    trainer = Trainer(model, ds, cfg)
    t0 = time.perf_counter()
    trainer.fit()
    warmup_s = time.perf_counter() - t0  # includes torch.compile's compilation with --compile
    trainer.config.steps = args.warmup + steps
    trainer.config.log_every = steps
    seen0, wall0 = trainer.history.images_seen, trainer.history.wall_time
    trainer.fit()
    seen = trainer.history.images_seen - seen0
    wall = trainer.history.wall_time - wall0
    meta = {"precision": str(trainer.amp_dtype).replace("torch.", "") if trainer.amp_dtype else "fp32",
            "channels_last": trainer.channels_last, "device": str(trainer.device),
            "compile": bool(args.compile), "warmup_steps": args.warmup, "warmup_s": round(warmup_s, 3),
            "step_s": round(wall / max(steps, 1), 5)}
    return seen / wall, meta


class _Sigmoid(nn.Module):
    def __init__(self, D: nn.Module) -> None:
        super().__init__()
        self.D = D

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.D(x))


def plain_loop_img_per_s(args: argparse.Namespace, steps: int, device: torch.device) -> float:
    """Images/s of a tutorial-style loop (FakeData + transforms + DataLoader, BCELoss, .item())."""
    import torchvision.transforms as T
    from torch.utils.data import DataLoader
    from torchvision.datasets import FakeData

    G, D = _nets(args)
    netG, netD = G.to(device), _Sigmoid(D).to(device)
    norm = T.Normalize([0.5] * args.channels, [0.5] * args.channels)
    data = FakeData(size=args.batch_size * (steps + args.warmup + 1),
                    image_size=(args.channels, args.image_size, args.image_size),
                    transform=T.Compose([T.ToTensor(), norm]))
    loader = DataLoader(data, batch_size=args.batch_size, shuffle=True, drop_last=True,
                        num_workers=args.workers, persistent_workers=False)
    criterion = nn.BCELoss()
    opt_d = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    losses = []
    t0 = 0.0
    for i, (real, _) in enumerate(loader):
        if i == args.warmup:
            t0 = time.perf_counter()
        if i == args.warmup + steps:
            break
        real = real.to(device)
        b = real.size(0)
        netD.zero_grad()
        label = torch.full((b,), 1.0, device=device)
        err_real = criterion(netD(real).view(-1), label)
        err_real.backward()
        fake = netG(torch.randn(b, args.nz, device=device))
        label.fill_(0.0)
        err_fake = criterion(netD(fake.detach()).view(-1), label)
        err_fake.backward()
        opt_d.step()
        netG.zero_grad()
        label.fill_(1.0)
        err_g = criterion(netD(fake).view(-1), label)
        err_g.backward()
        opt_g.step()
        losses.append((err_real.item() + err_fake.item(), err_g.item()))
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * args.batch_size / (time.perf_counter() - t0)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Measure; returns the JSON-able result."""
    from ganlab.device import pick_device

    device = pick_device(args.device)
    ours, plain = [], []
    meta: dict[str, Any] = {}
    for _ in range(args.rounds):
        if args.compare_plain:
            plain.append(plain_loop_img_per_s(args, args.steps, device))
        value, meta = trainer_img_per_s(args, args.steps)
        ours.append(value)
    result: dict[str, Any] = {
        "bench": "train", "model": args.model, "image_size": args.image_size,
        "channels": args.channels, "batch_size": args.batch_size, "nz": args.nz,
        "width": args.width, "steps": args.steps, "rounds": args.rounds,
        "img_per_s": round(statistics.median(ours), 1), **meta,
        "torch": torch.__version__, "threads": torch.get_num_threads(),
    }
    if args.compare_plain:
        result["plain_img_per_s"] = round(statistics.median(plain), 1)
        result["speedup"] = round(result["img_per_s"] / result["plain_img_per_s"], 2)
    return result
