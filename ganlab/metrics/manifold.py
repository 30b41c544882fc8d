"""k-NN manifold metrics: precision/recall (Kynkäänniemi et al. 2019), density/coverage
(Naeem et al. 2020).

Each sample's manifold ball has the radius of its k-th nearest neighbour in its own set (the
sample itself not counted). With real features ``R`` (radii ``r``) and fake features ``F``
(radii ``f``):

- precision = share of fake samples inside at least one real ball (``d(F_j, R_i) <= r_i``);
- recall    = share of real samples inside at least one fake ball (``d(R_i, F_j) <= f_j``);
- density   = (1/k) * mean over fake samples of the number of real balls containing them;
- coverage  = share of real samples whose nearest fake sample lies inside their ball.

"Inside" means distance ``<=`` radius (the papers' definition). The ``prdc`` reference
package compares with ``<``; the two agree except on exact ties, which have probability zero
for continuous features (the tests check equality against ``prdc.compute_prdc``).

Distances are Euclidean, float64, computed in row blocks with ``torch.cdist`` so that at most
``max_block_entries`` distances are in memory at once (20k x 20k works in well under 1 GB);
k-th neighbour radii come from a blockwise ``topk``. Nothing is ever N x N in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch

from ._checks import FeatureLike, as_features, check_k, check_same_dim

__all__ = ["knn_radii", "precision_recall", "density_coverage", "manifold_metrics"]

_MAX_BLOCK_ENTRIES = 1 << 23  # 8M float64 distances = 64 MB per block


def _blocks(a: torch.Tensor, b: torch.Tensor, max_entries: int) -> Iterator[tuple[int, torch.Tensor]]:
    """Yield ``(start_row, cdist(a[start:start+rows], b))`` blocks."""
    rows = max(1, max_entries // max(1, b.shape[0]))
    for start in range(0, a.shape[0], rows):
        yield start, torch.cdist(a[start : start + rows], b)


def knn_radii(
    features: FeatureLike, ks: int | Iterable[int], max_block_entries: int = _MAX_BLOCK_ENTRIES
) -> dict[int, torch.Tensor]:
    """Distance from each sample to its k-th nearest *other* sample, for each k in ``ks``.

    Args:
        features: ``(N, d)``; N must exceed every k.

    Returns:
        ``{k: radii}`` with ``radii`` float64 of shape ``(N,)``.
    """
    x = as_features(features, "features")
    ks = [ks] if isinstance(ks, int) else sorted(set(ks))
    for k in ks:
        check_k(k, len(x), "feature")
    kmax = max(ks)
    out = torch.empty(len(x), kmax + 1, dtype=torch.float64)
    for start, d in _blocks(x, x, max_block_entries):
        # the sample itself is among the k+1 smallest (distance 0), as in the reference code
        out[start : start + len(d)] = d.topk(kmax + 1, dim=1, largest=False, sorted=True).values
    return {k: out[:, k].clone() for k in ks}


def manifold_metrics(
    real: FeatureLike,
    fake: FeatureLike,
    k_pr: int | None = 3,
    k_dc: int | None = 5,
    real_radii: dict[int, torch.Tensor] | None = None,
    max_block_entries: int = _MAX_BLOCK_ENTRIES,
) -> dict[str, float]:
    """Precision, recall (with ``k_pr``) and density, coverage (with ``k_dc``) in one pass.

    Args:
        real: real features ``(N_real, d)``; fake: fake features ``(N_fake, d)``.
        k_pr: neighbours for precision/recall, or None to skip them.
        k_dc: neighbours for density/coverage, or None to skip them.
        real_radii: precomputed :func:`knn_radii` of ``real`` (e.g. cached by the Evaluator).

    Returns:
        dict with ``precision``, ``recall`` and/or ``density``, ``coverage`` (floats; density
        can exceed 1, the others are in [0, 1]).
    """
    r = as_features(real, "real features")
    f = as_features(fake, "fake features")
    check_same_dim(r, f)
    if k_pr is None and k_dc is None:
        raise ValueError("nothing to compute: k_pr and k_dc are both None")
    ks_real = [k for k in (k_pr, k_dc) if k is not None]
    for k in ks_real:
        check_k(k, len(r), "real")
    if k_pr is not None:
        check_k(k_pr, len(f), "fake")
    radii = dict(real_radii or {})
    missing = [k for k in ks_real if k not in radii]
    if missing:
        radii.update(knn_radii(r, missing, max_block_entries))
    for k in ks_real:
        if radii[k].shape != (len(r),):
            raise ValueError(f"real_radii[{k}] has shape {tuple(radii[k].shape)}, expected ({len(r)},)")
    fake_r = knn_radii(f, k_pr, max_block_entries)[k_pr] if k_pr is not None else None

    n_prec = 0
    density_sum = 0.0
    recalled = torch.zeros(len(r), dtype=torch.bool)
    nearest_fake = torch.full((len(r),), float("inf"), dtype=torch.float64)
    for start, d in _blocks(f, r, max_block_entries):  # d: (rows of fake, N_real)
        if k_pr is not None:
            n_prec += int((d <= radii[k_pr][None, :]).any(dim=1).sum())
            recalled |= (d <= fake_r[start : start + len(d), None]).any(dim=0)
        if k_dc is not None:
            density_sum += float((d <= radii[k_dc][None, :]).sum())
            nearest_fake = torch.minimum(nearest_fake, d.min(dim=0).values)

    out: dict[str, float] = {}
    if k_pr is not None:
        out["precision"] = n_prec / len(f)
        out["recall"] = float(recalled.double().mean())
    if k_dc is not None:
        out["density"] = density_sum / (k_dc * len(f))
        out["coverage"] = float((nearest_fake <= radii[k_dc]).double().mean())
    return out


def precision_recall(real: FeatureLike, fake: FeatureLike, k: int = 3) -> dict[str, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN radii.

    Returns ``{"precision": p, "recall": r}``, both in [0, 1].
    """
    return manifold_metrics(real, fake, k_pr=k, k_dc=None)


def density_coverage(real: FeatureLike, fake: FeatureLike, k: int = 5) -> dict[str, float]:
    """Density and coverage (Naeem et al. 2020) with k-NN radii of the real samples only.

    Returns ``{"density": d, "coverage": c}``; density is ~1 for matching sets and can exceed 1.
    """
    return manifold_metrics(real, fake, k_pr=None, k_dc=k)
