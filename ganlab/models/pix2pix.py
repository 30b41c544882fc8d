"""pix2pix (Isola et al. 2017): a conditional GAN from paired source -> target images.

G translates a source (a label map) into an image; D judges (source, image) pairs, patch by
patch. G's loss is the adversarial term plus ``l1_weight`` x the L1 distance to the paired
target (lambda = 100 in the paper); the loss ablation switches either term off:

* ``pix2pix_l1``: ``adversarial=False`` — only the L1 term, D is never trained (a regression:
  where the target is uncertain it predicts the average, which is blurry);
* ``pix2pix_cgan``: ``l1_weight=0`` — only the conditional GAN;
* ``pix2pix_l1_cgan``: both (the paper's choice).

D minimises half the usual BCE (pix2pix slows D relative to G that way), averaged over every
patch logit; G uses the non-saturating loss. Batches come from a paired set
(:attr:`Batch.source <ganlab.data.Batch>` = source, ``Batch.real`` = target).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlab.losses import d_loss_bce, g_loss_nonsaturating
from ganlab.models.base import Family, Phase, StepContext

__all__ = ["Pix2Pix", "check_paired", "source_inputs"]


def check_paired(family: str, dataset: Any, in_channels: int, out_channels: int, scale: int = 1) -> None:
    """Raise ``ValueError`` unless ``dataset`` pairs ``in_channels`` sources with ``out_channels``
    targets whose side is ``scale`` x the source's (1 for pix2pix)."""
    sources = getattr(dataset, "sources", None)
    name = getattr(getattr(dataset, "info", None), "name", type(dataset).__name__)
    if sources is None:
        raise ValueError(f"{family} trains on a paired set (every image with its source); {name!r} has no "
                         "sources; accepted: e.g. ganlab.data.load('shapes_paired') or 'facades'")
    (cs, hs, ws), (ct, ht, wt) = tuple(sources.shape[1:]), tuple(dataset.images.shape[1:])
    if (hs * scale, ws * scale) != (ht, wt):
        want = "the same size as" if scale == 1 else f"{scale}x the size of"
        raise ValueError(f"{family}: {name!r} pairs {hs}x{ws} sources with {ht}x{wt} targets; accepted: "
                         f"targets {want} their sources")
    if (cs, ct) != (in_channels, out_channels):
        raise ValueError(f"{family}: {name!r} has {cs}-channel sources and {ct}-channel targets, but the networks "
                         f"take {in_channels} and give {out_channels}; accepted: matching channels")


def source_inputs(family: str, n: int, device: torch.device | str | None, z: Tensor | None,
                  source: Tensor | None, conditions: dict[str, Any]) -> dict[str, Tensor]:
    """``{"source": (n, C, H, W)}`` for a family that translates given images (pix2pix, CycleGAN).

    Raises:
        ValueError: no ``source``, a source count other than ``n``, a latent ``z`` or another condition.
    """
    if conditions or z is not None:
        given = ", ".join([*conditions, *(["z"] if z is not None else [])])
        raise ValueError(f"{family} takes only source=; given {given}")
    if source is None or source.dim() != 4 or source.shape[0] != n:
        got = None if source is None else tuple(source.shape)
        raise ValueError(f"{family} translates images: give source=(n={n}, C, H, W) in [-1, 1]; given {got}")
    return {"source": source if device is None else source.to(device)}


class Pix2Pix(Family):
    """A U-Net G(source) and a PatchGAN D(source, image) (see :mod:`ganlab.nets.image_to_image`).

    Args:
        G: ``(N, C_s, S, S) -> (N, C_t, S, S)`` with ``in_channels`` / ``out_channels``.
        D: ``(N, C_s + C_t, S, S) -> (N, 1, H', W')`` patch logits.
        **overrides: recipe fields or extras ``l1_weight`` (100), ``adversarial`` (True).
    """

    family = "pix2pix"
    defaults: dict[str, Any] = {"lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999),
                                "extra": {"l1_weight": 100.0, "adversarial": True}}

    def __init__(self, G: nn.Module, D: nn.Module, **overrides: Any) -> None:
        super().__init__({"G": G, "D": D}, **overrides)

    def check_extra(self) -> None:
        x = self.recipe.extra
        if not x["l1_weight"] >= 0:
            raise ValueError(f"l1_weight must be >= 0, got {x['l1_weight']!r}")
        if not isinstance(x["adversarial"], bool):
            raise ValueError(f"adversarial must be True or False, got {x['adversarial']!r}")
        if x["l1_weight"] == 0 and not x["adversarial"]:
            raise ValueError("pix2pix with l1_weight=0 and adversarial=False has no loss; accepted: either term on")

    @property
    def nz(self) -> int:
        return 0

    def shards_reason(self) -> str | None:
        """Data-parallel runs are exact: the U-Net's dropout (pix2pix's noise) draws its masks from
        the step's generator (:class:`ganlab.nets.layers.StepDropout`), and the patch BCE and L1
        losses are means over rows."""
        return self.global_draws_reason()

    def check_data(self, dataset: Any) -> None:
        check_paired(self.family, dataset, self.G.in_channels, self.G.out_channels)
        size = getattr(self.G, "image_size", None)
        if size is not None and tuple(dataset.images.shape[2:]) != (size, size):
            raise ValueError(f"pix2pix: the generator was built for {size} px, the data {dataset.info.name!r} are "
                             f"{tuple(dataset.images.shape[2:])}; accepted: networks built for the data's size")

    def phases(self) -> list[Phase]:
        """D then G on the same batch; only G when the adversarial term is off."""
        g = Phase("g", fresh_batch=not self.recipe.extra["adversarial"], freeze=("D",))
        return [Phase("d"), g] if self.recipe.extra["adversarial"] else [g]

    def sample_inputs(self, n: int, device: torch.device | str | None = None,
                      generator: torch.Generator | None = None, *, z: Tensor | None = None,
                      source: Tensor | None = None, **conditions: Any) -> dict[str, Tensor]:
        """``{"source": (n, C_s, S, S)}``: pix2pix translates given sources (no latent code).

        Raises:
            ValueError: no ``source``, a source count other than ``n``, or another condition.
        """
        return source_inputs(self.family, n, device, z, source, conditions)

    def generate(self, net: nn.Module, **inputs: Tensor) -> Tensor:
        return net(inputs["source"])

    def discriminate(self, source: Tensor, image: Tensor) -> Tensor:
        """Patch logits of (source, image) pairs, flattened to ``(N, P)``."""
        return self.D(torch.cat([source, image], dim=1)).flatten(1)

    def phase_loss(self, group: str, batch: Any, ctx: StepContext) -> tuple[Tensor, dict[str, Tensor]]:
        source, target = batch.source, batch.real
        if group == "d":
            fake = self.fakes_for_d(ctx, {"source": source})
            loss = 0.5 * d_loss_bce(self.discriminate(source, target), self.discriminate(source, fake))
            return loss, {}
        fake, _ = self.reuse_or_generate(ctx, lambda: {"source": source})
        x = self.recipe.extra
        l1 = F.l1_loss(fake.float(), target.float())
        loss = x["l1_weight"] * l1
        if x["adversarial"]:
            loss = loss + g_loss_nonsaturating(self.discriminate(source, fake))
        return loss, {"l1": l1}
