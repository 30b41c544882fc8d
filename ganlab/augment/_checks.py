"""Argument checks shared by the augmentation modules (each raises a ``ValueError`` saying what
was given and what is accepted)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from torch import Tensor

__all__ = ["check_probability", "check_range", "check_names", "check_images"]


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_probability(value: Any, what: str) -> float:
    """``value`` as a float in ``[0, 1]``."""
    if not _is_number(value) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{what} must be a probability in [0, 1]; got {value!r}")
    return float(value)


def check_range(value: Any, what: str, low: float, high: float) -> tuple[float, float]:
    """``value`` as ``(a, b)`` with ``low <= a <= b <= high``."""
    ok = (isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2
          and all(_is_number(v) for v in value) and low <= value[0] <= value[1] <= high)
    if not ok:
        raise ValueError(f"{what} must be (min, max) with {low} <= min <= max <= {high}; got {value!r}")
    return float(value[0]), float(value[1])


def check_names(names: Iterable[Any], accepted: Iterable[str], what: str) -> list[str]:
    """``names`` as a list of strings, each one of ``accepted`` (no repeats)."""
    accepted = list(accepted)
    if isinstance(names, str):
        raise ValueError(f"{what} must be a list of names (accepted: {', '.join(accepted)}); got the string {names!r}")
    out = list(names)
    for name in out:
        if name not in accepted:
            raise ValueError(f"{what}: {name!r} is not known; accepted: {', '.join(accepted)}")
    if len(set(out)) != len(out):
        raise ValueError(f"{what}: each name at most once; got {out}")
    return out


def check_images(x: Any, what: str = "images") -> Tensor:
    """``x`` must be a float tensor ``(N, C, H, W)``."""
    if not isinstance(x, Tensor) or x.dim() != 4 or not x.is_floating_point():
        got = f"{type(x).__name__} {tuple(x.shape)} {x.dtype}" if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{what} must be a float tensor (N, C, H, W) in [-1, 1]; got {got}")
    return x
