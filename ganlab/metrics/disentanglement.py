"""Both StyleGAN disentanglement measures of a run in one call: PPL (Z, W) and separability (Z, W).

``disentanglement_metrics(model)`` takes a family (its sampling generator: the EMA copy when the
run keeps one) or a generator, and returns the keys of :func:`~ganlab.metrics.path_length.ppl_metrics`
and :func:`~ganlab.metrics.separability.separability_metrics`. As an Evaluator ``model_metrics``
function (``functools.partial(disentanglement_metrics, n_ppl=1000)``) it puts them into every
evaluation of a run, the untrained baseline included, and so into its record.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from ganlab.metrics.path_length import ppl_metrics
from ganlab.metrics.separability import separability_metrics

__all__ = ["disentanglement_metrics"]


def disentanglement_metrics(model: Any, *, distance: str = "shapes_cnn", extractor: str | None = "shapes_cnn",
                            n_ppl: int = 1000, n_sep: int = 2000, samplings: tuple[str, ...] = ("full",),
                            seed: int = 0) -> dict[str, float]:
    """``ppl_z/ppl_w[distance,N=n_ppl]`` and ``separability_z/w[extractor,N=n_sep]`` of ``model``.

    Args:
        model: a family (``sampling_generator()``) or a generator with ``mapping``/``synthesis``.
        distance: PPL's perceptual distance (:data:`~ganlab.metrics.path_length.DISTANCES`).
        extractor: the factor classifier of separability (``"shapes_cnn"``); ``None`` skips it
            (data without known factors).
        samplings: PPL's ``"full"`` and / or ``"end"``.
    """
    G = model.sampling_generator() if hasattr(model, "sampling_generator") else model
    if not isinstance(G, nn.Module):
        raise ValueError(f"disentanglement_metrics needs a family or a generator, got {type(model).__name__}")
    out = dict(ppl_metrics(G, distance=distance, n=n_ppl, samplings=samplings, seed=seed))
    if extractor is not None:
        out.update(separability_metrics(G, extractor=extractor, n=n_sep, seed=seed))
    return out
