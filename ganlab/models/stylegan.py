"""StyleGAN-lite: the :class:`~ganlab.nets.stylegan.StyleGenerator` against a spectrally
normalised DCGAN discriminator, trained with the hinge loss.

Why this D: the StyleGAN paper trains its generator against a progressive ResNet-like D with
the non-saturating loss and an R1 penalty; at DCGAN scale on 2 CPU cores that D is out of
budget. The course's measured choice on ``shapes`` is the SNGAN D of notebook 10 (no batch
norm, spectral norm on every layer, hinge loss): the batch-norm DCGAN D overpowers a
generator on this data within ~2,000 steps (``ganlab.course.pretrained``), while the
spectrally normalised one keeps improving. So the family is :class:`~ganlab.models.SNGAN`'s
losses and D checks with a generator that has a mapping network; its extras are SNGAN's
(``loss``, ``spectral_norm``).

What the family adds is generation with the **truncation trick**: ``sample(n, seed=, psi=0.7)``
(and ``Sampler`` / the Evaluator through ``sample_inputs(..., psi=)``) moves every w towards
the generator's tracked mean. Style mixing regularisation lives in the generator's training
forward pass (``mixing_prob``), so every family loss (D's fakes and G's) sees mixed samples.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ganlab.models.sngan import SNGAN, setting
from ganlab.nets.stylegan import StyleGenerator

__all__ = ["StyleGAN"]


class StyleGAN(SNGAN):
    """A :class:`~ganlab.nets.stylegan.StyleGenerator` G, an SN D, the hinge loss (module docstring).

    Defaults: SNGAN's (Adam 2e-4, betas (0.5, 0.999), one D step per G step, hinge, spectral
    norm). ``describe()`` adds the mapping depth, w size and style layer count.

    Raises:
        ValueError: G is not a ``StyleGenerator``; SNGAN's checks on D and the extras.
    """

    family = "stylegan"
    defaults: dict[str, Any] = {**setting("C"), "extra": {"loss": "hinge", "spectral_norm": True}}

    def shards_reason(self) -> str | None:
        """Data-parallel runs are exact: latents come from the step's generator, and so do the
        generator's noise inputs and style-mixing draws (:func:`ganlab.rng.step_generator`)."""
        return self.global_draws_reason()

    def __init__(self, G: nn.Module, D: nn.Module, **overrides: Any) -> None:
        if not isinstance(G, StyleGenerator):
            raise ValueError(f"stylegan needs a StyleGenerator (ganlab.nets.StyleGenerator), got {type(G).__name__}")
        super().__init__(G, D, **overrides)

    def sample_inputs(self, n: int, device: torch.device | str | None = None,
                      generator: torch.Generator | None = None, *, z: Tensor | None = None,
                      psi: float | None = None, **conditions: Any) -> dict[str, Tensor]:
        """``{"z": (n, nz)}``, plus ``"psi": (n,)`` when a truncation ``psi`` in [0, 1] is given."""
        inputs = super().sample_inputs(n, device, generator, z=z, **conditions)
        if psi is not None:
            psi = float(psi)
            if not 0.0 <= psi <= 1.0:
                raise ValueError(f"truncation psi must lie in [0, 1], got {psi}")
            inputs["psi"] = torch.full((inputs["z"].shape[0],), psi, device=inputs["z"].device)
        return inputs

    def generate(self, net: nn.Module, **inputs: Tensor) -> Tensor:
        """``G(z)``, or ``G(z, psi=psi)`` with truncation."""
        return net(inputs["z"], psi=inputs.get("psi"))

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        G = self.G
        out["generator"] = {"mapping_depth": G.mapping_depth, "w_dim": G.w_dim, "n_styles": G.n_styles,
                            "mixing_prob": G.mixing_prob}
        return out
