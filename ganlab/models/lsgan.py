"""LSGAN (Mao et al. 2017): least-squares objectives with targets a (fake), b (real), c (G's aim).

The paper's recommended coding a=0, b=1, c=1 (or a=-1, b=1, c=0, which minimises the Pearson
chi^2 divergence) is a recipe setting.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ganlab.losses import d_loss_ls, g_loss_ls
from ganlab.models.base import GANModel

__all__ = ["LSGAN"]


class LSGAN(GANModel):
    """Least-squares GAN; extras ``a``, ``b``, ``c``."""

    family = "lsgan"
    batches_copies = True
    defaults: dict[str, Any] = {"lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999),
                                "extra": {"a": 0.0, "b": 1.0, "c": 1.0}}

    def d_loss(self, real: Tensor, fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        x = self.recipe.extra
        real_out, fake_out = self.discriminate(real), self.discriminate(fake)
        return d_loss_ls(real_out, fake_out, a=x["a"], b=x["b"]), {
            "d_real": real_out.detach().mean(), "d_fake": fake_out.detach().mean()}

    def g_loss(self, fake: Tensor, real: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        return g_loss_ls(self.discriminate(fake), c=self.recipe.extra["c"]), {}
