"""``Evaluator``: one fixed evaluation protocol (data set, split, extractor, N) with cached real
statistics, applied to generators or image tensors.

    ev = Evaluator("mnist5k", extractor="mnist_cnn", n=1000)        # real side: computed once
    ev.evaluate(G)                    # an nn.Module generator (z ~ N(0, I), seeded) ...
    ev.evaluate(lambda k: G(torch.randn(k, G.nz)))                   # ... or a sample function
    ev.evaluate_images(x)             # or images (N, C, H, W) in [-1, 1]
    # -> {"fid[mnist_cnn,N=1000]": 3.1, "kid[mnist_cnn,N=1000]": ..., "precision[mnist_cnn,N=1000,k=3]": ...}

The real side (features, mean, covariance) is cached on disk, keyed by data set, split, set
size, item shape, a sha256 of the chosen real items, extractor and its weights version, N, seed
and the cache format; it is written atomically and loaded with ``weights_only=True``. Real samples are N items of the split drawn with
``seed`` (all of them when N equals the split size).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganlab.device import pick_device
from ganlab.io import atomic_torch_save, safe_torch_load, sha256_bytes

from .coverage import class_coverage, mode_coverage_2d
from .extractors import FeatureExtractor, extract, get_extractor
from .frechet import feature_statistics, frechet_distance_from_stats
from .inception_score import inception_score
from .keys import metric_key
from .kid import kernel_inception_distance
from .manifold import knn_radii, manifold_metrics
from .mifid import MIFID_EPS, memorization_distance, mifid_from_fid, min_cosine_distance

__all__ = ["Evaluator", "METRICS", "CACHE_VERSION"]

METRICS = ("fid", "kid", "pr", "dc", "coverage", "is", "mifid")
CACHE_VERSION = 1
SampleSource = Callable[[int], torch.Tensor] | nn.Module


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "-", text).strip("-")


class Evaluator:
    """Evaluate generated samples against N real samples of a data set with a named extractor.

    Args:
        dataset: a registry name (loaded with ``ganlab.data.load(dataset, split=split)``) or a
            ``ganlab.data.Dataset`` (its ``info.name``, ``split`` and length form the cache key,
            unless ``dataset_key`` is given).
        extractor: extractor name (see :func:`get_extractor`) or a :class:`FeatureExtractor`.
            Use ``"points"`` for the 2-D mixtures.
        n: samples on each side (real and generated); every key says ``N=n``.
        split: split of the real samples when ``dataset`` is a name.
        device: where features are computed (``"cpu"``, ``"cuda"``, ``"auto"``).
        cache_dir: folder of cached real statistics (default ``{data root}/metrics_cache``).
        metrics: any of ``fid``, ``kid``, ``pr`` (precision/recall), ``dc`` (density/coverage),
            ``coverage`` (classes / modes covered), ``is`` (Inception Score from the extractor's
            softmax; skipped for extractors without class probabilities), ``mifid``
            (memorisation-informed FID, :mod:`ganlab.metrics.mifid`: FID divided by the
            thresholded mean minimum cosine distance of the samples' features to N *training*
            items' features; not in the default list: it extracts a second real set). With it
            comes ``memo_distance[...]``, that distance unthresholded (compare it with real
            held-out images' distance to the same training items before reading it as memorisation).
        mifid_train: the memorisation reference of ``mifid``: a registry name or Dataset
            (default: the train split of ``dataset``; the real items themselves when the
            evaluator's split is ``"train"``); N items drawn with ``seed`` (all of them when the
            set has N or fewer: a small training set is its own whole reference), features cached.
        mifid_eps: MiFID's cosine-distance threshold (Kaggle 0.1).
        k_pr, k_dc: neighbours for precision/recall and density/coverage.
        batch_size: images per generator call and per extractor batch.
        seed: picks the real samples, the latent codes of an ``nn.Module`` generator and the KID
            subsets.
        kid_subsets, kid_subset_size: KID protocol (subset size clipped to N).
        root: data root for loading ``dataset`` by name (default ``$GANLAB_DATA_DIR``).
        dataset_key: cache-key name of a Dataset object without ``info.name``.
        model_metrics: functions ``model -> {key: value}`` whose results are added to every
            :meth:`evaluate` of a family's sampler (a source with a ``.model``, as
            ``Family.sampler()`` and the trainer's evaluations give), e.g.
            :func:`ganlab.metrics.lipschitz.lipschitz_metrics` (``sigma_max[D]``).

    Raises:
        ValueError: unknown metric or extractor, N larger than the split or too small for k.
    """

    def __init__(
        self,
        dataset: Any,
        *,
        extractor: str | FeatureExtractor = "mnist_cnn",
        n: int = 1000,
        split: str = "test",
        device: str | torch.device = "cpu",
        cache_dir: str | os.PathLike[str] | None = None,
        metrics: Sequence[str] = ("fid", "kid", "pr", "dc", "coverage", "is"),
        k_pr: int = 3,
        k_dc: int = 5,
        batch_size: int = 500,
        seed: int = 0,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        root: str | os.PathLike[str] | None = None,
        dataset_key: str | None = None,
        model_metrics: Sequence[Callable[[Any], dict[str, float]]] = (),
        mifid_train: Any = None,
        mifid_eps: float = MIFID_EPS,
    ) -> None:
        unknown = [m for m in metrics if m not in METRICS]
        if unknown or not metrics:
            raise ValueError(f"unknown metrics {unknown or list(metrics)}; accepted: {', '.join(METRICS)}")
        if isinstance(n, bool) or not isinstance(n, int) or n < 2:
            raise ValueError(f"n must be an integer >= 2, got {n!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.metrics = tuple(dict.fromkeys(metrics))
        if not all(callable(f) for f in model_metrics):
            raise ValueError("model_metrics must be functions model -> {key: value}")
        self.model_metrics = tuple(model_metrics)
        self.n, self.k_pr, self.k_dc = n, k_pr, k_dc
        self.batch_size, self.seed = batch_size, seed
        self.kid_subsets, self.kid_subset_size = kid_subsets, min(kid_subset_size, n)
        self.device = pick_device(device)
        for k, used in ((k_pr, "pr" in self.metrics), (k_dc, "dc" in self.metrics)):
            if used and not (isinstance(k, int) and 1 <= k < n):
                raise ValueError(f"k={k!r} needs 1 <= k < n={n} (each sample needs k neighbours)")

        self.dataset = self._resolve_dataset(dataset, split, root)
        self.split = getattr(self.dataset, "split", split)
        info = self.dataset.info
        name = dataset_key or getattr(info, "name", None)
        if not name:
            raise ValueError("the Dataset has no info.name; pass dataset_key='...' to name its cache")
        self.dataset_key = f"{name}-{self.split}-{len(self.dataset)}"
        if n > len(self.dataset):
            raise ValueError(
                f"n={n} is larger than {name!r} [{self.split}] with {len(self.dataset)} items; "
                f"accepted: n <= {len(self.dataset)} (or another split)"
            )
        self.extractor = extractor if isinstance(extractor, FeatureExtractor) else get_extractor(extractor, self.device)
        self.extractor.to(self.device)
        is_points = getattr(info, "kind", "image") == "points"
        if is_points != (self.extractor.name == "points"):
            raise ValueError(
                f"extractor {self.extractor.name!r} does not fit {info.kind} data {name!r}; "
                f"use extractor='points' for 2-D mixtures and an image extractor otherwise"
            )
        self.item_shape = tuple(self.dataset.data.shape[1:])
        self._real_idx = self._pick_real_indices()
        raw = self.dataset.data[self._real_idx.to(self.dataset.data.device)].cpu().contiguous()
        self.data_digest = sha256_bytes(raw.numpy().tobytes())[:12]

        self._root = root
        root_dir = self._data_root(root)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else root_dir / "metrics_cache"
        ext = self.extractor
        self.cache_path = self.cache_dir / _safe_name(
            f"{self.dataset_key}-{'x'.join(map(str, self.item_shape))}__{ext.name}-{ext.version}"
            f"__N{n}__seed{seed}__data-{self.data_digest}__v{CACHE_VERSION}"
        ).__add__(".pt")
        self._real = self._load_or_compute_real()
        self.real_features: torch.Tensor = self._real["features"]
        ks = sorted({k for k, m in ((k_pr, "pr"), (k_dc, "dc")) if m in self.metrics})
        self._real_radii = knn_radii(self.real_features, ks) if ks else {}
        self.mifid_train, self.mifid_eps = mifid_train, mifid_eps
        self._memo_features: torch.Tensor | None = None
        if "mifid" in self.metrics:
            memorization_distance(self.real_features[:2], self.real_features[:2], mifid_eps)  # checks eps
            self._memo_features = self.memorization_features()

    # ------------------------------------------------------------------ setup
    @staticmethod
    def _resolve_dataset(dataset: Any, split: str, root: str | os.PathLike[str] | None) -> Any:
        if isinstance(dataset, str):
            from ganlab.data import load

            return load(dataset, split=split, root=root)
        if not hasattr(dataset, "info") or not hasattr(dataset, "data"):
            raise ValueError(
                f"dataset must be a registry name or a ganlab.data.Dataset, got {type(dataset).__name__}"
            )
        return dataset

    @staticmethod
    def _data_root(root: str | os.PathLike[str] | None) -> Path:
        if root is not None:
            return Path(root).expanduser()
        from ganlab.data import default_root

        return default_root()

    def _pick_real_indices(self) -> torch.Tensor:
        """Indices of the N real items: all of the split if N equals its size, else a seeded draw."""
        size = len(self.dataset)
        if self.n == size:
            return torch.arange(size)
        return torch.randperm(size, generator=torch.Generator().manual_seed(self.seed))[: self.n].sort().values

    def _real_items(self) -> torch.Tensor:
        """The N real items as model input (float images in [-1, 1] or points), on the CPU."""
        return self.dataset.get(self._real_idx, device="cpu")[0]

    def _load_or_compute_real(self) -> dict[str, Any]:
        if self.cache_path.is_file():
            try:
                cached = safe_torch_load(self.cache_path)
                if (
                    cached.get("cache_version") == CACHE_VERSION
                    and tuple(cached["features"].shape) == (self.n, self.extractor.dim)
                ):
                    return cached
            except Exception:  # unreadable or stale cache: recompute and overwrite
                pass
        t0 = time.perf_counter()
        out = extract(self.extractor, self._real_items(), self.batch_size, self.device)
        mu, sigma = feature_statistics(out["features"])
        real: dict[str, Any] = {
            "cache_version": CACHE_VERSION,
            "dataset_key": self.dataset_key,
            "extractor": self.extractor.name,
            "extractor_version": self.extractor.version,
            "n": self.n,
            "seed": self.seed,
            "features": out["features"],
            "mu": mu,
            "sigma": sigma,
            "seconds": time.perf_counter() - t0,
        }
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        atomic_torch_save(self.cache_path, real)
        return real

    def memorization_features(self) -> torch.Tensor:
        """Features ``(N, d)`` of N training items, MiFID's memorisation reference (cached)."""
        if self._memo_features is not None:
            return self._memo_features
        if self.mifid_train is None and self.split == "train":
            return self.real_features
        if self.mifid_train is None or isinstance(self.mifid_train, str):
            from ganlab.data import load

            name = self.mifid_train or self.dataset.info.name
            kw: dict[str, Any] = {}
            if len(self.item_shape) == 3:
                kw = {"channels": self.item_shape[0], "image_size": self.item_shape[-1]}
            ds = load(name, split="train", root=self._root, **kw)
        else:
            ds = self._resolve_dataset(self.mifid_train, "train", self._root)
        if len(ds) < 1 or tuple(ds.data.shape[1:]) != self.item_shape:
            raise ValueError(f"MiFID's training set has {len(ds)} items of shape {tuple(ds.data.shape[1:])}; "
                             f"it needs items of shape {self.item_shape}")
        idx = (torch.arange(len(ds)) if len(ds) <= self.n else
               torch.randperm(len(ds), generator=torch.Generator().manual_seed(self.seed))[: self.n].sort().values)
        raw = ds.data[idx.to(ds.data.device)].cpu().contiguous()
        digest = sha256_bytes(raw.numpy().tobytes())[:12]
        path = self.cache_path.with_name(self.cache_path.stem + f"__mifid-train-{digest}.pt")
        if path.is_file():
            try:
                cached = safe_torch_load(path)
                if tuple(cached["features"].shape) == (self.n, self.extractor.dim):
                    return cached["features"]
            except Exception:  # unreadable cache: recompute
                pass
        feats = extract(self.extractor, ds.get(idx, device="cpu")[0], self.batch_size, self.device)["features"]
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        atomic_torch_save(path, {"cache_version": CACHE_VERSION, "features": feats})
        return feats

    # ------------------------------------------------------------------ sampling
    def _check_samples(self, x: Any, what: str) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise ValueError(f"{what} must be a float tensor, got {type(x).__name__} {getattr(x, 'dtype', '')}")
        if tuple(x.shape[1:]) != self.item_shape:
            raise ValueError(
                f"{what} have item shape {tuple(x.shape[1:])} but the real data {self.dataset_key} "
                f"has {self.item_shape}; generate at the data's size and channel count"
            )
        return x

    def sample(self, source: SampleSource, labels: torch.Tensor | None = None,
               categories: torch.Tensor | None = None) -> torch.Tensor:
        """N samples from ``source`` on the CPU, generated in batches under ``no_grad``.

        ``source`` is either an ``nn.Module`` generator with attribute ``nz`` (called on
        ``z ~ N(0, I)`` drawn from a generator seeded with ``seed``, in eval mode, its training
        mode restored afterwards) or a function ``sample_fn(k) -> (k, ...)`` returning k *new*
        samples per call (the caller puts its network in eval mode), e.g. a family's
        ``sampler()``. With ``labels`` (int64 ``(N,)``), each call is ``sample_fn(k, labels=...)``
        with that chunk's labels (class-conditional generators); with ``categories`` likewise
        ``sample_fn(k, categories=...)`` (InfoGAN's categorical code).
        """
        from ganlab.models.generation import generate_batched, module_device

        if isinstance(source, nn.Module):
            nz = getattr(source, "nz", None)
            if not isinstance(nz, int):
                raise ValueError("an nn.Module generator needs an integer attribute nz; otherwise pass sample_fn(n)")
            z = torch.randn(self.n, nz, generator=torch.Generator().manual_seed(self.seed + 1))
            x = generate_batched(source, z.to(module_device(source)), batch_size=self.batch_size,
                                 out_device="cpu")
            return self._check_samples(x, "generated samples")
        if not callable(source):
            raise ValueError(f"source must be an nn.Module generator or a callable sample_fn(n), got {type(source).__name__}")
        per_sample = {k: v for k, v in (("labels", labels), ("categories", categories)) if v is not None}
        chunks, done = [], 0
        with torch.no_grad():
            while done < self.n:
                b = min(self.batch_size, self.n - done)
                x = source(b, **{k: v[done:done + b] for k, v in per_sample.items()})
                x = self._check_samples(x, "samples from sample_fn")
                if x.shape[0] != b:
                    raise ValueError(f"sample_fn({b}) returned {x.shape[0]} samples; it must return exactly {b}")
                chunks.append(x.detach().float().cpu())
                done += b
        return torch.cat(chunks)

    # ------------------------------------------------------------------ conditional
    def conditional(self, source: Any) -> bool:
        """Whether ``source`` is class-conditional and this evaluator can judge its classes.

        True when ``source.n_classes`` is set, the real data has labels, and the extractor is a
        classifier over the same number of classes (``mnist_cnn`` for digits, ``shapes_cnn``
        for the shape of ``shapes``).
        """
        k = getattr(source, "n_classes", None)
        return (isinstance(k, int) and getattr(self.dataset, "labels", None) is not None
                and self.extractor.n_classes == k)

    def conditional_metrics(self, out: dict[str, torch.Tensor], requested: torch.Tensor) -> dict[str, float]:
        """``cond_acc`` and ``intra_fid`` of samples generated for the classes ``requested``.

        * ``cond_acc[EXTRACTOR,N=n]``: share of samples G(z, y) that the extractor's classifier
          assigns to the requested class y.
        * ``intra_fid[EXTRACTOR,N=n]``: mean over classes of the FID between that class's
          samples and that class's real images among the N real ones (about N / C on each side,
          so it is biased upwards against the overall FID at N; compare it only at equal N).

        Args:
            out: extractor outputs of the N samples (``features``, ``labels``).
            requested: int64 ``(N,)`` classes the samples were generated for.
        """
        name, n = self.extractor.name, self.n
        requested = requested.cpu()
        if "labels" not in out or tuple(requested.shape) != (out["features"].shape[0],):
            raise ValueError("conditional metrics need the classifier's labels and one requested class per sample")
        real_labels = self.dataset.labels[self._real_idx.to(self.dataset.labels.device)].cpu()
        fids = []
        for c in range(int(self.extractor.n_classes)):
            fake_c, real_c = out["features"][requested == c], self.real_features[real_labels == c]
            if len(fake_c) < 2 or len(real_c) < 2:
                continue
            fids.append(frechet_distance_from_stats(*feature_statistics(real_c), *feature_statistics(fake_c)))
        return {
            metric_key("cond_acc", name, n): float((out["labels"].cpu() == requested).float().mean()),
            metric_key("intra_fid", name, n): float(sum(fids) / len(fids)) if fids else float("nan"),
        }

    def coded(self, source: Any) -> bool:
        """Whether ``source`` has an unsupervised categorical code this evaluator can match to
        classes: ``source.n_categories`` is set (an InfoGAN sampler) and the extractor is a
        classifier (``mnist_cnn``, ``shapes_cnn``)."""
        k = getattr(source, "n_categories", None)
        return isinstance(k, int) and not isinstance(k, bool) and bool(self.extractor.n_classes)

    def code_metrics(self, out: dict[str, torch.Tensor], codes: torch.Tensor, n_codes: int) -> dict[str, float]:
        """``code_acc[EXTRACTOR,N=n]`` and ``code_nmi[EXTRACTOR,N=n]`` of samples generated with
        categorical codes ``codes`` (int64 ``(N,)`` in ``[0, n_codes)``): the classifier's labels
        matched to code values as in :func:`ganlab.metrics.codes.code_accuracy` (one-to-one when
        ``n_codes`` <= classes, else each code value to its majority class), and the normalised
        mutual information between codes and labels."""
        from .codes import code_accuracy

        if "labels" not in out or tuple(codes.shape) != (out["features"].shape[0],):
            raise ValueError("code metrics need the classifier's labels and one code value per sample")
        res = code_accuracy(codes.cpu(), out["labels"].cpu().long(), int(n_codes), int(self.extractor.n_classes))
        return {metric_key("code_acc", self.extractor.name, self.n): float(res["accuracy"]),
                metric_key("code_nmi", self.extractor.name, self.n): float(res["nmi"])}

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, source: SampleSource) -> dict[str, float]:
        """Metrics of N samples from a generator or ``sample_fn`` (see :meth:`sample`).

        * A class-conditional source (see :meth:`conditional`) is asked for every class equally
          often (labels 0, 1, ..., C-1, 0, ...), and the result adds ``cond_acc`` and ``intra_fid``.
        * A source with a categorical code (see :meth:`coded`) is asked for every code value
          equally often, and the result adds ``code_acc`` and ``code_nmi`` (:meth:`code_metrics`).
        * The ``model_metrics`` functions are applied to ``source.model`` when it has one.
        """
        if self.conditional(source):
            requested = torch.arange(self.n) % int(self.extractor.n_classes)
            res = self.evaluate_images(self.sample(source, labels=requested), requested=requested)
        elif self.coded(source):
            k = int(source.n_categories)  # type: ignore[union-attr]
            codes = torch.arange(self.n) % k
            res = self.evaluate_images(self.sample(source, categories=codes), codes=codes, n_codes=k)
        else:
            res = self.evaluate_images(self.sample(source))
        model = getattr(source, "model", None)
        if model is not None:
            for fn in self.model_metrics:
                res.update({str(k): float(v) for k, v in fn(model).items()})
        return res

    def evaluate_images(self, x: torch.Tensor, requested: torch.Tensor | None = None,
                        codes: torch.Tensor | None = None, n_codes: int | None = None) -> dict[str, float]:
        """Metrics of the first N items of ``x`` (images ``(M, C, H, W)`` in [-1, 1] or points), M >= N.

        ``requested``: int64 ``(M,)`` classes the images were generated for; adds the
        :meth:`conditional_metrics`. ``codes`` / ``n_codes``: the categorical code values
        ``(M,)`` they were generated with and how many there are; adds :meth:`code_metrics`.

        Returns:
            flat dict ``{metric_key: value}``; every key names the extractor and N.
        """
        x = self._check_samples(x, "images")
        if x.shape[0] < self.n:
            raise ValueError(f"got {x.shape[0]} samples, the evaluator needs N={self.n}")
        x = x[: self.n]
        if not torch.isfinite(x).all():
            raise ValueError("the samples contain NaN or inf (did training diverge?)")
        if x.dim() == 4:
            lo, hi = float(x.min()), float(x.max())
            if lo < -1.01 or hi > 1.01:
                raise ValueError(
                    f"images must be floats in [-1, 1]; got values in [{lo:.3g}, {hi:.3g}] "
                    "(uint8 or [0, 255] images: use x / 127.5 - 1)")
        out = extract(self.extractor, x, self.batch_size, self.device)
        res = self.evaluate_outputs(out)
        if requested is not None:
            res.update(self.conditional_metrics(out, torch.as_tensor(requested)[: self.n]))
        if codes is not None:
            codes = torch.as_tensor(codes)[: self.n]
            res.update(self.code_metrics(out, codes, int(n_codes) if n_codes else int(codes.max()) + 1))
        return res

    def evaluate_outputs(self, out: dict[str, torch.Tensor]) -> dict[str, float]:
        """Metrics from precomputed extractor outputs (``{"features": (N, d), ...}``)."""
        feats = out["features"]
        name, n = self.extractor.name, self.n
        res: dict[str, float] = {}
        if "fid" in self.metrics or "mifid" in self.metrics:
            mu, sigma = feature_statistics(feats)
            fid = frechet_distance_from_stats(self._real["mu"], self._real["sigma"], mu, sigma)
            if "fid" in self.metrics:
                res[metric_key("fid", name, n)] = fid
            if "mifid" in self.metrics:
                raw = min_cosine_distance(feats, self.memorization_features())
                dist = raw if raw < self.mifid_eps else 1.0
                res[metric_key("mifid", name, n)] = mifid_from_fid(fid, dist)
                res[metric_key("memo_distance", name, n)] = raw
        if "kid" in self.metrics:
            mean, std = kernel_inception_distance(
                self.real_features, feats, subsets=self.kid_subsets, subset_size=self.kid_subset_size, seed=self.seed
            )
            res[metric_key("kid", name, n)] = mean
            res[metric_key("kid_std", name, n)] = std
        if "pr" in self.metrics or "dc" in self.metrics:
            mm = manifold_metrics(
                self.real_features,
                feats,
                k_pr=self.k_pr if "pr" in self.metrics else None,
                k_dc=self.k_dc if "dc" in self.metrics else None,
                real_radii=self._real_radii,
            )
            for m, v in mm.items():
                res[metric_key(m, name, n, k=self.k_pr if m in ("precision", "recall") else self.k_dc)] = v
        if "coverage" in self.metrics:
            res.update(self._coverage(out))
        if "is" in self.metrics and "probs" in out and n >= 10:
            mean, std = inception_score(out["probs"], splits=10)
            res[metric_key("is", name, n)] = mean
            res[metric_key("is_std", name, n)] = std
        return res

    def _coverage(self, out: dict[str, torch.Tensor]) -> dict[str, float]:
        name, n, info = self.extractor.name, self.n, self.dataset.info
        res: dict[str, float] = {}
        if getattr(info, "mode_means", None) is not None:
            mc = mode_coverage_2d(out["features"], info.mode_means, info.mode_std)
            res[metric_key("modes", name, n)] = mc["modes"]
            res[metric_key("high_quality", name, n)] = mc["high_quality"]
            res[metric_key("reverse_kl", name, n)] = mc["reverse_kl"]
        if "labels" in out and self.extractor.n_classes:
            cc = class_coverage(out["labels"], self.extractor.n_classes)
            res[metric_key("classes_covered", name, n)] = cc["classes_covered"]
            res[metric_key("class_kl", name, n)] = cc["class_kl"]
        if "modes" in out and self.extractor.n_modes:
            cc = class_coverage(out["modes"], self.extractor.n_modes)
            res[metric_key("modes_covered", name, n)] = cc["classes_covered"]
            res[metric_key("mode_kl", name, n)] = cc["class_kl"]
        return res

    def evaluate_real(self, split: str | None = None, seed: int | None = None) -> dict[str, float]:
        """Baseline: the same metrics for N real items of another split (or another draw).

        Note: with a classifier extractor trained on the train split, train-vs-test numbers
        include the classifier's own train/test gap (train features are more confident).

        Args:
            split: split to draw from (default: the train split if the evaluator uses test, else test).
            seed: draw seed (default ``seed + 1``).
        """
        other = split or ("train" if self.split == "test" else "test")
        from ganlab.data import load

        kw: dict[str, Any] = {}
        if len(self.item_shape) == 3:  # images: same channels and size as the evaluated data
            kw = {"channels": self.item_shape[0], "image_size": self.item_shape[-1]}
        ds = load(self.dataset.info.name, split=other, root=self._root, **kw)
        if len(ds) < self.n:
            raise ValueError(f"split {other!r} has {len(ds)} items, fewer than N={self.n}")
        g = torch.Generator().manual_seed(self.seed + 1 if seed is None else seed)
        idx = torch.randperm(len(ds), generator=g)[: self.n]
        return self.evaluate_images(ds.get(idx, device="cpu")[0])

    def __repr__(self) -> str:
        return (
            f"Evaluator({self.dataset_key}, extractor={self.extractor.name}, N={self.n}, "
            f"metrics={','.join(self.metrics)}, cache={str(self.cache_path)!r})"
        )
