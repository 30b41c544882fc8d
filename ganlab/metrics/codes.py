"""What InfoGAN's codes control: categorical code vs class, and the slant of a digit.

* :func:`code_accuracy`: how well the values of a categorical code match classes predicted by a
  classifier, under the best matching of code values to classes (the code is unsupervised, so
  its value 3 may draw the digit 7);
* :func:`code_predictions` / :func:`evaluate_codes`: generate N samples with balanced codes,
  classify them (``mnist_cnn``) and report ``code_acc[EXTRACTOR,N=n]``;
* :func:`image_moments` / :func:`slant`: slant, width, height and ink of each digit from the
  moments of its intensity; :func:`continuous_effects`: the correlation of each continuous code
  with them (what a continuous code of an MNIST InfoGAN controls, measured).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .keys import metric_key

__all__ = ["code_accuracy", "code_predictions", "evaluate_codes", "slant", "image_moments", "continuous_effects"]


def _int_vector(x: Any, what: str, high: int) -> np.ndarray:
    a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{what} must be a 1-D integer array or tensor; got shape {a.shape} {a.dtype}")
    if a.size and (a.min() < 0 or a.max() >= high):
        raise ValueError(f"{what} must lie in [0, {high}); got [{a.min()}, {a.max()}]")
    return a.astype(np.int64)


def code_accuracy(codes: Any, predicted: Any, n_codes: int, n_classes: int) -> dict[str, Any]:
    """Accuracy of code values as classes under the best code -> class mapping.

    The contingency matrix ``M[code, class]`` counts samples of each code value given each
    class. With ``n_codes <= n_classes`` the mapping is one-to-one, the assignment that maximises
    the matched count (Hungarian algorithm, ``scipy.optimize.linear_sum_assignment``); classes no
    code is matched to count as errors. With ``n_codes > n_classes`` (e.g. 20 categories for 10
    digits) a one-to-one matching would leave codes unmatched, so instead each code value is
    mapped to its majority class (several codes may share a class; ``method = "majority"``).
    Note that either way the mapping is fitted on the same samples it scores, so chance level
    is a little above ``1 / n_classes`` at finite N, and that the majority mapping gives a
    generator that draws one class for every code value an accuracy of 1: read it together with
    ``nmi``, the normalised mutual information between code values and classes
    (``sklearn.metrics.normalized_mutual_info_score``, arithmetic mean of the two entropies): 1
    when the classes are a function of the codes and vice versa, 0 when they are independent,
    and 0 for such a collapsed generator.

    Args:
        codes: ``(N,)`` code values in ``[0, n_codes)``.
        predicted: ``(N,)`` predicted classes in ``[0, n_classes)``.
        n_codes, n_classes: number of code values and of classes (>= 1).

    Returns:
        ``{"accuracy": float, "nmi": float, "mapping": [class of code 0, class of code 1, ...],
        "method": "hungarian" | "majority", "contingency": n_codes x n_classes counts (list of
        lists)}``.
        Every code value gets a class in ``mapping`` (one never drawn too, on a count of 0).

    Raises:
        ValueError: shapes differ, values out of range or not integers, counts < 1.
    """
    for what, v in (("n_codes", n_codes), ("n_classes", n_classes)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{what} must be an int >= 1; got {v!r}")
    c = _int_vector(codes, "codes", n_codes)
    p = _int_vector(predicted, "predicted", n_classes)
    if c.shape != p.shape:
        raise ValueError(f"codes and predicted must have the same length; got {c.shape[0]} and {p.shape[0]}")
    if c.size == 0:
        raise ValueError("code_accuracy needs at least one sample")
    from scipy.optimize import linear_sum_assignment  # lazy: keeps `import ganlab.metrics` light
    from sklearn.metrics import normalized_mutual_info_score

    m = np.zeros((n_codes, n_classes), dtype=np.int64)
    np.add.at(m, (c, p), 1)
    if n_codes <= n_classes:
        rows, cols = linear_sum_assignment(m, maximize=True)
        mapping = np.empty(n_codes, dtype=np.int64)
        mapping[rows] = cols
        method = "hungarian"
    else:
        mapping = m.argmax(axis=1)
        method = "majority"
    correct = int(m[np.arange(n_codes), mapping].sum())
    return {"accuracy": correct / c.size, "nmi": float(normalized_mutual_info_score(c, p)),
            "mapping": mapping.tolist(), "method": method, "contingency": m.tolist()}


def _get_classifier(extractor: Any, device: torch.device) -> Any:
    if isinstance(extractor, str):
        from .extractors import get_extractor

        extractor = get_extractor(extractor, device)
    if not callable(getattr(extractor, "predict", None)) or not isinstance(getattr(extractor, "n_classes", None), int):
        raise ValueError(f"the extractor must be a classifier with predict() and n_classes (e.g. 'mnist_cnn'); "
                         f"got {getattr(extractor, 'name', type(extractor).__name__)!r}")
    return extractor


def code_predictions(model: Any, extractor: Any, n: int = 1000, seed: int = 0,
                     batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    """``(codes, predicted)``: n samples of an InfoGAN-like ``model`` with balanced categorical codes
    (0, 1, ..., K-1, 0, ...; noise and continuous codes drawn with ``seed``), and the classes the
    ``extractor`` (a name such as ``"mnist_cnn"`` or a classifier with ``predict``) assigns them.

    ``model`` needs ``n_categories`` and ``sample_inputs(..., categories=)`` (``ganlab.models.InfoGAN``);
    samples come from its EMA generator when it has one.
    """
    from ganlab.models.generation import module_device

    k = getattr(model, "n_categories", None)
    if not isinstance(k, int):
        raise ValueError(f"{type(model).__name__} has no categorical code (n_categories); use an InfoGAN family")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an int >= 1; got {n!r}")
    device = module_device(model.sampling_generator())
    gen = torch.Generator(device=device).manual_seed(seed)
    inputs = model.sample_inputs(n, device, gen, categories="balanced")
    codes = torch.arange(n) % k
    images = model.sample(inputs=inputs, batch_size=batch_size)
    clf = _get_classifier(extractor, device)
    clf_device = module_device(clf) if isinstance(clf, torch.nn.Module) else device
    predicted = torch.cat([clf.predict(images[i:i + batch_size].to(clf_device)).cpu()
                           for i in range(0, n, batch_size)])
    return codes, predicted.long()


def evaluate_codes(model: Any, extractor: Any, n: int = 1000, seed: int = 0) -> dict[str, float]:
    """``{"code_acc[EXTRACTOR,N=n]": accuracy, "code_nmi[EXTRACTOR,N=n]": nmi}`` of the
    categorical code as the extractor's classes.

    See :func:`code_predictions` (the samples) and :func:`code_accuracy` (the matching: one-to-one
    when the code has at most as many values as the classifier has classes, else majority).
    """
    from ganlab.models.generation import module_device

    clf = _get_classifier(extractor, module_device(model.sampling_generator()))
    codes, predicted = code_predictions(model, clf, n, seed)
    res = code_accuracy(codes, predicted, int(model.n_categories), int(clf.n_classes))
    return {metric_key("code_acc", str(clf.name), n): float(res["accuracy"]),
            metric_key("code_nmi", str(clf.name), n): float(res["nmi"])}


def _grey(images: torch.Tensor, what: str) -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        raise ValueError(f"{what} needs a float tensor (N, 1, H, W) or (N, H, W) in [-1, 1]")
    if images.dim() == 4:
        if images.shape[1] != 1:
            raise ValueError(f"{what} needs grey images (N, 1, H, W); got {tuple(images.shape)}")
        images = images[:, 0]
    if images.dim() != 3:
        raise ValueError(f"images must be (N, 1, H, W) or (N, H, W); got {tuple(images.shape)}")
    return images


def image_moments(images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Shape measures of grey digits from their intensity moments, each ``(N,)`` float32.

    Intensity weights ``w = (x + 1) / 2`` clamped to [0, 1] (images in [-1, 1], bright ink on
    a dark background as MNIST); centroid; second central moments ``cov_xx``, ``cov_yy``,
    ``cov_xy`` with x to the right and y *up*. Returns:

    * ``slant``: angle of the principal axis from vertical, ``0.5 * atan2(2 cov_xy, cov_yy -
      cov_xx)`` in radians, in (-pi/2, pi/2]: positive when the top leans right ("/", italic);
    * ``width``: ``sqrt(cov_xx)``, the horizontal spread of the ink in pixels;
    * ``height``: ``sqrt(cov_yy)``, its vertical spread in pixels;
    * ``ink``: mean of ``w`` over the image (thicker strokes, more ink).

    An image without ink gives NaN for the first three.

    Args:
        images: ``(N, 1, H, W)`` or ``(N, H, W)`` floats in [-1, 1].
    """
    images = _grey(images, "image_moments")
    w = ((images.double() + 1) / 2).clamp(0, 1)
    _, h, wd = w.shape
    ys = -torch.arange(h, dtype=torch.float64, device=w.device)[:, None]  # rows go down: y up is -row
    xs = torch.arange(wd, dtype=torch.float64, device=w.device)[None, :]
    mass = w.sum(dim=(1, 2))
    empty = mass <= 0
    mass = torch.where(empty, torch.ones_like(mass), mass)
    mx = (w * xs).sum(dim=(1, 2)) / mass
    my = (w * ys).sum(dim=(1, 2)) / mass
    dx = xs - mx[:, None, None]
    dy = ys - my[:, None, None]
    cxx = (w * dx * dx).sum(dim=(1, 2)) / mass
    cyy = (w * dy * dy).sum(dim=(1, 2)) / mass
    cxy = (w * dx * dy).sum(dim=(1, 2)) / mass
    nan = torch.full_like(mass, float("nan"))
    out = {"slant": 0.5 * torch.atan2(2 * cxy, cyy - cxx), "width": cxx.sqrt(), "height": cyy.sqrt()}
    out = {k: torch.where(empty, nan, v).float() for k, v in out.items()}
    out["ink"] = w.mean(dim=(1, 2)).float()
    return out


def slant(images: torch.Tensor) -> torch.Tensor:
    """Slant of each image's principal axis from vertical, in radians, ``(N,)`` float32
    (:func:`image_moments`' ``slant``): positive when the top leans right (like "/" or italic
    writing), negative for "\\"; NaN for an image without ink, arbitrary for a round blob.

    Args:
        images: ``(N, 1, H, W)`` or ``(N, H, W)`` floats in [-1, 1].
    """
    return image_moments(images)["slant"]


def continuous_effects(model: Any, n: int = 1000, seed: int = 0,
                       batch_size: int = 500) -> list[dict[str, float]]:
    """What each continuous code of an InfoGAN-like ``model`` controls, measured.

    Draws ``n`` latents (noise, categorical and continuous codes as in training, from ``seed``),
    generates them (EMA generator when there is one) and returns, per continuous code ``j``, the
    Pearson correlation of ``c_j`` with each :func:`image_moments` measure over the samples:
    ``[{"code": j, "slant": r, "width": r, "height": r, "ink": r}, ...]``. Since the codes are
    drawn independently, a measure that code ``j`` does not control gives ``r`` near 0 (about
    ``+-2 / sqrt(n)``).

    Raises:
        ValueError: a model without continuous codes (``n_continuous``), ``n < 3``.
    """
    c = getattr(model, "n_continuous", None)
    if not isinstance(c, int) or c < 1:
        raise ValueError(f"{type(model).__name__} has no continuous codes (n_continuous >= 1)")
    if isinstance(n, bool) or not isinstance(n, int) or n < 3:
        raise ValueError(f"n must be an int >= 3; got {n!r}")
    from ganlab.models.generation import module_device

    device = module_device(model.sampling_generator())
    inputs = model.sample_inputs(n, device, torch.Generator(device=device).manual_seed(seed))
    codes = model.split_latent(inputs["z"])["continuous"].double().cpu()
    moments = image_moments(model.sample(inputs=inputs, batch_size=batch_size).cpu())
    rows = []
    for j in range(c):
        row: dict[str, float] = {"code": j}
        for name, v in moments.items():
            ok = torch.isfinite(v)
            a, b = codes[ok, j], v[ok].double()
            row[name] = float(torch.corrcoef(torch.stack([a, b]))[0, 1]) if ok.sum() > 2 else float("nan")
        rows.append(row)
    return rows
