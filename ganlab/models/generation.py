"""Batched, gradient-free generation: the one place that runs a generator over many inputs.

Every caller that turns many latent codes (or labels, or source images) into images — a family's
``sample``, the :class:`~ganlab.metrics.Evaluator`, :func:`ganlab.latent.decode`, the notebooks —
goes through :func:`generate_batched`, so eval mode, ``no_grad``, chunking and the device moves are
done the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import Tensor, nn

__all__ = ["generate_batched", "module_device"]


def module_device(module: nn.Module) -> torch.device:
    """Device of the first parameter (or buffer) of ``module``; CPU when it has none."""
    for t in (*module.parameters(), *module.buffers()):
        return t.device
    return torch.device("cpu")


def generate_batched(
    net: nn.Module,
    inputs: Mapping[str, Tensor] | Tensor,
    *,
    batch_size: int = 500,
    device: torch.device | str | None = None,
    out_device: torch.device | str | None = None,
    call: Callable[..., Tensor] | None = None,
    eval_mode: bool = True,
) -> Tensor:
    """Run ``net`` over ``inputs`` in chunks of ``batch_size`` under ``no_grad``.

    Args:
        net: the generator (put in eval mode for the call when ``eval_mode``; its mode is restored).
        inputs: one tensor ``(N, ...)`` or a dict of tensors sharing their first dimension N
            (``{"z": (N, nz), "y": (N,)}``); each chunk is moved to ``device``.
        batch_size: rows per forward pass (>= 1).
        device: where to run (default: ``net``'s device).
        out_device: where the result goes (default: where it was computed).
        call: ``call(net, **chunk) -> Tensor`` for nets with keyword inputs; default
            ``net(*chunk.values())`` (``net(chunk)`` for a single tensor).
        eval_mode: switch ``net`` to eval mode for the call (batch-norm statistics frozen).

    Returns:
        float32 ``(N, *out_shape)`` (images in [-1, 1] for image generators).

    Raises:
        ValueError: ``batch_size`` < 1, empty inputs, or inputs whose first dimensions differ.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    single = isinstance(inputs, Tensor)
    named: dict[str, Tensor] = {"x": inputs} if single else dict(inputs)  # type: ignore[dict-item]
    if not named:
        raise ValueError("generate_batched needs at least one input tensor")
    sizes = {k: int(v.shape[0]) for k, v in named.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"inputs must share their first dimension; got {sizes}")
    n = next(iter(sizes.values()))
    dev = torch.device(device) if device is not None else module_device(net)
    was_training = net.training
    if eval_mode:
        net.eval()
    outs: list[Tensor] = []
    try:
        with torch.no_grad():
            for start in range(0, n, batch_size):
                chunk = {k: v[start:start + batch_size].to(dev) for k, v in named.items()}
                out = call(net, **chunk) if call is not None else net(*chunk.values())
                out = out.float()
                outs.append(out if out_device is None else out.to(out_device))
    finally:
        net.train(was_training)
    if not outs:
        raise ValueError("generate_batched got inputs with 0 rows")
    return torch.cat(outs)

