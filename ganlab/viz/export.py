"""Frames to files: animated GIF and MP4 of an interpolation (or of samples over training).

Frames are either model-facing float images in ``[-1, 1]`` of shape ``(T, C, H, W)`` (C = 1 or
3) or display-ready ``uint8`` arrays ``(T, H, W, C)`` (C = 1, 3 or 4), as torch tensors or NumPy
arrays. Small images (MNIST is 28 px) are upscaled by an integer factor with nearest-neighbour
sampling so the video is watchable and pixels stay crisp. Files are written atomically (a
temporary file in the target folder, then a rename), so a crash never leaves a half-written
video behind.

GIF goes through imageio's Pillow plugin, MP4 (H.264, yuv420p: plays in browsers, VS Code and
Colab) through ``imageio-ffmpeg``, whose wheel ships its own ffmpeg binary.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch

from ganlab.data.transforms import to_uint8
from ganlab.io import atomic_path, atomic_write_bytes

__all__ = ["to_uint8_hwc", "upscale", "save_gif", "save_mp4", "save_video"]


def to_uint8_hwc(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """Convert images to display-ready ``uint8`` channels-last arrays.

    Args:
        images: float images in ``[-1, 1]`` shaped ``(..., C, H, W)`` with C in {1, 3} (values
            outside the range are clipped), or ``uint8`` images ``(..., H, W, C)`` with C in
            {1, 3, 4} (returned unchanged, as a NumPy array). Torch tensors may live on any device.

    Returns:
        ``uint8`` NumPy array ``(..., H, W, C)``; float values map as ``round((x + 1) * 127.5)``.

    Raises:
        ValueError: wrong number of dimensions or channels, non-finite values, other dtypes.
    """
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu()
        images = images.float().numpy() if images.is_floating_point() else images.numpy()
    arr = np.asarray(images)
    if arr.ndim < 3:
        raise ValueError(f"images must have at least 3 dimensions (C, H, W), got shape {arr.shape}")
    if arr.dtype == np.uint8:
        if arr.shape[-1] not in (1, 3, 4):
            raise ValueError(
                f"uint8 images must be channels-last (..., H, W, C) with C in (1, 3, 4), "
                f"got shape {arr.shape}"
            )
        return arr
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(
            f"images must be float in [-1, 1] (..., C, H, W) or uint8 (..., H, W, C), got {arr.dtype}"
        )
    if arr.shape[-3] not in (1, 3):
        raise ValueError(
            f"float images must be channels-first (..., C, H, W) with C in (1, 3), got shape {arr.shape}"
        )
    if not np.isfinite(arr).all():
        raise ValueError("images contain NaN or infinite values; cannot convert to pixels")
    u8 = to_uint8(torch.from_numpy(arr)).numpy()
    return np.ascontiguousarray(np.moveaxis(u8, -3, -1))


def upscale(frames: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour integer upscaling of ``(..., H, W, C)`` arrays (``factor >= 1``)."""
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise ValueError(f"upscale factor must be an integer >= 1, got {factor!r}")
    if factor == 1:
        return frames
    return np.repeat(np.repeat(frames, factor, axis=-3), factor, axis=-2)


def image_sequence(frames: torch.Tensor | np.ndarray, what: str = "frames") -> np.ndarray:
    """``(T, H, W, C)`` uint8 from a sequence of images; ValueError naming ``what`` otherwise.

    Accepts float ``(T, C, H, W)`` in [-1, 1] or uint8 ``(T, H, W, C)``, with T >= 1.
    """
    arr = to_uint8_hwc(frames)
    if arr.ndim != 4 or arr.shape[0] < 1:
        raise ValueError(
            f"{what} must be a sequence (T, C, H, W) float in [-1, 1] or (T, H, W, C) uint8 "
            f"with T >= 1, got shape {tuple(arr.shape)}"
        )
    return arr


_frames = image_sequence


def _check_fps(fps: float) -> float:
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps <= 120:
        raise ValueError(f"fps must be a number in (0, 120], got {fps!r}")
    return float(fps)


def _auto_factor(h: int, w: int, min_size: int, block: int = 1) -> int:
    """Smallest factor making the larger side >= min_size and both sides multiples of block."""
    f = max(1, math.ceil(min_size / max(h, w)))
    for cand in range(f, f + block + 1):
        if (h * cand) % block == 0 and (w * cand) % block == 0:
            return cand
    return f * block


def _check_path(path: str | os.PathLike[str], suffix: str) -> Path:
    p = Path(path)
    if p.suffix.lower() != suffix:
        raise ValueError(f"path {str(p)!r} must end in {suffix}")
    return p


def save_gif(
    frames: torch.Tensor | np.ndarray,
    path: str | os.PathLike[str],
    fps: float = 4,
    *,
    scale: int | None = None,
    min_size: int = 128,
    loop: int = 0,
) -> Path:
    """Write an animated GIF atomically.

    Args:
        frames: ``(T, C, H, W)`` float in ``[-1, 1]`` or ``(T, H, W, C)`` uint8.
        path: target file, ending in ``.gif``; parent folders are created.
        fps: frames per second (GIF stores delays in 1/100 s, so the rate is rounded).
        scale: integer nearest-neighbour upscaling; ``None`` = smallest factor whose larger side
            is at least ``min_size`` pixels.
        loop: 0 = loop forever, n = play n times.

    Returns:
        The path written. Note that identical consecutive frames are merged by the GIF encoder
        (their delays add up), so a still sequence reads back as fewer frames.

    Raises:
        ValueError: bad frames, fps or suffix.
    """
    import imageio.v3 as iio

    p = _check_path(path, ".gif")
    fps = _check_fps(fps)
    arr = _frames(frames)
    factor = scale if scale is not None else _auto_factor(arr.shape[1], arr.shape[2], min_size)
    arr = upscale(arr, factor)
    if arr.shape[-1] == 1:
        arr = arr[..., 0]
    data = iio.imwrite("<bytes>", arr, extension=".gif", duration=1000.0 / fps, loop=loop)
    return atomic_write_bytes(p, data)


def save_mp4(
    frames: torch.Tensor | np.ndarray,
    path: str | os.PathLike[str],
    fps: float = 4,
    *,
    scale: int | None = None,
    min_size: int = 256,
    quality: float = 8,
) -> Path:
    """Write an H.264 MP4 (yuv420p) atomically with the ffmpeg binary of ``imageio-ffmpeg``.

    Args:
        frames: ``(T, C, H, W)`` float in ``[-1, 1]`` or ``(T, H, W, C)`` uint8.
        path: target file, ending in ``.mp4``; parent folders are created.
        fps: frames per second.
        scale: integer nearest-neighbour upscaling; ``None`` = the smallest factor whose larger
            side is at least ``min_size`` pixels and that makes both sides multiples of 16 (what
            H.264 encoders want; no blurry resampling by ffmpeg).
        quality: imageio-ffmpeg quality, 0 (worst) .. 10 (best).

    Returns:
        The path written (one video frame per input frame).

    Raises:
        ValueError: bad frames, fps or suffix.
    """
    import imageio_ffmpeg

    p = _check_path(path, ".mp4")
    fps = _check_fps(fps)
    arr = _frames(frames)
    factor = scale if scale is not None else _auto_factor(arr.shape[1], arr.shape[2], min_size, 16)
    arr = upscale(arr, factor)
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    elif arr.shape[-1] == 4:
        arr = arr[..., :3]
    arr = np.ascontiguousarray(arr)
    p.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(p, suffix=".mp4") as tmp:
        writer = imageio_ffmpeg.write_frames(
            str(tmp),
            (arr.shape[2], arr.shape[1]),
            fps=fps,
            codec="libx264",
            pix_fmt_in="rgb24",
            pix_fmt_out="yuv420p",
            quality=quality,
            macro_block_size=16,
            ffmpeg_log_level="error",
        )
        writer.send(None)
        for frame in arr:
            writer.send(frame)
        writer.close()
    return p


def save_video(
    frames: torch.Tensor | np.ndarray, path: str | os.PathLike[str], fps: float = 4, **kwargs
) -> Path:
    """:func:`save_gif` or :func:`save_mp4`, chosen by the path's suffix (``.gif`` / ``.mp4``).

    Raises:
        ValueError: any other suffix.
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".gif":
        return save_gif(frames, path, fps, **kwargs)
    if suffix == ".mp4":
        return save_mp4(frames, path, fps, **kwargs)
    raise ValueError(f"cannot export to {str(path)!r}: the file must end in .gif or .mp4")
