"""SNGAN (Miyato et al., ICLR 2018): a spectrally normalised D trained with the hinge loss.

Spectral normalisation divides every weight of D by (a power-iteration estimate of) its largest
singular value, which bounds D's Lipschitz constant layer by layer (measure it with
:mod:`ganlab.metrics.lipschitz`). The paper's loss is the hinge loss
``D: mean relu(1 - D(x)) + mean relu(1 + D(G(z)))``, ``G: -mean D(G(z))``; it also trains SN
with the standard (non-saturating BCE) loss, which is the ``loss="nonsaturating"`` extra here,
so a notebook can run the loss x normalisation table with one family:

* ``loss``: ``"hinge"`` (default; :func:`ganlab.losses.d_loss_hinge` / ``g_loss_hinge``) or
  ``"nonsaturating"`` (BCE for D, ``-log D(G(z))`` for G: the paper's "standard" loss).
* ``spectral_norm``: ``True`` (default): D must be spectrally normalised; a D without it gets
  :func:`ganlab.nets.layers.apply_spectral_norm` (in place, at construction; a D with no
  Conv / Linear weights is refused). ``False``: D is used as given and must carry no spectral
  norm (the unnormalised column of the table). The paper's SN D has no batch norm: build it
  with ``norm="none"``.

Optimiser settings of the paper's comparison (``/work/shared/REFERENCES.md``, SNGAN section:
"Optimizer settings tried (lr, β1, β2, n_dis): A 1e-4/.5/.9/5, B 1e-4/.5/.999/1,
C 2e-4/.5/.999/1, D 1e-3/.5/.9/5, E 1e-3/.5/.999/5, F 1e-3/.9/.999/5; ResNet runs 2e-4/0/.9/5")
are :data:`SETTINGS` (recipe overrides: ``build("sngan", G, D, **SETTINGS["B"])``). The family's
default is setting C (Adam 2e-4, betas (0.5, 0.999), n_dis = 1), the DCGAN recipe's optimiser,
for the standard CNN. REFERENCES.md lists the six settings but does not say which one produced
the table's standard-CNN numbers: C is this course's choice, not a quoted recommendation.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ganlab.losses import d_loss_bce, d_loss_hinge, g_loss_hinge, g_loss_nonsaturating
from ganlab.metrics.lipschitz import has_spectral_norm, require_weights
from ganlab.models.base import GANModel
from ganlab.nets.layers import apply_spectral_norm

__all__ = ["SNGAN", "SETTINGS", "SETTING_TABLE", "setting", "LOSSES"]

#: The two adversarial losses of the paper's SN comparison.
LOSSES: tuple[str, ...] = ("hinge", "nonsaturating")

#: The paper's optimiser settings, name -> (lr, beta1, beta2, n_dis) (REFERENCES.md, SNGAN
#: section, lines 66-68); "resnet" is the ResNet runs' setting, not one of A-F.
SETTING_TABLE: dict[str, tuple[float, float, float, int]] = {
    "A": (1e-4, 0.5, 0.9, 5),
    "B": (1e-4, 0.5, 0.999, 1),
    "C": (2e-4, 0.5, 0.999, 1),
    "D": (1e-3, 0.5, 0.9, 5),
    "E": (1e-3, 0.5, 0.999, 5),
    "F": (1e-3, 0.9, 0.999, 5),
    "resnet": (2e-4, 0.0, 0.9, 5),
}


def setting(name: str) -> dict[str, Any]:
    """Recipe overrides of setting ``name``: ``{"lr_g", "lr_d", "betas", "d_steps"}`` (one lr for G
    and D, n_dis D updates per G update)."""
    try:
        lr, beta1, beta2, n_dis = SETTING_TABLE[name]
    except KeyError:
        raise ValueError(f"SNGAN setting {name!r} is not known; accepted: {', '.join(SETTING_TABLE)}") from None
    return {"lr_g": lr, "lr_d": lr, "betas": (beta1, beta2), "d_steps": n_dis}


#: name -> recipe overrides, e.g. ``SETTINGS["B"] == {"lr_g": 1e-4, "lr_d": 1e-4,
#: "betas": (0.5, 0.999), "d_steps": 1}``.
SETTINGS: dict[str, dict[str, Any]] = {name: setting(name) for name in SETTING_TABLE}


class SNGAN(GANModel):
    """Spectrally normalised D + hinge loss; extras ``loss`` and ``spectral_norm`` (module docstring).

    Defaults: setting C (Adam 2e-4, betas (0.5, 0.999), one D update per G update), hinge loss,
    spectral norm on. ``SNGAN.SETTINGS`` (= :data:`SETTINGS`) holds the paper's settings A-F.

    Raises (at construction):
        ValueError: unknown ``loss``; ``spectral_norm=True`` with a D that has no Conv / Linear
            weights; ``spectral_norm=False`` with a D that is already spectrally normalised.
    """

    family = "sngan"
    SETTINGS = SETTINGS
    defaults: dict[str, Any] = {
        **setting("C"),
        "extra": {"loss": "hinge", "spectral_norm": True},
    }

    def shards_reason(self) -> str | None:
        """Data-parallel runs are exact: latents come from the step's generator, spectral norm's
        power iteration depends on the weights only, and the losses are means over rows."""
        return self.global_draws_reason()

    def check_extra(self) -> None:
        x = self.recipe.extra
        if x["loss"] not in LOSSES:
            raise ValueError(f"loss {x['loss']!r} is not known; accepted: {', '.join(LOSSES)}")
        if not isinstance(x["spectral_norm"], bool):
            raise ValueError(f"spectral_norm must be True or False, got {x['spectral_norm']!r}")
        if x["spectral_norm"]:
            require_weights(self.D)
            if not has_spectral_norm(self.D):
                apply_spectral_norm(self.D)
        elif has_spectral_norm(self.D):
            raise ValueError(
                f"spectral_norm=False but D ({type(self.D).__name__}) is spectrally normalised; "
                "build D without spectral_norm for the unnormalised run"
            )

    def d_loss(self, real: Tensor, fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        real_out, fake_out = self.discriminate(real), self.discriminate(fake)
        if self.recipe.extra["loss"] == "hinge":
            loss = d_loss_hinge(real_out, fake_out)
        else:
            loss = d_loss_bce(real_out, fake_out)
        return loss, {"d_real": real_out.detach().float().mean(), "d_fake": fake_out.detach().float().mean()}

    def g_loss(self, fake: Tensor, real: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        out = self.discriminate(fake)
        if self.recipe.extra["loss"] == "hinge":
            return g_loss_hinge(out), {}
        return g_loss_nonsaturating(out), {}
