"""Folders of image files -> uint8 tensors: listing, fingerprinting, probing and decoding.

Decoding centre-crops every image to a square (optionally a smaller centre square, ``crop``),
resizes it with Pillow's antialiased bilinear filter, and converts it to RGB or grey ("L") as
asked, whatever its own mode (RGBA, palette, 16-bit grey, CMYK ...). JPEGs are decoded at a
reduced scale when that still leaves enough pixels (``Image.draft``), which is much faster.
Decoding runs in a thread pool (Pillow releases the GIL while decoding).
A file that cannot be read (empty, truncated, corrupt, not an image) raises a ValueError naming
it and saying how to fix it; :func:`decode_images` tries every file first and raises one error
that counts the bad files and lists the first ten.
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

__all__ = [
    "IMAGE_EXTENSIONS", "GREY_MODES", "FIX_HINT", "list_images", "fingerprint", "probe", "probe_images",
    "decode_image", "decode_images", "bad_image_error", "bad_images_error",
]

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"})
GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
_CHUNK = 64  # files per pool task
_SHOW_BAD = 10  # bad files listed by name in one error; the rest are counted
FIX_HINT = "delete or replace it, or re-download the data set"
Bad = tuple[Path, str]  # (file, why it could not be read)


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


def _why(path: Path, exc: BaseException) -> str:
    """Short reason a file could not be read, without Pillow's stack trace (or the path again)."""
    from PIL import UnidentifiedImageError

    try:
        if path.stat().st_size == 0:
            return "empty file (0 bytes)"
    except OSError:
        pass
    if isinstance(exc, UnidentifiedImageError):
        return "not an image Pillow can read (another kind of file, or its header is corrupt or cut off)"
    msg = str(exc).replace(str(path), "").replace("''", "").strip(" :")
    if "truncated" in msg.lower():
        return msg  # Pillow's own words, e.g. "image file is truncated (153 bytes not processed)"
    if isinstance(exc, EOFError):
        return f"truncated ({msg})" if msg else "truncated"
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def bad_image_error(path: Path, why: str) -> ValueError:
    """The error for one image file that cannot be read."""
    return ValueError(f"cannot read image file {path}: {why}; {FIX_HINT}")


def bad_images_error(bad: Sequence[Bad], n_files: int, name: str = "", folder: Path | str | None = None) -> ValueError:
    """One error for every bad file of a folder: how many, the first ``_SHOW_BAD`` by name, how to fix.

    ``name`` (a data set name) and ``folder`` only make the first line more specific.
    """
    bad = sorted(bad, key=lambda b: str(b[0]))
    head = f"{name}: " if name else ""
    where = f" in {folder}" if folder else ""
    lines = [f"{head}{len(bad)} of {n_files} image files{where} cannot be read (truncated, corrupt or not images):"]
    lines += [f"  {p}: {why}" for p, why in bad[:_SHOW_BAD]]
    if len(bad) > _SHOW_BAD:
        lines.append(f"  ... and {len(bad) - _SHOW_BAD} more")
    lines.append("Delete or replace these files, or re-download the data set, then load again.")
    return ValueError("\n".join(lines))


def _reraise_fatal(exc: BaseException) -> None:
    if isinstance(exc, MemoryError):
        raise exc


def _probe(path: Path) -> tuple[int, int, str]:
    from PIL import Image

    with Image.open(path) as im:
        return im.size[0], im.size[1], im.mode


def probe(path: Path) -> tuple[int, int, str]:
    """``(width, height, mode)`` of an image, reading only its header.

    Raises:
        ValueError: naming the file, when it is empty or not an image (see :func:`decode_image`
            for files whose header is fine but whose pixels are truncated).
    """
    try:
        return _probe(path)
    except Exception as exc:
        _reraise_fatal(exc)
        raise bad_image_error(path, _why(path, exc)) from None


def probe_images(paths: Sequence[Path]) -> tuple[list[tuple[int, int, str] | None], list[Bad]]:
    """Headers of ``paths``: ``(heads, bad)``, ``heads[i]`` is ``None`` for each file listed in ``bad``."""
    heads: list[tuple[int, int, str] | None] = []
    bad: list[Bad] = []
    for p in paths:
        try:
            heads.append(_probe(p))
        except Exception as exc:
            _reraise_fatal(exc)
            heads.append(None)
            bad.append((p, _why(p, exc)))
    return heads, bad


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
        im.load()  # Pillow decodes lazily: read every pixel now, so a truncated file fails here
        im = _to_mode(im, mode)
        w, h = im.size
        side = max(1, round(min(w, h) * crop))
        left, top = (w - side) // 2, (h - side) // 2
        im = im.crop((left, top, left + side, top + side))  # crop first: no pixel outside it is read
        if side != size:
            im = im.resize((size, size), Image.Resampling.BILINEAR)
        arr = np.asarray(im, dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def decode_image(path: Path, size: int, channels: int, crop: float = 1.0) -> torch.Tensor:
    """One file, decoded like :func:`decode_images`: uint8 ``(channels, size, size)``.

    Raises:
        ValueError: naming the file and how to fix it, when it is empty, truncated, corrupt or
            not an image.
    """
    try:
        return torch.from_numpy(_decode_one(path, size, channels, crop).copy())
    except Exception as exc:
        _reraise_fatal(exc)
        raise bad_image_error(path, _why(path, exc)) from None


def decode_images(
    paths: Sequence[Path], size: int, channels: int, crop: float = 1.0, desc: str = "decoding images",
    known_bad: Sequence[Bad] = (),
) -> torch.Tensor:
    """Decode, centre-crop (``crop`` * shorter side), resize and convert ``paths``.

    Every file is tried; files that cannot be read (together with ``known_bad``, files already
    found bad and left out of ``paths``) are reported in one error at the end.

    Returns:
        uint8 ``(len(paths), channels, size, size)`` with values 0..255, in the order of ``paths``.

    Raises:
        ValueError: how many files are bad and which (see :func:`bad_images_error`).
    """
    from tqdm.auto import tqdm

    out = np.empty((len(paths), channels, size, size), dtype=np.uint8)
    bad: list[Bad] = list(known_bad)

    def work(start: int) -> int:
        stop = min(start + _CHUNK, len(paths))
        for i in range(start, stop):
            try:
                out[i] = _decode_one(paths[i], size, channels, crop)
            except Exception as exc:
                _reraise_fatal(exc)
                bad.append((paths[i], _why(paths[i], exc)))  # list.append is atomic: safe across threads
        return stop - start

    workers = max(1, min(8, os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool, tqdm(total=len(paths), desc=desc, disable=len(paths) < 2000) as bar:
        for done in pool.map(work, range(0, len(paths), _CHUNK)):
            bar.update(done)
    if bad:
        every = [*paths, *(b[0] for b in known_bad)]
        try:
            folder: str | None = os.path.commonpath([str(Path(q).parent) for q in every])
        except ValueError:  # relative and absolute paths mixed
            folder = None
        name = "" if desc == "decoding images" else desc
        raise bad_images_error(bad, len(every), name, folder)
    return torch.from_numpy(out)
