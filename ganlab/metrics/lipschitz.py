"""The Lipschitz constant of a network, measured layer by layer (SNGAN, Miyato et al. 2018).

A discriminator is ``f = W_L o a o ... o a o W_1`` with 1-Lipschitz activations (ReLU,
LeakyReLU), so ``Lip(f) <= prod_l ||W_l||`` with ``||W_l||`` the operator norm (largest singular
value) of layer ``l`` as a linear map; biases do not change a Lipschitz constant. Spectral
normalisation divides each weight by an estimate of its largest singular value. This module
measures what it controls:

* ``sigma`` — the largest singular value of the layer's weight reshaped to a matrix,
  ``torch.linalg.matrix_norm(W.reshape(out, -1), ord=2)``, computed exactly. This is the
  quantity torch's ``spectral_norm`` normalises (``out`` is dim 0 for ``Linear`` / ``Conv2d`` and
  dim 1, the output channels, for ``ConvTranspose2d``, as torch's ``spectral_norm`` does).
* ``sigma_operator`` — the layer's true operator norm as a linear map on inputs of the size it
  sees in the network. For a ``Linear`` it equals ``sigma``; for a convolution it is computed by
  power iteration on ``x -> A^T A x`` (A = the convolution with the layer's stride, padding,
  dilation and groups, no bias; ``A^T`` by autograd), in float64 from a fixed seed. It differs from
  ``sigma`` in general (a 3x3 stride-1 convolution can have up to 3x the reshaped value), so a
  spectrally normalised conv net is not exactly 1-Lipschitz — a point the notebook measures.
* for spectrally normalised layers (``torch.nn.utils.parametrizations.spectral_norm``) the values
  above use the *effective* weight (``layer.weight``, what the layer multiplies by), and two more
  are reported: ``sigma_orig`` (exact sigma of the unnormalised ``W_orig``) and
  ``sigma_estimate = u^T W_orig v`` from the parametrization's stored ``_u``, ``_v`` vectors
  (torch's running power-iteration estimate, one iteration per training-mode forward pass).

Reading never changes the network: power-iteration vectors, batch-norm statistics and train /
eval flags are as before. Layers are ``Conv2d``, ``ConvTranspose2d`` and ``Linear`` (others, e.g.
``Embedding`` or ``Conv1d``, are not measured). Batch norm between layers rescales by
1/std of the batch, so for a D with batch norm the product bound does not hold.

The metric ``sigma_max[D]`` (largest per-layer ``sigma`` of network D) is not of the
``metric[extractor,N=n]`` form (no extractor, no sample size): :func:`lipschitz_key` names it,
and :mod:`ganlab.course.tables` shows such keys as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import _SpectralNorm

__all__ = ["WEIGHT_LAYERS", "weight_layers", "require_weights", "has_spectral_norm", "layer_sigmas",
           "sigma_max", "lipschitz_key", "is_lipschitz_key", "lipschitz_metrics"]

#: Layer types whose weights are measured (the ones :func:`ganlab.nets.layers.apply_spectral_norm` normalises).
WEIGHT_LAYERS: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
_CONVS = (nn.Conv2d, nn.ConvTranspose2d)
_WHICH = ("sigma", "sigma_operator")


def weight_layers(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(qualified name, layer)`` of every Conv2d / ConvTranspose2d / Linear in module order
    (the root itself is named by its type)."""
    return [(name or type(sub).__name__, sub) for name, sub in module.named_modules()
            if isinstance(sub, WEIGHT_LAYERS)]


def require_weights(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """:func:`weight_layers` of ``module``; raises ``ValueError`` when it has none."""
    layers = weight_layers(module) if isinstance(module, nn.Module) else []
    if not layers:
        raise ValueError(
            f"spectral norm / sigma needs a network with weights; given {type(module).__name__} "
            f"with none (no Conv2d, ConvTranspose2d or Linear layer)"
        )
    return layers


def has_spectral_norm(module: nn.Module) -> bool:
    """Whether any weight layer of ``module`` carries torch's ``spectral_norm`` parametrization."""
    return any(_spectral_param(layer) is not None for _, layer in weight_layers(module))


def lipschitz_key(net_name: str = "D") -> str:
    """The record key of the largest per-layer sigma of network ``net_name``: ``"sigma_max[D]"``.

    Not a :func:`~ganlab.metrics.keys.metric_key` (there is no extractor and no N), so
    :func:`~ganlab.metrics.keys.parse_metric_key` rejects it and tables label it as it is.
    """
    if not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", str(net_name)):
        raise ValueError(f"network name {net_name!r} must be an identifier (letters, digits, _)")
    return f"sigma_max[{net_name}]"


def is_lipschitz_key(key: object) -> bool:
    """Whether ``key`` is a :func:`lipschitz_key` (``"sigma_max[D]"``): a measurement of a
    network, which names the network instead of an extractor and N."""
    return isinstance(key, str) and re.match(r"^sigma_max\[[A-Za-z][A-Za-z0-9_]*\]$", key) is not None


# ----------------------------------------------------------------------------- helpers
def _spectral_param(layer: nn.Module) -> _SpectralNorm | None:
    """The ``spectral_norm`` parametrization of ``layer.weight``, if any."""
    if not parametrize.is_parametrized(layer, "weight"):
        return None
    for p in layer.parametrizations.weight:  # type: ignore[union-attr]
        if isinstance(p, _SpectralNorm):
            return p
    return None


def _out_dim(layer: nn.Module) -> int:
    return 1 if isinstance(layer, nn.ConvTranspose2d) else 0


def _as_matrix(weight: Tensor, dim: int) -> Tensor:
    if weight.ndim == 1:
        return weight.reshape(1, -1)
    if dim != 0:
        weight = weight.movedim(dim, 0)
    return weight.reshape(weight.shape[0], -1)


def _matrix_sigma(matrix: Tensor) -> float:
    return float(torch.linalg.matrix_norm(matrix.double(), ord=2))


@contextmanager
def _inspecting(module: nn.Module) -> Iterator[None]:
    """Eval mode and no grad while reading (no power iteration, no batch-norm update); flags restored."""
    flags = {m: m.training for m in module.modules()}
    module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for m, flag in flags.items():
            m.training = flag


def _record_inputs(module: nn.Module, layers: list[tuple[str, nn.Module]],
                   input_shape: tuple[int, ...]) -> dict[nn.Module, tuple[tuple[int, ...], tuple[int, ...]]]:
    """One forward pass on zeros of ``input_shape``: each conv's (input shape, output shape)."""
    seen: dict[nn.Module, tuple[tuple[int, ...], tuple[int, ...]]] = {}

    def hook(layer: nn.Module, args: tuple[Any, ...], out: Tensor) -> None:
        if layer not in seen:
            seen[layer] = (tuple(args[0].shape), tuple(out.shape))

    params = next(iter(module.parameters()), None)
    device = params.device if params is not None else None
    dtype = params.dtype if params is not None and params.is_floating_point() else torch.float32
    handles = [layer.register_forward_hook(hook) for _, layer in layers if isinstance(layer, _CONVS)]
    try:
        module(torch.zeros(tuple(input_shape), device=device, dtype=dtype))
    finally:
        for h in handles:
            h.remove()
    return seen


def _conv_operator(layer: nn.Module, weight: Tensor, in_shape: tuple[int, ...],
                   out_shape: tuple[int, ...]):
    """The layer's convolution (no bias) as a function of a float64 input of one sample."""
    w = weight.double()
    if isinstance(layer, nn.ConvTranspose2d):
        # the output padding that reproduces the recorded output size
        out_pad = []
        for i in range(2):
            base = ((in_shape[-2 + i] - 1) * layer.stride[i] - 2 * layer.padding[i]
                    + layer.dilation[i] * (layer.kernel_size[i] - 1) + 1)
            out_pad.append(out_shape[-2 + i] - base)
        return lambda x: F.conv_transpose2d(x, w, None, layer.stride, layer.padding, tuple(out_pad),
                                            layer.groups, layer.dilation)
    return lambda x: layer._conv_forward(x, w, None)  # honours padding_mode


def _operator_norm(apply, shape: tuple[int, ...], device: torch.device, iters: int, seed: int) -> float:
    """Largest singular value of the linear map ``apply`` on inputs of ``shape`` (power iteration)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=gen, dtype=torch.float64).to(device)
    x = x / x.norm()
    with torch.enable_grad():
        for _ in range(max(int(iters), 1)):
            x = x.detach().requires_grad_(True)
            y = apply(x)
            (ata,) = torch.autograd.grad(y, x, grad_outputs=y.detach())  # A^T A x
            norm = ata.norm()
            if norm == 0:
                return 0.0
            x = ata / norm
    with torch.no_grad():
        return float(apply(x.detach()).norm())


# ----------------------------------------------------------------------------- API
def layer_sigmas(module: nn.Module, input_shape: tuple[int, ...] | None = None,
                 exact_conv: bool = True, iters: int = 50, seed: int = 0) -> list[dict[str, Any]]:
    """Largest singular values of every Conv2d / ConvTranspose2d / Linear layer of ``module``.

    Args:
        module: a network (e.g. a discriminator). It is not changed: the measurement runs in
            eval mode without gradients and restores every train/eval flag; the power-iteration
            vectors of spectral norm are not advanced.
        input_shape: shape of one input batch *with* its batch dimension, e.g. ``(1, 1, 28, 28)``,
            for the convolutions' operator norms: one forward pass on zeros of this shape records
            (forward hooks) each convolution's input spatial size. ``None``: ``(1, *module.in_shape)``
            when the module has an ``in_shape`` (the ganlab discriminators do).
        exact_conv: compute the convolutions' operator norms (``False``: ``sigma_operator`` is
            ``None`` for convolutions and no forward pass is made).
        iters: power iterations per convolution (from ``seed``; the estimate grows to the true
            value from below).

    Returns:
        One dict per layer, in module order: ``name`` (qualified), ``type``, ``weight_shape``,
        ``input_size`` (``(H, W)`` a convolution saw, else ``None``), ``spectral_norm`` (bool),
        ``sigma`` (exact, reshaped effective weight), ``sigma_operator`` (Linear: ``sigma``;
        conv: operator norm on ``input_size``; ``None`` if not computed or the layer was not
        reached by the forward pass), ``sigma_orig`` and ``sigma_estimate`` (spectrally
        normalised layers: exact sigma of ``W_orig`` and torch's ``u^T W_orig v``; else ``None``).

    Raises:
        ValueError: ``module`` has no Conv2d / ConvTranspose2d / Linear layer; convolution
            operator norms asked for without an input shape.
    """
    layers = require_weights(module)
    has_conv = any(isinstance(layer, _CONVS) for _, layer in layers)
    inputs: dict[nn.Module, tuple[tuple[int, ...], tuple[int, ...]]] = {}
    with _inspecting(module):
        if exact_conv and has_conv:
            if input_shape is None and getattr(module, "in_shape", None) is not None:
                input_shape = (1, *tuple(module.in_shape))
            if input_shape is None:
                raise ValueError(
                    f"the convolutions' operator norms need the input size: give input_shape "
                    f"(one batch, e.g. (1, 1, 28, 28)) for {type(module).__name__}, or exact_conv=False"
                )
            inputs = _record_inputs(module, layers, tuple(input_shape))
        out: list[dict[str, Any]] = []
        for name, layer in layers:
            sn = _spectral_param(layer)
            weight = layer.weight  # the effective weight (eval mode: no power-iteration step)
            sigma = _matrix_sigma(_as_matrix(weight, _out_dim(layer)))
            row: dict[str, Any] = {
                "name": name, "type": type(layer).__name__, "weight_shape": tuple(weight.shape),
                "input_size": None, "spectral_norm": sn is not None, "sigma": sigma,
                "sigma_operator": sigma if isinstance(layer, nn.Linear) else None,
                "sigma_orig": None, "sigma_estimate": None,
            }
            if sn is not None:
                original = layer.parametrizations.weight.original  # type: ignore[union-attr]
                if original.ndim > 1:
                    mat = sn._reshape_weight_to_matrix(original)
                    row["sigma_orig"] = _matrix_sigma(mat)
                    row["sigma_estimate"] = float(torch.vdot(sn._u, torch.mv(mat, sn._v)))
            if layer in inputs:
                in_shape, out_shape = inputs[layer]
                row["input_size"] = tuple(in_shape[-2:])
                apply = _conv_operator(layer, weight, in_shape, out_shape)
                row["sigma_operator"] = _operator_norm(apply, (1, *in_shape[1:]), weight.device,
                                                       iters, seed)
            out.append(row)
    return out


def sigma_max(module: nn.Module, which: str = "sigma", input_shape: tuple[int, ...] | None = None,
              iters: int = 50) -> float:
    """The largest per-layer value of :func:`layer_sigmas` — the ``sigma_max[D]`` metric
    (:func:`lipschitz_key`).

    ``which="sigma"`` (default): exact sigma of the reshaped effective weights, what spectral
    normalisation drives to 1 (no forward pass needed). ``which="sigma_operator"``: the layers'
    operator norms (convolutions on their input size; needs ``input_shape`` or ``in_shape``).

    Raises:
        ValueError: no weight layers (see :func:`require_weights`), unknown ``which``.
    """
    if which not in _WHICH:
        raise ValueError(f"which {which!r} is not supported; accepted: {', '.join(_WHICH)}")
    rows = layer_sigmas(module, input_shape=input_shape, exact_conv=which == "sigma_operator",
                        iters=iters)
    values = [r[which] for r in rows if r[which] is not None]
    if not values:
        raise ValueError(f"no layer of {type(module).__name__} was reached by the forward pass")
    return float(max(values))


def lipschitz_metrics(model: Any, networks: tuple[str, ...] = ("D",)) -> dict[str, float]:
    """``{"sigma_max[D]": value}`` of a family's networks: the largest exact per-layer sigma
    (:func:`sigma_max`, ``which="sigma"``) of each named network of ``model``.

    Pass it to the evaluator (``Evaluator(..., model_metrics=[lipschitz_metrics])``) and every
    evaluation of a run, hence its record's metrics, carries ``sigma_max[D]``.

    Raises:
        ValueError: ``model`` has no network of that name, or it has no weights.
    """
    out: dict[str, float] = {}
    for name in networks:
        net = getattr(model, name, None)
        if not isinstance(net, nn.Module):
            raise ValueError(f"{type(model).__name__} has no network {name!r}; give networks= of its networks")
        out[lipschitz_key(name)] = sigma_max(net)
    return out
