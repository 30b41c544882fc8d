"""Is the discriminator memorising its training images? D's outputs on training vs held-out reals.

A discriminator that overfits scores the real images it was trained on as "more real" than real
images it never saw; with little data the gap opens early and the generator's feedback turns to
noise (Karras et al. 2020, "Training GANs with limited data", Fig. 1). ADA's heuristic watches the
training side only, ``r_t = E[sign(D(x_train))]``; with a held-out set the gap itself is visible:

    r_train = E[sign(D(x)) | x in a fixed batch of training reals]
    r_heldout = E[sign(D(x)) | x in a fixed batch of held-out reals]

both in [-1, 1] (1: D calls every image real). :class:`DiscriminatorGap` measures them at every
log point of a run (a trainer callback) into ``history.tracks`` (``rt_train``, ``rt_heldout``),
which checkpoints and records keep. D is applied without augmentation, in eval mode (dropout off,
batch-norm running statistics, spectral norm's stored estimate), and its training mode restored.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ganlab.models.generation import module_device

__all__ = ["DiscriminatorGap", "realness_signs"]


def _images(x: Any, what: str) -> Tensor:
    if not isinstance(x, Tensor) or x.dim() < 2 or x.shape[0] < 1:
        raise ValueError(f"{what}: expected a tensor of images (N, ...) with N >= 1, got "
                         f"{type(x).__name__}{tuple(x.shape) if isinstance(x, Tensor) else ''}")
    if x.dtype == torch.uint8:
        return x.float().div(127.5).sub(1.0)
    if not x.is_floating_point():
        raise ValueError(f"{what}: expected uint8 (0..255) or float images in [-1, 1], got {x.dtype}")
    return x.float()


@torch.no_grad()
def realness_signs(D: nn.Module, images: Tensor, batch_size: int = 500) -> float:
    """``E[sign(D(x))]`` over ``images`` (``(N, C, H, W)`` uint8 or float in [-1, 1]), D in eval mode.

    D must return one logit per image (``(N,)`` or ``(N, 1)``; a positive logit means "real"), as
    the BCE, hinge and least-squares-with-0-threshold families' Ds do.

    Raises:
        ValueError: not a tensor of images, or D returns something else than one logit per image.
    """
    x = _images(images, "realness_signs")
    was = D.training
    D.eval()
    try:
        device = module_device(D)
        total = 0.0
        for chunk in x.split(batch_size):
            out = D(chunk.to(device))
            if out.dim() > 1 and out.shape[1:].numel() != 1:
                raise ValueError(f"realness_signs needs one logit per image; D returned {tuple(out.shape)}")
            total += float(out.reshape(-1).float().sign().sum())
        return total / x.shape[0]
    finally:
        D.train(was)


class DiscriminatorGap:
    """Trainer callback: ``r_train`` and ``r_heldout`` (see the module) at every log point.

    Args:
        train_images: training reals D is trained on, ``(N, C, H, W)`` uint8 or float in [-1, 1];
            the first ``n`` are used.
        heldout_images: reals D never sees (a test split), same shape; the first ``n``.
        n: images per side (fixed for the whole run, so the curve is not noisy by resampling).
        network: the family's network to probe (default ``"D"``).

    Use: ``train_run(..., callbacks=[DiscriminatorGap(train.images, test.images)])``; afterwards
    ``history.tracks["rt_train"]`` and ``["rt_heldout"]`` hold ``[step, value]`` pairs, and
    :meth:`final` the last pair of values.
    """

    keys = ("rt_train", "rt_heldout")

    def __init__(self, train_images: Tensor, heldout_images: Tensor, n: int = 256,
                 network: str = "D") -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be an integer >= 1, got {n!r}")
        self.train = _images(train_images, "train_images")[:n]
        self.heldout = _images(heldout_images, "heldout_images")[:n]
        if self.train.shape[1:] != self.heldout.shape[1:]:
            raise ValueError(f"train and held-out images differ in shape: {tuple(self.train.shape[1:])} "
                             f"vs {tuple(self.heldout.shape[1:])}")
        self.network = network

    def measure(self, model: Any) -> dict[str, float]:
        """``{"rt_train": r, "rt_heldout": r}`` of ``model``'s discriminator now."""
        D = getattr(model, self.network, None)
        if not isinstance(D, nn.Module):
            raise ValueError(f"{type(model).__name__} has no network {self.network!r}")
        return {"rt_train": realness_signs(D, self.train), "rt_heldout": realness_signs(D, self.heldout)}

    def __call__(self, trainer: Any, step: int) -> None:
        for key, value in self.measure(trainer.model).items():
            trainer.history.track(key, step, value)

    @staticmethod
    def final(history: Any) -> dict[str, float]:
        """The last measured ``rt_train``, ``rt_heldout`` and their gap (NaN when never measured)."""
        last = {k: (history.tracks[k][-1][1] if history.tracks.get(k) else float("nan"))
                for k in DiscriminatorGap.keys}
        return {**last, "gap": last["rt_train"] - last["rt_heldout"]}
