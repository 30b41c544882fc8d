"""InfoGAN (Chen et al. 2016): a GAN whose generator input carries codes that Q must recover.

G is a plain generator (:class:`~ganlab.nets.DCGANGenerator`) of the latent vector::

    z = [ noise (noise_dim) | one-hot categorical code (n_categories) | continuous codes (n_continuous) ]

and D is an :class:`~ganlab.nets.InfoGANDiscriminator`, whose Q head shares D's body and predicts
the codes of a fake image. InfoGAN maximises a variational lower bound of the mutual information
I(c; G(z, c)) over G and Q; as a loss to minimise (on fakes, whose codes are known):

    L_I = lambda_cat * CE(cat_logits, c_cat) + lambda_cont * mean_batch sum_j 0.5 (c_j - mu_j)^2

the categorical cross-entropy and the Gaussian negative log-likelihood of the continuous codes
with a fixed std of 1 (without its constant 0.5 log 2 pi: an MSE). Where it enters (as the
published code does): D's update minimises ``BCE(real, fake) + L_I`` on detached fakes, so the
body and the Q head learn to predict the codes (Q is part of D: it is in the ``"d"`` group);
G's update minimises ``-log D(G(z, c)) + L_I`` on the same fakes (D and Q frozen).

Code distributions (the published MNIST launcher, ``/work/shared/REFERENCES.md``): noise
U(-1, 1) (extra ``noise="uniform"``; ``"normal"`` for N(0, 1)), the categorical code uniform over
its values, the continuous codes U(-1, 1) — not N(0, 1), a known bug of a popular tutorial
(PyTorch-GAN issue 25). Defaults are the published recipe: Adam lr_D 2e-4, lr_G 1e-3, beta1 0.5;
lambda = 1 for both code types; noise_dim 62.

Logged scalars (D's update): ``l_info`` (L_I as added to the losses), ``l_cat`` (the
cross-entropy), ``l_cont`` (the Gaussian NLL term), ``mi_lower_bound`` = log K - CE (the bound's
categorical part, in nats, <= log K; it reaches log K when Q recovers every category),
``d_real`` / ``d_fake`` (mean D(x) on reals / fakes).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlab import rng
from ganlab.losses import d_loss_bce, g_loss_nonsaturating, instance_noise
from ganlab.models.base import Family, StepContext
from ganlab.models.conditional import balanced_labels
from ganlab.models.generation import module_device

__all__ = ["InfoGAN", "info_loss", "NOISES"]

#: noise distributions of the latent's noise part
NOISES = ("uniform", "normal")


def info_loss(cat_logits: Tensor, cont_means: Tensor, categories: Tensor, continuous: Tensor,
              lambda_cat: float = 1.0, lambda_cont: float = 1.0) -> tuple[Tensor, dict[str, Tensor]]:
    """The mutual-information loss L_I of a batch of fakes with known codes.

    Args:
        cat_logits: Q's categorical logits ``(N, K)``.
        cont_means: Q's continuous means ``(N, C)`` (C may be 0).
        categories: the categorical codes ``(N,)`` int64 in ``[0, K)``.
        continuous: the continuous codes ``(N, C)``.
        lambda_cat, lambda_cont: weights of the two parts.
    Returns:
        ``(L_I, {"l_cat": CE, "l_cont": NLL, "mi_lower_bound": log K - CE})`` with
        ``L_I = lambda_cat * CE + lambda_cont * NLL``, CE the mean cross-entropy and NLL the mean
        over the batch of ``sum_j 0.5 (c_j - mu_j)^2`` (fixed std 1, constant dropped).
        Computed in float32.
    """
    ce = F.cross_entropy(cat_logits.float(), categories)
    nll = (0.5 * (continuous.float() - cont_means.float()).pow(2)).sum(dim=1).mean()
    loss = lambda_cat * ce + lambda_cont * nll
    bound = math.log(cat_logits.shape[1]) - ce
    return loss, {"l_cat": ce.detach(), "l_cont": nll.detach(), "mi_lower_bound": bound.detach()}


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class InfoGAN(Family):
    """InfoGAN: a plain generator of ``[noise | one-hot code | continuous codes]`` against D + Q.

    Args:
        G: generator with ``nz == noise_dim + D.n_categories + D.n_continuous``.
        D: an :class:`~ganlab.nets.InfoGANDiscriminator` (``forward(x) -> (N,)`` and
            ``forward_with_q(x) -> (logits, cat_logits, cont_means)``, attributes
            ``n_categories``, ``n_continuous``).
        **overrides: recipe fields, or extras ``lambda_cat``, ``lambda_cont`` (>= 0),
            ``noise_dim`` (int >= 1) and ``noise`` (``"uniform"`` | ``"normal"``).

    Raises:
        ValueError: D without a Q head, G.nz not matching the layout, or bad extras.
    """

    family = "infogan"
    supports_augment = True
    defaults: dict[str, Any] = {
        "lr_g": 1e-3, "lr_d": 2e-4, "betas": (0.5, 0.999),
        "extra": {"lambda_cat": 1.0, "lambda_cont": 1.0, "noise_dim": 62, "noise": "uniform"},
    }

    def __init__(self, G: nn.Module, D: nn.Module, **overrides: Any) -> None:
        if not hasattr(G, "nz"):
            raise ValueError(f"generator {type(G).__name__} has no 'nz' attribute (latent size)")
        if not callable(getattr(D, "forward_with_q", None)) or not all(
                isinstance(getattr(D, a, None), int) for a in ("n_categories", "n_continuous")):
            raise ValueError(f"InfoGAN needs a discriminator with a Q head (forward_with_q, n_categories, "
                             f"n_continuous), e.g. ganlab.nets.InfoGANDiscriminator; got {type(D).__name__}")
        super().__init__({"G": G, "D": D}, **overrides)

    def shards_reason(self) -> str | None:
        """Data-parallel runs are exact: noise and codes come from the step's generator
        (:mod:`ganlab.rng`), D's, G's and Q's losses are means over rows. (The published Q head's
        ``BatchNorm1d`` still needs CUDA's SyncBatchNorm: :func:`~ganlab.train.distributed.distributed_reason`.)"""
        return self.global_draws_reason()

    def check_extra(self) -> None:
        x = self.recipe.extra
        for key in ("lambda_cat", "lambda_cont"):
            if not _is_number(x[key]) or not x[key] >= 0:
                raise ValueError(f"{key} must be a number >= 0; got {x[key]!r}")
        nd = x["noise_dim"]
        if isinstance(nd, bool) or not isinstance(nd, int) or nd < 1:
            raise ValueError(f"noise_dim must be an int >= 1; got {nd!r}")
        if x["noise"] not in NOISES:
            raise ValueError(f"noise {x['noise']!r} is not known; accepted: {', '.join(NOISES)}")
        want = nd + self.n_categories + self.n_continuous
        if int(self.G.nz) != want:
            raise ValueError(
                f"G.nz = {self.G.nz} but the latent [noise {nd} | categorical {self.n_categories} | "
                f"continuous {self.n_continuous}] has {want}; build G with nz={want} or set noise_dim="
                f"{int(self.G.nz) - self.n_categories - self.n_continuous}")

    # ----- the latent layout ------------------------------------------------------------
    @property
    def noise_dim(self) -> int:
        return int(self.recipe.extra["noise_dim"])

    @property
    def n_categories(self) -> int:
        """Values of the categorical code (read from D)."""
        return int(self.D.n_categories)

    @property
    def n_continuous(self) -> int:
        """Number of continuous codes (read from D)."""
        return int(self.D.n_continuous)

    def split_latent(self, z: Tensor) -> dict[str, Tensor]:
        """``z`` ``(N, nz)`` -> ``{"noise", "one_hot", "categories" (argmax, int64), "continuous"}``."""
        a, b = self.noise_dim, self.noise_dim + self.n_categories
        return {"noise": z[:, :a], "one_hot": z[:, a:b], "categories": z[:, a:b].argmax(dim=1),
                "continuous": z[:, b:]}

    def latent(self, n: int, device: torch.device | str | None = None,
               generator: torch.Generator | None = None) -> Tensor:
        """``(n, nz)`` full latents: noise, a uniform categorical code, U(-1, 1) continuous codes."""
        return self.sample_inputs(n, device, generator)["z"]

    def sample_inputs(self, n: int, device: torch.device | str | None = None,
                      generator: rng.GeneratorLike = None, *, z: Tensor | None = None,
                      codes: Tensor | None = None, categories: Tensor | int | str | None = None,
                      continuous: Tensor | None = None, **conditions: Any) -> dict[str, Tensor]:
        """``{"z": (n, nz)}``, the full latent ``[noise | one-hot | continuous]``.

        Drawn (always in this order, from ``generator``): noise, categories, continuous codes;
        what the caller gives replaces the drawn part, so with one seed the other parts stay the
        same whatever is fixed (a traversal keeps its noise).

        Args:
            z: the noise part ``(n, noise_dim)``, or a full latent ``(n, nz)`` (its code parts are
                kept unless ``codes`` / ``categories`` / ``continuous`` replace them).
            codes: the whole code part ``(n, n_categories + n_continuous)`` = ``[one-hot |
                continuous]`` (e.g. from :meth:`split_latent`; a soft "one-hot" is allowed).
            categories: one value for all (int), ``(n,)`` int values, or ``"balanced"``
                (0, 1, ..., K-1, 0, ...); default: uniform random.
            continuous: ``(n, n_continuous)`` codes (any finite values; training draws U(-1, 1),
                the paper's traversals go to +-2).

        Raises:
            ValueError: a condition of another family (``labels``), wrong shapes, categories
                outside ``[0, n_categories)``, ``codes`` together with ``categories`` / ``continuous``.
        """
        if conditions:
            raise ValueError(f"{self.family} takes z=, codes=, categories=, continuous=; not {', '.join(conditions)}")
        if codes is not None and (categories is not None or continuous is not None):
            raise ValueError("give codes= (the whole code part) or categories= / continuous=, not both")
        if device is None:
            device = z.device if z is not None else module_device(self.G)
        nd, k, c = self.noise_dim, self.n_categories, self.n_continuous
        if self.recipe.extra["noise"] == "uniform":
            noise = rng.rand(n, nd, device=device, generator=generator) * 2 - 1
        else:
            noise = rng.randn(n, nd, device=device, generator=generator)
        cat = rng.randint(k, n, device=device, generator=generator)
        cont = rng.rand(n, c, device=device, generator=generator) * 2 - 1
        one_hot = F.one_hot(cat, k).to(noise.dtype)
        if z is not None:
            if z.dim() != 2 or z.shape[0] != n or z.shape[1] not in (nd, nd + k + c):
                raise ValueError(f"z must be the noise ({n}, {nd}) or a full latent ({n}, {nd + k + c}); "
                                 f"got {tuple(z.shape)}")
            z = z.to(device, noise.dtype)
            noise = z[:, :nd]
            if z.shape[1] > nd:
                one_hot, cont = z[:, nd:nd + k], z[:, nd + k:]
        if codes is not None:
            codes = torch.as_tensor(codes)
            if tuple(codes.shape) != (n, k + c) or not codes.is_floating_point():
                raise ValueError(f"codes must be a float tensor of shape ({n}, {k + c}) = [one-hot {k} | "
                                 f"continuous {c}]; got {tuple(codes.shape)} {codes.dtype}")
            codes = codes.to(device, noise.dtype)
            one_hot, cont = codes[:, :k], codes[:, k:]
        if categories is not None:
            one_hot = F.one_hot(self._categories(categories, n).to(device), k).to(noise.dtype)
        if continuous is not None:
            continuous = torch.as_tensor(continuous)
            if tuple(continuous.shape) != (n, c) or not continuous.is_floating_point():
                raise ValueError(f"continuous must be a float tensor of shape ({n}, {c}); "
                                 f"got {tuple(continuous.shape)} {continuous.dtype}")
            cont = continuous.to(device, noise.dtype)
        return {"z": torch.cat([noise, one_hot, cont], dim=1)}

    def _categories(self, categories: Tensor | int | str, n: int) -> Tensor:
        k = self.n_categories
        if isinstance(categories, str):
            if categories != "balanced":
                raise ValueError(f"categories must be an int, an (n,) int64 tensor or 'balanced'; got {categories!r}")
            return balanced_labels(n, k)
        if isinstance(categories, bool):
            raise ValueError(f"categories must be an int, an (n,) int64 tensor or 'balanced'; got {categories!r}")
        y = torch.full((n,), categories) if isinstance(categories, int) else torch.as_tensor(categories)
        if y.shape != (n,) or y.is_floating_point() or y.dtype == torch.bool:
            raise ValueError(f"categories must be an int or an int64 tensor of shape ({n},); "
                             f"got {tuple(y.shape)} {y.dtype}")
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= k):
            raise ValueError(f"categories must lie in [0, {k}); got [{int(y.min())}, {int(y.max())}]")
        return y.long()

    # ----- training ---------------------------------------------------------------------
    def _d_inputs(self, x: Tensor) -> Tensor:
        """What D (and Q) see: DiffAugment / ADA (``augment=``), then the instance noise."""
        x = self.augment_d_input(x)
        if self.recipe.instance_noise > 0 and self.training:
            x = instance_noise(x, self.recipe.instance_noise)
        return x

    def _info(self, cat_logits: Tensor, cont_means: Tensor, z: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        parts = self.split_latent(z)
        x = self.recipe.extra
        return info_loss(cat_logits, cont_means, parts["categories"], parts["continuous"],
                         x["lambda_cat"], x["lambda_cont"])

    def phase_loss(self, group: str, batch: Any, ctx: StepContext) -> tuple[Tensor, dict[str, Tensor]]:
        """``d``: BCE on real / fake + L_I on the (detached) fakes; ``g``: non-saturating + L_I."""
        def make_inputs() -> dict[str, Tensor]:
            return self.sample_inputs(ctx.batch_size, ctx.device, ctx.generator)

        if group == "d":
            inputs = make_inputs()
            fake = self.fakes_for_d(ctx, inputs)
            real = self.augment_real(batch.real)
            real_logits = self.D(self._d_inputs(real))
            self.observe_real_logits(real_logits, real.shape[0])
            fake_logits, cat_logits, cont_means = self.D.forward_with_q(self._d_inputs(fake))
            l_info, logs = self._info(cat_logits, cont_means, inputs["z"])
            loss = d_loss_bce(real_logits, fake_logits) + l_info
            return loss, {"l_info": l_info.detach(), **logs,
                          "d_real": real_logits.detach().sigmoid().mean(),
                          "d_fake": fake_logits.detach().sigmoid().mean(), **self.augment_logs()}
        fake, inputs = self.reuse_or_generate(ctx, make_inputs)
        fake_logits, cat_logits, cont_means = self.D.forward_with_q(self._d_inputs(fake))
        l_info, _ = self._info(cat_logits, cont_means, inputs["z"])
        return g_loss_nonsaturating(fake_logits) + l_info, {}
