"""Inception Score (Salimans et al. 2016) from class probabilities.

    IS = exp( E_x KL(p(y|x) || p(y)) ),  p(y) = mean of p(y|x) over the split

computed on ``splits`` contiguous splits (rows ``i*N//splits`` to ``(i+1)*N//splits``, the
original protocol, no shuffling); returns the mean and the ddof=0 standard deviation over
splits, as the reference code and torch-fidelity do. With Inception's softmax this is the
standard IS; with a domain classifier (``mnist_cnn``) it is a domain IS, reported as
``is[mnist_cnn,N=...]``. Ranges from 1 (every sample has the same p(y|x)) to the number of
classes (confident and uniformly spread over classes).
"""

from __future__ import annotations

import torch

from ._checks import FeatureLike, as_features

__all__ = ["inception_score"]


def inception_score(probs: FeatureLike, splits: int = 10) -> tuple[float, float]:
    """Inception Score of class probabilities ``probs`` ``(N, n_classes)``, rows summing to 1.

    Raises:
        ValueError: negative entries, rows not summing to 1 (tolerance 1e-3), or
            ``splits`` not in ``1..N``.
    """
    p = as_features(probs, "probs", min_rows=1)
    n = p.shape[0]
    if not 1 <= splits <= n:
        raise ValueError(f"splits must be between 1 and N={n}, got {splits}")
    if (p < 0).any():
        raise ValueError("probs: negative entries; pass softmax probabilities, not logits")
    sums = p.sum(dim=1)
    if not torch.allclose(sums, torch.ones_like(sums), atol=1e-3):
        raise ValueError(
            f"probs: rows must sum to 1 (got sums between {float(sums.min()):.4g} and "
            f"{float(sums.max()):.4g}); pass softmax probabilities, not logits"
        )
    p = p / sums[:, None]
    scores = []
    for i in range(splits):
        chunk = p[i * n // splits : (i + 1) * n // splits]
        marginal = chunk.mean(dim=0, keepdim=True)
        kl = (torch.xlogy(chunk, chunk) - torch.xlogy(chunk, marginal)).sum(dim=1).mean()
        scores.append(kl.exp())
    s = torch.stack(scores)
    return float(s.mean()), float(s.std(unbiased=False))
