"""Small CNN classifiers whose penultimate layer serves as a domain feature space for FID & co.

``MNISTClassifier`` (``mnist_cnn``) and ``ShapesClassifier`` (``shapes_cnn``) are trained by
:mod:`ganlab.metrics.train_extractors` on the offline sets and shipped in ``ganlab/weights``.
Both take float images in ``[-1, 1]``; :meth:`features` returns the 128-d penultimate
activations (after ReLU), :meth:`logits` the class scores.

Architecture (both): three 3x3 conv + BatchNorm + ReLU blocks each followed by 2x2 max pooling,
then a fully connected 128-unit layer (+ ReLU, the features) and linear heads. ``shapes_cnn``
has one head per generative factor of ``shapes`` (shape, colour, size, x, y); its class is the
shape, and the joint prediction of all five factors indexes the 486 factor combinations
("modes") of the set.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MNISTClassifier", "ShapesClassifier", "SHAPES_FACTORS"]

# factor name -> number of values, in the order of the mixed-radix mode index
SHAPES_FACTORS: dict[str, int] = {"shape": 3, "colour": 6, "size": 3, "x": 3, "y": 3}


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class _SmallCNN(nn.Module):
    """Conv trunk + 128-d feature layer; subclasses define the heads and input handling."""

    in_channels: int = 1
    in_size: int = 28
    dim: int = 128

    def __init__(self, widths: tuple[int, int, int], spatial: int, dropout: float = 0.2) -> None:
        super().__init__()
        w1, w2, w3 = widths
        self.trunk = nn.Sequential(_block(self.in_channels, w1), _block(w1, w2), _block(w2, w3))
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(w3 * spatial * spatial, self.dim), nn.ReLU(inplace=True))
        self.dropout = nn.Dropout(dropout)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Check and adapt images to ``(N, in_channels, in_size, in_size)`` (subclasses)."""
        raise NotImplementedError

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations ``(N, 128)`` (>= 0) of images ``x`` in ``[-1, 1]``."""
        return self.fc(self.trunk(self.prepare(x)))


def _check_images(x: torch.Tensor, who: str, accepted: str) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or not x.is_floating_point():
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{who}: expected float images (N, C, H, W) in [-1, 1] ({accepted}), got {shape}")


def _resize(x: torch.Tensor, size: int) -> torch.Tensor:
    if x.shape[-1] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


class MNISTClassifier(_SmallCNN):
    """Digit classifier for 28x28 grey images: widths 16/32/64, features 128-d, 10 classes.

    Accepts ``(N, 1, 28, 28)``; 32x32 is resized to 28 (bilinear, antialiased, as
    ``ganlab.data`` resizes), 3 channels are averaged to grey.
    """

    in_channels = 1
    in_size = 28
    n_classes = 10

    def __init__(self) -> None:
        super().__init__((16, 32, 64), spatial=3)
        self.head = nn.Linear(self.dim, self.n_classes)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        accepted = "C in {1, 3}, H = W in {28, 32}"
        _check_images(x, "mnist_cnn", accepted)
        if x.shape[1] not in (1, 3) or x.shape[-1] != x.shape[-2] or x.shape[-1] not in (28, 32):
            raise ValueError(f"mnist_cnn: got images of shape {tuple(x.shape)}; accepted {accepted}")
        if x.shape[1] == 3:
            x = x.mean(dim=1, keepdim=True)
        return _resize(x, 28)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``(N, 10)``."""
        return self.head(self.dropout(self.features(x)))


class ShapesClassifier(_SmallCNN):
    """Factor classifier for 32x32 RGB ``shapes`` images: widths 16/32/32, features 128-d.

    One linear head per factor in :data:`SHAPES_FACTORS`; ``forward`` returns the
    concatenated logits ``(N, 18)``; :meth:`factor_logits` splits them. Accepts
    ``(N, 3, 32, 32)``; 64x64 is resized to 32.
    """

    in_channels = 3
    in_size = 32
    n_classes = SHAPES_FACTORS["shape"]

    def __init__(self) -> None:
        super().__init__((16, 32, 32), spatial=4)
        self.head = nn.Linear(self.dim, sum(SHAPES_FACTORS.values()))

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        accepted = "C = 3, H = W in {32, 64}"
        _check_images(x, "shapes_cnn", accepted)
        if x.shape[1] != 3 or x.shape[-1] != x.shape[-2] or x.shape[-1] not in (32, 64):
            raise ValueError(f"shapes_cnn: got images of shape {tuple(x.shape)}; accepted {accepted}")
        return _resize(x, 32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenated factor logits ``(N, 18)`` (shape 3, colour 6, size 3, x 3, y 3)."""
        return self.head(self.dropout(self.features(x)))

    @staticmethod
    def factor_logits(logits: torch.Tensor) -> dict[str, torch.Tensor]:
        """Split ``forward`` output into ``{factor: (N, n_values)}``."""
        return dict(zip(SHAPES_FACTORS, logits.split(list(SHAPES_FACTORS.values()), dim=1)))
