"""Online sets stored as image files: ``celeba64``, ``lsun_bedroom64`` and any ``image_folder``.

Every image is centre-cropped to a square, resized (antialiased bilinear) and converted to RGB
or grey, then the split is preprocessed once into the uint8 cache.

* ``celeba64``: aligned CelebA (178x218). Crop: the centre 140x140 square (DCGAN practice), then
  64x64. Splits: the official ``list_eval_partition`` (txt or Kaggle csv) when present, else the
  official file-number ranges (000001-162770 train, 162771-182637 valid, 182638-202599 test).
  Looked for in ``{root}/celeba/img_align_celeba/`` (also the Kaggle nesting
  ``img_align_celeba/img_align_celeba/``); downloaded with torchvision (needs ``gdown``), else
  with kagglehub (``jessicali9530/celeba-dataset``).
* ``lsun_bedroom64``: Kaggle's 20 % LSUN bedroom sample ``jhoward/lsun_bedroom`` (any JPEGs below
  ``{root}/lsun_bedroom/``), shorter side centre crop, 64x64. LSUN has no test split of its
  own: files sorted by path, every 50th (index % 50 == 0) is ``test`` (2 %), the rest ``train``.
* ``image_folder``: every image below ``root`` (recursive). Labels come from first-level
  subfolders when every image sits in one and there are at least two. ``train`` and ``all``
  are both the whole folder. The cache goes to the default data root and is rebuilt when any
  file is added, removed or changed.
"""

from __future__ import annotations

import csv
import hashlib
import os
from pathlib import Path

import torch

from .cache import cache_key, load_or_build
from .downloads import fetch, kaggle_download, torchvision_download, unavailable
from .imagefiles import (
    GREY_MODES,
    IMAGE_EXTENSIONS,
    decode_images,
    fingerprint,
    list_images,
    probe_images,
)
from .spec import Parts, Request

__all__ = ["build_celeba64", "build_lsun_bedroom64", "build_image_folder", "CELEBA_CROP", "LSUN_TEST_EVERY"]

CELEBA_CROP = 140 / 178  # centre 140 px of the 178 px wide aligned faces
CELEBA_SPLITS = {"train": 0, "valid": 1, "test": 2}
_CELEBA_RANGES = ((162770, 0), (182637, 1), (10**9, 2))  # last file number of each partition
LSUN_TEST_EVERY = 50


def _has_images(folder: Path) -> bool:
    if not folder.is_dir():
        return False
    with os.scandir(folder) as it:
        return any(e.is_file() and os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS for e in it)


def _celeba_images(bases: list[Path]) -> Path | None:
    for base in bases:
        for cand in (base / "img_align_celeba" / "img_align_celeba", base / "img_align_celeba"):
            if _has_images(cand):
                return cand
    return None


def _celeba_partition(bases: list[Path]) -> dict[str, int] | None:
    """filename -> partition (0 train, 1 valid, 2 test) from list_eval_partition.{txt,csv}, if present."""
    for base in bases:
        for path in (base / "list_eval_partition.txt", base / "list_eval_partition.csv"):
            if path.is_file():
                with open(path, newline="") as fh:
                    rows = csv.reader(fh, delimiter="," if path.suffix == ".csv" else " ")
                    return {r[0]: int(r[-1]) for r in rows if len(r) >= 2 and r[-1].strip().isdigit()}
    return None


def _celeba_part_by_number(path: Path) -> int:
    try:
        number = int(path.stem)
    except ValueError:
        return 0
    return next(part for last, part in _CELEBA_RANGES if number <= last)


def build_celeba64(req: Request) -> Parts:
    """Aligned CelebA faces: uint8 ``(N, 3, 64, 64)`` (or ``image_size``), no labels."""
    base = req.root / "celeba"
    how = (
        "download img_align_celeba.zip and list_eval_partition.txt from "
        "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html (or the Kaggle dataset "
        f"jessicali9530/celeba-dataset) and unzip them into {base}, so that "
        f"{base / 'img_align_celeba' / '000001.jpg'} exists"
    )
    size, ch = req.image_size or 64, req.channels or 3

    def build() -> tuple[dict[str, torch.Tensor], dict[str, object]]:
        bases = [base]
        if _celeba_images(bases) is None:
            got = fetch(req.name, base, req.root, req.download, [
                ("torchvision", lambda: torchvision_download("CelebA", req.root, split="all", target_type=[])),
                ("kagglehub", lambda: kaggle_download("jessicali9530/celeba-dataset", base)),
            ], how)
            if isinstance(got[0], Path):
                bases.append(got[0])
        folder = _celeba_images(bases)
        if folder is None:
            raise unavailable(req.name, base, "the download did not produce img_align_celeba/", how, req.root) from None
        paths = list_images(folder)
        part = _celeba_partition([*bases, folder.parent])
        if req.split != "all":
            want = CELEBA_SPLITS[req.split]
            if part is not None:
                paths = [p for p in paths if part.get(p.name, -1) == want]
            else:
                paths = [p for p in paths if _celeba_part_by_number(p) == want]
        if not paths:
            raise ValueError(f"celeba64 split {req.split!r} has no images in {folder}; accepted splits with images: check list_eval_partition.txt or use split='all'")
        return {"images": decode_images(paths, size, ch, crop=CELEBA_CROP, desc="celeba64")}, {}

    tensors, _ = load_or_build(req.cache_dir, cache_key(req.name, req.split, size, ch), build)
    return Parts(images=tensors["images"])


def build_lsun_bedroom64(req: Request) -> Parts:
    """Kaggle's LSUN bedroom sample: uint8 ``(N, 3, 64, 64)`` (or ``image_size``), no labels."""
    base = req.root / "lsun_bedroom"
    how = (
        "download the Kaggle dataset jhoward/lsun_bedroom "
        f"(https://www.kaggle.com/datasets/jhoward/lsun_bedroom) and unzip it anywhere below {base} "
        "(JPEG files are found recursively)"
    )
    size, ch = req.image_size or 64, req.channels or 3

    def build() -> tuple[dict[str, torch.Tensor], dict[str, object]]:
        paths = list_images(base) if base.is_dir() else []
        if not paths:
            got = fetch(req.name, base, req.root, req.download,
                        [("kagglehub", lambda: kaggle_download("jhoward/lsun_bedroom", base))], how)
            paths = list_images(Path(got[0])) if isinstance(got[0], (str, Path)) else []
            if not paths and base.is_dir():
                paths = list_images(base)
        if not paths:
            raise unavailable(req.name, base, "the download produced no image files", how, req.root) from None
        if req.split != "all":
            is_test = req.split == "test"
            paths = [p for i, p in enumerate(paths) if (i % LSUN_TEST_EVERY == 0) == is_test]
        if not paths:
            raise ValueError(f"lsun_bedroom64 split {req.split!r} is empty ({base} has too few images); use split='all'")
        return {"images": decode_images(paths, size, ch, desc="lsun_bedroom64")}, {}

    tensors, _ = load_or_build(req.cache_dir, cache_key(req.name, req.split, size, ch), build)
    return Parts(images=tensors["images"])


def _folder_labels(paths: list[Path], folder: Path) -> tuple[torch.Tensor | None, list[str] | None]:
    tops = [p.relative_to(folder).parts for p in paths]
    if any(len(t) < 2 for t in tops):
        return None, None
    classes = sorted({t[0] for t in tops})
    if len(classes) < 2:
        return None, None
    index = {c: i for i, c in enumerate(classes)}
    return torch.tensor([index[t[0]] for t in tops], dtype=torch.int64), classes


def build_image_folder(req: Request) -> Parts:
    """Any folder of images: uint8 ``(N, C, S, S)``; C from ``channels`` (default: 1 if every image is grey, else 3)."""
    folder = req.root
    if not folder.is_dir():
        raise ValueError(f"image_folder needs root= an existing folder of images; given {str(folder)!r}, which is not a folder")
    paths = list_images(folder)
    if not paths:
        raise ValueError(
            f"image_folder {str(folder)!r} contains no image files; accepted: a folder (searched "
            f"recursively) with files ending in {', '.join(sorted(IMAGE_EXTENSIONS))}"
        )
    tag = hashlib.sha1(str(folder).encode()).hexdigest()[:12]
    key = cache_key("image_folder", "all", req.image_size, req.channels, tag=tag)

    def build() -> tuple[dict[str, torch.Tensor], dict[str, object]]:
        # A file that cannot be read raises one ValueError listing every bad file of the folder
        # (from decode_images, after it tried them all); nothing is cached then.
        size, ch = req.image_size, req.channels
        if size is None or ch is None:
            probed, bad = probe_images(paths)
            if bad:  # decode the rest too, so that truncated files are listed in the same error
                rest = [p for p, h in zip(paths, probed) if h is not None]
                decode_images(rest, 8, 1, desc="image_folder", known_bad=bad)
            heads = [h for h in probed if h is not None]
            if size is None:
                dims = sorted({(w, h) for w, h, _ in heads})
                if len(dims) > 1 or dims[0][0] != dims[0][1]:
                    shown = ", ".join(f"{w}x{h}" for w, h in dims[:5]) + (" ..." if len(dims) > 5 else "")
                    raise ValueError(
                        f"image_folder {str(folder)!r} holds images of size {shown}; pass image_size= "
                        "(images are centre-cropped to a square and resized), accepted: an int 4..1024"
                    )
                size = dims[0][0]
            if ch is None:
                ch = 1 if all(m in GREY_MODES for _, _, m in heads) else 3
        tensors = {"images": decode_images(paths, size, ch, desc="image_folder")}
        labels, classes = _folder_labels(paths, folder)
        if labels is not None:
            tensors["labels"] = labels
        return tensors, {"classes": classes, "n_files": len(paths)}

    tensors, meta = load_or_build(req.cache_dir, key, build, fingerprint=fingerprint(paths, folder))
    info: dict[str, object] = {"source": str(folder)}
    if meta.get("classes"):
        info.update(classes=tuple(meta["classes"]), n_classes=len(meta["classes"]))
    return Parts(images=tensors["images"], labels=tensors.get("labels"), info=info)
