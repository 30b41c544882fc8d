"""K copies of a small network as one batched network (several seeds trained at once).

Tiny MLPs (the 2-D toys: 3 x 64 units, batch 256) are bound by the per-operation overhead of
PyTorch, not by arithmetic: a step of one copy costs about as much as a step of ten copies done
with batched matrix products. :func:`stack_networks` turns K identically shaped copies (each built
and seeded like a separate run) into one module whose layers hold ``(K, ...)`` weights:

* ``Linear`` -> :class:`BatchedLinear` (``torch.baddbmm`` over the copies);
* ``BatchNorm1d`` -> :class:`BatchedBatchNorm1d` (one ``F.batch_norm`` over K * F channels: each
  copy is normalised over its own rows, with its own running statistics);
* :class:`~ganlab.nets.layers.FourierFeatures` -> :class:`BatchedFourierFeatures` (each copy
  keeps its own random frequencies);
* stateless layers (LeakyReLU, ReLU, Tanh, :class:`~ganlab.nets.mlp.Maxout`, ``Dropout(p=0)``)
  are shared.

Inputs and outputs keep the family contract with the copies stacked along the batch: rows
``[k * B, (k + 1) * B)`` of a ``(K * B, ...)`` tensor belong to copy k, so a family's losses
(means over the batch) and its PacGAN packing work unchanged. :meth:`BatchedMLPGenerator.unstack`
gives copy k back as an ordinary network (for evaluation, sampling and records).

What does not batch raises :class:`NotBatchable` (a ``ValueError``) naming the reason: conv nets
(batched convolution on a CPU is no faster than separate runs: measured, README performance
section), spectral norm, dropout with p > 0 (its masks come from torch's global generator, so
the copies could not follow their separate runs).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ganlab.nets.layers import FourierFeatures
from ganlab.nets.mlp import Maxout, MLPDiscriminator, MLPGenerator

__all__ = ["NotBatchable", "BatchedLinear", "BatchedBatchNorm1d", "BatchedFourierFeatures", "BatchedMLPGenerator",
           "BatchedMLPDiscriminator", "stack_networks", "batchable_reason"]

_STATELESS = (nn.LeakyReLU, nn.ReLU, nn.Tanh, nn.Identity, Maxout)


class NotBatchable(ValueError):
    """These networks cannot be trained as one batched model (the message says why)."""


class BatchedLinear(nn.Module):
    """K ``nn.Linear`` layers: ``(K, B, in) -> (K, B, out)``; weight ``(K, out, in)``, bias ``(K, out)``."""

    def __init__(self, layers: Sequence[nn.Linear]) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.stack([lay.weight.detach().clone() for lay in layers]))
        has_bias = layers[0].bias is not None
        self.bias = nn.Parameter(torch.stack([lay.bias.detach().clone() for lay in layers])) if has_bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.transpose(1, 2)
        if self.bias is None:
            return torch.bmm(x, w)
        return torch.baddbmm(self.bias.unsqueeze(1), x, w)

    def unstack_into(self, layer: nn.Linear, k: int) -> None:
        with torch.no_grad():
            layer.weight.copy_(self.weight[k])
            if self.bias is not None:
                layer.bias.copy_(self.bias[k])


class BatchedBatchNorm1d(nn.Module):
    """K ``nn.BatchNorm1d(F)`` layers on ``(K, B, F)``: one batch norm over ``K * F`` channels, so
    each copy is normalised over its own B rows and keeps its own running statistics."""

    def __init__(self, layers: Sequence[nn.BatchNorm1d]) -> None:
        super().__init__()
        first = layers[0]
        self.copies, self.features = len(layers), first.num_features
        self.eps, self.momentum = first.eps, first.momentum
        self.affine, self.track = first.affine, first.track_running_stats
        cat = lambda name: torch.cat([getattr(lay, name).detach().clone() for lay in layers])  # noqa: E731
        if self.affine:
            self.weight, self.bias = nn.Parameter(cat("weight")), nn.Parameter(cat("bias"))
        else:
            self.weight = self.bias = None
        if self.track:
            self.register_buffer("running_mean", cat("running_mean"))
            self.register_buffer("running_var", cat("running_var"))
            self.register_buffer("num_batches_tracked", first.num_batches_tracked.detach().clone())
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, b, f = x.shape
        flat = x.transpose(0, 1).reshape(b, k * f)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative moving average, as nn.BatchNorm1d
                momentum = 1.0 / float(self.num_batches_tracked)
        use_batch = self.training or not self.track
        out = F.batch_norm(flat, self.running_mean if not self.training or self.track else None,
                           self.running_var if not self.training or self.track else None,
                           self.weight, self.bias, use_batch, momentum, self.eps)
        return out.reshape(b, k, f).transpose(0, 1)

    def unstack_into(self, layer: nn.BatchNorm1d, k: int) -> None:
        sl = slice(k * self.features, (k + 1) * self.features)
        with torch.no_grad():
            if self.affine:
                layer.weight.copy_(self.weight[sl])
                layer.bias.copy_(self.bias[sl])
            if self.track:
                layer.running_mean.copy_(self.running_mean[sl])
                layer.running_var.copy_(self.running_var[sl])
                layer.num_batches_tracked.copy_(self.num_batches_tracked)


class BatchedFourierFeatures(nn.Module):
    """K :class:`~ganlab.nets.layers.FourierFeatures` on ``(K, B, pack * d) -> (K, B, pack * 2n)``;
    frequencies ``(K, d, n)``, copy k's its own (copies may differ in scale: the frequencies carry it)."""

    def __init__(self, layers: Sequence[FourierFeatures]) -> None:
        super().__init__()
        first = layers[0]
        self.in_features, self.n_frequencies, self.pack = first.in_features, first.n_frequencies, first.pack
        self.scales = [lay.scale for lay in layers]
        self.register_buffer("freqs", torch.stack([lay.freqs.detach().clone() for lay in layers]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, b, _ = x.shape
        samples = x.reshape(k, b * self.pack, self.in_features)
        phase = torch.bmm(samples, self.freqs).reshape(k, b, self.pack, self.n_frequencies)
        return torch.cat([phase.sin(), phase.cos()], dim=-1).reshape(k, b, -1)

    def unstack_into(self, layer: FourierFeatures, k: int) -> None:
        with torch.no_grad():
            layer.freqs.copy_(self.freqs[k])
        layer.scale = self.scales[k]


def _layer_reason(layer: nn.Module) -> str | None:
    if hasattr(layer, "parametrizations"):
        return f"{type(layer).__name__} has parametrizations (spectral norm?)"
    if isinstance(layer, nn.Dropout) and layer.p > 0:
        return f"Dropout(p={layer.p}) draws its masks from torch's global generator"
    if isinstance(layer, (nn.Linear, nn.BatchNorm1d, nn.Dropout, FourierFeatures, *_STATELESS)):
        return None
    return f"layer {type(layer).__name__} has no batched version"


def batchable_reason(net: nn.Module) -> str | None:
    """``None`` when :func:`stack_networks` can batch copies of ``net``, else why not."""
    if not isinstance(net, (MLPGenerator, MLPDiscriminator)):
        return (f"{type(net).__name__} is not an MLP generator / discriminator (only the fully "
                f"connected nets batch; batched convolutions are not faster on a CPU)")
    for layer in net.net:
        reason = _layer_reason(layer)
        if reason:
            return reason
    return None


def _stack_sequential(seqs: Sequence[nn.Sequential]) -> nn.Sequential:
    out = []
    for layers in zip(*seqs):
        first = layers[0]
        if isinstance(first, nn.Linear):
            out.append(BatchedLinear(layers))
        elif isinstance(first, nn.BatchNorm1d):
            out.append(BatchedBatchNorm1d(layers))
        elif isinstance(first, FourierFeatures):
            out.append(BatchedFourierFeatures(layers))
        elif isinstance(first, nn.Dropout):
            out.append(nn.Identity())
        else:
            out.append(copy.deepcopy(first))
    return nn.Sequential(*out)


def _check_copies(nets: Sequence[nn.Module]) -> None:
    if len(nets) < 1:
        raise NotBatchable("stack_networks needs at least one network")
    kinds = {type(n) for n in nets}
    if len(kinds) != 1:
        raise NotBatchable(f"copies must be of one class; got {sorted(k.__name__ for k in kinds)}")
    reason = batchable_reason(nets[0])
    if reason:
        raise NotBatchable(reason)
    shapes = [[(type(m).__name__, tuple(t.shape)) for m in n.modules()
               for t in (*m.parameters(recurse=False), *m.buffers(recurse=False))] for n in nets]
    if any(s != shapes[0] for s in shapes[1:]):
        raise NotBatchable("copies differ in architecture (layer types or shapes)")


class _Batched(nn.Module):
    """Shared parts of the batched generator and discriminator."""

    def __init__(self, nets: Sequence[nn.Module]) -> None:
        super().__init__()
        _check_copies(nets)
        self.copies = len(nets)
        self.net = _stack_sequential([n.net for n in nets])
        # an unregistered template: unstack() copies it and fills in copy k's weights
        object.__setattr__(self, "_template", copy.deepcopy(nets[0]).cpu())

    def _split(self, n: int, unit: int = 1) -> int:
        if n % (self.copies * unit):
            raise ValueError(f"a batch of {n} rows cannot be split over {self.copies} copies"
                             + (f" in packs of {unit}" if unit > 1 else ""))
        return n // self.copies

    def unstack(self, k: int) -> nn.Module:
        """Copy ``k`` as an ordinary network (same class as the originals), on this module's device."""
        if not 0 <= k < self.copies:
            raise ValueError(f"copy {k} does not exist; this batch has {self.copies}")
        net = copy.deepcopy(self._template)
        for batched, layer in zip(self.net, net.net):
            if isinstance(batched, (BatchedLinear, BatchedBatchNorm1d, BatchedFourierFeatures)):
                batched.unstack_into(layer, k)
        device = next(self.parameters()).device
        return net.to(device).train(self.training)


class BatchedMLPGenerator(_Batched):
    """K :class:`~ganlab.nets.mlp.MLPGenerator` copies: ``z (K * B, nz) -> (K * B, *out_shape)``."""

    def __init__(self, nets: Sequence[MLPGenerator]) -> None:
        super().__init__(nets)
        self.nz, self.out_shape = nets[0].nz, nets[0].out_shape

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.nz:
            raise ValueError(f"expected z of shape (K * B, {self.nz}); got {tuple(z.shape)}")
        b = self._split(z.shape[0])
        return self.net(z.reshape(self.copies, b, self.nz)).reshape(z.shape[0], *self.out_shape)


class BatchedMLPDiscriminator(_Batched):
    """K :class:`~ganlab.nets.mlp.MLPDiscriminator` copies: ``(K * B, *in_shape) -> (K * B / pack,)``
    logits; each copy packs its own consecutive rows (PacGAN)."""

    def __init__(self, nets: Sequence[MLPDiscriminator]) -> None:
        super().__init__(nets)
        self.in_shape, self.pack, self.in_features = nets[0].in_shape, nets[0].pack, nets[0].in_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(f"expected input of shape (K * B, {', '.join(map(str, self.in_shape))}); "
                             f"got {tuple(x.shape)}")
        b = self._split(x.shape[0], self.pack)
        packs = b // self.pack
        out = self.net(x.reshape(self.copies, packs, self.in_features))
        return out.reshape(self.copies * packs)


def stack_networks(nets: Sequence[nn.Module]) -> nn.Module:
    """K copies (same class and shapes, each initialised as its own run) as one batched network.

    Raises:
        NotBatchable: copies of different classes or shapes, or a network that does not batch
            (see :func:`batchable_reason`).
    """
    _check_copies(nets)
    if isinstance(nets[0], MLPGenerator):
        return BatchedMLPGenerator(nets)
    return BatchedMLPDiscriminator(nets)
