"""Adversarial objectives and regularisers as pure functions of discriminator outputs.

Every loss takes raw logits / critic scores (any shape, usually ``(N,)`` from a ganlab
discriminator; patch maps ``(N, 1, H, W)`` work too), computes in float32 (safe under bf16 /
fp16 autocast) and returns a scalar tensor to *minimise*. Nothing here touches an optimiser.

==================  ==========================================  ===========================
family              discriminator / critic                      generator
==================  ==========================================  ===========================
GAN (Goodfellow)    :func:`d_loss_bce`                          :func:`g_loss_minimax` (saturating),
                                                                :func:`g_loss_nonsaturating`
LSGAN               :func:`d_loss_ls`                           :func:`g_loss_ls`
WGAN / WGAN-GP      :func:`d_loss_wasserstein` (+ clipping or   :func:`g_loss_wasserstein`
                    :func:`gradient_penalty`)
hinge (SNGAN)       :func:`d_loss_hinge`                        :func:`g_loss_hinge`
RealnessGAN         :func:`d_loss_realness` (KL to anchors)     :func:`g_loss_realness` (5 objectives)
==================  ==========================================  ===========================

Regularisers and tricks: :func:`gradient_penalty`, :func:`r1_penalty`, :func:`clip_weights_`,
:func:`random_targets` / :func:`smooth_targets` (label smoothing and random label ranges),
:func:`instance_noise`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganlab import rng

__all__ = [
    "d_loss_bce",
    "g_loss_nonsaturating",
    "g_loss_minimax",
    "d_loss_ls",
    "g_loss_ls",
    "d_loss_wasserstein",
    "g_loss_wasserstein",
    "d_loss_hinge",
    "g_loss_hinge",
    "gradient_penalty",
    "r1_penalty",
    "clip_weights_",
    "random_targets",
    "smooth_targets",
    "instance_noise",
    "ANCHORS",
    "REALNESS_G_OBJECTIVES",
    "realness_anchors",
    "kl_to_logits",
    "kl_between_logits",
    "d_loss_realness",
    "g_loss_realness",
]

Target = float | torch.Tensor


# ----------------------------------------------------------------------------- checks
def _logits(name: str, x: torch.Tensor) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a tensor of logits; got {type(x).__name__}")
    if x.numel() == 0:
        raise ValueError(
            f"{name} is empty (shape {tuple(x.shape)}); a loss needs at least one logit"
        )
    return x.float()


def _target(name: str, target: Target, logits: torch.Tensor) -> torch.Tensor:
    """A float target, or a tensor of the logits' shape (or one element), as a float tensor."""
    if isinstance(target, torch.Tensor):
        if target.numel() != 1 and target.shape != logits.shape:
            raise ValueError(
                f"{name} has shape {tuple(target.shape)} but the logits have shape "
                f"{tuple(logits.shape)}; give a float or a tensor of the logits' shape"
            )
        return target.to(device=logits.device, dtype=logits.dtype).expand_as(logits)
    return torch.full_like(logits, float(target))


# ----------------------------------------------------------------------------- GAN (BCE)
def d_loss_bce(
    real_logits: torch.Tensor,
    fake_logits: torch.Tensor,
    real_target: Target = 1.0,
    fake_target: Target = 0.0,
) -> torch.Tensor:
    """Discriminator cross-entropy: ``BCE(real, real_target) + BCE(fake, fake_target)``.

    Each term is a mean over its batch (the two are summed, not averaged, as in the DCGAN
    reference code); with the default targets this is ``-mean log D(x) - mean log(1 - D(G(z)))``,
    D = sigmoid(logits). Targets are floats (one-sided smoothing: ``real_target=0.9``) or
    tensors of the logits' shape (random ranges, see :func:`random_targets`), in [0, 1].
    """
    real = _logits("real_logits", real_logits)
    fake = _logits("fake_logits", fake_logits)
    return F.binary_cross_entropy_with_logits(
        real, _target("real_target", real_target, real)
    ) + F.binary_cross_entropy_with_logits(fake, _target("fake_target", fake_target, fake))


def g_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss ``-mean log D(G(z)) = mean softplus(-l)``.

    Its gradient w.r.t. a logit l is ``-(1 - sigmoid(l))``, close to -1 when D confidently
    rejects a sample (l << 0): strong gradients early in training.
    """
    fake = _logits("fake_logits", fake_logits)
    return F.softplus(-fake).mean()


def g_loss_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    """Saturating (minimax) generator loss ``mean log(1 - D(G(z))) = -mean softplus(l)``.

    Minimised by G. Its gradient w.r.t. a logit l is ``-sigmoid(l)``, which vanishes when D
    confidently rejects a sample (l << 0): the reason the non-saturating loss is used.
    """
    fake = _logits("fake_logits", fake_logits)
    return -F.softplus(fake).mean()


# ----------------------------------------------------------------------------- LSGAN
def d_loss_ls(
    real: torch.Tensor, fake: torch.Tensor, a: float = 0.0, b: float = 1.0
) -> torch.Tensor:
    """LSGAN discriminator loss ``1/2 mean (D(x) - b)^2 + 1/2 mean (D(G(z)) - a)^2``.

    D outputs are raw (no sigmoid). ``a`` is the fake label, ``b`` the real label
    (Mao et al.: a=0, b=1, c=1; or a=-1, b=1, c=0).
    """
    real = _logits("real logits", real)
    fake = _logits("fake logits", fake)
    return 0.5 * (real - b).pow(2).mean() + 0.5 * (fake - a).pow(2).mean()


def g_loss_ls(fake: torch.Tensor, c: float = 1.0) -> torch.Tensor:
    """LSGAN generator loss ``1/2 mean (D(G(z)) - c)^2``; ``c`` is the value G wants D to output."""
    fake = _logits("fake logits", fake)
    return 0.5 * (fake - c).pow(2).mean()


# ----------------------------------------------------------------------------- Wasserstein
def d_loss_wasserstein(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Critic loss ``mean f(G(z)) - mean f(x)`` (minus the Wasserstein-1 estimate)."""
    real = _logits("real logits", real)
    fake = _logits("fake logits", fake)
    return fake.mean() - real.mean()


def g_loss_wasserstein(fake: torch.Tensor) -> torch.Tensor:
    """Generator loss ``-mean f(G(z))``."""
    return -_logits("fake logits", fake).mean()


# ----------------------------------------------------------------------------- hinge
def d_loss_hinge(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Hinge discriminator loss ``mean relu(1 - D(x)) + mean relu(1 + D(G(z)))``."""
    real = _logits("real logits", real)
    fake = _logits("fake logits", fake)
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def g_loss_hinge(fake: torch.Tensor) -> torch.Tensor:
    """Hinge generator loss ``-mean D(G(z))``."""
    return -_logits("fake logits", fake).mean()


# ----------------------------------------------------------------------------- regularisers
def gradient_penalty(
    critic: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    weight: float = 10.0,
    generator: rng.GeneratorLike = None,
) -> torch.Tensor:
    """WGAN-GP penalty ``weight * mean_i (||grad_x f(x_i)||_2 - 1)^2`` (Gulrajani et al. 2017).

    ``x_i = eps_i * real_i + (1 - eps_i) * fake_i`` with one ``eps_i ~ U[0, 1]`` per sample
    (drawn with ``generator``, which must live on ``real``'s device; a
    :class:`ganlab.rng.CopyGenerators` draws each copy's rows of a batch of seeds from its own).
    ``real`` and ``fake``
    are detached: the penalty trains the critic only. The gradient is taken with
    ``create_graph=True``, so ``penalty.backward()`` reaches the critic's parameters.

    Mixed precision: the critic is run on the interpolates in float32 with autocast disabled,
    so the input gradient is computed in full precision and is *unscaled*. That is what the
    PyTorch AMP notes ("gradient penalty") require: the penalty must be built from unscaled
    gradients. They get there by scaling the output, calling ``autograd.grad`` and dividing by
    the scale; here no scaling happens in the first place, which is equivalent and cannot
    overflow in fp16. Add the result to the critic loss and scale the total with the caller's
    ``GradScaler`` as usual (``scaler.scale(d_loss + gp).backward()``).

    The penalty is per sample only if the critic treats samples independently: use no batch
    norm in a WGAN-GP critic (``norm="layer"``, ``"instance"`` or ``"none"``).

    Args:
        critic: maps ``(N, ...)`` to scores ``(N,)``.
        real, fake: batches of the same shape ``(N, ...)``.
        weight: lambda (10 in the paper), >= 0.

    Returns:
        scalar float32 tensor.
    """
    if real.shape != fake.shape:
        raise ValueError(
            f"real and fake must have the same shape; got {tuple(real.shape)} and {tuple(fake.shape)}"
        )
    if real.dim() < 1 or real.shape[0] == 0:
        raise ValueError(f"real/fake must be a non-empty batch (N, ...); got {tuple(real.shape)}")
    if weight < 0:
        raise ValueError(f"weight must be >= 0; got {weight!r}")
    n = real.shape[0]
    real32 = real.detach().float()
    fake32 = fake.detach().float()
    eps = rng.rand(n, *(1,) * (real.dim() - 1), generator=generator, device=real.device, dtype=torch.float32)
    x_hat = (eps * real32 + (1.0 - eps) * fake32).requires_grad_(True)
    with torch.autocast(device_type=real.device.type, enabled=False), torch.enable_grad():
        scores = critic(x_hat).float()
        (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    norms = torch.linalg.vector_norm(grad.reshape(n, -1), dim=1)
    return weight * (norms - 1.0).pow(2).mean()


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor, gamma: float) -> torch.Tensor:
    """R1 penalty ``gamma / 2 * mean_i ||grad_x D(x_i)||_2^2`` on real data (Mescheder et al. 2018).

    ``real`` must require grad *before* D is applied (``real.requires_grad_(True)``), and
    ``real_logits = D(real)``. The gradient uses ``create_graph=True``. Under fp16 autocast with
    a GradScaler, compute ``real_logits`` outside autocast so the gradient is not underflowed.

    Returns:
        scalar float32 tensor.
    """
    if not isinstance(real, torch.Tensor) or not real.requires_grad:
        raise ValueError(
            "r1_penalty needs the real batch to require grad: call real.requires_grad_(True) "
            "before computing real_logits = D(real)"
        )
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0; got {gamma!r}")
    _logits("real_logits", real_logits)
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    sq = grad.float().reshape(real.shape[0], -1).pow(2).sum(dim=1)
    return 0.5 * gamma * sq.mean()


@torch.no_grad()
def clip_weights_(module: nn.Module, c: float) -> nn.Module:
    """Clamp every parameter of ``module`` to ``[-c, c]`` in place (original WGAN, c = 0.01);
    returns ``module``. Call it after each critic optimiser step."""
    if not c > 0:
        raise ValueError(f"clip value c must be > 0; got {c!r}")
    for p in module.parameters():
        p.clamp_(-c, c)
    return module


def random_targets(
    n: int,
    low: float,
    high: float,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """``n`` labels drawn uniformly from ``[low, high]`` (float32, shape ``(n,)``).

    Random label ranges of the vanilla-GAN report: fake targets in [0, 0.3], real in [0.7, 1]
    (``d_loss_bce(r, f, random_targets(n, 0.7, 1.0), random_targets(n, 0.0, 0.3))``).
    ``low == high`` gives a constant. With a ``generator`` the draw is reproducible; ``device``
    defaults to the generator's device (else CPU).
    """
    if int(n) < 0:
        raise ValueError(f"n must be >= 0; got {n!r}")
    if low > high:
        raise ValueError(f"low must be <= high; got low={low!r}, high={high!r}")
    if device is None and generator is not None:
        device = generator.device
    u = torch.rand(int(n), generator=generator, device=device, dtype=torch.float32)
    return low + (high - low) * u


def smooth_targets(
    spec: float | tuple[float, float],
    n: int,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> Target:
    """Targets for :func:`d_loss_bce` from a recipe value.

    ``spec`` a float (e.g. 1.0, or 0.9 for one-sided label smoothing) -> that float;
    ``spec`` a pair ``(low, high)`` (e.g. (0.7, 1.0)) -> ``random_targets(n, low, high, ...)``.
    Values must lie in [0, 1].
    """
    if isinstance(spec, (tuple, list)):
        if len(spec) != 2:
            raise ValueError(f"a target range must be (low, high); got {spec!r}")
        low, high = float(spec[0]), float(spec[1])
        if not 0.0 <= low <= high <= 1.0:
            raise ValueError(f"a target range must satisfy 0 <= low <= high <= 1; got {spec!r}")
        return random_targets(n, low, high, generator=generator, device=device)
    value = float(spec)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"a target must lie in [0, 1]; got {spec!r}")
    return value


def instance_noise(
    x: torch.Tensor, std: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``x + N(0, std^2)`` noise of ``x``'s shape, dtype, device and memory format (a new tensor;
    ``std == 0`` returns ``x`` itself). Applied to both real and fake D inputs."""
    if std < 0:
        raise ValueError(f"std must be >= 0; got {std!r}")
    if std == 0:
        return x
    return x + torch.empty_like(x).normal_(0.0, std, generator=generator)


# ----------------------------------------------------------------------------- RealnessGAN
#: anchor choices of :func:`realness_anchors`.
ANCHORS = ("paper", "onehot", "ramp")
#: generator objectives of :func:`g_loss_realness` (A0 = fake anchor, A1 = real anchor, D(.) the
#: discriminator's distribution over outcomes): the paper's three, the official code's default
#: and the non-saturating analogue.
REALNESS_G_OBJECTIVES = {
    "minus_a0": "-KL(A0 || D(G(z)))",
    "real_minus_a0": "KL(D(x) || D(G(z))) - KL(A0 || D(G(z)))",
    "a1_minus_a0": "KL(A1 || D(G(z))) - KL(A0 || D(G(z)))",
    "real": "KL(D(x) || D(G(z)))",
    "a1": "KL(A1 || D(G(z)))",
}


def realness_anchors(outcomes: int, kind: str = "paper") -> tuple[torch.Tensor, torch.Tensor]:
    """The anchors ``(A0, A1)`` of RealnessGAN: distributions ``(outcomes,)`` over D's outcomes.

    * ``"paper"`` (Xiangli et al. 2020, official code): A0 = the histogram of N(0, 0.1) and A1 =
      the histogram of U(-1, 1), each binned into ``outcomes`` equal bins over its own range (the
      code's ``np.histogram`` of 1,000 draws; here the exact masses over +-3.2 sigma, the range
      1,000 Gaussian draws span on average): a bell for fakes, flat for reals. At ``outcomes=2``
      both are (0.5, 0.5): the two anchors coincide and D has nothing to learn.
    * ``"onehot"``: A0 = e_0, A1 = e_{N-1}. At ``outcomes=2`` the objectives are the GAN's.
    * ``"ramp"``: A0 proportional to N, N-1, ..., 1 and A1 to 1, ..., N (overlapping, nowhere 0).

    Raises:
        ValueError: ``outcomes`` < 2 or an unknown ``kind``.
    """
    if not isinstance(outcomes, int) or isinstance(outcomes, bool) or outcomes < 2:
        raise ValueError(f"RealnessGAN needs outcomes >= 2 (an integer), got {outcomes!r}")
    if kind == "paper":
        edges = torch.linspace(-3.2, 3.2, outcomes + 1, dtype=torch.float64)
        mass = torch.special.ndtr(edges[1:]) - torch.special.ndtr(edges[:-1])
        a0 = mass / mass.sum()
        a1 = torch.full((outcomes,), 1.0 / outcomes, dtype=torch.float64)
    elif kind == "onehot":
        a0 = torch.zeros(outcomes, dtype=torch.float64)
        a1 = torch.zeros(outcomes, dtype=torch.float64)
        a0[0], a1[-1] = 1.0, 1.0
    elif kind == "ramp":
        up = torch.arange(1, outcomes + 1, dtype=torch.float64)
        a1 = up / up.sum()
        a0 = a1.flip(0)
    else:
        raise ValueError(f"anchors {kind!r} are not known; accepted: {', '.join(ANCHORS)} "
                         "(or two probability vectors of length outcomes)")
    return a0.float(), a1.float()


def _distribution(name: str, p: torch.Tensor, outcomes: int) -> torch.Tensor:
    if p.ndim not in (1, 2) or p.shape[-1] != outcomes:
        raise ValueError(f"{name} must have {outcomes} outcomes (shape ({outcomes},) or (N, {outcomes})); "
                         f"got shape {tuple(p.shape)}")
    return p.float()


def kl_to_logits(target: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Per-sample ``KL(target || softmax(logits))`` in nats, ``(N,)``.

    Args:
        target: ``(K,)`` (one anchor for every sample) or ``(N, K)`` probabilities; zeros allowed
            (0 log 0 = 0).
        logits: ``(N, K)`` D's raw outputs over K outcomes.
    """
    logits = _logits("logits", logits)
    if logits.ndim != 2:
        raise ValueError(f"logits must be (N, outcomes); got shape {tuple(logits.shape)}")
    p = _distribution("target", target, logits.shape[1]).to(logits.device)
    log_q = F.log_softmax(logits, dim=1)
    return (torch.special.xlogy(p, p) - p * log_q).sum(dim=1)


def kl_between_logits(p_logits: torch.Tensor, q_logits: torch.Tensor) -> torch.Tensor:
    """Per-sample ``KL(softmax(p_logits) || softmax(q_logits))``, ``(N,)``; both ``(N, K)``
    (or ``p_logits`` ``(K,)``: one distribution for all)."""
    p_logits = _logits("p_logits", p_logits)
    return kl_to_logits(F.softmax(p_logits, dim=-1), q_logits)


def d_loss_realness(real_logits: torch.Tensor, fake_logits: torch.Tensor,
                    a0: torch.Tensor, a1: torch.Tensor) -> torch.Tensor:
    """RealnessGAN's D loss ``mean KL(A1 || D(x)) + mean KL(A0 || D(G(z)))``.

    Args:
        real_logits, fake_logits: ``(N, K)`` D's logits over K outcomes on reals and fakes.
        a0, a1: ``(K,)`` the fake and real anchors (:func:`realness_anchors`).

    With ``onehot`` anchors and K = 2 this is :func:`d_loss_bce` of the logit ``l_1 - l_0``.
    """
    return kl_to_logits(a1, real_logits).mean() + kl_to_logits(a0, fake_logits).mean()


def g_loss_realness(fake_logits: torch.Tensor, real_logits: torch.Tensor | None,
                    a0: torch.Tensor, a1: torch.Tensor, objective: str = "real") -> torch.Tensor:
    """RealnessGAN's G loss, one of :data:`REALNESS_G_OBJECTIVES` (a mean over the batch).

    Args:
        fake_logits: ``(N, K)`` D's logits on G's samples (carrying gradients to G).
        real_logits: ``(N, K)`` D's logits on a real batch (the ``real*`` objectives; detached
            here: G cannot move them), else ignored.
        a0, a1: ``(K,)`` anchors.
        objective: ``"minus_a0"`` (the paper's theory objective; with onehot anchors at K = 2 the
            saturating minimax loss), ``"real_minus_a0"``, ``"a1_minus_a0"``, ``"real"`` (the
            official code's default) or ``"a1"`` (the non-saturating analogue).

    Raises:
        ValueError: unknown objective, or a ``real*`` objective without ``real_logits``.
    """
    if objective not in REALNESS_G_OBJECTIVES:
        raise ValueError(f"g_objective {objective!r} is not known; accepted: {', '.join(REALNESS_G_OBJECTIVES)}")
    loss = torch.zeros((), device=fake_logits.device)
    if objective.startswith("real"):
        if real_logits is None:
            raise ValueError(f"g_objective {objective!r} needs D's logits on a real batch")
        real_p = F.softmax(_logits("real_logits", real_logits).detach(), dim=1)
        if real_p.shape[0] != fake_logits.shape[0]:
            real_p = real_p.mean(dim=0)  # unequal batches: the reals' mean distribution
        loss = loss + kl_to_logits(real_p, fake_logits).mean()
    if objective.startswith("a1"):
        loss = loss + kl_to_logits(a1, fake_logits).mean()
    if objective.endswith("minus_a0"):
        loss = loss - kl_to_logits(a0, fake_logits).mean()
    return loss
