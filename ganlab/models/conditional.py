"""The class-conditional GAN (Mirza & Osindero 2014; DCGAN-style nets as in notebook 08).

G(z, y) draws an image of class y; D(x, y) judges whether x is a real image *of class y*. The
networks decide how y enters (a label plane concatenated as a channel, conditional batch norm,
a projection discriminator: :mod:`ganlab.nets.conditional`); the family only feeds labels:

* D's update: the real batch with its labels, and fakes G(z, y_fake) of labels ``y_fake``
  (``fake_labels="real"``: the real batch's labels, so the fake class mix follows the data;
  ``"uniform"``: labels drawn uniformly from the latent RNG);
* G's update: the same fakes (reused with their graph at a 1:1 ratio), scored by D with their
  labels.

Losses (extra ``loss``): ``"bce"`` (D: binary cross-entropy; G: non-saturating), ``"hinge"``
(SNGAN / the projection discriminator's paper) or ``"ls"`` (least squares, a=0, b=c=1).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ganlab import rng
from ganlab.losses import (
    d_loss_bce,
    d_loss_hinge,
    d_loss_ls,
    g_loss_hinge,
    g_loss_ls,
    g_loss_nonsaturating,
)
from ganlab.models.base import Family, StepContext

__all__ = ["ConditionalGAN", "balanced_labels"]

_LOSSES = {
    "bce": (d_loss_bce, g_loss_nonsaturating),
    "hinge": (d_loss_hinge, g_loss_hinge),
    "ls": (d_loss_ls, g_loss_ls),
}
_FAKE_LABELS = ("real", "uniform")


def balanced_labels(n: int, n_classes: int, device: torch.device | str | None = None) -> Tensor:
    """``(n,)`` int64 labels ``0, 1, ..., C-1, 0, 1, ...``: every class equally often (±1)."""
    return torch.arange(n, device=device) % n_classes


class ConditionalGAN(Family):
    """A class-conditional generator ``G(z, y)`` against a conditional discriminator ``D(x, y)``.

    Args:
        G: ``forward(z (N, nz), y (N,) int64) -> (N, C, H, W)``, attributes ``nz``, ``n_classes``.
        D: ``forward(x, y) -> (N,)`` logits, attribute ``n_classes`` (the same).
        **overrides: recipe fields, or extras ``loss`` (``"bce"`` | ``"hinge"`` | ``"ls"``) and
            ``fake_labels`` (``"real"`` | ``"uniform"``).

    Raises:
        ValueError: nets without (or with different) ``n_classes``, or unknown extras.
    """

    family = "cgan"
    supports_augment = True
    defaults: dict[str, Any] = {"lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999),
                                "extra": {"loss": "bce", "fake_labels": "real"}}

    def __init__(self, G: nn.Module, D: nn.Module, **overrides: Any) -> None:
        for what, net in (("generator", G), ("discriminator", D)):
            if not isinstance(getattr(net, "n_classes", None), int):
                raise ValueError(f"conditional {what} {type(net).__name__} needs an int attribute n_classes")
        if G.n_classes != D.n_classes:
            raise ValueError(f"G generates {G.n_classes} classes but D judges {D.n_classes}; they must agree")
        if not hasattr(G, "nz"):
            raise ValueError(f"generator {type(G).__name__} has no 'nz' attribute (latent size)")
        super().__init__({"G": G, "D": D}, **overrides)

    def check_extra(self) -> None:
        x = self.recipe.extra
        if x["loss"] not in _LOSSES:
            raise ValueError(f"loss {x['loss']!r} is not known; accepted: {', '.join(_LOSSES)}")
        if x["fake_labels"] not in _FAKE_LABELS:
            raise ValueError(f"fake_labels {x['fake_labels']!r} is not known; accepted: {', '.join(_FAKE_LABELS)}")

    @property
    def n_classes(self) -> int:
        return int(self.G.n_classes)

    # ----- generation -------------------------------------------------------------------
    def sample_inputs(self, n: int, device: torch.device | str | None = None,
                      generator: torch.Generator | None = None, *, z: Tensor | None = None,
                      labels: Tensor | int | None = None, **conditions: Any) -> dict[str, Tensor]:
        """``{"z": (n, nz), "y": (n,)}``; ``labels``: a class for all, ``(n,)`` classes, or balanced.

        Raises:
            ValueError: labels of the wrong shape or outside ``[0, n_classes)``.
        """
        if conditions:
            raise ValueError(f"{self.family} takes labels=, not {', '.join(conditions)}")
        z = self.latent(n, device, generator) if z is None else z
        if labels is None:
            y = balanced_labels(n, self.n_classes, z.device)
        else:
            y = torch.full((n,), labels) if isinstance(labels, int) else torch.as_tensor(labels)
            if y.shape != (n,) or y.is_floating_point():
                raise ValueError(f"labels must be an int or an int64 tensor of shape ({n},); got {tuple(y.shape)} {y.dtype}")
            if len(y) and (int(y.min()) < 0 or int(y.max()) >= self.n_classes):
                raise ValueError(f"labels must lie in [0, {self.n_classes}); got [{int(y.min())}, {int(y.max())}]")
            y = y.to(z.device, torch.int64)
        return {"z": z, "y": y}

    def generate(self, net: nn.Module, **inputs: Tensor) -> Tensor:
        return net(inputs["z"], inputs["y"])

    # ----- training ---------------------------------------------------------------------
    def _fake_labels(self, batch: Any, ctx: StepContext) -> Tensor:
        if self.recipe.extra["fake_labels"] == "real":
            return batch.labels
        return rng.randint(self.n_classes, ctx.batch_size, device=ctx.device, generator=ctx.generator)

    def shards_reason(self) -> str | None:
        """Data-parallel runs are exact: the step's latents and fake labels come from the step's
        generator (:mod:`ganlab.rng`), its losses are means over rows."""
        return self.global_draws_reason()

    def phase_loss(self, group: str, batch: Any, ctx: StepContext) -> tuple[Tensor, dict[str, Tensor]]:
        if batch.labels is None:
            raise ValueError("a conditional GAN needs a labelled data set; this batch has no labels")
        d_fn, g_fn = _LOSSES[self.recipe.extra["loss"]]

        def make_inputs() -> dict[str, Tensor]:
            z = self.latent(ctx.batch_size, ctx.device, ctx.generator)
            return {"z": z, "y": self._fake_labels(batch, ctx)}

        if group == "d":
            inputs = make_inputs()
            fake = self.fakes_for_d(ctx, inputs)
            real = self.augment_real(batch.real)
            real_logits = self.D(self.augment_d_input(real), batch.labels)
            self.observe_real_logits(real_logits, real.shape[0])
            fake_logits = self.D(self.augment_d_input(fake), inputs["y"])
            return d_fn(real_logits, fake_logits), {"d_real": real_logits.detach().mean(),
                                                    "d_fake": fake_logits.detach().mean(),
                                                    **self.augment_logs()}
        fake, inputs = self.reuse_or_generate(ctx, make_inputs)
        return g_fn(self.D(self.augment_d_input(fake), inputs["y"])), {}
