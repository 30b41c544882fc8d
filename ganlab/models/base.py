"""The base of every GAN family: what differs between families is only their two losses.

A family subclasses :class:`GANModel` and implements :meth:`GANModel.d_loss` and
:meth:`GANModel.g_loss` (and, if it needs one, :meth:`GANModel.after_d_step`). Everything
else — the loop, step ratios, precision, EMA, checkpoints, evaluation — lives in
:mod:`ganlab.train` and is shared.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from ganlab.losses import instance_noise

__all__ = ["Recipe", "GANModel"]

_OPTIMIZERS = ("adam", "rmsprop", "sgd")


@dataclass
class Recipe:
    """Optimisation recipe of a family; each family overrides only the keys that define it.

    Attributes:
        lr_g, lr_d: learning rates of generator and discriminator/critic.
        betas: Adam betas (ignored by RMSprop/SGD).
        optimizer: ``"adam"`` | ``"rmsprop"`` | ``"sgd"``.
        d_steps: discriminator (critic) updates per iteration (WGAN: 5).
        g_steps: generator updates per iteration (the vanilla-GAN report found k > 1 helps).
        instance_noise: std of Gaussian noise added to every D input (0 = off).
        extra: family-specific settings (clip value, penalty weight, label ranges...).
    """

    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    optimizer: str = "adam"
    d_steps: int = 1
    g_steps: int = 1
    instance_noise: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> Recipe:
        """Check ranges; returns self. Raises ValueError naming the bad key."""
        if self.optimizer not in _OPTIMIZERS:
            raise ValueError(f"optimizer {self.optimizer!r} is not known; accepted: {', '.join(_OPTIMIZERS)}")
        for key in ("d_steps", "g_steps"):
            value = getattr(self, key)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{key} must be an integer >= 1, got {value!r}")
        for key in ("lr_g", "lr_d"):
            if not getattr(self, key) > 0:
                raise ValueError(f"{key} must be > 0, got {getattr(self, key)!r}")
        if self.instance_noise < 0:
            raise ValueError(f"instance_noise must be >= 0, got {self.instance_noise!r}")
        self.betas = tuple(self.betas)  # type: ignore[assignment]
        return self

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly copy."""
        d = asdict(self)
        d["betas"] = list(self.betas)
        return d


class GANModel(nn.Module):
    """A generator, a discriminator (or critic) and the family's step definitions.

    Subclasses set ``family`` and ``defaults`` (recipe overrides + ``extra`` keys) and implement
    :meth:`d_loss` and :meth:`g_loss`.

    Args:
        G: generator, ``(N, nz) -> (N, *out_shape)``.
        D: discriminator/critic, ``(N, *out_shape) -> (N,)`` logits.
        **overrides: recipe fields (``lr_g``, ``d_steps``...) or family extras (``clip``...).
    """

    family: ClassVar[str] = "base"
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, G: nn.Module, D: nn.Module, **overrides: Any) -> None:
        super().__init__()
        if not hasattr(G, "nz"):
            raise ValueError(f"generator {type(G).__name__} has no 'nz' attribute (latent size)")
        self.G = G
        self.D = D
        self.G_ema: nn.Module | None = None
        names = {f.name for f in fields(Recipe)}
        merged = {**self.defaults, **overrides}
        extra = {**merged.pop("extra", {})}
        known_extra = set(self.defaults.get("extra", {}))
        for key in list(merged):
            if key not in names:
                if key not in known_extra:
                    accepted = sorted(names - {"extra"} | known_extra)
                    raise ValueError(
                        f"{self.family}: unknown setting {key!r}; accepted: {', '.join(accepted)}"
                    )
                extra[key] = merged.pop(key)
        self.recipe = Recipe(**merged, extra={**self.defaults.get("extra", {}), **extra}).validate()
        self.check_extra()

    # ----- what a family defines -------------------------------------------------------
    def check_extra(self) -> None:
        """Validate family-specific settings (override when the family has some)."""

    def d_loss(self, real: Tensor, fake: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """Discriminator/critic loss on a real batch and a detached fake batch.

        Args:
            real: ``(N, *out_shape)`` real samples (images in [-1, 1]).
            fake: ``(N, *out_shape)`` generated samples, detached from G.
        Returns:
            (scalar loss to minimise, dict of scalar tensors to log).
        """
        raise NotImplementedError

    def g_loss(self, fake: Tensor, real: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """Generator loss on a fake batch that carries gradients to G (``real`` for families that use it)."""
        raise NotImplementedError

    def after_d_step(self) -> None:
        """Called after every discriminator optimiser step (WGAN clips weights here)."""

    # ----- shared helpers ---------------------------------------------------------------
    @property
    def nz(self) -> int:
        """Latent size of the generator."""
        return int(self.G.nz)

    def discriminate(self, x: Tensor) -> Tensor:
        """D(x) with the recipe's instance noise added in training (``(N,)`` logits)."""
        if self.recipe.instance_noise > 0 and self.training:
            x = instance_noise(x, self.recipe.instance_noise)
        return self.D(x)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """``{"g": ..., "d": ...}`` optimisers built from the recipe."""
        r = self.recipe

        def make(params: Any, lr: float) -> torch.optim.Optimizer:
            if r.optimizer == "adam":
                return torch.optim.Adam(params, lr=lr, betas=r.betas)
            if r.optimizer == "rmsprop":
                return torch.optim.RMSprop(params, lr=lr)
            return torch.optim.SGD(params, lr=lr, momentum=r.betas[0])

        return {"g": make(self.G.parameters(), r.lr_g), "d": make(self.D.parameters(), r.lr_d)}

    def latent(self, n: int, device: torch.device | str | None = None,
               generator: torch.Generator | None = None) -> Tensor:
        """``(n, nz)`` standard normal latent codes."""
        device = device if device is not None else next(self.G.parameters()).device
        return torch.randn(n, self.nz, device=device, generator=generator)

    def enable_ema(self) -> nn.Module:
        """Create (once) the EMA copy of G that :meth:`sample` then uses."""
        if self.G_ema is None:
            self.G_ema = copy.deepcopy(self.G).requires_grad_(False).eval()
        return self.G_ema

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None, z: Tensor | None = None,
               batch_size: int = 500, use_ema: bool = True) -> Tensor:
        """Generate ``n`` samples in eval mode (EMA generator when present).

        Returns:
            ``(n, *out_shape)`` float32 on G's device; images lie in [-1, 1].
        """
        G = self.G_ema if (use_ema and self.G_ema is not None) else self.G
        device = next(G.parameters()).device
        if z is None:
            gen = torch.Generator(device=device).manual_seed(seed) if seed is not None else None
            z = self.latent(n, device, gen)
        was_training = G.training
        G.eval()
        try:
            out = [G(chunk).float() for chunk in z.to(device).split(batch_size)]
        finally:
            G.train(was_training)
        return torch.cat(out)

    def sampler(self, seed: int = 1234) -> Any:
        """A ``sample_fn(n)`` for :class:`ganlab.metrics.Evaluator` (fixed seed: comparable evaluations)."""
        return lambda n: self.sample(n, seed=seed)

    def describe(self) -> dict[str, Any]:
        """Family, recipe and parameter counts (for run records)."""
        count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
        return {"family": self.family, "recipe": self.recipe.as_dict(),
                "params_g": count(self.G), "params_d": count(self.D),
                "G": type(self.G).__name__, "D": type(self.D).__name__}
