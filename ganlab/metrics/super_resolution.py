"""Super-resolution evaluation as the SR literature does it, plus a perception proxy.

Protocol (Ledig et al. 2017 and the SR benchmarks after it):

* outputs are quantised to 8 bits first (as a saved image would be), then compared with the
  high-resolution (HR) photo after cropping ``crop`` pixels from every border (``crop = scale``
  by default: the pixels next to the border lack context);
* **PSNR** and **SSIM** on the **Y channel** of ITU-R BT.601 YCbCr (MATLAB's ``rgb2ycbcr``:
  Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 for R, G, B in 0..255, so Y lies in
  16..235; data range 255), and on **RGB**; computed per image and averaged over the set, through
  torchmetrics (validated against scikit-image in ``tests/test_srgan.py``). SSIM uses the
  Gaussian window of Wang et al. (11 px, sigma 1.5);
* **LPIPS** (AlexNet or VGG16 backbone, :func:`ganlab.metrics.lpips_network`) on RGB when the
  backbone's weights load; offline the evaluator reports the missing file once and goes on;
* ``grad_w1``, a **perception proxy** (below), because no NIQE, Ma score or mean opinion score
  is available offline, and ``grid_cv``, a periodic-artefact score that watches the proxy's
  blind spot.

Every key names what was compared, N, the scale, the channel and the crop:
``psnr[photos_x4-test,N=2,x=4,channel=Y,crop=4]``, ``lpips[alex,N=2,data=photos_x4-test,x=4,crop=4]``.

The perception proxy. Blau & Michaeli (CVPR 2018) define the perceptual quality of a restoration
method as a *distance between distributions*: that of its outputs and that of natural images,
regardless of which output belongs to which input; distortion (PSNR, SSIM) compares each output
with its own reference. The classic statistic that separates sharp natural images from blurred
ones is the heavy-tailed distribution of their gradients (the prior of blind deblurring: Fergus
et al. 2006, Levin et al. 2009): blur moves its mass towards zero, noise and ringing add spurious
large gradients. :func:`gradient_distance` is the 1-D Wasserstein distance between the
distribution of Y-channel gradient magnitudes of an output and that of its HR photo, averaged over
the photos: 0 when the statistics match (even if the pixels do not: a shifted copy scores ~0),
large for blurred *and* for noisy images. It is a proxy: a texture with the right gradient
histogram but the wrong structure scores well; read it beside PSNR/SSIM and the pictures.

One such blind spot is measured separately: sub-pixel upsampling (pixel shuffle) and the
adversarial term can leave a periodic grid ("checkerboard") in the output, whose extra edges
*lower* ``grad_w1``. :func:`phase_variation` (``grid_cv``) is the coefficient of variation, over
the ``scale x scale`` sub-pixel phases, of the mean Y-gradient magnitude: a natural photo has no
preferred phase (~0.01), a periodic artefact of period ``scale`` raises it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ganlab.metrics.image_quality import LPIPS_NETS, PerceptualWeightsUnavailable, lpips_network
from ganlab.metrics.keys import metric_key

__all__ = ["SR_CHANNELS", "quantize", "rgb_to_y", "crop_border", "sr_psnr", "sr_ssim",
           "gradient_magnitudes", "gradient_distance", "wasserstein_1d", "phase_variation", "bicubic_upscale",
           "SREvaluator"]

#: Channels PSNR / SSIM are reported on.
SR_CHANNELS: tuple[str, ...] = ("Y", "RGB")
_BT601 = (65.481, 128.553, 24.966)
#: LPIPS backbones that failed to load in this process -> why (tried once: offline, each attempt
#: waits for a download to fail).
_LPIPS_UNAVAILABLE: dict[str, str] = {}


def _check_images(name: str, x: Any) -> None:
    if not isinstance(x, Tensor) or x.dim() != 4 or x.shape[1] not in (1, 3):
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{name}: expected images (N, 3, H, W) or (N, 1, H, W) in [-1, 1]; given {shape}")


def _check_pair(sr: Tensor, hr: Tensor) -> None:
    _check_images("sr", sr)
    _check_images("hr", hr)
    if sr.shape != hr.shape:
        raise ValueError(f"sr and hr must have the same shape; given {tuple(sr.shape)} and {tuple(hr.shape)}")
    if not torch.isfinite(sr).all():
        raise ValueError("sr holds NaN or infinite values")


def quantize(x: Tensor) -> Tensor:
    """Images in [-1, 1] -> float64 8-bit levels (integers in 0..255), as a saved PNG would hold."""
    return ((x.detach().double() + 1.0) * 127.5).round().clamp(0.0, 255.0)


def rgb_to_y(levels: Tensor) -> Tensor:
    """BT.601 luma of ``(N, 3, H, W)`` 8-bit levels: ``(N, 1, H, W)`` in 16..235 (not rounded),
    as MATLAB's and scikit-image's ``rgb2ycbcr``. Grey images ``(N, 1, H, W)`` are returned as they are."""
    if levels.shape[1] == 1:
        return levels
    w = torch.tensor(_BT601, dtype=levels.dtype, device=levels.device).view(1, 3, 1, 1)
    return 16.0 + (levels * w).sum(dim=1, keepdim=True) / 255.0


def crop_border(x: Tensor, crop: int) -> Tensor:
    """``x[..., crop:-crop, crop:-crop]`` (``crop`` = 0: ``x``).

    Raises:
        ValueError: a negative crop, or one that leaves no pixels.
    """
    if isinstance(crop, bool) or not isinstance(crop, int) or crop < 0:
        raise ValueError(f"crop must be an int >= 0; given {crop!r}")
    if crop == 0:
        return x
    if 2 * crop >= min(x.shape[-2:]):
        raise ValueError(f"crop={crop} leaves nothing of {tuple(x.shape[-2:])} images")
    return x[..., crop:-crop, crop:-crop]


def _levels(sr: Tensor, hr: Tensor, channel: str, crop: int) -> tuple[Tensor, Tensor]:
    if channel not in SR_CHANNELS:
        raise ValueError(f"channel {channel!r} is not known; accepted: {', '.join(SR_CHANNELS)}")
    _check_pair(sr, hr)
    a, b = quantize(sr), quantize(hr)
    if channel == "Y":
        a, b = rgb_to_y(a), rgb_to_y(b)
    return crop_border(a, crop), crop_border(b, crop)


def sr_psnr(sr: Tensor, hr: Tensor, *, channel: str = "Y", crop: int = 0) -> Tensor:
    """PSNR in dB of each image: ``(N,)`` float64 (``inf`` where an output equals its reference).

    Args:
        sr, hr: ``(N, C, H, W)`` in [-1, 1] (quantised to 8 bits here).
        channel: ``"Y"`` (BT.601 luma) or ``"RGB"``; data range 255 either way.
        crop: pixels removed from every border before comparing.
    """
    from torchmetrics.functional.image import peak_signal_noise_ratio

    a, b = _levels(sr, hr, channel, crop)
    out = peak_signal_noise_ratio(a, b, data_range=255.0, reduction="none", dim=(1, 2, 3))
    same = (a == b).flatten(1).all(dim=1)
    return torch.where(same, torch.full_like(out, float("inf")), out)


def sr_ssim(sr: Tensor, hr: Tensor, *, channel: str = "Y", crop: int = 0) -> Tensor:
    """Mean SSIM of each image (Gaussian window 11, sigma 1.5, data range 255; the map's valid
    part, as Wang et al.'s code): ``(N,)`` float64 (RGB: the mean of the three channels' maps).

    Arguments as :func:`sr_psnr`; the cropped images must be at least 11 px on each side.
    """
    from torchmetrics.functional.image import structural_similarity_index_measure

    a, b = _levels(sr, hr, channel, crop)
    if min(a.shape[-2:]) < 11:
        raise ValueError(f"ssim needs images of at least 11x11 pixels after the crop; given {tuple(a.shape[-2:])}")
    # torchmetrics averages its map over the reflection-padded border too; Wang et al.'s reference
    # code (and scikit-image, and the SR benchmarks) average the valid part only: 5 px in from the edge.
    _, full = structural_similarity_index_measure(a, b, data_range=255.0, gaussian_kernel=True, sigma=1.5,
                                                  kernel_size=11, reduction="none", return_full_image=True)
    return full[..., 5:-5, 5:-5].mean(dim=(1, 2, 3))


def gradient_magnitudes(x: Tensor, crop: int = 0) -> Tensor:
    """Y-channel gradient magnitudes (forward differences, in 8-bit levels per pixel) of each image.

    Args:
        x: ``(N, C, H, W)`` in [-1, 1] (quantised to 8 bits, then BT.601 luma).
        crop: border pixels removed first.
    Returns:
        float64 ``(N, (H' - 1) * (W' - 1))``, H', W' after the crop; values >= 0.
    """
    _check_images("x", x)
    y = crop_border(rgb_to_y(quantize(x)), crop)[:, 0]
    dx = y[:, :-1, 1:] - y[:, :-1, :-1]
    dy = y[:, 1:, :-1] - y[:, :-1, :-1]
    return (dx.square() + dy.square()).sqrt().flatten(1)


def wasserstein_1d(u: Tensor, v: Tensor) -> Tensor:
    """1-D Wasserstein-1 distance between the empirical distributions of the rows of ``u`` (N, m)
    and ``v`` (N, k): ``(N,)``, the integral of |F_u - F_v| (exact; scipy's
    ``wasserstein_distance`` computes the same, tested)."""
    u, v = u.sort(dim=1).values, v.sort(dim=1).values
    both = torch.cat([u, v], dim=1).sort(dim=1).values
    deltas = both.diff(dim=1)
    at = both[:, :-1].contiguous()
    cdf_u = torch.searchsorted(u, at, right=True).to(u.dtype) / u.shape[1]
    cdf_v = torch.searchsorted(v, at, right=True).to(u.dtype) / v.shape[1]
    return ((cdf_u - cdf_v).abs() * deltas).sum(dim=1)


def gradient_distance(sr: Tensor, hr: Tensor, crop: int = 0) -> Tensor:
    """The perception proxy of each image (module docstring): W1 between the distributions of
    its Y-gradient magnitudes and those of its HR reference, in 8-bit levels; ``(N,)`` float64, >= 0
    (0: the same gradient statistics). ``sr``, ``hr``: ``(N, C, H, W)`` in [-1, 1]."""
    _check_pair(sr, hr)
    return wasserstein_1d(gradient_magnitudes(sr, crop), gradient_magnitudes(hr, crop))


def phase_variation(x: Tensor, period: int, crop: int = 0) -> Tensor:
    """Periodic-artefact score of each image: the coefficient of variation (std / mean) of the mean
    Y-gradient magnitude over the ``period x period`` sub-pixel phases (pixel (i, j) has phase
    (i mod period, j mod period)). ``x``: ``(N, C, H, W)`` in [-1, 1]; returns ``(N,)`` float64 >= 0
    (~0.01 for a photo, larger when a grid of period ``period`` or a divisor of it is present)."""
    if isinstance(period, bool) or not isinstance(period, int) or period < 2:
        raise ValueError(f"period must be an int >= 2; given {period!r}")
    _check_images("x", x)
    y = crop_border(rgb_to_y(quantize(x)), crop)[:, 0]
    g = ((y[:, :-1, 1:] - y[:, :-1, :-1]).square() + (y[:, 1:, :-1] - y[:, :-1, :-1]).square()).sqrt()
    h, w = (g.shape[-2] // period) * period, (g.shape[-1] // period) * period
    if h == 0 or w == 0:
        raise ValueError(f"images of {tuple(x.shape[-2:])} px are too small for period {period}")
    phases = g[:, :h, :w].reshape(g.shape[0], h // period, period, w // period, period).mean(dim=(1, 3)).flatten(1)
    return phases.std(dim=1) / phases.mean(dim=1).clamp_min(1e-12)


def bicubic_upscale(lr: Tensor, scale: int) -> Tensor:
    """The baseline: bicubic ``scale`` x upsampling (MATLAB's kernel, see
    :func:`ganlab.nets.srresnet.bicubic`) of ``(N, C, h, w)`` in [-1, 1], clamped to [-1, 1]."""
    from ganlab.nets.srresnet import bicubic

    _check_images("lr", lr)
    return bicubic(lr, scale).clamp(-1.0, 1.0)


class SREvaluator:
    """Fixed SR protocol on a paired test set: usable as the trainer's ``evaluator``.

    Args:
        dataset: a paired :class:`ganlab.data.Dataset` (``images`` = HR, ``sources`` = LR).
        crop: border crop in pixels (default: the scale, the usual convention).
        lpips_nets: LPIPS backbones to try (``"alex"``, ``"vgg"``); ``()`` for none.
        device: where the metrics run.
        batch_size: LR images per generator call.
        name: what was compared, in every key (default ``"<dataset>-<split>"``, e.g. ``photos_x4-test``).

    Attributes:
        scale, crop, n, name: the protocol; ``hr`` / ``lr``: the images in [-1, 1]; ``hr_grid_cv``:
            the HR photos' own ``grid_cv``.
        unavailable: LPIPS backbone -> why it was skipped (reported once per process, when first
            tried; later evaluators skip it silently).

    Raises:
        ValueError: the set has no sources, or HR and LR sizes are not an integer scale apart.
    """

    def __init__(self, dataset: Any, *, crop: int | None = None, lpips_nets: Sequence[str] = ("alex",),
                 device: torch.device | str = "cpu", batch_size: int = 1, name: str | None = None) -> None:
        from ganlab.data.transforms import to_float

        hr, lr = getattr(dataset, "images", None), getattr(dataset, "sources", None)
        if hr is None or lr is None:
            raise ValueError(f"SREvaluator needs a paired set (HR images and their LR sources); "
                             f"{getattr(getattr(dataset, 'info', None), 'name', dataset)!r} has "
                             f"{'no sources' if lr is None else 'no images'}; accepted: e.g. photos_x4")
        (H, W), (h, w) = hr.shape[-2:], lr.shape[-2:]
        if H % h or W % w or H // h != W // w:
            raise ValueError(f"HR {H}x{W} and LR {h}x{w} are not an integer scale apart")
        for net in lpips_nets:
            if net not in LPIPS_NETS:
                raise ValueError(f"lpips backbone {net!r} is not known; accepted: {', '.join(LPIPS_NETS)}")
        self.scale = H // h
        self.crop = self.scale if crop is None else int(crop)
        crop_border(hr[:1], self.crop)  # checks the crop
        self.device = torch.device(device)
        self.hr = to_float(hr.to(self.device))
        self.lr = to_float(lr.to(self.device))
        self.n = int(hr.shape[0])
        self.batch_size = int(batch_size)
        self.name = name or f"{dataset.info.name}-{dataset.split}"
        self.lpips_nets = tuple(lpips_nets)
        self.unavailable: dict[str, str] = {}
        #: ``grid_cv`` of the HR photos themselves (the natural level of :func:`phase_variation`).
        self.hr_grid_cv = float(phase_variation(self.hr, self.scale, self.crop).mean())

    # ----- keys ---------------------------------------------------------------------------
    def key(self, metric: str, channel: str | None = None) -> str:
        """The key of ``metric`` (``psnr``, ``ssim``, ``grad_w1``, ``grid_cv``, ``lpips_alex`` / ``lpips_vgg``)."""
        if metric.startswith("lpips_"):
            return metric_key("lpips", metric[6:], self.n, data=self.name, x=self.scale, crop=self.crop)
        if channel is not None:
            return metric_key(metric, self.name, self.n, x=self.scale, channel=channel, crop=self.crop)
        return metric_key(metric, self.name, self.n, x=self.scale, crop=self.crop)

    # ----- images -------------------------------------------------------------------------
    def bicubic(self) -> Tensor:
        """The bicubic baseline's outputs for the set's LR images: ``(N, C, H, W)`` in [-1, 1]."""
        return bicubic_upscale(self.lr, self.scale)

    def upscale(self, sample_fn: Callable[..., Tensor] | nn.Module) -> Tensor:
        """SR outputs of a generator (``nn.Module``: called as ``net(lr)`` in eval mode without
        gradients) or a family's ``Sampler`` (called as ``sample_fn(k, source=lr_chunk)``)."""
        from ganlab.models.generation import generate_batched

        outs = []
        for start in range(0, self.n, self.batch_size):
            chunk = self.lr[start:start + self.batch_size]
            if isinstance(sample_fn, nn.Module):
                out = generate_batched(sample_fn, chunk, batch_size=self.batch_size)
            else:
                out = sample_fn(int(chunk.shape[0]), source=chunk)
            outs.append(out.float().to(self.device))
        sr = torch.cat(outs)
        if sr.shape != self.hr.shape:
            raise ValueError(f"the generator returned {tuple(sr.shape)} for LR {tuple(self.lr.shape)}; "
                             f"expected the HR shape {tuple(self.hr.shape)} (x{self.scale})")
        return sr

    # ----- metrics ------------------------------------------------------------------------
    def per_image(self, sr: Tensor) -> dict[str, Tensor]:
        """Each metric of each image: key -> ``(N,)`` float64 on the CPU (LPIPS where it loads)."""
        out: dict[str, Tensor] = {}
        for channel in SR_CHANNELS:
            out[self.key("psnr", channel)] = sr_psnr(sr, self.hr, channel=channel, crop=self.crop).cpu()
            out[self.key("ssim", channel)] = sr_ssim(sr, self.hr, channel=channel, crop=self.crop).cpu()
        out[self.key("grad_w1")] = gradient_distance(sr, self.hr, self.crop).cpu()
        out[self.key("grid_cv")] = phase_variation(sr, self.scale, self.crop).cpu()
        for net in self.lpips_nets:
            if net in _LPIPS_UNAVAILABLE:
                self.unavailable[net] = _LPIPS_UNAVAILABLE[net]
                continue
            try:
                module = lpips_network(net, self.device)
            except PerceptualWeightsUnavailable as exc:
                self.unavailable[net] = _LPIPS_UNAVAILABLE[net] = str(exc)
                print(f"note: lpips[{net}] is not reported: {exc}")
                continue
            a = crop_border(quantize(sr).float() / 127.5 - 1, self.crop)
            b = crop_border(quantize(self.hr).float() / 127.5 - 1, self.crop)
            with torch.no_grad():
                d = torch.cat([module(a[i:i + 1], b[i:i + 1]).flatten() for i in range(self.n)])
            out[self.key(f"lpips_{net}")] = d.double().cpu()
        return out

    def evaluate_images(self, sr: Tensor) -> dict[str, float]:
        """The set's means of :meth:`per_image` (``sr``: ``(N, C, H, W)`` in [-1, 1], the set's order)."""
        if sr.shape != self.hr.shape:
            raise ValueError(f"expected SR images of the HR shape {tuple(self.hr.shape)}; given {tuple(sr.shape)}")
        return {k: float(v.mean()) for k, v in self.per_image(sr.to(self.device)).items()}

    def evaluate(self, sample_fn: Callable[..., Tensor] | nn.Module) -> dict[str, float]:
        """Upscale the set's LR images with ``sample_fn`` (see :meth:`upscale`) and measure them."""
        return self.evaluate_images(self.upscale(sample_fn))

    def evaluate_bicubic(self) -> dict[str, float]:
        """The bicubic baseline's metrics (the same keys)."""
        return self.evaluate_images(self.bicubic())
