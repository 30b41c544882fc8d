"""Wasserstein GANs: weight clipping (Arjovsky et al. 2017) and gradient penalty (Gulrajani et al. 2017).

The critic maximises E[f(x_real)] - E[f(x_fake)]; the loss it minimises is the negative. Its
negative loss (``w_dist``) estimates the Wasserstein-1 distance when f is 1-Lipschitz: clipping
enforces that crudely (every weight in [-c, c]); the penalty softly (gradient norm near 1 on
random interpolates). Recipes: WGAN — RMSprop 5e-5, clip 0.01, 5 critic steps; WGAN-GP — Adam
1e-4, betas (0.0, 0.9) as in the paper (beta1 = 0.5 also common), lambda 10, 5 critic steps.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ganlab.losses import clip_weights_, d_loss_wasserstein, g_loss_wasserstein, gradient_penalty
from ganlab.models.base import GANModel

__all__ = ["WGAN", "WGANGP"]


class WGAN(GANModel):
    """WGAN with weight clipping; extra ``clip`` (c > 0)."""

    family = "wgan"
    batches_copies = True
    defaults: dict[str, Any] = {"lr_g": 5e-5, "lr_d": 5e-5, "optimizer": "rmsprop", "d_steps": 5,
                                "extra": {"clip": 0.01}}

    def check_extra(self) -> None:
        if not self.recipe.extra["clip"] > 0:
            raise ValueError(f"clip must be > 0, got {self.recipe.extra['clip']!r}")

    def d_loss(self, real: Tensor, fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        loss = d_loss_wasserstein(self.discriminate(real), self.discriminate(fake))
        return loss, {"w_dist": -loss.detach()}

    def g_loss(self, fake: Tensor, real: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        return g_loss_wasserstein(self.discriminate(fake)), {}

    def after_d_step(self) -> None:
        clip_weights_(self.D, self.recipe.extra["clip"])


class WGANGP(GANModel):
    """WGAN-GP; extra ``gp_weight`` (lambda, default 10). The interpolation weights are drawn from
    the run's latent generator (checkpointed; per copy in a batch of seeds)."""

    family = "wgan_gp"
    batches_copies = True
    defaults: dict[str, Any] = {"lr_g": 1e-4, "lr_d": 1e-4, "betas": (0.0, 0.9), "d_steps": 5,
                                "extra": {"gp_weight": 10.0}}

    def check_extra(self) -> None:
        if self.recipe.extra["gp_weight"] < 0:
            raise ValueError(f"gp_weight must be >= 0, got {self.recipe.extra['gp_weight']!r}")

    def d_loss(self, real: Tensor, fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        w = d_loss_wasserstein(self.discriminate(real), self.discriminate(fake))
        gp = gradient_penalty(self.D, real, fake, weight=self.recipe.extra["gp_weight"],
                              generator=self.step_generator)
        return w + gp, {"w_dist": -w.detach(), "gp": gp.detach()}

    def g_loss(self, fake: Tensor, real: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        return g_loss_wasserstein(self.discriminate(fake)), {}
