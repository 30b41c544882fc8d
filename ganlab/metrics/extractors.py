"""Named feature extractors: images in ``[-1, 1]`` -> features ``(N, d)``.

=============  ======  ===================================================================
name           d       what
=============  ======  ===================================================================
``inception``  2048    the standard FID network (torch-fidelity's TF-exact InceptionV3,
                       pool3 features; IS from its 1008-way softmax). Weights downloaded on
                       first use into the torch hub checkpoints folder.
``mnist_cnn``  128     digit classifier trained on ``mnist5k`` (shipped); 10 classes.
``shapes_cnn`` 128     factor classifier trained on ``shapes`` (shipped); 3 shape classes,
                       486 factor combinations ("modes").
``points``     d       identity for 2-D mixtures (``ring8``, ``grid25``): points are features.
=============  ======  ===================================================================

Every extractor is an ``nn.Module`` in eval mode without gradients, with ``.name`` and
``.dim``; ``forward(x)`` returns features. :meth:`FeatureExtractor.outputs` returns a dict with
``features`` and, where available, ``probs`` (class probabilities, for IS), ``labels`` (predicted
class, for class coverage) and ``modes`` (predicted factor combination). Classifiers also have
``.n_classes`` and ``.predict(x) -> (N,) int64``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ganlab.data.transforms import to_uint8
from ganlab.device import pick_device
from ganlab.io import safe_torch_load
from ganlab.shipped import load_weights

from .classifiers import SHAPES_FACTORS, MNISTClassifier, ShapesClassifier

__all__ = [
    "EXTRACTORS",
    "FeatureExtractor",
    "ClassifierExtractor",
    "InceptionExtractor",
    "PointsExtractor",
    "InceptionWeightsUnavailable",
    "INCEPTION_WEIGHTS_FILES",
    "get_extractor",
    "load_classifier",
    "extract",
]

EXTRACTORS = ("inception", "mnist_cnn", "shapes_cnn", "points")

INCEPTION_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
    "weights-inception-2015-12-05-6726825d.pth"
)
PYTORCH_FID_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
    "pt_inception-2015-12-05-6726825d.pth"
)
# torch-fidelity's file (downloaded by default) and pytorch-fid's file (same network, same
# parameter names: either one is accepted when placed by hand).
INCEPTION_WEIGHTS_FILES = (
    "weights-inception-2015-12-05-6726825d.pth",
    "pt_inception-2015-12-05-6726825d.pth",
)


# The shipped classifier weights (a ganlab.shipped folder) and the command that rebuilds them.
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
RETRAIN = "make extractors  (= python -m ganlab.metrics.train_extractors --all --out ganlab/weights)"


class InceptionWeightsUnavailable(RuntimeError):
    """The Inception weights are not on disk and could not be downloaded."""


class FeatureExtractor(nn.Module):
    """Base class: frozen, eval-mode module with ``name``, ``dim`` and ``outputs``.

    Attributes:
        name: registry name (goes into every metric key).
        dim: feature dimension d.
        n_classes: classes of :meth:`predict` (``None``: not a classifier of the data).
        n_modes: factor combinations of ``outputs()["modes"]`` (``None``: none).
        version: identifies the weights (sha256 prefix); part of cached-statistics keys.
    """

    name: str = ""
    dim: int = 0
    n_classes: int | None = None
    n_modes: int | None = None
    version: str = ""

    def _freeze(self) -> None:
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> FeatureExtractor:
        """Extractors always stay in eval mode (BatchNorm statistics are part of the weights)."""
        return super().train(False)

    def outputs(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"features": (N, dim), ...}`` for a batch; subclasses add probs/labels/modes."""
        return {"features": self(x)}


class ClassifierExtractor(FeatureExtractor):
    """A shipped CNN classifier (``mnist_cnn`` or ``shapes_cnn``) used as feature extractor.

    ``forward(x)``: x float ``(N, C, H, W)`` in ``[-1, 1]`` -> penultimate features ``(N, 128)``.
    """

    def __init__(self, name: str, net: nn.Module, entry: dict[str, Any]) -> None:
        super().__init__()
        self.name = name
        net.eval()
        # Inference only: fold each BatchNorm into its convolution (same function up to float
        # rounding, ~1e-6 relative; 3-4x faster on a CPU).
        net.trunk = nn.Sequential(
            *[nn.Sequential(fuse_conv_bn_eval(conv, bn), *rest) for conv, bn, *rest in net.trunk]
        )
        self.net = net
        self.dim = net.dim
        self.n_classes = net.n_classes
        self.n_modes = None
        if isinstance(net, ShapesClassifier):
            self.n_modes = 1
            for m in SHAPES_FACTORS.values():
                self.n_modes *= m
        self.version = str(entry.get("sha256", ""))[:12]
        self.test_accuracy = entry.get("test_accuracy")
        self._freeze()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.features(x)

    def _class_logits(self, feats: torch.Tensor) -> torch.Tensor:
        logits = self.net.head(feats)
        return logits[:, : self.n_classes]  # shapes: the first head is the shape class

    def outputs(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        feats = self.net.features(x)
        logits = self.net.head(feats)
        class_logits = logits[:, : self.n_classes]
        out = {"features": feats, "probs": class_logits.softmax(dim=1), "labels": class_logits.argmax(dim=1)}
        if isinstance(self.net, ShapesClassifier):
            out["modes"] = _mode_index(self.net.factor_logits(logits))
        return out

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Predicted class ``(N,)`` int64 (digit for ``mnist_cnn``, shape for ``shapes_cnn``)."""
        with torch.no_grad():
            return self._class_logits(self.net.features(x)).argmax(dim=1)

    def predict_factors(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``shapes_cnn`` only: predicted value of every factor, ``{factor: (N,) int64}``."""
        return {k: v.argmax(dim=1) for k, v in self.factor_probs(x).items()}

    def factor_probs(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``shapes_cnn`` only: class probabilities of every factor, ``{factor: (N, n_values)}``."""
        if not isinstance(self.net, ShapesClassifier):
            raise ValueError(f"{self.name} has no factor heads; only shapes_cnn predicts factors")
        with torch.no_grad():
            logits = self.net(x)
        return {k: v.softmax(dim=1) for k, v in self.net.factor_logits(logits).items()}

    def layer_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The three conv blocks' outputs ``[(N, c_i, H_i, W_i)]`` (after ReLU and pooling),
        for perceptual distances (:func:`ganlab.metrics.path_length.feature_distance`)."""
        h = self.net.prepare(x)
        out = []
        for block in self.net.trunk:
            h = block(h)
            out.append(h)
        return out


def _mode_index(factor_logits: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mixed-radix index of the predicted factor combination (shape slowest, y fastest)."""
    idx = torch.zeros(next(iter(factor_logits.values())).shape[0], dtype=torch.int64, device=next(iter(factor_logits.values())).device)
    for k, m in SHAPES_FACTORS.items():
        idx = idx * m + factor_logits[k].argmax(dim=1)
    return idx


class PointsExtractor(FeatureExtractor):
    """Identity for point sets: ``(N, d)`` float points are their own features."""

    def __init__(self, dim: int = 2) -> None:
        super().__init__()
        self.name = "points"
        self.dim = dim
        self.version = "identity"
        self._freeze()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != self.dim:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"points: expected float points (N, {self.dim}), got {shape}")
        return x.float()


def _hub_checkpoints() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def _inception_weights_path() -> Path:
    """Path of an Inception weights file, downloading torch-fidelity's on first use."""
    folder = _hub_checkpoints()
    for fname in INCEPTION_WEIGHTS_FILES:
        if (folder / fname).is_file():
            return folder / fname
    target = folder / INCEPTION_WEIGHTS_FILES[0]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(INCEPTION_URL, str(target), progress=True)
    except Exception as exc:  # any network / filesystem failure: one clear message
        reason = f"{type(exc).__name__}: {exc}"
        raise InceptionWeightsUnavailable(
            f"The FID Inception network needs its weights, which are not on disk and could not "
            f"be downloaded ({reason}).\n"
            f"Fix: on a machine with internet access download\n  {INCEPTION_URL}\n"
            f"(or pytorch-fid's {PYTORCH_FID_URL})\n"
            f"and place the file, named {INCEPTION_WEIGHTS_FILES[0]} (or {INCEPTION_WEIGHTS_FILES[1]}), "
            f"in the torch hub checkpoints folder:\n  {folder}\n"
            f"Offline, use a domain extractor instead: extractor='mnist_cnn' or 'shapes_cnn'."
        ) from None
    return target


class InceptionExtractor(FeatureExtractor):
    """Standard FID InceptionV3 (torch-fidelity's TF-1.x-exact port), pool3 features ``(N, 2048)``.

    Input: float images ``(N, C, H, W)`` in ``[-1, 1]``, C in {1, 3}, any H, W. They are converted
    to uint8 with :func:`ganlab.data.transforms.to_uint8` (grey repeated to RGB); torch-fidelity then resizes to
    299x299 with TensorFlow-1.x bilinear interpolation and normalises ``(u8 - 128) / 128``, as
    the original FID code does. ``outputs()["probs"]`` is the softmax of the unbiased logits
    (the IS convention of torch-fidelity and torchmetrics).
    """

    def __init__(self, weights_path: str | os.PathLike[str] | None = None) -> None:
        super().__init__()
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        path = Path(weights_path) if weights_path is not None else _inception_weights_path()
        try:
            state = safe_torch_load(path)  # checks the file holds only tensors (weights_only=True)
        except Exception as exc:
            raise ValueError(
                f"Inception weights file {str(path)!r} cannot be loaded with weights_only=True "
                f"({type(exc).__name__}: {exc}); delete it and let it download again"
            ) from None
        del state
        try:
            self.net = FeatureExtractorInceptionV3(
                "inception-v3-compat", ["2048", "logits_unbiased"], feature_extractor_weights_path=str(path)
            )
        except RuntimeError as exc:  # load_state_dict(strict=True): names or shapes differ
            first = str(exc).strip().splitlines()[0]
            raise ValueError(
                f"Inception weights file {str(path)!r} does not hold the FID InceptionV3 state dict "
                f"({first}); delete it and let it download again"
            ) from None
        self.name = "inception"
        self.dim = 2048
        self.version = "2015-12-05-" + ("pfid" if path.name.startswith("pt_") else "tfid")
        self.weights_path = path
        self._freeze()

    @staticmethod
    def _check(x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] not in (1, 3) or not x.is_floating_point():
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"inception: expected float images (N, C, H, W) in [-1, 1] with C in (1, 3), got {shape}")
        u8 = to_uint8(x).to(x.device)
        return u8.expand(-1, 3, -1, -1) if u8.shape[1] == 1 else u8

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self._check(x))[0]

    def outputs(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        feats, logits = self.net(self._check(x))
        return {"features": feats, "probs": logits.double().softmax(dim=1).float()}


_CLASSIFIERS: dict[str, type[nn.Module]] = {"mnist_cnn": MNISTClassifier, "shapes_cnn": ShapesClassifier}


def load_classifier(name: str, weights_dir: str | os.PathLike[str] | None = None) -> ClassifierExtractor:
    """Build shipped classifier ``name`` and load its sha256-checked weights (CPU)."""
    state, entry = load_weights(weights_dir or WEIGHTS_DIR, name, what="extractor", fix=RETRAIN)
    if not isinstance(state, dict):
        raise ValueError(f"weights file of extractor {name!r} does not hold a state dict; retrain it with: {RETRAIN}")
    net = _CLASSIFIERS[name]()
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ValueError(
            f"weights of {name!r} do not fit its architecture ({first}); retrain with "
            f"python -m ganlab.metrics.train_extractors --only {name} --out ganlab/weights"
        ) from None
    return ClassifierExtractor(name, net, entry)


def get_extractor(
    name: str, device: str | torch.device = "cpu", *, weights_dir: str | os.PathLike[str] | None = None
) -> FeatureExtractor:
    """The feature extractor ``name`` on ``device``, frozen and in eval mode.

    Args:
        name: one of :data:`EXTRACTORS` (``inception``, ``mnist_cnn``, ``shapes_cnn``, ``points``).
        device: ``"cpu"``, ``"cuda"``, ``"auto"``, ... (see :func:`ganlab.device.pick_device`).
        weights_dir: folder of the shipped classifier weights (default: ``ganlab/weights``).

    Raises:
        ValueError: unknown name (the valid ones are listed), bad or missing shipped weights.
        InceptionWeightsUnavailable: (a RuntimeError) ``inception`` offline without its file.
    """
    dev = pick_device(device)
    if not isinstance(name, str) or name not in EXTRACTORS:
        raise ValueError(f"unknown extractor {name!r}; valid extractors: {', '.join(EXTRACTORS)}")
    if name == "inception":
        ext: FeatureExtractor = InceptionExtractor()
    elif name == "points":
        ext = PointsExtractor()
    else:
        ext = load_classifier(name, weights_dir)
    return ext.to(dev)


def extract(
    extractor: FeatureExtractor,
    x: torch.Tensor,
    batch_size: int = 500,
    device: str | torch.device | None = None,
) -> dict[str, torch.Tensor]:
    """Run ``extractor.outputs`` over ``x`` in batches under ``inference_mode``.

    Args:
        x: images ``(N, C, H, W)`` in ``[-1, 1]`` (or points ``(N, d)``), on any device.
        device: where to compute (default: the extractor's device).

    Returns:
        ``{"features": (N, dim) float32, ...}`` on the CPU (see :meth:`FeatureExtractor.outputs`).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not isinstance(x, torch.Tensor) or x.shape[0] == 0:
        raise ValueError(f"expected a non-empty tensor of images, got {getattr(x, 'shape', type(x).__name__)}")
    dev = torch.device(device) if device is not None else next(
        (p.device for p in extractor.parameters()), torch.device("cpu")
    )
    parts: dict[str, list[torch.Tensor]] = {}
    with torch.inference_mode():
        for start in range(0, x.shape[0], batch_size):
            out = extractor.outputs(x[start : start + batch_size].to(dev, non_blocking=True))
            for k, v in out.items():
                parts.setdefault(k, []).append(v.float().cpu() if v.is_floating_point() else v.cpu())
    return {k: torch.cat(v) for k, v in parts.items()}
