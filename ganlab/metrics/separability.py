"""Linear separability of latent spaces (Karras et al., StyleGAN, CVPR 2019, section 4.2).

If a latent space is disentangled, a factor of variation of the images should be predictable
from the latent code by a *linear* classifier. The paper's protocol, here on ``shapes``, whose
factors (shape, colour, size, x, y) the shipped ``shapes_cnn`` predicts:

1. generate ``n`` images from random z (eval mode, fixed noise), keep z and w = mapping(z);
2. label every image's factors with the classifier; per factor keep the ``keep`` (half) most
   confidently labelled samples;
3. per factor fit a linear SVM (scikit-learn ``LinearSVC``, one-vs-rest for factors with more
   than two values, on standardised codes) predicting the label from the latent code, and
   compute the conditional entropy ``H(Y | X)`` (nats) of the classifier's label Y given the
   SVM's prediction X on the same samples: how much information about the factor a linear cut
   of the latent space leaves undetermined;
4. the score is ``exp(sum over factors of H(Y | X))``: 1 when every factor is linearly
   separable, larger when it is not (the paper sums over 40 binary CelebA attributes; here five
   factors with 3-6 values, so the largest possible score is 3 * 6 * 3 * 3 * 3 = 486).

Keys: ``separability_z[shapes_cnn,N=n]``, ``separability_w[shapes_cnn,N=n]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ganlab.metrics.keys import metric_key

__all__ = ["conditional_entropy", "factor_entropies", "separability_metrics", "latent_samples"]


def conditional_entropy(y: np.ndarray, x: np.ndarray) -> float:
    """``H(Y | X)`` in nats of two integer label arrays of equal length (empirical joint)."""
    y = np.asarray(y).astype(np.int64).ravel()
    x = np.asarray(x).astype(np.int64).ravel()
    if y.shape != x.shape or y.size == 0:
        raise ValueError(f"y and x must be non-empty and of equal length; got {y.shape} and {x.shape}")
    _, yi = np.unique(y, return_inverse=True)
    _, xi = np.unique(x, return_inverse=True)
    joint = np.zeros((xi.max() + 1, yi.max() + 1))
    np.add.at(joint, (xi, yi), 1.0)
    joint /= joint.sum()
    px = joint.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        cond = np.where(joint > 0, joint * np.log(px / joint), 0.0)
    return float(cond.sum())


def factor_entropies(codes: np.ndarray, labels: Mapping[str, np.ndarray],
                     confidence: Mapping[str, np.ndarray], keep: float = 0.5,
                     seed: int = 0) -> dict[str, float]:
    """Per factor, ``H(Y | X)`` of a linear SVM on ``codes`` ``(N, d)`` (steps 2-3 of the protocol).

    ``labels`` and ``confidence``: factor -> ``(N,)`` classifier label and its probability.
    A factor whose kept samples all share one label has ``H = 0`` (nothing to separate).
    """
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    if not 0 < keep <= 1:
        raise ValueError(f"keep must lie in (0, 1], got {keep!r}")
    codes = np.asarray(codes, dtype=np.float64)
    x_all = StandardScaler().fit_transform(codes)
    out = {}
    for name, y in labels.items():
        y = np.asarray(y).astype(np.int64)
        conf = np.asarray(confidence[name], dtype=np.float64)
        k = max(2, int(round(keep * len(y))))
        idx = np.argsort(-conf, kind="stable")[:k]
        yk, xk = y[idx], x_all[idx]
        if np.unique(yk).size < 2:
            out[name] = 0.0
            continue
        svm = LinearSVC(C=1.0, dual=False, max_iter=5000, random_state=seed).fit(xk, yk)
        out[name] = conditional_entropy(yk, svm.predict(xk))
    return out


@torch.no_grad()
def latent_samples(generator: nn.Module, n: int, seed: int = 0, batch_size: int = 500
                   ) -> tuple[Tensor, Tensor | None, Tensor]:
    """``(z (n, nz), w (n, w_dim) or None, images (n, C, H, W) in [-1, 1])`` on the CPU, eval mode.

    ``w`` is ``mapping(z)`` for a generator with a mapping network (images = synthesis(w)).
    """
    from ganlab.models.generation import module_device

    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    device = module_device(generator)
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, generator.nz, generator=gen)
    was = generator.training
    generator.eval()
    ws, xs = [], []
    try:
        for s in range(0, n, batch_size):
            zc = z[s:s + batch_size].to(device)
            if hasattr(generator, "mapping"):
                w = generator.mapping(zc)
                ws.append(w.float().cpu())
                xs.append(generator.synthesis(w).float().cpu())
            else:
                xs.append(generator(zc).float().cpu())
    finally:
        generator.train(was)
    return z, (torch.cat(ws) if ws else None), torch.cat(xs)


def separability_metrics(generator: nn.Module, *, extractor: str = "shapes_cnn", n: int = 4000,
                         keep: float = 0.5, seed: int = 0, per_factor: bool = False,
                         device: torch.device | str | None = None) -> dict[str, Any]:
    """``{"separability_z[shapes_cnn,N=n]": ..., "separability_w[...]": ...}`` (W only when the
    generator has a mapping network). ``per_factor`` adds ``"entropy_z[shapes_cnn,N=n,factor=colour]"``
    etc. ``extractor`` must predict factors (``shapes_cnn``).
    """
    from ganlab.metrics.extractors import get_extractor
    from ganlab.models.generation import module_device

    ext = get_extractor(extractor, device=device if device is not None else module_device(generator))
    if getattr(ext, "n_modes", None) is None:
        raise ValueError(f"extractor {extractor!r} predicts no factors; use 'shapes_cnn'")
    z, w, x = latent_samples(generator, n, seed)
    probs: dict[str, list[Tensor]] = {}
    for s in range(0, n, 500):
        for k, p in ext.factor_probs(x[s:s + 500].to(module_device(ext))).items():
            probs.setdefault(k, []).append(p.cpu())
    cat = {k: torch.cat(v) for k, v in probs.items()}
    labels = {k: p.argmax(dim=1).numpy() for k, p in cat.items()}
    conf = {k: p.max(dim=1).values.numpy() for k, p in cat.items()}
    out: dict[str, Any] = {}
    for space, codes in (("z", z), ("w", w)):
        if codes is None:
            continue
        ent = factor_entropies(codes.numpy(), labels, conf, keep=keep, seed=seed)
        out[metric_key(f"separability_{space}", extractor, n)] = float(np.exp(sum(ent.values())))
        if per_factor:
            out.update({metric_key(f"entropy_{space}", extractor, n, factor=f): h for f, h in ent.items()})
    return out
