"""Folders of image files -> uint8 tensors: listing, fingerprinting, probing and decoding.

Decoding centre-crops every image to a square (optionally a smaller centre square, ``crop``),
resizes it with Pillow's antialiased bilinear filter, and converts it to RGB or grey ("L") as
asked, whatever its own mode (RGBA, palette, 16-bit grey, CMYK ...). JPEGs are decoded at a
reduced scale when that still leaves enough pixels (``Image.draft``), which is much faster.
Decoding runs in a thread pool (Pillow releases the GIL while decoding).
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

__all__ = ["IMAGE_EXTENSIONS", "GREY_MODES", "list_images", "fingerprint", "probe", "decode_images"]

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"})
GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
_CHUNK = 64  # files per pool task


def list_images(folder: Path) -> list[Path]:
    """All image files under ``folder`` (recursive, hidden entries skipped), sorted by relative path."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for f in filenames:
            if not f.startswith(".") and os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS:
                found.append(Path(dirpath, f))
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def fingerprint(paths: Sequence[Path], base: Path) -> str:
    """sha256 over (relative path, size, mtime) of ``paths``: changes when any file is added, removed or edited."""
    h = hashlib.sha256()
    for p in paths:
        st = p.stat()
        h.update(f"{p.relative_to(base).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def probe(path: Path) -> tuple[int, int, str]:
    """``(width, height, mode)`` of an image, reading only its header."""
    from PIL import Image

    with Image.open(path) as im:
        return im.size[0], im.size[1], im.mode


def _to_mode(im: object, mode: str) -> object:
    """Convert a Pillow image to ``"RGB"`` or ``"L"``; 16-bit / float grey is rescaled, not clipped."""
    from PIL import Image

    assert isinstance(im, Image.Image)
    if im.mode == mode:
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        im = Image.fromarray(np.clip(np.rint(arr * (255.0 / top)), 0, 255).astype(np.uint8), "L")
        return im if mode == "L" else im.convert(mode)
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    return im.convert(mode)


def _decode_one(path: Path, size: int, channels: int, crop: float) -> np.ndarray:
    """One file -> uint8 ``(channels, size, size)``."""
    from PIL import Image

    mode = "RGB" if channels == 3 else "L"
    with Image.open(path) as im:
        if im.format == "JPEG":  # decode at 1/2, 1/4, 1/8 scale if the crop keeps >= size pixels
            w, h = im.size
            need = size / (min(w, h) * crop)
            im.draft(mode, (math.ceil(w * need), math.ceil(h * need)))
        im = _to_mode(im, mode)
        w, h = im.size
        side = max(1, round(min(w, h) * crop))
        left, top = (w - side) // 2, (h - side) // 2
        im = im.crop((left, top, left + side, top + side))  # crop first: no pixel outside it is read
        if side != size:
            im = im.resize((size, size), Image.Resampling.BILINEAR)
        arr = np.asarray(im, dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def decode_images(
    paths: Sequence[Path], size: int, channels: int, crop: float = 1.0, desc: str = "decoding images"
) -> torch.Tensor:
    """Decode, centre-crop (``crop`` * shorter side), resize and convert ``paths``.

    Returns:
        uint8 ``(len(paths), channels, size, size)`` with values 0..255, in the order of ``paths``.
    """
    from tqdm.auto import tqdm

    out = np.empty((len(paths), channels, size, size), dtype=np.uint8)

    def work(start: int) -> int:
        stop = min(start + _CHUNK, len(paths))
        for i in range(start, stop):
            try:
                out[i] = _decode_one(paths[i], size, channels, crop)
            except Exception as exc:
                raise ValueError(f"could not decode image {paths[i]} ({type(exc).__name__}: {exc})") from None
        return stop - start

    workers = max(1, min(8, os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool, tqdm(total=len(paths), desc=desc, disable=len(paths) < 2000) as bar:
        for done in pool.map(work, range(0, len(paths), _CHUNK)):
            bar.update(done)
    return torch.from_numpy(out)
