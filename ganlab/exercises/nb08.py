"""Notebook 08 (conditional DCGAN): how a label enters the networks — the concatenation scheme's
label plane, conditional batch norm, and the projection discriminator's logit — written by hand.

The references are the computations of ``ganlab.nets.conditional`` (``ConcatDiscriminator.
label_plane``, ``ConditionalBatchNorm2d.forward``, ``ProjectionDiscriminator.forward`` after its
features), restated as functions of the layers they use; tests/test_exercises_nb04_08.py checks
them against those networks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganlab.exercises import Case, register


def _filled(seed: int, module: nn.Module, scale: float = 1.0, shift: float = 0.0) -> nn.Module:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * scale + shift)
    return module


# ----------------------------------------------------------------------------- 08.1
def label_plane(embed: nn.Embedding, linear: nn.Linear, y: torch.Tensor, size: int) -> torch.Tensor:
    """Reference: label -> embedding -> linear -> one ``(N, 1, size, size)`` plane per label."""
    return linear(embed(y)).reshape(y.shape[0], 1, size, size)


def _plane_cases() -> list[Case]:
    return [Case("10 classes, embedding 50, a 7x7 plane, labels [3, 0, 9, 3]",
                 (_filled(1, nn.Embedding(10, 50)), _filled(2, nn.Linear(50, 49), 0.1),
                  torch.tensor([3, 0, 9, 3]), 7)),
            Case("3 classes, embedding 4, a 4x4 plane, one label", (_filled(3, nn.Embedding(3, 4)),
                 _filled(4, nn.Linear(4, 16), 0.5), torch.tensor([2]), 4)),
            Case("5 classes, embedding 6, a 3x3 plane, labels [4, 1, 2]",
                 (_filled(5, nn.Embedding(5, 6)), _filled(6, nn.Linear(6, 9), 0.5), torch.tensor([4, 1, 2]), 3))]


def _plane_no_channel(embed, linear, y, size):
    return linear(embed(y)).reshape(-1, size, size)  # (N, size, size): no channel to concatenate


def _plane_wrong_order(embed, linear, y, size):
    return linear(embed(y)).reshape(size, size, -1).permute(2, 0, 1).unsqueeze(1)  # mixes samples


def _plane_transposed(embed, linear, y, size):
    return linear(embed(y)).reshape(-1, 1, size, size).transpose(2, 3)


def _plane_by_position(embed, linear, y, size):
    return linear(embed.weight[: y.shape[0]]).reshape(-1, 1, size, size)  # rows 0..N-1, not the labels


register(
    "08.label_plane",
    title="label plane of the concatenation scheme",
    hint=("look the labels up in the embedding table (embed(y): (N, E)), map them with the linear "
          "layer to size*size numbers (N, size*size), reshape to (N, 1, size, size): one extra channel."),
    reference=label_plane, cases=_plane_cases,
    wrong=(_plane_no_channel, _plane_wrong_order, _plane_transposed, _plane_by_position),
)


# ----------------------------------------------------------------------------- 08.2
def conditional_batch_norm(h: torch.Tensor, y: torch.Tensor, bn: nn.BatchNorm2d, gamma: nn.Embedding,
                           beta: nn.Embedding) -> torch.Tensor:
    """Reference: ``gamma[y] * bn(h) + beta[y]`` per channel (``bn`` has no affine part)."""
    return bn(h) * gamma(y)[:, :, None, None] + beta(y)[:, :, None, None]


def _cbn_case(seed: int, n: int, channels: int, classes: int, side: int, labels: list[int]) -> tuple:
    gen = torch.Generator().manual_seed(seed)
    h = torch.randn(n, channels, side, side, generator=gen) * 2 + 0.5
    return (h, torch.tensor(labels), nn.BatchNorm2d(channels, affine=False),
            _filled(seed + 1, nn.Embedding(classes, channels), 0.3, 1.0),
            _filled(seed + 2, nn.Embedding(classes, channels), 0.5))


def _cbn_cases() -> list[Case]:
    return [Case("4 feature maps of 3 channels, 5x5, labels [2, 0, 2, 4] of 5 classes",
                 _cbn_case(1, 4, 3, 5, 5, [2, 0, 2, 4])),
            Case("6 samples of 8 channels, 2x2, labels [9, 8, 7, 6, 5, 4]",
                 _cbn_case(11, 6, 8, 10, 2, [9, 8, 7, 6, 5, 4])),
            Case("2 samples of 1 channel, 4x4, both class 1", _cbn_case(21, 2, 1, 2, 4, [1, 1]))]


def _cbn_swapped(h, y, bn, gamma, beta):
    return bn(h) * beta(y)[:, :, None, None] + gamma(y)[:, :, None, None]


def _cbn_affine_first(h, y, bn, gamma, beta):
    return bn(h * gamma(y)[:, :, None, None] + beta(y)[:, :, None, None])  # the norm undoes it


def _cbn_by_position(h, y, bn, gamma, beta):
    n = h.shape[0]
    return bn(h) * gamma.weight[:n, :, None, None] + beta.weight[:n, :, None, None]


def _cbn_no_norm(h, y, bn, gamma, beta):
    return h * gamma(y)[:, :, None, None] + beta(y)[:, :, None, None]


def _cbn_one_plus(h, y, bn, gamma, beta):
    return bn(h) * (1 + gamma(y)[:, :, None, None]) + beta(y)[:, :, None, None]


register(
    "08.conditional_batch_norm",
    title="conditional batch norm",
    hint=("normalise first with bn(h) (it has no gain or bias of its own), then look up each sample's "
          "class gain gamma(y) and bias beta(y), shapes (N, C), and apply them per channel: "
          "[:, :, None, None] makes them broadcast over (N, C, H, W)."),
    reference=conditional_batch_norm, cases=_cbn_cases, atol=1e-5,
    wrong=(_cbn_swapped, _cbn_affine_first, _cbn_by_position, _cbn_no_norm, _cbn_one_plus),
)


# ----------------------------------------------------------------------------- 08.3
def projection_logit(phi: torch.Tensor, y: torch.Tensor, psi: nn.Linear, embed: nn.Embedding) -> torch.Tensor:
    """Reference: ``psi(phi) + <embed(y), phi>``, one logit per image, shape ``(N,)``."""
    return psi(phi).reshape(-1) + (embed(y) * phi).sum(dim=1)


def _proj_case(seed: int, n: int, features: int, classes: int, labels: list[int]) -> tuple:
    gen = torch.Generator().manual_seed(seed)
    phi = torch.relu(torch.randn(n, features, generator=gen))  # features after a ReLU
    return (phi, torch.tensor(labels), _filled(seed + 1, nn.Linear(features, 1), 0.3),
            _filled(seed + 2, nn.Embedding(classes, features), 0.3))


def _proj_cases() -> list[Case]:
    return [Case("5 images, 16 features, 10 classes", _proj_case(1, 5, 16, 10, [0, 7, 7, 3, 9])),
            Case("3 images, 4 features, 3 classes", _proj_case(11, 3, 4, 3, [2, 1, 0])),
            Case("1 image, 32 features", _proj_case(21, 1, 32, 10, [5]))]


def _proj_no_psi(phi, y, psi, embed):
    return (embed(y) * phi).sum(dim=1)  # the class term alone: no "is it real?" part


def _proj_no_sum(phi, y, psi, embed):
    return psi(phi) + embed(y) * phi  # (N, F): a score per feature


def _proj_matrix(phi, y, psi, embed):
    return psi(phi).reshape(-1) + (embed(y) @ phi.T).sum(dim=0)  # every class vector with every image


def _proj_one_hot(phi, y, psi, embed):
    onehot = F.one_hot(y, phi.shape[1]).float()  # the label itself, not a learned class vector
    return psi(phi).reshape(-1) + (onehot * phi).sum(dim=1)


register(
    "08.projection_logit",
    title="projection discriminator logit",
    hint=("two terms per image: the unconditional score psi(phi), reshaped to (N,), plus the inner "
          "product of the image's features with its class vector: (embed(y) * phi).sum(dim=1)."),
    reference=projection_logit, cases=_proj_cases,
    wrong=(_proj_no_psi, _proj_no_sum, _proj_matrix, _proj_one_hot),
)
