"""Augmentation leakage, measured: does the generator reproduce what was done to the real images?

When an augmentation is applied to the *real* images only, D learns that "real" includes mirrored
or blurred images, and G, which only has to fool D, learns to draw them (Zhao et al. 2020, Karras
et al. 2020: the augmentations "leak"). Two low-level statistics that a generator matches early in
training, long before its digits are good, and that need nothing trained for the purpose:

* **slant** — the mean angle of the digits' principal axes from vertical, in degrees
  (:func:`ganlab.metrics.codes.image_moments`; positive: the top leans right). Handwritten digits
  lean right (``mnist5k``'s test digits: about +8°); a mirror image leans the other way by the
  same angle, so a set with a fraction m of mirrored digits has a mean slant of about
  ``(1 - 2m)`` times the unmirrored one. :func:`mirrored_fraction` inverts that against a
  reference that was not flipped (a run without the flip, or the data).
* **sharpness** — the mean absolute difference between neighbouring pixels (horizontal and
  vertical; images in [-1, 1]). Blurring lowers it; a generator that learned blurred digits draws
  softer strokes than one that did not.

A classifier's view (is ``mnist_cnn`` more confident about the mirrored image?) was tried first
and dropped: at the quick profile's sample quality its verdict is close to a coin toss for every
run, and blur alone moved it as much as flips did.

:class:`LeakageMetrics` puts both into every evaluation of a run (``Evaluator(model_metrics=[...])``)
as ``slant[pixels,N=n]`` and ``sharpness[pixels,N=n]``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from .codes import image_moments
from .keys import metric_key

__all__ = ["mean_slant", "mirrored_fraction", "sharpness", "LeakageMetrics"]


def _images(x: Any, what: str) -> Tensor:
    if not isinstance(x, Tensor) or x.dim() != 4 or x.shape[0] < 1:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{what}: expected images (N, C, H, W) with N >= 1, got {shape}")
    if x.dtype == torch.uint8:
        return x.float().div(127.5).sub(1.0)
    if not x.is_floating_point():
        raise ValueError(f"{what}: expected uint8 (0..255) or float images in [-1, 1], got {x.dtype}")
    return x.float()


def mean_slant(images: Tensor) -> float:
    """Mean slant in degrees of grey digits ``(N, 1, H, W)`` in [-1, 1] (bright ink on dark, as
    MNIST): positive when the tops lean right. Images without ink are left out; NaN if all are.

    Raises:
        ValueError: not grey images.
    """
    x = _images(images, "mean_slant")
    if x.shape[1] != 1:
        raise ValueError(f"mean_slant needs grey images (N, 1, H, W), got {tuple(x.shape)}")
    s = image_moments(x)["slant"]
    s = s[~s.isnan()]
    return float(s.mean()) * 180.0 / math.pi if len(s) else math.nan


def mirrored_fraction(slant: float, unflipped_slant: float) -> float:
    """Estimated fraction m of mirrored images from a set's :func:`mean_slant`, in [0, 1].

    A mirror image has the opposite slant, so ``slant ≈ (1 - 2m) * unflipped_slant``:
    ``m = (1 - slant / unflipped_slant) / 2``, clipped to [0, 1].

    Raises:
        ValueError: the reference slant is not finite or too close to 0 (below 0.5°) to tell
            mirrored images apart (symmetric data, e.g. clothes).
    """
    if not math.isfinite(unflipped_slant) or abs(unflipped_slant) < 0.5:
        raise ValueError(f"the unflipped reference slant {unflipped_slant!r}° is too close to 0 to tell "
                         f"mirrored images apart (needs |slant| >= 0.5°)")
    if not math.isfinite(slant):
        return math.nan
    return float(min(1.0, max(0.0, (1.0 - slant / unflipped_slant) / 2.0)))


def sharpness(images: Tensor) -> float:
    """Mean absolute difference of neighbouring pixels, ``(mean|dx| + mean|dy|) / 2``, of images
    ``(N, C, H, W)`` in [-1, 1] (uint8 is rescaled). 0 for constant images; blur lowers it."""
    x = _images(images, "sharpness")
    if x.shape[-1] < 2 or x.shape[-2] < 2:
        raise ValueError(f"sharpness needs images of at least 2 x 2 pixels, got {tuple(x.shape)}")
    dx = (x[..., :, 1:] - x[..., :, :-1]).abs().mean()
    dy = (x[..., 1:, :] - x[..., :-1, :]).abs().mean()
    return float((dx + dy) / 2)


class LeakageMetrics:
    """``model -> {sharpness[pixels,N=n], slant[pixels,N=n]}`` of ``n`` samples.

    Give it to the evaluator (``Evaluator(..., model_metrics=[LeakageMetrics()])``) so every
    evaluation of a run, its untrained baseline and its record carry both. Samples come from
    ``model.sample(n, seed=seed)`` (the EMA generator when the run keeps one): the same codes at
    every evaluation.

    Args:
        n: samples per evaluation.
        seed: the sampling seed.
        slant: also measure the mean slant (grey handwriting; off for RGB or symmetric data).
    """

    def __init__(self, n: int = 1000, seed: int = 4242, slant: bool = True) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be an integer >= 1, got {n!r}")
        self.n, self.seed = n, seed
        self.keys = {"sharpness": metric_key("sharpness", "pixels", n)}
        if slant:
            self.keys["slant"] = metric_key("slant", "pixels", n)

    def images(self, x: Tensor) -> dict[str, float]:
        """The measures of given images (e.g. real ones, for the reference rows)."""
        x = _images(x, "LeakageMetrics")
        out = {self.keys["sharpness"]: sharpness(x)}
        if "slant" in self.keys:
            out[self.keys["slant"]] = mean_slant(x)
        return out

    def __call__(self, model: Any) -> dict[str, float]:
        return self.images(model.sample(self.n, seed=self.seed).cpu())
