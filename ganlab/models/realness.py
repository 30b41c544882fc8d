"""RealnessGAN (Xiangli et al., ICLR 2020): D outputs a distribution over N outcomes, not one logit.

"Realness" becomes a distribution: D(x) = softmax over N outcomes, compared by KL divergence to
two **anchors**, A0 (what a fake looks like to D) and A1 (what a real looks like), both
distributions over the outcomes (:func:`ganlab.losses.realness_anchors`). D minimises

    KL(A1 || D(x)) + KL(A0 || D(G(z)))

and G one of :data:`ganlab.losses.REALNESS_G_OBJECTIVES` (the paper's three, the official code's
default ``"real"`` = KL(D(x) || D(G(z))), and ``"a1"`` = KL(A1 || D(G(z))), the non-saturating
analogue). With ``onehot`` anchors and N = 2, D's loss is the GAN's binary cross-entropy on the
logit difference l_1 - l_0 and ``"minus_a0"`` is the saturating minimax G loss (notebook 14
shows it numerically).

Extras: ``outcomes`` (N >= 2; must equal D's ``outputs`` when D declares it; default: D's),
``anchors`` (``"paper"`` | ``"onehot"`` | ``"ramp"`` or ``(A0, A1)`` two probability vectors of
length N), ``g_objective``, ``spectral_norm`` (apply it to D at construction). The anchors are
buffers (``a0``, ``a1``), so a checkpoint holds them. The recipe's ``g_steps`` is the G updates
per D update (the author advises 3 for CIFAR-10).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from ganlab.losses import (
    ANCHORS,
    REALNESS_G_OBJECTIVES,
    d_loss_realness,
    g_loss_realness,
    kl_to_logits,
    realness_anchors,
)
from ganlab.metrics.lipschitz import has_spectral_norm, require_weights
from ganlab.models.base import GANModel
from ganlab.nets.layers import apply_spectral_norm

__all__ = ["RealnessGAN", "resolve_anchors"]


def resolve_anchors(anchors: str | Sequence[Any], outcomes: int) -> tuple[Tensor, Tensor]:
    """``(A0, A1)`` float32 ``(outcomes,)`` from a kind name or two probability vectors.

    Raises:
        ValueError: ``outcomes`` < 2, an unknown kind, vectors of the wrong length, negative
            entries or entries that do not sum to 1.
    """
    if isinstance(anchors, str):
        return realness_anchors(outcomes, anchors)
    if not isinstance(outcomes, int) or isinstance(outcomes, bool) or outcomes < 2:
        raise ValueError(f"RealnessGAN needs outcomes >= 2 (an integer), got {outcomes!r}")
    try:
        a0, a1 = (torch.as_tensor(a, dtype=torch.float32).flatten() for a in anchors)
    except (TypeError, ValueError):
        raise ValueError(f"anchors must be one of {', '.join(ANCHORS)} or (A0, A1), two probability "
                         f"vectors of length {outcomes}; got {anchors!r}") from None
    for name, a in (("A0", a0), ("A1", a1)):
        if a.numel() != outcomes:
            raise ValueError(f"anchor {name} has {a.numel()} entries; it needs one per outcome ({outcomes})")
        if (a < 0).any() or abs(float(a.sum()) - 1) > 1e-4:
            raise ValueError(f"anchor {name} must be a probability vector (>= 0, sum 1); got {a.tolist()}")
    return a0, a1


class RealnessGAN(GANModel):
    """D over N outcomes, KL objectives to the anchors A0 / A1 (module docstring).

    Args:
        G: generator ``(B, nz) -> (B, C, H, W)``.
        D: ``(B, C, H, W) -> (B, outcomes)`` logits (e.g.
            ``DCGANDiscriminator(..., outputs=outcomes)``).

    Raises:
        ValueError: outcomes < 2 or different from D's ``outputs``; bad anchors; unknown
            ``g_objective``; ``spectral_norm`` not a bool.
    """

    family = "realnessgan"
    supports_augment = False  # ADA's r_t = E[sign D(x)] has no meaning for a distribution
    defaults: dict[str, Any] = {
        "lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999),
        "extra": {"outcomes": None, "anchors": "paper", "g_objective": "real", "spectral_norm": False},
    }

    def check_extra(self) -> None:
        x = self.recipe.extra
        d_outputs = getattr(self.D, "outputs", None)
        if x["outcomes"] is None:
            x["outcomes"] = d_outputs
        n = x["outcomes"]
        if not isinstance(n, int) or isinstance(n, bool) or n < 2:
            raise ValueError(f"RealnessGAN needs outcomes >= 2 (an integer), got {n!r}"
                             + (" (D declares none: give outcomes=)" if n is None else ""))
        if d_outputs is not None and d_outputs != n:
            raise ValueError(f"outcomes={n} but D has {d_outputs} outputs; build D with outputs={n}")
        if x["g_objective"] not in REALNESS_G_OBJECTIVES:
            raise ValueError(f"g_objective {x['g_objective']!r} is not known; accepted: "
                             f"{', '.join(REALNESS_G_OBJECTIVES)}")
        a0, a1 = resolve_anchors(x["anchors"], n)
        if not isinstance(x["anchors"], str):
            x["anchors"] = [a0.tolist(), a1.tolist()]  # JSON-friendly in the recipe
        self.register_buffer("a0", a0)
        self.register_buffer("a1", a1)
        if not isinstance(x["spectral_norm"], bool):
            raise ValueError(f"spectral_norm must be True or False, got {x['spectral_norm']!r}")
        if x["spectral_norm"]:
            require_weights(self.D)
            if not has_spectral_norm(self.D):
                apply_spectral_norm(self.D)

    def distribution(self, x: Tensor) -> Tensor:
        """D's distribution over the outcomes, ``(B, outcomes)`` probabilities (eval: no noise)."""
        return torch.softmax(self.D(x).float(), dim=1)

    def _logits(self, x: Tensor) -> Tensor:
        logits = self.discriminate(x)
        if logits.ndim != 2 or logits.shape[1] != self.recipe.extra["outcomes"]:
            raise ValueError(f"RealnessGAN's D must return (B, {self.recipe.extra['outcomes']}) logits; "
                             f"got shape {tuple(logits.shape)}")
        return logits

    def shards_reason(self) -> str | None:
        """Data-parallel runs are exact: the latents come from the step's generator, the anchors
        are fixed, and every KL objective is a mean over rows."""
        return self.global_draws_reason()

    def d_loss(self, real: Tensor, fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        real_logits, fake_logits = self._logits(real), self._logits(fake)
        loss = d_loss_realness(real_logits, fake_logits, self.a0, self.a1)
        with torch.no_grad():
            logs = {"kl_a1_real": kl_to_logits(self.a1, real_logits).mean(),
                    "kl_a0_fake": kl_to_logits(self.a0, fake_logits).mean(),
                    "kl_a1_fake": kl_to_logits(self.a1, fake_logits).mean()}
        return loss, logs

    def g_loss(self, fake: Tensor, real: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        objective = self.recipe.extra["g_objective"]
        real_logits = self._logits(real) if objective.startswith("real") else None
        fake_logits = self._logits(fake)
        return g_loss_realness(fake_logits, real_logits, self.a0, self.a1, objective), {}
