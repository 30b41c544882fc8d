"""Metrics: feature extractors, FID/KID/IS/PR/DC/coverage, cached real statistics, ``Evaluator``.

Functions on features (numpy arrays or tensors ``(N, d)``; float64 inside):
:func:`frechet_distance`, :func:`frechet_distance_from_stats`, :func:`kernel_inception_distance`,
:func:`inception_score` (on class probabilities), :func:`precision_recall`,
:func:`density_coverage`, :func:`manifold_metrics` (all four in one pass),
:func:`memorization_informed_fid` (MiFID: FID / thresholded distance to the training features),
:func:`mode_coverage_2d` (PacGAN protocol), :func:`class_coverage` (Stacked-MNIST protocol).

Extractors (images in ``[-1, 1]`` -> features): :func:`get_extractor` with ``"inception"``,
``"mnist_cnn"``, ``"shapes_cnn"`` or ``"points"``. Every reported number names its extractor
and N: :func:`metric_key` -> ``fid[mnist_cnn,N=1000]``; :func:`parse_metric_key` reads it back.

:class:`Evaluator` fixes a protocol (data set, split, extractor, N) and caches the real side.
Paired image measures for image-to-image notebooks: :func:`psnr`, :func:`ssim`, :func:`ms_ssim`,
:func:`lpips` (needs torchvision's backbone weights).
Augmentation experiments: :class:`LeakageMetrics` (``slant``, ``sharpness`` of samples: did G
learn what was done to the reals?) and :class:`DiscriminatorGap` (a trainer callback: D's
``E[sign D(x)]`` on training vs held-out reals, the overfitting that limited data brings).
"""

from .codes import (
    code_accuracy,
    code_predictions,
    continuous_effects,
    evaluate_codes,
    image_moments,
    slant,
)
from .coverage import class_coverage, kl_to_uniform, mode_coverage_2d
from .disentanglement import disentanglement_metrics
from .evaluator import METRICS, Evaluator
from .extractors import (
    EXTRACTORS,
    INCEPTION_WEIGHTS_FILES,
    ClassifierExtractor,
    FeatureExtractor,
    InceptionExtractor,
    InceptionWeightsUnavailable,
    PointsExtractor,
    extract,
    get_extractor,
)
from .frechet import feature_statistics, frechet_distance, frechet_distance_from_stats
from .image_quality import (
    LPIPS_NETS,
    PerceptualWeightsUnavailable,
    lpips,
    lpips_network,
    ms_ssim,
    psnr,
    ssim,
)
from .inception_score import inception_score
from .keys import metric_key, parse_metric_key
from .kid import kernel_inception_distance, kid_subset_indices
from .leakage import LeakageMetrics, mean_slant, mirrored_fraction, sharpness
from .lipschitz import is_lipschitz_key, layer_sigmas, lipschitz_key, lipschitz_metrics, sigma_max
from .manifold import density_coverage, knn_radii, manifold_metrics, precision_recall
from .mifid import (
    memorization_distance,
    memorization_informed_fid,
    mifid_from_fid,
    min_cosine_distance,
)
from .overfitting import DiscriminatorGap, realness_signs
from .path_length import (
    feature_distance,
    perceptual_path_length,
    ppl_metrics,
)
from .separability import separability_metrics

__all__ = [
    "EXTRACTORS",
    "INCEPTION_WEIGHTS_FILES",
    "METRICS",
    "ClassifierExtractor",
    "Evaluator",
    "FeatureExtractor",
    "InceptionExtractor",
    "InceptionWeightsUnavailable",
    "PointsExtractor",
    "class_coverage",
    "code_accuracy",
    "code_predictions",
    "continuous_effects",
    "density_coverage",
    "disentanglement_metrics",
    "feature_distance",
    "perceptual_path_length",
    "ppl_metrics",
    "separability_metrics",
    "PerceptualWeightsUnavailable",
    "evaluate_codes",
    "extract",
    "feature_statistics",
    "frechet_distance",
    "frechet_distance_from_stats",
    "get_extractor",
    "image_moments",
    "is_lipschitz_key",
    "inception_score",
    "kernel_inception_distance",
    "kid_subset_indices",
    "kl_to_uniform",
    "knn_radii",
    "layer_sigmas",
    "lipschitz_key",
    "lipschitz_metrics",
    "manifold_metrics",
    "memorization_distance",
    "min_cosine_distance",
    "LeakageMetrics",
    "mean_slant",
    "mirrored_fraction",
    "sharpness",
    "DiscriminatorGap",
    "realness_signs",
    "memorization_informed_fid",
    "mifid_from_fid",
    "metric_key",
    "mode_coverage_2d",
    "parse_metric_key",
    "precision_recall",
    "psnr",
    "ms_ssim",
    "lpips",
    "lpips_network",
    "LPIPS_NETS",
    "sigma_max",
    "slant",
    "ssim",
]
