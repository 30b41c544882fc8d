"""The contract every GAN family fulfils, and the base of the one-generator, one-D families.

A family (:class:`Family`) declares

* its **networks** (any number: ``G``, ``D``, ``Q``, ``G_AB``, ``G_BA``, ``D_A``, ``D_B``, a frozen
  feature network), which of them are **generators** (each gets an EMA copy when the run keeps
  one), and its **optimiser groups** (``{"d": ("D",), "g": ("G",)}``, one optimiser per group);
* its **phases**: the updates of one iteration, in order (``Phase("d", repeats=5)`` then
  ``Phase("g")`` for WGAN), each training one group on a loss from :meth:`Family.phase_loss`;
* how it **generates** (:meth:`Family.sample_inputs` draws the generator's inputs — z; z and a
  label; codes; a source image — and :meth:`Family.generate` applies a generator to them);
* any **state** that must survive a restart as buffers (CycleGAN's pool of fakes, ADA's
  probability: ``augmentation.ada.p``) or through ``nn.Module.get_extra_state`` /
  ``set_extra_state``; PyTorch puts both in the ``state_dict`` and so in every checkpoint;
* optionally **augmentation** (``augment=``, :mod:`ganlab.augment`): classical ops on the reals,
  DiffAugment / ADA on every D input (:attr:`Family.supports_augment`).

D's output shape is the family's business (a logit per image, a patch map, a distribution):
only the family's losses read it. :mod:`ganlab.train` runs the phases and does everything else
(ratios, precision, EMA, logging, the NaN guard, checkpoints, exact resume) for every family.

:class:`GANModel` is the family base for "noise in, image out, one D": a subclass only writes
:meth:`GANModel.d_loss` and :meth:`GANModel.g_loss` (the teaching code the notebooks show).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from ganlab import rng
from ganlab.augment.pipeline import Augmentation, normalize_spec
from ganlab.losses import instance_noise
from ganlab.models.generation import generate_batched, module_device

__all__ = ["Recipe", "Phase", "StepContext", "Family", "GANModel", "Sampler"]

_OPTIMIZERS = ("adam", "rmsprop", "sgd", "nesterov")
_SCHEDULERS = ("none", "step", "exponential", "cosine", "linear")


@dataclass
class Recipe:
    """Optimisation recipe of a family; each family overrides only the keys that define it.

    Attributes:
        lr_g, lr_d: learning rates of the generator group(s) and the discriminator group(s).
        betas: Adam betas (ignored by RMSprop; SGD and Nesterov SGD use ``betas[0]`` as momentum).
        optimizer: ``"adam"`` | ``"rmsprop"`` | ``"sgd"`` | ``"nesterov"`` (SGD with Nesterov momentum).
        scheduler: the learning rate over the run's iterations, for every group: ``"none"``;
            ``"step"`` (times ``lr_gamma`` at 50 % and again at 75 % of the run); ``"exponential"``
            (a constant factor per iteration, reaching ``lr_gamma`` times the start at the end);
            ``"cosine"`` (cosine annealing to 0); ``"linear"`` (linear decay to 0).
        lr_gamma: the factor of ``"step"`` and ``"exponential"`` (0 < lr_gamma <= 1).
        d_steps: discriminator (critic) updates per iteration (WGAN: 5).
        g_steps: generator updates per iteration (the vanilla-GAN report found k > 1 helps).
        instance_noise: std of Gaussian noise added to every D input (0 = off).
        extra: family-specific settings (clip value, penalty weight, label ranges...).
    """

    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    optimizer: str = "adam"
    scheduler: str = "none"
    lr_gamma: float = 0.1
    d_steps: int = 1
    g_steps: int = 1
    instance_noise: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> Recipe:
        """Check ranges; returns self. Raises ValueError naming the bad key."""
        if self.optimizer not in _OPTIMIZERS:
            raise ValueError(f"optimizer {self.optimizer!r} is not known; accepted: {', '.join(_OPTIMIZERS)}")
        if self.scheduler not in _SCHEDULERS:
            raise ValueError(f"scheduler {self.scheduler!r} is not known; accepted: {', '.join(_SCHEDULERS)}")
        if not 0 < self.lr_gamma <= 1:
            raise ValueError(f"lr_gamma must be in (0, 1], got {self.lr_gamma!r}")
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


@dataclass(frozen=True)
class Phase:
    """One kind of update within an iteration.

    Attributes:
        group: the optimiser group it trains (a key of :attr:`Family.groups`); also the name
            its loss is logged under.
        repeats: updates of this kind per iteration (>= 1).
        fresh_batch: draw a new real batch for every update; otherwise reuse the iteration's
            latest batch (drawing one if the iteration has none yet).
        freeze: networks whose parameters get no gradient during this phase (G's update needs
            gradients *through* D, not *for* D's weights).
    """

    group: str
    repeats: int = 1
    fresh_batch: bool = True
    freeze: tuple[str, ...] = ()


@dataclass
class StepContext:
    """What :meth:`Family.phase_loss` gets besides the batch.

    Attributes:
        device: where the run trains.
        generator: the run's latent RNG (checkpointed: draw every z / label / code from it).
        batch_size: the configured batch size.
        index: which update of the phase this is (0-based).
        last: whether it is the phase's last update in this iteration.
        cache: a dict shared by all phases of one iteration (e.g. fakes made in D's last update
            and reused, with their graph, by G's first update); emptied at every iteration.
    """

    device: torch.device
    generator: torch.Generator
    batch_size: int
    index: int = 0
    last: bool = True
    cache: dict[str, Any] = field(default_factory=dict)


class Sampler:
    """``sample_fn(k, **conditions)`` for the :class:`~ganlab.metrics.Evaluator`.

    Seeded once; every call returns *new* samples, so N samples drawn in chunks are N distinct
    samples, and the whole sequence is a pure function of the seed and the chunk sizes. For a
    class-conditional family, :attr:`n_classes` is set and calls accept ``labels=(k,) int64``;
    for a family with an unsupervised categorical code (InfoGAN), :attr:`n_categories` is set and
    calls accept ``categories=(k,) int64``. ``fixed`` conditions go to every call (StyleGAN's
    truncation: ``model.sampler(seed, psi=0.7)``).
    """

    def __init__(self, model: Family, seed: int = 1234, use_ema: bool = True, **fixed: Any) -> None:
        self.model = model
        self.use_ema = use_ema
        self.fixed = fixed
        self.n_classes: int | None = model.n_classes
        k = getattr(model, "n_categories", None)
        self.n_categories: int | None = int(k) if isinstance(k, int) else None
        self.device = module_device(model.sampling_generator(use_ema))
        self.generator = torch.Generator(device=self.device).manual_seed(seed)

    def __call__(self, k: int, **conditions: Any) -> Tensor:
        inputs = self.model.sample_inputs(k, self.device, self.generator, **self.fixed, **conditions)
        return self.model.sample(inputs=inputs, use_ema=self.use_ema)


def _augmenting_families() -> list[str]:
    from ganlab.models import MODELS

    return [name for name, cls in MODELS.items() if cls.supports_augment]


class Family(nn.Module):
    """Networks, optimiser groups, phases, generation and state of one GAN family.

    Subclasses set ``family``, ``defaults`` (recipe overrides + ``extra`` keys), and when they
    differ from one G and one D: ``generators``, ``groups``, :meth:`phases`. They implement
    :meth:`phase_loss`, and :meth:`sample_inputs` / :meth:`generate` when G takes more than z.

    Args:
        networks: name -> module; each becomes an attribute (``self.G``) and a ``state_dict``
            prefix (``G.``).
        **overrides: recipe fields (``lr_g``, ``d_steps``...) or family extras (``clip``...).

    Raises:
        ValueError: unknown setting, a group naming a missing network, or a bad recipe value.
    """

    family: ClassVar[str] = "base"
    defaults: ClassVar[dict[str, Any]] = {}
    #: networks that generate; each gets ``<name>_ema`` when EMA is on. The first one samples.
    generators: ClassVar[tuple[str, ...]] = ("G",)
    #: optimiser group -> networks it trains.
    groups: ClassVar[dict[str, tuple[str, ...]]] = {"d": ("D",), "g": ("G",)}
    #: optimiser group -> recipe field holding its learning rate.
    group_lr: ClassVar[dict[str, str]] = {"d": "lr_d", "g": "lr_g"}
    #: whether the family applies ``augment=`` (classical to its reals, DiffAugment / ADA to D's
    #: inputs in ``discriminate``); families that do not refuse the setting.
    supports_augment: ClassVar[bool] = False
    #: whether copies of the family (one per seed) can train as one batched model
    #: (:mod:`ganlab.train.seeds`): every random draw of its step goes through the step's
    #: generator (:mod:`ganlab.rng`), none through torch's global one.
    batches_copies: ClassVar[bool] = False

    def __init__(self, networks: Mapping[str, nn.Module], **overrides: Any) -> None:
        super().__init__()
        self._net_names = tuple(networks)
        for name, module in networks.items():
            if not isinstance(module, nn.Module):
                raise ValueError(f"{self.family}: network {name!r} must be an nn.Module, got {type(module).__name__}")
            setattr(self, name, module)
        for name in self.generators:
            if name not in networks:
                raise ValueError(f"{self.family}: generator {name!r} is missing; given {', '.join(networks)}")
            setattr(self, f"{name}_ema", None)
        for group, members in self.groups.items():
            missing = [m for m in members if m not in networks]
            if missing:
                raise ValueError(f"{self.family}: optimiser group {group!r} names missing networks {missing}")
        self.recipe = self._make_recipe(overrides)
        self.augmentation: Augmentation | None = None
        self._setup_augmentation()
        self.check_extra()

    def _make_recipe(self, overrides: dict[str, Any]) -> Recipe:
        names = {f.name for f in fields(Recipe)}
        merged = {**self.defaults, **overrides}
        extra = {**merged.pop("extra", {})}
        known_extra = set(self.defaults.get("extra", {})) | {"augment"}
        for key in list(merged):
            if key not in names:
                if key not in known_extra:
                    accepted = sorted(names - {"extra"} | known_extra)
                    raise ValueError(
                        f"{self.family}: unknown setting {key!r}; accepted: {', '.join(accepted)}"
                    )
                extra[key] = merged.pop(key)
        return Recipe(**merged, extra={**self.defaults.get("extra", {}), **extra}).validate()

    def _setup_augmentation(self) -> None:
        """Build :attr:`augmentation` from ``recipe.extra["augment"]`` (given as ``augment=``).

        The normalised spec replaces what was given (every setting filled in, so the recipe names
        the augmentation exactly); without augmentation the recipe has no ``augment`` key.
        """
        spec = normalize_spec(self.recipe.extra.pop("augment", None))
        if not spec:
            return
        if not self.supports_augment:
            takes = ", ".join(sorted(_augmenting_families()))
            raise ValueError(f"{self.family}: augment= is not supported by this family; families that "
                             f"take it: {takes}")
        self.recipe.extra["augment"] = spec
        self.augmentation = Augmentation(spec)

    # ----- what a family defines -------------------------------------------------------
    def check_extra(self) -> None:
        """Validate family-specific settings (override when the family has some)."""

    def check_data(self, dataset: Any) -> None:
        """Check, before training starts, that ``dataset`` is what this family trains on (override
        for paired / unpaired families: e.g. every image has a source of the generator's input
        shape). Raises ``ValueError`` saying what was given and what is accepted."""

    def phases(self) -> list[Phase]:
        """The updates of one iteration, in order: ``d_steps`` D updates, then ``g_steps`` G updates."""
        r = self.recipe
        return [Phase("d", r.d_steps, fresh_batch=True),
                Phase("g", r.g_steps, fresh_batch=False, freeze=self.groups["d"])]

    def phase_loss(self, group: str, batch: Any, ctx: StepContext) -> tuple[Tensor, dict[str, Tensor]]:
        """The loss that the update of ``group`` minimises, and scalars to log.

        Args:
            group: the phase's optimiser group (``"d"``, ``"g"``, ...).
            batch: a :class:`ganlab.data.Batch` (``real`` images in [-1, 1], ``labels``...).
            ctx: the :class:`StepContext`.
        Returns:
            (scalar loss, ``{name: scalar tensor}`` logged as running means).
        """
        raise NotImplementedError

    def after_step(self, group: str) -> None:
        """Called after every optimiser step of ``group`` (WGAN clips D's weights here; ADA's
        controller adjusts p after ``"d"`` steps). Overrides call ``super().after_step(group)``."""
        if group == "d" and self.augmentation is not None:
            self.augmentation.after_d_step()

    def copies_reason(self) -> str | None:
        """``None`` when copies of this model can train as one batch of seeds, else why not
        (a family or a setting that draws from torch's global generator)."""
        if not self.batches_copies:
            return f"family {self.family!r} does not draw all its randomness from the step's generator"
        return self.global_draws_reason()

    def global_draws_reason(self) -> str | None:
        """What of this model's *settings* draws from torch's global generator (instance noise,
        augmentation), or None."""
        if self.recipe.instance_noise > 0:
            return "instance noise draws from torch's global generator"
        if self.augmentation is not None:
            return "augmentation draws from torch's global generator"
        return None

    def shards_reason(self) -> str | None:
        """``None`` when a data-parallel run of this family (:mod:`ganlab.train.distributed`: each
        process a slice of the global batch) can follow its single-process run, else why not. The
        step's randomness must come from the step's generator (as for :meth:`copies_reason`) and
        every loss must be a mean over the batch's rows; state built from the whole batch (a
        pool of fakes) must be absent."""
        return self.copies_reason()

    # ----- augmentation (``augment=``; identities without it) ----------------------------
    def augment_real(self, x: Tensor) -> Tensor:
        """Classical augmentation of the real images of a batch (training only)."""
        if self.augmentation is None or not self.training:
            return x
        return self.augmentation.real(x)

    def augment_d_input(self, x: Tensor) -> Tensor:
        """DiffAugment / ADA of any image D is about to see, real or fake (training only;
        differentiable, so G's gradients pass through)."""
        if self.augmentation is None or not self.training:
            return x
        return self.augmentation.d_input(x)

    def observe_real_logits(self, logits: Tensor, n_images: int) -> None:
        """Give ADA's controller D's logits on the (augmented) reals of a D step."""
        if self.augmentation is not None and self.training:
            self.augmentation.observe(logits, n_images)

    def augment_logs(self) -> dict[str, Tensor]:
        """Scalars the D phase logs for the augmentation (``ada_p``)."""
        return self.augmentation.logs() if self.augmentation is not None else {}

    @property
    def n_classes(self) -> int | None:
        """Number of classes a class-conditional family generates (``None``: unconditional)."""
        return None

    def sample_inputs(self, n: int, device: torch.device | str | None = None,
                      generator: torch.Generator | None = None, *, z: Tensor | None = None,
                      **conditions: Any) -> dict[str, Tensor]:
        """The generator's inputs for ``n`` samples: ``{"z": (n, nz)}`` standard normal by default.

        Raises:
            ValueError: a condition this family does not take (e.g. ``labels`` for an
                unconditional family).
        """
        if conditions:
            raise ValueError(f"{self.family} is unconditional; it takes no {', '.join(conditions)}")
        return {"z": self.latent(n, device, generator) if z is None else z}

    def generate(self, net: nn.Module, **inputs: Tensor) -> Tensor:
        """Apply generator ``net`` to inputs from :meth:`sample_inputs` (default ``net(z)``)."""
        return net(inputs["z"])

    # ----- shared machinery -------------------------------------------------------------
    def networks(self) -> dict[str, nn.Module]:
        """The family's networks by name (without EMA copies)."""
        return {name: getattr(self, name) for name in self._net_names}

    @property
    def nz(self) -> int:
        """Latent size of the (first) generator."""
        return int(getattr(self, self.generators[0]).nz)

    def latent(self, n: int, device: torch.device | str | None = None,
               generator: rng.GeneratorLike = None) -> Tensor:
        """``(n, nz)`` standard normal latent codes (a :class:`ganlab.rng.CopyGenerators` draws each
        copy's rows of a batch of seeds from that copy's generator)."""
        device = device if device is not None else module_device(getattr(self, self.generators[0]))
        return rng.randn(n, self.nz, device=device, generator=generator)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """One optimiser per group, built from the recipe (``{"g": ..., "d": ...}``)."""
        r = self.recipe

        def make(params: Any, lr: float) -> torch.optim.Optimizer:
            if r.optimizer == "adam":
                return torch.optim.Adam(params, lr=lr, betas=r.betas)
            if r.optimizer == "rmsprop":
                return torch.optim.RMSprop(params, lr=lr)
            return torch.optim.SGD(params, lr=lr, momentum=r.betas[0], nesterov=r.optimizer == "nesterov")

        out = {}
        for group, members in self.groups.items():
            params = [p for m in members for p in getattr(self, m).parameters()]
            out[group] = make(params, getattr(r, self.group_lr.get(group, "lr_g")))
        return out

    def configure_schedulers(self, optimizers: Mapping[str, torch.optim.Optimizer],
                             steps: int) -> dict[str, torch.optim.lr_scheduler.LRScheduler]:
        """The recipe's learning-rate schedule for each optimiser of a run of ``steps`` iterations
        (stepped once per iteration; ``{}`` for ``scheduler="none"``)."""
        r, sched = self.recipe, torch.optim.lr_scheduler
        steps = max(1, int(steps))

        def make(opt: torch.optim.Optimizer) -> Any:
            if r.scheduler == "step":
                return sched.MultiStepLR(opt, milestones=[steps // 2, (3 * steps) // 4], gamma=r.lr_gamma)
            if r.scheduler == "exponential":
                return sched.ExponentialLR(opt, gamma=r.lr_gamma ** (1.0 / steps))
            if r.scheduler == "cosine":
                return sched.CosineAnnealingLR(opt, T_max=steps, eta_min=0.0)
            return sched.LambdaLR(opt, lambda i: max(0.0, 1.0 - i / steps))  # linear

        return {} if r.scheduler == "none" else {group: make(opt) for group, opt in optimizers.items()}

    def ema(self, name: str | None = None) -> nn.Module | None:
        """The EMA copy of generator ``name`` (default: the first), or None when EMA is off."""
        return getattr(self, f"{name or self.generators[0]}_ema")

    def enable_ema(self) -> nn.Module:
        """Create (once) an EMA copy of every generator; returns the first one's."""
        for name in self.generators:
            if getattr(self, f"{name}_ema") is None:
                setattr(self, f"{name}_ema", copy.deepcopy(getattr(self, name)).requires_grad_(False).eval())
        return self.ema()  # type: ignore[return-value]

    def sampling_generator(self, use_ema: bool = True, name: str | None = None) -> nn.Module:
        """Generator ``name`` (default: the first), its EMA copy when present and ``use_ema``."""
        ema = self.ema(name)
        return ema if (use_ema and ema is not None) else getattr(self, name or self.generators[0])

    def sample(self, n: int | None = None, seed: int | None = None, z: Tensor | None = None,
               batch_size: int = 500, use_ema: bool = True, inputs: Mapping[str, Tensor] | None = None,
               **conditions: Any) -> Tensor:
        """Generate in eval mode, without gradients (EMA generator when present).

        Give ``n`` (and a ``seed``), or the codes ``z``, or all generator ``inputs``; class-
        conditional families also take ``labels=(n,) int64``.

        Returns:
            ``(n, *out_shape)`` float32 on the generator's device; images lie in [-1, 1].
        """
        G = self.sampling_generator(use_ema)
        if inputs is None:
            device = module_device(G)
            if n is None:
                if z is None:
                    raise ValueError("sample needs n, z or inputs")
                n = int(z.shape[0])
            gen = torch.Generator(device=device).manual_seed(seed) if seed is not None else None
            inputs = self.sample_inputs(n, device, gen, z=z, **conditions)
        return generate_batched(G, inputs, batch_size=batch_size, call=self.generate)

    def sampler(self, seed: int = 1234, use_ema: bool = True, **fixed: Any) -> Sampler:
        """A :class:`Sampler` for :class:`ganlab.metrics.Evaluator` (fixed seed: comparable
        evaluations); ``fixed`` conditions go to every draw (e.g. ``psi=0.7`` for StyleGAN)."""
        return Sampler(self, seed, use_ema, **fixed)

    def reuse_or_generate(self, ctx: StepContext, make_inputs: Any) -> tuple[Tensor, dict[str, Tensor]]:
        """G's fakes for a generator update: those D's last update cached, else new ones.

        ``make_inputs()`` draws fresh generator inputs (from ``ctx.generator``).
        """
        cached = ctx.cache.pop("fake", None)
        if cached is not None:
            return cached
        inputs = make_inputs()
        return self.generate(getattr(self, self.generators[0]), **inputs), inputs

    def fakes_for_d(self, ctx: StepContext, inputs: dict[str, Tensor]) -> Tensor:
        """Detached fakes for a D update; D's last update keeps them (with their graph) for G's first.

        One G forward per iteration at a 1:1 ratio, like the reference DCGAN loop.
        """
        with torch.set_grad_enabled(ctx.last):
            fake = self.generate(getattr(self, self.generators[0]), **inputs)
        if ctx.last:
            ctx.cache["fake"] = (fake, inputs)
        return fake.detach()

    def describe(self) -> dict[str, Any]:
        """Family, recipe and parameter counts (for run records)."""
        count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
        nets = self.networks()
        gens = [nets[g] for g in self.generators]
        out: dict[str, Any] = {
            "family": self.family, "recipe": self.recipe.as_dict(),
            "params_g": sum(count(m) for m in gens),
            "params_d": sum(count(m) for k, m in nets.items() if k not in self.generators),
            "networks": {k: {"type": type(m).__name__, "params": count(m)} for k, m in nets.items()},
        }
        for k in ("G", "D"):
            if k in nets:
                out[k] = type(nets[k]).__name__
        return out


class GANModel(Family):
    """A generator, a discriminator (or critic) and the family's two losses.

    Subclasses set ``family`` and ``defaults`` and implement :meth:`d_loss` and :meth:`g_loss`
    (plus :meth:`after_d_step` if they need it).

    Args:
        G: generator, ``(N, nz) -> (N, *out_shape)``.
        D: discriminator/critic, ``(N, *out_shape) -> (N,)`` logits.
        **overrides: recipe fields (``lr_g``, ``d_steps``...) or family extras (``clip``...).
    """

    supports_augment = True

    def __init__(self, G: nn.Module, D: nn.Module, **overrides: Any) -> None:
        if not hasattr(G, "nz"):
            raise ValueError(f"generator {type(G).__name__} has no 'nz' attribute (latent size)")
        super().__init__({"G": G, "D": D}, **overrides)
        self._watched_real: Tensor | None = None
        #: the training step's generator (``ctx.generator``) while :meth:`phase_loss` runs, for
        #: losses that draw (WGAN-GP's interpolation weights); ``None`` outside training steps.
        self.step_generator: rng.GeneratorLike = None

    # ----- what a family defines -------------------------------------------------------
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

    # ----- the contract, in terms of the two losses -------------------------------------
    def phase_loss(self, group: str, batch: Any, ctx: StepContext) -> tuple[Tensor, dict[str, Tensor]]:
        """``d``: :meth:`d_loss` on the batch and fresh fakes; ``g``: :meth:`g_loss` (D's last fakes reused).

        With ``augment=``: the reals get the classical augmentation first; in the D step,
        :meth:`discriminate` recognises them (the same tensor) and gives D's logits on them to
        ADA's controller.
        """
        self.step_generator = ctx.generator
        try:
            return self._phase_loss(group, batch, ctx)
        finally:
            self.step_generator = None

    def _phase_loss(self, group: str, batch: Any, ctx: StepContext) -> tuple[Tensor, dict[str, Tensor]]:
        bs = ctx.batch_size
        real = self.augment_real(batch.real)
        if group == "d":
            fake = self.fakes_for_d(ctx, {"z": self.latent(bs, ctx.device, ctx.generator)})
            if self.augmentation is None:
                return self.d_loss(real, fake)
            self._watched_real = real
            try:
                loss, logs = self.d_loss(real, fake)
            finally:
                self._watched_real = None
            return loss, {**logs, **self.augment_logs()}
        fake, _ = self.reuse_or_generate(ctx, lambda: {"z": self.latent(bs, ctx.device, ctx.generator)})
        return self.g_loss(fake, real)

    def after_step(self, group: str) -> None:
        super().after_step(group)
        if group == "d":
            self.after_d_step()

    def discriminate(self, x: Tensor) -> Tensor:
        """D(x) (``(N,)`` logits) with, in training, DiffAugment / ADA (``augment=``) and then the
        recipe's instance noise applied to x; D's logits on the D step's reals go to ADA."""
        watched = self._watched_real is not None and x is self._watched_real
        x_in = self.augment_d_input(x)
        if self.recipe.instance_noise > 0 and self.training:
            x_in = instance_noise(x_in, self.recipe.instance_noise)
        logits = self.D(x_in)
        if watched:
            self.observe_real_logits(logits, x.shape[0])
        return logits
