"""The original GAN objective (Goodfellow et al. 2014) and DCGAN (Radford et al. 2016).

D minimises binary cross-entropy on logits; G minimises the non-saturating loss -log D(G(z))
(or, for the theory notebook, the saturating minimax loss log(1 - D(G(z)))). Label smoothing
is a recipe setting: constant targets (one-sided smoothing, ``real_target=0.9``) or random
targets drawn per sample from a range each step (the vanilla-GAN report's fake in [0, 0.3],
real in [0.7, 1]: ``real_range=(0.7, 1.0), fake_range=(0.0, 0.3)``).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ganlab.losses import d_loss_bce, g_loss_minimax, g_loss_nonsaturating, random_targets
from ganlab.models.base import GANModel

__all__ = ["VanillaGAN", "DCGAN"]

_G_LOSSES = ("nonsaturating", "minimax")


class VanillaGAN(GANModel):
    """BCE GAN with optional label smoothing; the MLP GAN of the vanilla-GAN report.

    Extras: ``g_loss`` (``"nonsaturating"`` | ``"minimax"``), ``real_target``, ``fake_target``
    (floats), ``real_range``, ``fake_range`` (``(low, high)`` or None; override the constants).
    """

    family = "gan"
    batches_copies = True
    defaults: dict[str, Any] = {
        "lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999),
        "extra": {"g_loss": "nonsaturating", "real_target": 1.0, "fake_target": 0.0,
                  "real_range": None, "fake_range": None},
    }

    def check_extra(self) -> None:
        x = self.recipe.extra
        if x["g_loss"] not in _G_LOSSES:
            raise ValueError(f"g_loss {x['g_loss']!r} is not known; accepted: {', '.join(_G_LOSSES)}")
        for key in ("real_range", "fake_range"):
            rng = x[key]
            if rng is not None and (len(rng) != 2 or not 0 <= rng[0] <= rng[1] <= 1):
                raise ValueError(f"{key} must be (low, high) with 0 <= low <= high <= 1, got {rng!r}")

    def copies_reason(self) -> str | None:
        if self.recipe.extra["real_range"] is not None or self.recipe.extra["fake_range"] is not None:
            return "random label ranges draw from torch's global generator"
        return super().copies_reason()

    def _targets(self, which: str, n: int, like: Tensor) -> Tensor | float:
        rng = self.recipe.extra[f"{which}_range"]
        if rng is None:
            return float(self.recipe.extra[f"{which}_target"])
        return random_targets(n, rng[0], rng[1], device=like.device)

    def d_loss(self, real: Tensor, fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        real_logits = self.discriminate(real)
        fake_logits = self.discriminate(fake)
        loss = d_loss_bce(
            real_logits, fake_logits,
            real_target=self._targets("real", real_logits.shape[0], real_logits),
            fake_target=self._targets("fake", fake_logits.shape[0], fake_logits),
        )
        return loss, {"d_real": real_logits.detach().sigmoid().mean(),
                      "d_fake": fake_logits.detach().sigmoid().mean()}

    def g_loss(self, fake: Tensor, real: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        logits = self.discriminate(fake)
        if self.recipe.extra["g_loss"] == "minimax":
            return g_loss_minimax(logits), {}
        return g_loss_nonsaturating(logits), {}


class DCGAN(VanillaGAN):
    """DCGAN: the BCE objective with the published recipe (Adam 2e-4, beta1 0.5, one D and one G step)."""

    family = "dcgan"
