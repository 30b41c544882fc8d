"""StyleGAN-lite (Karras, Laine, Aila, CVPR 2019) at DCGAN scale: mapping network, AdaIN, noise.

The generator is split as in the paper:

    z (N, nz) --PixelNorm--> mapping: depth x [EqualLinear + LeakyReLU(0.2)] --> w (N, w_dim)
    w --truncation (psi, around the tracked mean of w)--> one w per style layer: ws (N, L, w_dim)
    synthesis: learned constant (C0, s, s) --> per resolution r = s, 2s, ..., image_size:
        [upsample x2 (not at r = s) + conv 3x3] + noise * per-channel scale + LeakyReLU + AdaIN(ws[i])
        [conv 3x3]                              + noise * per-channel scale + LeakyReLU + AdaIN(ws[i+1])
      --> 1x1 conv to RGB --> tanh                                       images (N, C, H, W) in [-1, 1]

At the first resolution the first "conv" is the constant itself (noise and AdaIN only), as in
the paper, so a generator at ``image_size`` has ``L = 2 * n_resolutions`` style layers
(32 px: resolutions 4, 8, 16, 32 -> L = 8). ``layers_per_resolution=1`` keeps only the first
layer of each resolution (the constant's, then upsample + conv): L = n_resolutions, about half
the synthesis cost — the course's CPU setting.

* **Mapping network**: ``mapping_depth`` fully connected layers of ``w_dim`` units (published:
  8 x 512); every layer uses the *equalised learning rate* with multiplier ``mapping_lr_mul``
  (published 0.01): weights are stored as N(0, 1 / lr_mul) and scaled by ``lr_mul / sqrt(fan_in)``
  at run time, so Adam moves them ``lr_mul`` times slower than the synthesis layers.
  ``mapping_depth=0`` is no mapping: w is the pixel-normalised z (the Z-space ablation).
* **AdaIN** (Huang & Belongie 2017): ``AdaIN(x, w) = s(w) * (x - mean(x)) / std(x) + b(w)`` per
  sample and channel, ``(s, b)`` an affine map of w (``s`` initialised at 1).
* **Noise**: one single-channel N(0, 1) map per layer, times a learned per-channel scale
  (initialised at 0). In training mode it is drawn afresh every forward pass; in eval mode a
  fixed map (a buffer drawn at construction) is used, so ``G.eval()(z)`` is a function of z
  (the official code's ``noise_mode="const"``; interpolation and path length then measure the
  latent path alone). ``noise_mode`` overrides this per call.
* **Style mixing regularisation**: in training mode, with probability ``mixing_prob``
  (published 0.9) a sample's layers from a random crossover on take the w of a second random z.
* **Truncation trick**: ``w' = w_avg + psi * (w - w_avg)``; ``w_avg`` is a buffer tracked in
  training as an exponential moving average (``w_avg_beta`` = 0.995) of the batches' mean w.

All randomness of the training forward pass (mixing, noise) comes from torch's global RNG,
which the trainer checkpoints, so resumed runs stay exact.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlab import rng
from ganlab.nets.layers import check_choice

__all__ = ["EqualLinear", "PixelNorm", "MappingNetwork", "AdaIN", "NoiseInjection", "StyleLayer",
           "StyleGenerator", "STYLE_SIZES", "NOISE_MODES", "adain"]

#: image size -> side of the learned constant (resolutions double from there).
_START: dict[int, int] = {28: 7, 32: 4, 64: 4}
#: Supported image sizes.
STYLE_SIZES: tuple[int, ...] = tuple(sorted(_START))
#: Noise modes of :meth:`StyleGenerator.synthesis`: ``"random"`` (fresh N(0, 1) maps), ``"const"``
#: (the layer's fixed map), ``"none"`` (no noise); ``None`` = random in training, const in eval.
NOISE_MODES: tuple[str, ...] = ("random", "const", "none")
#: channel multipliers of ``width`` per resolution, from the constant up (64 px: 4, 8, 16, 32, 64).
_MULTS: dict[int, tuple[int, ...]] = {64: (8, 8, 4, 2, 1), 32: (4, 4, 2, 1), 28: (4, 2, 1)}


def _positive_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


class EqualLinear(nn.Module):
    """Linear layer with the equalised learning rate (Karras et al. 2018).

    The stored weight is N(0, 1 / lr_mul); the layer uses ``weight * gain * lr_mul / sqrt(in_features)``
    and ``bias * lr_mul``, so every layer starts with He-scaled weights (``gain = sqrt(2)``
    before a LeakyReLU keeps the activations' second moment through a deep stack) and an
    optimiser step changes the effective weights ``lr_mul`` times as much as a plain layer's.

    Args:
        in_features, out_features: sizes; ``x`` ``(N, in)`` -> ``(N, out)``.
        lr_mul: learning-rate multiplier (mapping network: 0.01).
        bias_init: initial value of the (effective) bias.
        gain: He gain of the initial effective weights (sqrt(2) before LeakyReLU, 1 for a linear output).
    """

    def __init__(self, in_features: int, out_features: int, lr_mul: float = 1.0,
                 bias_init: float = 0.0, gain: float = 1.0) -> None:
        super().__init__()
        if not lr_mul > 0:
            raise ValueError(f"lr_mul must be > 0, got {lr_mul!r}")
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_mul))
        self.lr_mul = float(lr_mul)
        self.scale = gain * lr_mul / math.sqrt(in_features)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[1]}, {self.weight.shape[0]}, lr_mul={self.lr_mul}"


class PixelNorm(nn.Module):
    """``z / sqrt(mean(z^2) + 1e-8)`` over the feature dimension: every code on the sphere of
    radius sqrt(nz) (``(N, nz)`` -> ``(N, nz)``)."""

    def forward(self, z: Tensor) -> Tensor:
        return z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class MappingNetwork(nn.Module):
    """z ``(N, nz)`` -> w ``(N, w_dim)``: PixelNorm, then ``depth`` x (EqualLinear + LeakyReLU(0.2)).

    Every layer has the He gain sqrt(2) (as the official code): without it each LeakyReLU layer
    halves the second moment and an untrained 8-layer mapping sends every z to nearly the same w
    (measured: the spread of w shrinks from 8 to 0.3), i.e. one style for all samples.
    ``depth=0`` returns the pixel-normalised z (then ``w_dim`` must equal ``nz``).
    """

    def __init__(self, nz: int, w_dim: int, depth: int = 8, lr_mul: float = 0.01) -> None:
        super().__init__()
        _positive_int("mapping_depth", depth, 0)
        if depth == 0 and w_dim != nz:
            raise ValueError(f"mapping_depth=0 needs w_dim == nz; got w_dim={w_dim}, nz={nz}")
        layers: list[nn.Module] = [PixelNorm()]
        for i in range(depth):
            layers += [EqualLinear(nz if i == 0 else w_dim, w_dim, lr_mul=lr_mul, gain=math.sqrt(2)),
                       nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers)
        self.depth = depth

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


def adain(x: Tensor, scale: Tensor, bias: Tensor, eps: float = 1e-5) -> Tensor:
    """Adaptive instance normalisation: normalise each sample's channel over (H, W), then apply
    the style: ``scale * (x - mean) / sqrt(var + eps) + bias``.

    Args:
        x: feature maps ``(N, C, H, W)``.
        scale, bias: per-sample styles ``(N, C)``.
    """
    var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, unbiased=False)
    # the same affine map of x with its per-channel coefficients folded first, so the full-size
    # tensor is touched by one fused multiply-add (a = scale / std, x * a + (bias - mean * a))
    a = scale[:, :, None, None] * torch.rsqrt(var + eps)
    return torch.addcmul(bias[:, :, None, None] - mean * a, x, a)


class AdaIN(nn.Module):
    """AdaIN driven by w: an affine map ``w (N, w_dim) -> (scale, bias) (N, C) each`` (scale
    initialised at 1, bias at 0), then :func:`adain`."""

    def __init__(self, channels: int, w_dim: int) -> None:
        super().__init__()
        self.style = EqualLinear(w_dim, 2 * channels)
        with torch.no_grad():
            self.style.bias[:channels] = 1.0  # scale starts at 1 (lr_mul = 1: stored = effective)
        self.channels = channels

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        scale, bias = self.style(w).split(self.channels, dim=1)
        return adain(x, scale, bias)


class NoiseInjection(nn.Module):
    """``x + scale[c] * noise`` with one ``(N, 1, H, W)`` noise map per sample and a learned
    per-channel ``scale`` (initialised at 0); ``const`` is the layer's fixed map ``(1, 1, H, W)``."""

    def __init__(self, channels: int, size: int, seed: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.zeros(channels))
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("const", torch.randn(1, 1, size, size, generator=g))

    def forward(self, x: Tensor, mode: str) -> Tensor:
        if mode == "none":
            return x
        if mode == "const":
            noise = self.const.to(x.dtype)
        elif (g := rng.current()) is None:  # outside training: torch's global generator
            noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device, dtype=x.dtype)
        else:  # a training step: its generator (ganlab.rng.step_generator), so runs shard exactly
            noise = rng.randn(x.shape[0], 1, x.shape[2], x.shape[3], generator=g, device=x.device, dtype=x.dtype)
        return torch.addcmul(x, self.scale.to(x.dtype).view(1, -1, 1, 1), noise)


class StyleLayer(nn.Module):
    """One style layer: [upsample x2] [conv 3x3] + noise, LeakyReLU(0.2), AdaIN(w).

    ``conv=False`` is the first layer on the learned constant (noise and AdaIN only).
    Input ``(N, c_in, size/2 or size, ...)`` -> ``(N, c_out, size, size)``.
    """

    def __init__(self, c_in: int, c_out: int, w_dim: int, size: int, *, upsample: bool,
                 conv: bool = True, seed: int = 0) -> None:
        super().__init__()
        self.upsample = upsample
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1) if conv else None
        self.noise = NoiseInjection(c_out, size, seed)
        self.act = nn.LeakyReLU(0.2)
        self.adain = AdaIN(c_out, w_dim)

    def forward(self, x: Tensor, w: Tensor, noise_mode: str) -> Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        if self.conv is not None:
            x = self.conv(x)
        return self.adain(self.act(self.noise(x, noise_mode)), w)


class StyleGenerator(nn.Module):
    """StyleGAN-lite generator (module docstring): ``z (N, nz) -> images (N, channels, size, size)``.

    Args:
        nz: latent size of z.
        image_size: 28, 32 or 64.
        channels: 1 or 3.
        width: base width; the constant and the lowest resolutions have ``width * 4`` (32 px) or
            ``width * 8`` (64 px) channels, the last resolution ``width``.
        w_dim: size of w (default: ``nz``).
        mapping_depth: fully connected layers of the mapping network (0 = none; published 8).
        mapping_lr_mul: learning-rate multiplier of the mapping network (published 0.01).
        mixing_prob: probability of style mixing per training sample (0 = off; published 0.9).
        w_avg_beta: decay of the tracked mean of w used by truncation.
        layers_per_resolution: 2 (published) or 1 (one conv per resolution; see module docstring).

    Attributes:
        nz, out_shape: the generator contract. ``w_dim``, ``n_styles`` (L), ``resolutions``
        (per style layer, the side it works at), ``w_avg`` (buffer ``(w_dim,)``).

    Methods beyond the contract: :meth:`mapping`, :meth:`truncate`, :meth:`broadcast`,
    :meth:`mix`, :meth:`synthesis`.
    """

    def __init__(self, nz: int = 64, image_size: int = 32, channels: int = 3, width: int = 16,
                 w_dim: int | None = None, mapping_depth: int = 8, mapping_lr_mul: float = 0.01,
                 mixing_prob: float = 0.9, w_avg_beta: float = 0.995,
                 layers_per_resolution: int = 2) -> None:
        super().__init__()
        _positive_int("nz", nz)
        check_choice("image_size", image_size, STYLE_SIZES)
        check_choice("channels", channels, (1, 3))
        _positive_int("width", width)
        w_dim = nz if w_dim is None else _positive_int("w_dim", w_dim)
        if not 0.0 <= mixing_prob <= 1.0:
            raise ValueError(f"mixing_prob must lie in [0, 1], got {mixing_prob!r}")
        check_choice("layers_per_resolution", layers_per_resolution, (1, 2))
        if not 0.0 <= w_avg_beta < 1.0:
            raise ValueError(f"w_avg_beta must lie in [0, 1), got {w_avg_beta!r}")
        self.nz, self.w_dim = int(nz), int(w_dim)
        self.out_shape = (channels, image_size, image_size)
        self.mapping_depth = int(mapping_depth)
        self.layers_per_resolution = int(layers_per_resolution)
        self.mixing_prob = float(mixing_prob)
        self.w_avg_beta = float(w_avg_beta)
        self.map = MappingNetwork(nz, w_dim, mapping_depth, mapping_lr_mul)
        start, mults = _START[image_size], _MULTS[image_size]
        widths = [width * m for m in mults]
        self.const = nn.Parameter(torch.ones(1, widths[0], start, start))
        layers: list[StyleLayer] = []
        c_in, side = widths[0], start
        for r, c_out in enumerate(widths):
            if r > 0:
                side *= 2
            layers.append(StyleLayer(c_in, c_out, w_dim, side, upsample=r > 0, conv=r > 0, seed=2 * r))
            if layers_per_resolution == 2:
                layers.append(StyleLayer(c_out, c_out, w_dim, side, upsample=False, seed=2 * r + 1))
            c_in = c_out
        self.layers = nn.ModuleList(layers)
        self.resolutions = tuple(layer.noise.const.shape[-1] for layer in layers)
        self.n_styles = len(layers)
        self.to_rgb = nn.Conv2d(c_in, channels, 1)
        self.register_buffer("w_avg", torch.zeros(w_dim))
        # tracked from each batch: a data-parallel run averages it over its ranks (ganlab.train.distributed)
        self.rank_averaged_buffers = ("w_avg",)

    # ----- the pieces ---------------------------------------------------------------------
    def mapping(self, z: Tensor) -> Tensor:
        """``z (N, nz) -> w (N, w_dim)``; in training mode also updates the tracked mean ``w_avg``."""
        if z.dim() != 2 or z.shape[1] != self.nz:
            raise ValueError(f"expected z of shape (N, {self.nz}); got {tuple(z.shape)}")
        w = self.map(z)
        if self.training and torch.is_grad_enabled():
            with torch.no_grad():
                self.w_avg.lerp_(w.detach().float().mean(dim=0).to(self.w_avg.dtype), 1.0 - self.w_avg_beta)
        return w

    def truncate(self, w: Tensor, psi: float | Tensor) -> Tensor:
        """``w_avg + psi * (w - w_avg)``; ``w`` ``(N, w_dim)`` or ``(N, L, w_dim)``, ``psi`` a float
        or ``(N,)``; psi = 1 returns w, psi = 0 the mean."""
        psi_t = torch.as_tensor(psi, dtype=w.dtype, device=w.device)
        if psi_t.dim() == 1:
            psi_t = psi_t.view(-1, *([1] * (w.dim() - 1)))
        avg = self.w_avg.to(w.dtype)
        return avg + psi_t * (w - avg)

    def broadcast(self, w: Tensor) -> Tensor:
        """One w per style layer: ``(N, w_dim) -> (N, L, w_dim)``."""
        return w.unsqueeze(1).expand(-1, self.n_styles, -1)

    def mix(self, w1: Tensor, w2: Tensor, crossover: int | Tensor) -> Tensor:
        """Styles ``(N, L, w_dim)``: layers ``< crossover`` from ``w1``, the rest from ``w2``
        (``w1``, ``w2`` ``(N, w_dim)``; ``crossover`` an int or ``(N,)`` in ``[0, L]``)."""
        layer = torch.arange(self.n_styles, device=w1.device).view(1, -1, 1)
        cross = torch.as_tensor(crossover, device=w1.device).reshape(-1, 1, 1)
        return torch.where(layer < cross, w1.unsqueeze(1), w2.unsqueeze(1))

    def synthesis(self, ws: Tensor, noise_mode: str | None = None) -> Tensor:
        """Styles ``(N, L, w_dim)`` (or ``(N, w_dim)``, broadcast) -> images ``(N, C, H, W)`` in [-1, 1].

        ``noise_mode``: one of :data:`NOISE_MODES`; ``None`` = random in training, const in eval.
        """
        if ws.dim() == 2:
            ws = self.broadcast(ws)
        if ws.dim() != 3 or ws.shape[1:] != (self.n_styles, self.w_dim):
            raise ValueError(f"expected styles of shape (N, {self.n_styles}, {self.w_dim}) or "
                             f"(N, {self.w_dim}); got {tuple(ws.shape)}")
        mode = noise_mode or ("random" if self.training else "const")
        check_choice("noise_mode", mode, NOISE_MODES)
        x = self.const.expand(ws.shape[0], -1, -1, -1)
        for i, layer in enumerate(self.layers):
            x = layer(x, ws[:, i], mode)
        return torch.tanh(self.to_rgb(x))

    def forward(self, z: Tensor, psi: float | Tensor | None = None, noise_mode: str | None = None) -> Tensor:
        """``z (N, nz)`` -> images ``(N, C, H, W)`` in [-1, 1]: mapping, [truncation], [style mixing
        in training], synthesis."""
        w = self.mapping(z)
        if psi is not None:
            w = self.truncate(w, psi)
        ws = self.broadcast(w)
        if self.training and self.mixing_prob > 0 and self.n_styles > 1:
            n, g = z.shape[0], rng.current()
            if g is None:  # outside a training step: torch's global generator
                w2 = self.mapping(torch.randn_like(z))
                cross = torch.randint(1, self.n_styles, (n,), device=z.device)
                mixed = torch.rand(n, device=z.device) < self.mixing_prob
            else:  # the step's generator (ganlab.rng.step_generator)
                w2 = self.mapping(rng.randn(n, z.shape[1], generator=g, device=z.device, dtype=z.dtype))
                cross = rng.randint(self.n_styles - 1, n, generator=g, device=z.device) + 1
                mixed = rng.rand(n, generator=g, device=z.device) < self.mixing_prob
            cross = torch.where(mixed, cross, torch.full_like(cross, self.n_styles))
            ws = self.mix(w, w2, cross)
        return self.synthesis(ws, noise_mode)
