"""Figures of InfoGAN's codes: one row per categorical value, and traversals of a continuous code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

__all__ = ["code_grid", "code_traversal"]


def _coded(model: Any, what: str) -> tuple[int, int]:
    k, c = getattr(model, "n_categories", None), getattr(model, "n_continuous", None)
    if not isinstance(k, int) or not isinstance(c, int) or not callable(getattr(model, "sample_inputs", None)):
        raise ValueError(f"{what} needs a family with codes (n_categories, n_continuous), e.g. InfoGAN; "
                         f"got {type(model).__name__}")
    return k, c


def _positive(v: object, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{what} must be a positive int, got {v!r}")
    return v


def code_grid(model: Any, n_cols: int = 8, seed: int = 0, order: Sequence[int] | None = None) -> Tensor:
    """Samples of an InfoGAN: one row per categorical code value, the same noise and continuous
    codes down each column.

    So a row shows what one code value draws in ``n_cols`` styles, and a column one draw of the
    other inputs under every code value: a code that names digits gives rows of one digit each.

    Args:
        model: a family with ``n_categories`` and ``sample_inputs(..., z=, categories=)``
            (``ganlab.models.InfoGAN``).
        n_cols: samples per code value.
        seed: seeds the noise and continuous codes of the columns.
        order: the code values of the rows, top to bottom (default ``0..K-1``); e.g. sorted by
            the digit each value was matched to, so the rows read 0, 1, ..., 9.

    Returns:
        float images ``(len(order) * n_cols, C, H, W)`` in [-1, 1], row-major.

    Raises:
        ValueError: not a coded family, ``n_cols`` < 1, code values outside ``[0, K)``.
    """
    k, _ = _coded(model, "code_grid")
    n_cols = _positive(n_cols, "n_cols")
    rows = list(range(k)) if order is None else [int(v) for v in order]
    if not rows or min(rows) < 0 or max(rows) >= k:
        raise ValueError(f"order must list code values in [0, {k}); got {list(order or [])}")
    G = model.sampling_generator()
    device = next(G.parameters()).device
    z = model.sample_inputs(n_cols, device, torch.Generator(device=device).manual_seed(seed))["z"]
    cats = torch.tensor(rows, device=device).repeat_interleave(n_cols)
    inputs = model.sample_inputs(len(cats), device, z=z.repeat(len(rows), 1), categories=cats)
    return model.sample(inputs=inputs)


def code_traversal(model: Any, code: int, n_rows: int | None = None, n_steps: int = 9,
                   span: float = 2.0, seed: int = 0) -> Tensor:
    """Vary one continuous code from ``-span`` to ``+span`` along each row, all else fixed.

    Row ``r`` uses categorical value ``r % K`` (so by default one row per value) with one draw of
    the noise and the other continuous codes; the paper's MNIST figures go to +-2, beyond the
    training range U(-1, 1), to show the code extrapolates.

    Args:
        model: an InfoGAN-like family (``n_categories``, ``n_continuous``, ``sample_inputs``).
        code: index of the continuous code, in ``[0, n_continuous)``.
        n_rows: rows (default: ``n_categories``).
        n_steps: values of the code per row (>= 2), evenly spaced.
        span: the largest absolute value (> 0).

    Returns:
        float images ``(n_rows * n_steps, C, H, W)`` in [-1, 1], row-major.

    Raises:
        ValueError: not a coded family, ``code`` out of range, bad sizes or span.
    """
    k, c = _coded(model, "code_traversal")
    if isinstance(code, bool) or not isinstance(code, int) or not 0 <= code < c:
        raise ValueError(f"code must be a continuous code index in [0, {c}); got {code!r}")
    n_rows = _positive(k if n_rows is None else n_rows, "n_rows")
    if _positive(n_steps, "n_steps") < 2:
        raise ValueError(f"n_steps must be >= 2, got {n_steps}")
    if not isinstance(span, (int, float)) or isinstance(span, bool) or not span > 0:
        raise ValueError(f"span must be a number > 0, got {span!r}")
    G = model.sampling_generator()
    device = next(G.parameters()).device
    base = model.sample_inputs(n_rows, device, torch.Generator(device=device).manual_seed(seed),
                               categories=torch.arange(n_rows) % k)["z"]
    z = base.repeat_interleave(n_steps, dim=0)
    cont = model.split_latent(z)["continuous"].clone()
    cont[:, code] = torch.linspace(-span, span, n_steps, device=device).repeat(n_rows)
    inputs = model.sample_inputs(len(z), device, z=z, continuous=cont)
    return model.sample(inputs=inputs)
