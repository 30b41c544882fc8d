"""2-D toy mixtures (``ring8``, ``grid25``): an evaluator for the PacGAN mode-coverage protocol.

:class:`ModeCoverageEvaluator` plugs :func:`ganlab.metrics.mode_coverage_2d` into the trainer's
evaluation hook (``evaluate(sample_fn) -> dict``), so every run's history and JSON record carry
the protocol's three numbers under keys that name the data set and N, e.g.
``modes[ring8,N=2500]``, ``high_quality[ring8,N=2500]``, ``reverse_kl[ring8,N=2500]``.

The protocol (Srivastava et al. 2017, VEEGAN; Lin et al. 2018, PacGAN): draw 2,500 samples;
a sample is *high quality* when it lies within 3 standard deviations of its nearest mode; a mode
is *captured* when it receives at least one high-quality sample; the reverse KL compares the
histogram of high-quality samples over modes with the uniform distribution.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

__all__ = ["ModeCoverageEvaluator", "METRICS"]

METRICS = ("modes", "high_quality", "reverse_kl")


class ModeCoverageEvaluator:
    """Mode coverage of a generator on a 2-D Gaussian mixture, as a trainer evaluator.

    Args:
        dataset: a ``ganlab.data`` points dataset whose ``info`` has ``mode_means`` (K, 2) and
            ``mode_std`` (``ring8``, ``grid25``).
        n: samples drawn per evaluation (2,500 in the papers).
        threshold: high-quality radius in standard deviations (3 in the papers).

    Attributes:
        keys: ``{"modes": "modes[ring8,N=2500]", ...}`` — the metric keys this evaluator writes.
        n_modes: K, the number of modes of the data.

    Raises:
        ValueError: the dataset has no mode means / std, or ``n`` / ``threshold`` is not positive.
    """

    def __init__(self, dataset: Any, n: int = 2500, threshold: float = 3.0) -> None:
        info = getattr(dataset, "info", None)
        means = getattr(info, "mode_means", None)
        std = getattr(info, "mode_std", None)
        if means is None or std is None:
            name = getattr(info, "name", type(dataset).__name__)
            raise ValueError(
                f"dataset {name!r} has no mode_means / mode_std; mode coverage needs a 2-D "
                "mixture with known modes (ring8 or grid25)")
        if int(n) < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        if not threshold > 0:
            raise ValueError(f"threshold must be > 0, got {threshold!r}")
        self.name = str(info.name)
        self.means = torch.as_tensor(means, dtype=torch.float32).cpu()
        self.std = std
        self.n = int(n)
        self.threshold = float(threshold)
        self.n_modes = int(self.means.shape[0])
        self.keys = {m: f"{m}[{self.name},N={self.n}]" for m in METRICS}

    def evaluate_points(self, points: torch.Tensor) -> dict[str, float]:
        """The protocol's numbers for given samples ``(N, 2)`` (any N; the keys still say ``self.n``)."""
        from ganlab.metrics import mode_coverage_2d

        r = mode_coverage_2d(points.detach().float().cpu(), self.means, self.std, self.threshold)
        return {self.keys["modes"]: float(r["modes"]),
                self.keys["high_quality"]: float(r["high_quality"]),
                self.keys["reverse_kl"]: float(r["reverse_kl"])}

    def evaluate(self, sample_fn: Callable[[int], torch.Tensor]) -> dict[str, float]:
        """Draw ``n`` samples with ``sample_fn(n)`` and score them.

        Returns:
            ``{"modes[<data>,N=<n>]": modes captured (0..K), "high_quality[...]": share of
            high-quality samples in [0, 1], "reverse_kl[...]": KL(q || uniform) >= 0, inf when no
            sample is high quality}``.
        """
        points = sample_fn(self.n)
        if points.dim() != 2 or points.shape[1] != self.means.shape[1] or points.shape[0] != self.n:
            raise ValueError(
                f"sample_fn({self.n}) must return points of shape ({self.n}, {self.means.shape[1]}), "
                f"got {tuple(points.shape)}")
        return self.evaluate_points(points)

    def __repr__(self) -> str:
        return (f"ModeCoverageEvaluator({self.name}, K={self.n_modes}, n={self.n}, "
                f"threshold={self.threshold:g} std)")
