"""CycleGAN (Zhu et al. 2017): translation between two unpaired domains A and B.

Two generators (``G_AB``: A -> B, ``G_BA``: B -> A) and two least-squares discriminators
(``D_A`` judges domain A, ``D_B`` domain B). An adversarial loss alone lets ``G_AB`` map every
input to *some* plausible B image, ignoring which A image it got (a valid GAN, a useless
translator); the **cycle loss** ``|G_BA(G_AB(a)) - a|_1 + |G_AB(G_BA(b)) - b|_1`` (x ``cycle_weight``,
10) makes the translation keep enough of the input to bring it back, and the **identity loss**
``|G_AB(b) - b|_1 + |G_BA(a) - a|_1`` (x ``identity_weight`` x ``cycle_weight``, 0.5 x 10) keeps a
generator from changing what is already in its target domain.

Each D learns from a **pool of the 50 latest fakes** (half the time a fake from an earlier
step), which damps oscillation. The pools are family state: saved in every checkpoint
(:meth:`get_extra_state`), so a resumed run continues bit for bit. Phases: G first (both
generators, Ds frozen), then both Ds on the same batch, as the official code does. Batches come
from an :class:`~ganlab.data.unpaired.UnpairedDataset` (``Batch.real`` = A, ``Batch.other`` = B).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlab.losses import d_loss_ls
from ganlab.models.base import Family, Phase, StepContext
from ganlab.models.pix2pix import source_inputs

__all__ = ["CycleGAN", "FakePool"]


class FakePool(nn.Module):
    """The latest ``size`` generated images, mixed into D's batches (Shrivastava et al. 2017).

    :meth:`query` returns a batch as large as its input: while the pool fills, the new fakes
    (which join it); afterwards each image is, with probability 1/2, swapped for a random pooled
    one (which the new image replaces). Random draws use the run's latent RNG and the buffer is
    in ``state_dict`` (a checkpoint keeps it); no host synchronisation per step.
    """

    def __init__(self, size: int = 50) -> None:
        super().__init__()
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"pool size must be an int >= 0 (0 = no pool), got {size!r}")
        self.size = size
        self.register_buffer("images", torch.zeros(0), persistent=True)
        self.count = 0  # filled slots (a Python int: no sync; kept in the extra state)

    def get_extra_state(self) -> dict[str, int]:
        return {"count": self.count}

    def set_extra_state(self, state: dict[str, int]) -> None:
        self.count = int(state["count"])

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any) -> None:
        key = prefix + "images"
        if key in state_dict:  # the pool's shape changes as it fills: adopt the saved one
            self.images = torch.empty_like(state_dict[key], device=self.images.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def query(self, fakes: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """``(B, C, H, W)`` detached fakes -> ``(B, C, H, W)`` images for D (new and pooled)."""
        fakes = fakes.detach()
        if self.size == 0:
            return fakes
        if self.images.dim() != 4:
            self.images = torch.zeros((self.size, *fakes.shape[1:]), dtype=torch.float32, device=fakes.device)
        b = fakes.shape[0]
        fill = min(self.size - self.count, b)
        out = fakes.clone()
        if fill > 0:  # filling: the first `fill` fakes join the pool and are returned as they are
            self.images[self.count:self.count + fill] = fakes[:fill].to(self.images.dtype)
            self.count += fill
        rest = b - fill
        if rest > 0:
            dev = fakes.device
            swap = torch.rand(rest, device=dev, generator=generator) < 0.5
            slot = torch.randint(self.size, (rest,), device=dev, generator=generator)
            rows = torch.arange(fill, b, device=dev)
            out[fill:] = torch.where(swap.view(-1, 1, 1, 1), self.images[slot].to(out.dtype), fakes[fill:])
            # the newest swapping image wins its slot (deterministic when two pick the same one)
            owner = torch.full((self.size,), -1, dtype=torch.long, device=dev)
            owner.scatter_reduce_(0, slot, torch.where(swap, rows, -1), reduce="amax")
            taken = owner >= 0
            self.images = torch.where(taken.view(-1, 1, 1, 1), fakes[owner.clamp(min=0)].to(self.images.dtype),
                                      self.images)
        return out


class CycleGAN(Family):
    """Generators ``G_AB``, ``G_BA`` and LS discriminators ``D_A``, ``D_B`` (see module docs).

    Args:
        G_AB, G_BA: ``(N, C, S, S) -> (N, C, S, S)`` (e.g. :class:`~ganlab.nets.ResNetGenerator`).
        D_A, D_B: ``(N, C, S, S) -> (N, 1, H', W')`` patch logits (:class:`~ganlab.nets.PatchDiscriminator`).
        **overrides: recipe fields or extras ``cycle_weight`` (10), ``identity_weight`` (0.5: a
            fraction of ``cycle_weight``), ``pool_size`` (50; 0 = none).
    """

    family = "cyclegan"
    generators = ("G_AB", "G_BA")
    groups = {"g": ("G_AB", "G_BA"), "d": ("D_A", "D_B")}
    defaults: dict[str, Any] = {"lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999),
                                "extra": {"cycle_weight": 10.0, "identity_weight": 0.5, "pool_size": 50}}

    def __init__(self, G_AB: nn.Module, G_BA: nn.Module, D_A: nn.Module, D_B: nn.Module,  # noqa: N803
                 **overrides: Any) -> None:
        super().__init__({"G_AB": G_AB, "G_BA": G_BA, "D_A": D_A, "D_B": D_B}, **overrides)
        self.pool_A = FakePool(self.recipe.extra["pool_size"])
        self.pool_B = FakePool(self.recipe.extra["pool_size"])

    def check_extra(self) -> None:
        x = self.recipe.extra
        for key in ("cycle_weight", "identity_weight"):
            if not x[key] >= 0:
                raise ValueError(f"{key} must be >= 0, got {x[key]!r}")

    @property
    def nz(self) -> int:
        return 0

    def check_data(self, dataset: Any) -> None:
        name = getattr(getattr(dataset, "info", None), "name", type(dataset).__name__)
        if not (hasattr(dataset, "a") and hasattr(dataset, "b")):
            raise ValueError(f"cyclegan trains on two unpaired domains; {name!r} is a single set; accepted: an "
                             "UnpairedDataset, e.g. ganlab.data.load('digits_mnist') or 'monet2photo'")
        for g in ("G_AB", "G_BA"):
            want = tuple(getattr(getattr(self, g), "out_shape", dataset.shape))
            if tuple(dataset.shape) != want:
                raise ValueError(f"cyclegan: {name!r} holds {tuple(dataset.shape)} images, {g} maps {want}; "
                                 "accepted: networks built for the data's channels and size")

    def phases(self) -> list[Phase]:
        return [Phase("g", fresh_batch=True, freeze=("D_A", "D_B")), Phase("d", fresh_batch=False)]

    def shards_reason(self) -> str | None:
        """Data-parallel runs need ``pool_size=0``: each process would keep (and replay) a pool of
        its own fakes, not of the global batch's. Without the pool the step draws nothing, its
        losses are means over rows, and instance norm is per sample."""
        if self.recipe.extra["pool_size"] > 0:
            return (f"the pool of {self.recipe.extra['pool_size']} past fakes is one per process (each rank "
                    "would replay its own fakes, not the global batch's); use pool_size=0")
        return self.global_draws_reason()

    def sample_inputs(self, n: int, device: torch.device | str | None = None,
                      generator: torch.Generator | None = None, *, z: Tensor | None = None,
                      source: Tensor | None = None, **conditions: Any) -> dict[str, Tensor]:
        """``{"source": (n, C, S, S)}`` domain-A images; sampling translates them A -> B (``G_AB``)."""
        return source_inputs(self.family, n, device, z, source, conditions)

    def generate(self, net: nn.Module, **inputs: Tensor) -> Tensor:
        return net(inputs["source"])

    def phase_loss(self, group: str, batch: Any, ctx: StepContext) -> tuple[Tensor, dict[str, Tensor]]:
        a, b = batch.real, batch.other
        x = self.recipe.extra
        if group == "g":
            fake_b, fake_a = self.G_AB(a), self.G_BA(b)
            ctx.cache["fakes"] = (fake_a.detach(), fake_b.detach())
            # least squares, G's target 1 (the official code: MSE(D(fake), 1) per domain)
            adv = (self.D_B(fake_b).float() - 1).pow(2).mean() + (self.D_A(fake_a).float() - 1).pow(2).mean()
            cycle = F.l1_loss(self.G_BA(fake_b).float(), a.float()) + F.l1_loss(self.G_AB(fake_a).float(), b.float())
            loss = adv + x["cycle_weight"] * cycle
            logs = {"adv": adv, "cycle": cycle}
            if x["identity_weight"] > 0:
                idt = F.l1_loss(self.G_AB(b).float(), b.float()) + F.l1_loss(self.G_BA(a).float(), a.float())
                loss = loss + x["identity_weight"] * x["cycle_weight"] * idt
                logs["identity"] = idt
            return loss, logs
        fake_a, fake_b = ctx.cache.pop("fakes")
        old_a = self.pool_A.query(fake_a, ctx.generator)
        old_b = self.pool_B.query(fake_b, ctx.generator)
        loss = d_loss_ls(self.D_A(a), self.D_A(old_a)) + d_loss_ls(self.D_B(b), self.D_B(old_b))
        return loss, {}
