"""Compare a student's output with the reference's and say, in words, how they differ.

Outputs may be tensors, numbers, or (nested) tuples, lists and dicts of them. The first
difference found is described: a wrong type, shape or dtype kind, a missing key, non-finite
values, or values off by more than the tolerance (with where and by how much).
"""

from __future__ import annotations

import math
from typing import Any

import torch

__all__ = ["Mismatch", "compare_outputs"]


class Mismatch(str):
    """A description of the first difference (``str``), ready for a message."""


def _show(t: torch.Tensor, k: int = 4) -> str:
    flat = t.detach().flatten().double()
    vals = ", ".join(f"{v:.4g}" for v in flat[:k].tolist())
    return f"[{vals}{', ...' if flat.numel() > k else ''}]"


def _where(path: str) -> str:
    return f" at {path}" if path else ""


def _tensors(got: torch.Tensor, exp: torch.Tensor, path: str, atol: float, rtol: float) -> Mismatch | None:
    if tuple(got.shape) != tuple(exp.shape):
        return Mismatch(f"expected a tensor of shape {tuple(exp.shape)}{_where(path)}, got shape "
                        f"{tuple(got.shape)} (did you average / sum over the right dimensions?)")
    if not exp.is_floating_point():  # integers (indices, counts) or booleans (masks): exact
        if got.is_floating_point() or (got.dtype == torch.bool) != (exp.dtype == torch.bool):
            return Mismatch(f"expected a {exp.dtype} tensor{_where(path)}, got {got.dtype}")
        if not torch.equal(got.cpu(), exp.cpu().to(got.dtype)):
            bad = int((got.cpu() != exp.cpu().to(got.dtype)).sum())
            return Mismatch(f"{bad} of {exp.numel()} values differ{_where(path)}: expected "
                            f"{_show(exp)}, got {_show(got)}")
        return None
    if not got.is_floating_point():
        return Mismatch(f"expected a floating-point tensor{_where(path)}, got {got.dtype}")
    g, e = got.detach().cpu().double(), exp.detach().cpu().double()
    if not torch.isfinite(g).all() and torch.isfinite(e).all():
        return Mismatch(f"your output has non-finite values (nan or inf){_where(path)}: {_show(g)}")
    if e.numel() == 1 and g.numel() == 1:
        if abs(float(g) - float(e)) > atol + rtol * abs(float(e)):
            return Mismatch(f"expected {float(e):.6g}{_where(path)}, got {float(g):.6g}")
        return None
    diff = (g - e).abs()
    tol = atol + rtol * e.abs()
    bad = diff > tol
    if bad.any():
        idx = int(torch.argmax((diff - tol).flatten()))
        pos = tuple(int(i) for i in torch.unravel_index(torch.tensor(idx), e.shape)) if e.dim() else ()
        return Mismatch(f"{int(bad.sum())} of {e.numel()} values differ{_where(path)}: the largest "
                        f"difference is {float(diff.flatten()[idx]):.4g} at index {pos} (expected "
                        f"{float(e.flatten()[idx]):.6g}, got {float(g.flatten()[idx]):.6g}); expected "
                        f"{_show(e)}, got {_show(g)}")
    return None


def compare_outputs(got: Any, expected: Any, *, atol: float = 1e-5, rtol: float = 1e-4,
                    path: str = "") -> Mismatch | None:
    """``None`` if ``got`` matches ``expected`` within ``atol + rtol * |expected|``, else a
    :class:`Mismatch` describing the first difference (``path`` names where, e.g. ``[1]['d']``)."""
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            if isinstance(got, (int, float)) and expected.numel() == 1:
                got = torch.tensor(float(got))
            else:
                return Mismatch(f"expected a tensor{_where(path)}, got {type(got).__name__}")
        return _tensors(got, expected, path, atol, rtol)
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        return None if got == expected else Mismatch(f"expected {expected!r}{_where(path)}, got {got!r}")
    if isinstance(expected, (int, float)):
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = float(got)
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            return Mismatch(f"expected a number{_where(path)}, got {type(got).__name__}")
        if math.isfinite(expected) and not math.isfinite(got):
            return Mismatch(f"expected {expected:.6g}{_where(path)}, got {got}")
        if abs(got - expected) > atol + rtol * abs(expected):
            return Mismatch(f"expected {expected:.6g}{_where(path)}, got {got:.6g}")
        return None
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return Mismatch(f"expected a dict{_where(path)}, got {type(got).__name__}")
        missing = [k for k in expected if k not in got]
        if missing:
            return Mismatch(f"missing key(s) {missing}{_where(path)}; expected keys {list(expected)}")
        for k in expected:
            m = compare_outputs(got[k], expected[k], atol=atol, rtol=rtol, path=f"{path}[{k!r}]")
            if m is not None:
                return m
        return None
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return Mismatch(f"expected a {type(expected).__name__} of {len(expected)} items{_where(path)}, "
                            f"got {type(got).__name__}")
        if len(got) != len(expected):
            return Mismatch(f"expected {len(expected)} items{_where(path)}, got {len(got)}")
        for i, (g, e) in enumerate(zip(got, expected)):
            m = compare_outputs(g, e, atol=atol, rtol=rtol, path=f"{path}[{i}]")
            if m is not None:
                return m
        return None
    raise TypeError(f"cannot compare outputs of type {type(expected).__name__}")
