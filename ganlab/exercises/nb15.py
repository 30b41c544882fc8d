"""Notebook 15 (augmentation): DiffAugment's translation (integer shifts per sample, zero fill)
and ADA's controller (the overfitting heuristic r_t = E[sign D(x_real)] and the update of p),
written by hand."""

from __future__ import annotations

import torch
from torch import Tensor

from ganlab.augment import ADA, translation
from ganlab.exercises import Case, register

# ----------------------------------------------------------------------------- 15.translation


def _translation(x: Tensor, shifts: Tensor) -> Tensor:
    """Reference: ``ganlab.augment.translation(x, shifts=shifts)``."""
    return translation(x, shifts=shifts)


def _t_cases() -> list[Case]:
    gen = torch.Generator().manual_seed(15)
    grey = torch.rand(4, 1, 8, 8, generator=gen) * 2 - 1
    rgb = torch.rand(3, 3, 6, 7, generator=gen) * 2 - 1
    return [Case("4 grey 8x8 images, shifts (dy, dx) = (1, 0), (0, -1), (-1, 1), (0, 0)",
                 (grey, torch.tensor([[1, 0], [0, -1], [-1, 1], [0, 0]]))),
            Case("3 RGB 6x7 images, shifts (2, -3), (-2, 2), (1, 1)",
                 (rgb, torch.tensor([[2, -3], [-2, 2], [1, 1]]))),
            Case("one image shifted down by 3 only", (grey[:1].clone(), torch.tensor([[3, 0]])))]


def _t_roll(x, shifts):
    return torch.stack([torch.roll(x[i], (int(dy), int(dx)), dims=(1, 2)) for i, (dy, dx) in enumerate(shifts)])


def _t_opposite(x, shifts):
    return translation(x, shifts=-shifts)


def _t_axes_swapped(x, shifts):
    return translation(x, shifts=shifts.flip(1))


def _t_one_shift_for_all(x, shifts):
    return translation(x, shifts=shifts[:1].expand_as(shifts))


def _t_fill_black(x, shifts):
    return translation(x + 1, shifts=shifts) - 1    # fills with -1 (black) instead of 0


register(
    "15.translation",
    title="DiffAugment's translation with given shifts",
    hint=("output pixel (h, w) of image i is input pixel (h - dy_i, w - dx_i), and 0 (mid-grey in [-1, 1]) "
          "where that falls outside the image: positive dy moves the content down, positive dx right. "
          "Each image has its own (dy, dx); torch.roll wraps around, which is not what DiffAugment does "
          "(zero-pad with F.pad, then slice, or index with clamped coordinates)."),
    reference=_translation, cases=_t_cases,
    wrong=(_t_roll, _t_opposite, _t_axes_swapped, _t_one_shift_for_all, _t_fill_black),
)

# ----------------------------------------------------------------------------- 15.ada_adjust


def _ada_adjust(p: float, real_logits: Tensor, target: float = 0.6, ramp_images: float = 500_000
                ) -> tuple[Tensor, Tensor]:
    """Reference: one adjustment of ``ganlab.augment.ADA`` (interval 1) after D saw the reals of
    ``real_logits`` (one logit per image): returns ``(r_t, new p)``."""
    ada = ADA(target=target, interval=1, ramp_images=ramp_images, p=p)
    ada.observe(real_logits, real_logits.shape[0])
    ada.step()
    return ada.rt.clone(), ada.p.clone()


def _ada_cases() -> list[Case]:
    gen = torch.Generator().manual_seed(51)

    def logits(n: int, mean: float) -> Tensor:
        return torch.randn(n, 1, generator=gen) + mean

    return [Case("D overfits (r_t above the target): p = 0.2, 128 reals, ramp 1000 images",
                 (0.2, logits(128, 1.5)), {"ramp_images": 1000}),
            Case("D is unsure (r_t below the target): p = 0.5, 64 reals, ramp 800",
                 (0.5, logits(64, 0.1)), {"ramp_images": 800}),
            Case("p near 1 and D still overfits: p stays in [0, 1]",
                 (0.95, logits(100, 3.0)), {"ramp_images": 500}),
            Case("p near 0 and D is fooled: p stays in [0, 1], target 0.3",
                 (0.05, logits(100, -1.0)), {"target": 0.3, "ramp_images": 500})]


def _ada_sigmoid(p, real_logits, target=0.6, ramp_images=500_000):
    rt = torch.sigmoid(real_logits).mean()                      # E[D(x)], a probability
    return rt, (p + torch.sign(rt - target) * real_logits.shape[0] / ramp_images).clamp(0, 1)


def _ada_sign_flipped(p, real_logits, target=0.6, ramp_images=500_000):
    rt = torch.sign(real_logits).mean()
    return rt, (p - torch.sign(rt - target) * real_logits.shape[0] / ramp_images).clamp(0, 1)


def _ada_no_clamp(p, real_logits, target=0.6, ramp_images=500_000):
    rt = torch.sign(real_logits).mean()
    return rt, p + torch.sign(rt - target) * real_logits.shape[0] / ramp_images


def _ada_proportional(p, real_logits, target=0.6, ramp_images=500_000):
    rt = torch.sign(real_logits).mean()
    return rt, (p + (rt - target) * real_logits.shape[0] / ramp_images).clamp(0, 1)


def _ada_fixed_step(p, real_logits, target=0.6, ramp_images=500_000):
    rt = torch.sign(real_logits).mean()
    return rt, (p + torch.sign(rt - target) / ramp_images).clamp(0, 1)   # one image's worth, whatever N


register(
    "15.ada_adjust",
    title="ADA's overfitting heuristic r_t and its update of p",
    hint=("r_t = mean of sign(D(x_real)) over the logits (in [-1, 1]; not sigmoid: it counts how many "
          "reals D calls real); then p moves by a fixed speed in the direction of r_t - target: "
          "p + sign(r_t - target) * N / ramp_images (N = reals seen since the last adjustment), "
          "clamped to [0, 1]. Return (r_t, p)."),
    reference=_ada_adjust, cases=_ada_cases, atol=1e-6,
    wrong=(_ada_sigmoid, _ada_sign_flipped, _ada_no_clamp, _ada_proportional, _ada_fixed_step),
)
