"""Evaluating image-to-image translation: paired (pix2pix) and unpaired (CycleGAN).

Both evaluators fit the trainer's hook (``evaluate(sample_fn)``, where a family's
:class:`~ganlab.models.Sampler` is called as ``sample_fn(k, source=...)``) and take image
tensors directly (:meth:`evaluate_images`), so a baseline — the targets themselves, the
sources, an untrained generator — is scored by the same code.

* :class:`PairedEvaluator` translates every test source and compares the output with its paired
  target: ``l1`` (mean absolute error in [0, 1] pixel units), ``psnr``, ``ssim`` (each keyed by what
  was compared, e.g. ``psnr[shapes_paired-test,N=1000]``), the FID of outputs against targets in
  a classifier's features, and — for sets with known factors — the **task score**, pix2pix's
  FCN-score analogue: the share of outputs in which ``shapes_cnn`` reads back each factor the label
  map asked for (``task_shape[shapes_cnn,N=n]`` ... and their mean ``task_acc``; ``task_all``: every
  factor right).
* :class:`UnpairedEvaluator` translates domain A's test images to B and asks a classifier of B
  whether the content survived: ``label_kept[mnist_cnn,N=n]`` = the share of translated digits
  that ``mnist_cnn`` assigns the source digit's label, beside the FID of translations against
  B's test images.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .extractors import FeatureExtractor, extract, get_extractor
from .frechet import frechet_distance
from .image_quality import psnr, ssim
from .keys import metric_key

__all__ = ["PairedEvaluator", "UnpairedEvaluator", "translate"]

SampleFn = Callable[..., torch.Tensor]


def translate(sample_fn: SampleFn, sources: torch.Tensor, batch_size: int = 250) -> torch.Tensor:
    """``sample_fn(k, source=chunk)`` over ``sources`` ``(N, C, H, W)`` in chunks -> outputs on the CPU."""
    outs = []
    for start in range(0, sources.shape[0], batch_size):
        chunk = sources[start:start + batch_size]
        outs.append(sample_fn(chunk.shape[0], source=chunk).detach().float().cpu())
    return torch.cat(outs)


def _check_outputs(x: Any, shape: tuple[int, ...], who: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or tuple(x.shape) != shape:
        raise ValueError(f"{who}: expected outputs of shape {shape} (one per test source), given "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    x = x.detach().float().cpu()
    if not torch.isfinite(x).all():
        raise ValueError(f"{who}: the outputs contain NaN or inf")
    return x


class PairedEvaluator:
    """Score translations of a paired test set's sources against its targets.

    Args:
        dataset: a paired :class:`~ganlab.data.Dataset` (``sources`` beside ``images``), e.g.
            ``load("shapes_paired", split="test")``.
        extractor: classifier for FID and (with factors) the task score, e.g. ``"shapes_cnn"``;
            ``None``: pixel metrics only.
        n: how many test pairs (the first ``n``; default all).
        device: where translation and features run.
        task: compute the task score (needs ``dataset.factors`` and a factor classifier).

    Raises:
        ValueError: the set has no sources, or the task score is asked of a set without factors.
    """

    def __init__(self, dataset: Any, *, extractor: str | None = "shapes_cnn", n: int | None = None,
                 device: str | torch.device = "cpu", task: bool | None = None, batch_size: int = 250) -> None:
        if getattr(dataset, "sources", None) is None:
            name = getattr(getattr(dataset, "info", None), "name", type(dataset).__name__)
            raise ValueError(f"PairedEvaluator needs a paired set (sources beside images); {name!r} has no sources")
        self.n = len(dataset) if n is None else min(int(n), len(dataset))
        self.name = f"{dataset.info.name}-{dataset.split}"
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.sources = dataset.get_sources(slice(0, self.n)).cpu()
        self.targets = dataset.images_float(self.n).cpu()
        self.factors = {k: v[: self.n].cpu() for k, v in dataset.factors.items()}
        self.task = bool(self.factors) if task is None else task
        if self.task and not self.factors:
            raise ValueError(f"the task score needs the set's factors; {self.name!r} has none; accepted: task=False")
        self.extractor: FeatureExtractor | None = None if extractor is None else get_extractor(extractor, self.device)
        self.real_features = None if self.extractor is None else extract(self.extractor, self.targets)["features"]

    def key(self, metric: str, **extra: Any) -> str:
        return metric_key(metric, self.name, self.n, **extra)

    def evaluate(self, sample_fn: SampleFn) -> dict[str, float]:
        """Translate the test sources with ``sample_fn(k, source=...)`` and score them."""
        return self.evaluate_images(translate(sample_fn, self.sources.to(self.device), self.batch_size))

    def evaluate_images(self, outputs: torch.Tensor) -> dict[str, float]:
        """Score ``(n, C, H, W)`` outputs in [-1, 1], row i being the translation of source i."""
        x = _check_outputs(outputs, tuple(self.targets.shape), "PairedEvaluator")
        out = {self.key("l1"): float((x - self.targets).abs().mean() / 2),
               self.key("psnr"): psnr(x, self.targets)}
        if min(x.shape[-2:]) >= 11:
            out[self.key("ssim")] = ssim(x, self.targets)
        if self.extractor is not None:
            name = self.extractor.name
            fake = extract(self.extractor, x)["features"]
            out[metric_key("fid", name, self.n)] = frechet_distance(self.real_features, fake)
            if self.task:
                pred = self.extractor.predict_factors(x.to(self.device))
                hits = {k: (pred[k].cpu() == self.factors[k]) for k in pred if k in self.factors}
                for k, h in hits.items():
                    out[metric_key(f"task_{k}", name, self.n)] = float(h.float().mean())
                out[metric_key("task_acc", name, self.n)] = float(torch.stack([h.float().mean() for h in hits.values()]).mean())
                out[metric_key("task_all", name, self.n)] = float(torch.stack(list(hits.values())).all(0).float().mean())
        return out

    def __repr__(self) -> str:
        ex = None if self.extractor is None else self.extractor.name
        return f"PairedEvaluator({self.name!r}, N={self.n}, extractor={ex!r}, task={self.task})"


class UnpairedEvaluator:
    """Score A -> B translations of an unpaired test set with a classifier of B.

    Args:
        dataset: an :class:`~ganlab.data.unpaired.UnpairedDataset` test split whose domain A has
            labels that B's classifier knows (``digits_mnist``: digits 0-9 for ``mnist_cnn``).
        classifier: the extractor whose predictions judge the translations (``"mnist_cnn"``).
        n: how many domain-A test images (the first ``n``; default all).
        fid: also the FID of the translations against domain B's test images.
        label_kept: score kept labels (needs labels on A; ``False`` for sets without, e.g.
            ``monet2photo`` with ``classifier="inception"``: FID only).

    Raises:
        ValueError: not two domains, or ``label_kept`` asked of a domain A without labels.
    """

    def __init__(self, dataset: Any, *, classifier: str = "mnist_cnn", n: int | None = None,
                 device: str | torch.device = "cpu", fid: bool = True, label_kept: bool = True,
                 batch_size: int = 250) -> None:
        if not (hasattr(dataset, "a") and hasattr(dataset, "b")):
            raise ValueError(f"UnpairedEvaluator needs two domains (an UnpairedDataset); given {type(dataset).__name__}")
        if label_kept and dataset.a.labels is None:
            raise ValueError(f"label_kept needs domain A's labels; {dataset.a.info.name!r} has none; "
                             "accepted: label_kept=False (FID only)")
        self.label_kept = label_kept
        self.n = len(dataset.a) if n is None else min(int(n), len(dataset.a))
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.sources = dataset.a.images_float(self.n).cpu()
        self.labels = None if not label_kept else dataset.a.labels[: self.n].cpu()
        self.extractor = get_extractor(classifier, self.device)
        self.real_features = extract(self.extractor, dataset.b.images_float())["features"] if fid else None

    def evaluate(self, sample_fn: SampleFn) -> dict[str, float]:
        """Translate domain A's test images with ``sample_fn(k, source=...)`` and score them."""
        return self.evaluate_images(translate(sample_fn, self.sources.to(self.device), self.batch_size))

    def evaluate_images(self, outputs: torch.Tensor) -> dict[str, float]:
        """Score ``(n, C, H, W)`` images in [-1, 1], row i being the translation of A's image i."""
        x = _check_outputs(outputs, tuple(self.sources.shape), "UnpairedEvaluator")
        name = self.extractor.name
        out = {}
        if self.labels is not None:
            pred = self.extractor.predict(x.to(self.device)).cpu()
            out[metric_key("label_kept", name, self.n)] = float((pred == self.labels).float().mean())
        if self.real_features is not None:
            out[metric_key("fid", name, self.n)] = frechet_distance(self.real_features, extract(self.extractor, x)["features"])
        return out

    def __repr__(self) -> str:
        return f"UnpairedEvaluator(N={self.n}, classifier={self.extractor.name!r})"
