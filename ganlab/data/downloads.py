"""Fetching online sets (torchvision, kagglehub) and the one clear error when that is impossible.

Tests replace :func:`torchvision_download` and :func:`kaggle_download` to simulate the network;
nothing else in the data layer touches it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .errors import DatasetUnavailableError

__all__ = ["torchvision_download", "kaggle_download", "unavailable", "fetch"]


def torchvision_download(dataset: str, root: Path, **kwargs: object) -> None:
    """Let ``torchvision.datasets.{dataset}(root, download=True, **kwargs)`` download its files into ``root``."""
    import torchvision.datasets as tvd

    getattr(tvd, dataset)(root=str(root), download=True, **kwargs)


def kaggle_download(handle: str, output_dir: Path) -> Path:
    """Download the Kaggle dataset ``handle`` with kagglehub into ``output_dir``; returns the folder with its files."""
    import kagglehub

    output_dir.mkdir(parents=True, exist_ok=True)
    return Path(kagglehub.dataset_download(handle, output_dir=str(output_dir)))


def unavailable(name: str, folder: Path, reason: str, how: str, root: Path) -> DatasetUnavailableError:
    """The error for a set that is neither on disk nor downloadable (raise it ``from None``)."""
    return DatasetUnavailableError(
        f"dataset {name!r} is not available: its files are not in {folder} and {reason}. "
        f"To place the files by hand: {how}. Then call ganlab.data.load({name!r}, root={str(root)!r}) "
        f"(or set GANLAB_DATA_DIR={str(root)!r}). For offline work use an offline set "
        f"('mnist5k', 'digits', 'shapes', 'ring8', 'grid25')."
    )


def fetch(
    name: str,
    folder: Path,
    root: Path,
    download: bool,
    attempts: list[tuple[str, Callable[[], object]]],
    how: str,
) -> list[object]:
    """Run the download ``attempts`` in turn until one succeeds; return its result in a 1-list.

    Raises:
        DatasetUnavailableError: ``download=False``, or every attempt failed (their reasons are
            listed; no traceback of the downloader is chained).
    """
    if not download:
        raise unavailable(name, folder, "download=False was given", how, root) from None
    reasons: list[str] = []
    for label, attempt in attempts:
        try:
            return [attempt()]
        except Exception as exc:  # network, HTTP, missing optional package, quota ...
            reasons.append(f"{label}: {type(exc).__name__}: {' '.join(str(exc).split())[:400]}")
    raise unavailable(name, folder, "the download failed (" + "; ".join(reasons) + ")", how, root) from None
