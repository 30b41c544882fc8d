"""Online sets for image-to-image translation and super-resolution: ``facades``, ``monet2photo``,
``set5`` and ``set14``.

Each set is one archive, downloaded once into the data root and unpacked there (an archive
put into the data root by hand is unpacked without any download; an archive this module
downloaded is deleted once unpacked), then every split is preprocessed once into the uint8
cache (``{root}/cache/{name}-{split}-{size}-3.pt`` + its checksum sidecar).

* ``facades`` (paired): pix2pix's ``facades.tar.gz`` -> ``facades/{train,val,test}/<n>.jpg``
  (400 / 100 / 106 files, read in the order of ``n``), each 512x256 = [photo | label map].
  ``sources`` = the label map (right half), ``images`` = the photo (left half): labels -> photo,
  pix2pix's ``--direction BtoA``. Both halves are resized (antialiased bilinear) to
  ``image_size``. ``all`` = train, val, test.
* ``monet2photo`` (unpaired): CycleGAN's ``monet2photo.zip`` ->
  ``monet2photo/{trainA,trainB,testA,testB}/*.jpg`` (256x256): A = Monet paintings, B = photos,
  resized to ``image_size``.
* ``set5`` / ``set14`` (paired, ``test`` = ``all``): the high-resolution PNGs of the classic SR
  benchmarks (the Hugging Face mirrors ``eugenesiow/Set5`` / ``eugenesiow/Set14``, which
  deepinv and many SR repositories download), or the images placed by hand anywhere below
  ``{root}/set5/``. Targets are every HR image's centre S x S square, S = the largest multiple
  of 4 that fits the smallest image (grey files become RGB), so they stack into one tensor;
  ``sources`` are their 4x bicubic downsamplings (:func:`ganlab.data.photos.downsample`). The
  papers score whole images; the centre crop is this course's simplification.

Tests replace :func:`http_download` to simulate the network; nothing else here touches it.
"""

from __future__ import annotations

import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

from ganlab.io import atomic_path

from .cache import cache_key, load_or_build
from .downloads import fetch, unavailable
from .imagefiles import _why, bad_images_error, decode_images, list_images
from .photos import SCALE, downsample
from .spec import Parts, Request
from .transforms import resize_u8

__all__ = [
    "FACADES_URL", "MONET2PHOTO_URL", "SR_URLS", "SR_COUNTS", "http_download", "unpack",
    "build_facades", "build_monet2photo", "build_set5", "build_set14",
]

FACADES_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/facades.tar.gz"
MONET2PHOTO_URL = "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/monet2photo.zip"
SR_URLS = {
    "set5": "https://huggingface.co/datasets/eugenesiow/Set5/resolve/main/data/Set5_HR.tar.gz",
    "set14": "https://huggingface.co/datasets/eugenesiow/Set14/resolve/main/data/Set14_HR.tar.gz",
}
SR_COUNTS = {"set5": 5, "set14": 14}
SR_TITLES = {"set5": "Set5", "set14": "Set14"}
FACADES_SPLITS = ("train", "val", "test")
MONET_FOLDERS = {"train": ("trainA", "trainB"), "test": ("testA", "testB")}
TRANSLATION_SIZES = (16, 256)  # facades / monet2photo: image_size a multiple of 4 in this range
_MULTIPLE = 4
Tensors = dict[str, torch.Tensor]


# --------------------------------------------------------------------------- getting the files
def http_download(url: str, dest: Path) -> Path:
    """Download ``url`` to ``dest`` (written to a temporary file, renamed when complete).

    Raises:
        OSError: no network, HTTP error, or fewer bytes than the server announced.
    """
    import urllib.request

    from tqdm.auto import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": "ganlab"})
    with atomic_path(dest, suffix=".part") as tmp, urllib.request.urlopen(request, timeout=60) as resp:
        total = int(resp.headers.get("Content-Length") or 0)
        done = 0
        with open(tmp, "wb") as fh, tqdm(total=total or None, unit="B", unit_scale=True, desc=dest.name) as bar:
            while chunk := resp.read(1 << 20):
                fh.write(chunk)
                done += len(chunk)
                bar.update(len(chunk))
        if total and done != total:
            raise OSError(f"{url}: the download stopped after {done:,} of {total:,} bytes")
    return dest


def unpack(archive: Path, into: Path) -> None:
    """Unpack a ``.zip`` or a (compressed) tar ``archive`` into ``into``.

    Raises:
        ValueError: a member would land outside ``into`` (absolute path, ``..``, links).
        tarfile.TarError, zipfile.BadZipFile: the archive is damaged or not an archive.
    """
    into.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        base = into.resolve()
        with zipfile.ZipFile(archive) as zf:
            outside = [n for n in zf.namelist() if not (into / n).resolve().is_relative_to(base)]
            if outside:
                raise ValueError(f"{archive} has members outside the folder it unpacks into: {outside[:3]}")
            zf.extractall(into)
        return
    with tarfile.open(archive) as tf:
        if not hasattr(tarfile, "data_filter"):  # Python < 3.10.12 / 3.11.4: check by hand
            _check_tar_members(archive, tf, into)
            tf.extractall(into)
            return
        try:
            tf.extractall(into, filter="data")
        except tarfile.FilterError as exc:
            raise ValueError(f"{archive} has a member that is not plain data inside the folder: {exc}") from None


def _check_tar_members(archive: Path, tf: tarfile.TarFile, into: Path) -> None:
    """ValueError unless every member of ``tf`` is a plain file or folder that lands inside ``into``."""
    base = into.resolve()
    for m in tf.getmembers():
        if not (m.isfile() or m.isdir()) or not (into / m.name).resolve().is_relative_to(base):
            raise ValueError(f"{archive} has a member that is not plain data inside the folder: {m.name!r}")


def _download_and_unpack(url: str, archive: Path, into: Path) -> None:
    http_download(url, archive)
    try:
        unpack(archive, into)
    finally:
        archive.unlink(missing_ok=True)  # downloaded by us: the unpacked files are what is kept


def _obtain(req: Request, folder: Path, ready: Callable[[], bool], url: str, archive: Path,
            into: Path, how: str) -> None:
    """Make ``ready()`` true: unpack ``archive`` if it was placed by hand, else download it.

    Raises:
        DatasetUnavailableError: naming the set, ``folder``, the reason and ``how``.
    """
    if ready():
        return
    if archive.is_file():
        try:
            unpack(archive, into)
        except (OSError, ValueError, tarfile.TarError, zipfile.BadZipFile) as exc:
            why = " ".join(str(exc).split())[:400]
            raise unavailable(req.name, folder, f"{archive} could not be unpacked ({type(exc).__name__}: {why}); "
                              "delete or replace it", how, req.root) from None
    else:
        fetch(req.name, folder, req.root, req.download, [(url, lambda: _download_and_unpack(url, archive, into))], how)
    if not ready():
        raise unavailable(req.name, folder, f"{archive.name} did not contain the expected files", how, req.root) from None


# --------------------------------------------------------------------------- reading and checking
def _iter_rgb(paths: list[Path], name: str) -> Iterator[np.ndarray]:
    """Every readable file as uint8 ``(H, W, 3)`` (grey and palette images converted to RGB), in order.

    Raises:
        ValueError: after the last file, one error listing every file that could not be read.
    """
    from PIL import Image

    bad = []
    for p in paths:
        try:
            with Image.open(p) as im:
                arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
        except Exception as exc:
            bad.append((p, _why(p, exc)))  # the package's one wording of why a file is unreadable
            continue
        yield arr
    if bad:
        raise bad_images_error(bad, len(paths), name, paths[0].parent)


def _check_translation_size(name: str, size: int) -> None:
    lo, hi = TRANSLATION_SIZES
    if size % _MULTIPLE or not lo <= size <= hi:
        raise ValueError(f"{name} image_size={size} is not accepted; accepted: a multiple of {_MULTIPLE} "
                         f"in {lo}..{hi} (16, 20, ..., 256; default 256)")


def _rgb_only(name: str, req: Request) -> None:
    if req.channels == 1:
        raise ValueError(f"{name} is RGB on both sides of each pair; given channels=1; accepted: channels=3 or None")


def _by_number(path: Path) -> tuple[int, int, str]:
    """Sort key: ``2.jpg`` before ``10.jpg`` (numeric stems first, in numeric order)."""
    return (0, int(path.stem), "") if path.stem.isdigit() else (1, 0, path.name)


# --------------------------------------------------------------------------- facades
def _facade_pairs(paths: list[Path], size: int) -> Tensors:
    """[photo | label map] files -> ``images`` (photos) and ``sources`` (label maps), uint8 ``(N, 3, size, size)``."""
    photos, labels = [], []
    for arr in _iter_rgb(paths, "facades"):  # one file in memory at a time
        both = torch.from_numpy(arr.copy()).permute(2, 0, 1).unsqueeze(0)  # (1, 3, H, W)
        half = both.shape[3] // 2
        photos.append(resize_u8(both[..., :half], size))
        labels.append(resize_u8(both[..., half:], size))
    return {"images": torch.cat(photos), "sources": torch.cat(labels)}


def _facades_split(req: Request, split: str, size: int, how: str) -> Tensors:
    base = req.root / "facades"

    def files(sp: str) -> list[Path]:
        return sorted(list_images(base / sp), key=_by_number) if (base / sp).is_dir() else []

    def build() -> tuple[Tensors, dict[str, object]]:
        _obtain(req, base, lambda: bool(files(split)), FACADES_URL, req.root / "facades.tar.gz", req.root, how)
        paths = files(split)
        return _facade_pairs(paths, size), {"n_files": len(paths)}

    tensors, _ = load_or_build(req.cache_dir, cache_key("facades", split, size, 3), build)
    return tensors


def build_facades(req: Request) -> Parts:
    """pix2pix facades: ``images`` photos and ``sources`` label maps, uint8 ``(N, 3, S, S)``, S = ``image_size`` (256).

    N = 400 train / 100 val / 106 test / 606 all with the authors' archive.

    Raises:
        ValueError: ``image_size`` not a multiple of 4 in 16..256, ``channels=1``, unreadable files.
        DatasetUnavailableError: the files are not on disk and cannot be downloaded.
    """
    _rgb_only("facades", req)
    size = req.image_size or 256
    _check_translation_size("facades", size)
    how = (f"download {FACADES_URL} and unpack it into {req.root} (tar -xzf facades.tar.gz -C {req.root}), "
           f"so that {req.root / 'facades' / 'train' / '1.jpg'} (and val/, test/) exist; or put facades.tar.gz "
           f"itself into {req.root} and it is unpacked at the next load")
    parts = [_facades_split(req, sp, size, how) for sp in (FACADES_SPLITS if req.split == "all" else (req.split,))]
    return Parts(images=torch.cat([p["images"] for p in parts]), sources=torch.cat([p["sources"] for p in parts]))


# --------------------------------------------------------------------------- monet2photo
def build_monet2photo(req: Request) -> Parts:
    """CycleGAN's monet2photo: domain A (Monet) as the returned images, domain B (photos) in
    ``other``; uint8 ``(N_A, 3, S, S)`` and ``(N_B, 3, S, S)``, S = ``image_size`` (256).

    N_A / N_B = 1,072 / 6,287 train, 121 / 751 test with the authors' archive.

    Raises:
        ValueError: ``image_size`` not a multiple of 4 in 16..256, unreadable files.
        DatasetUnavailableError: the files are not on disk and cannot be downloaded.
    """
    size = req.image_size or 256
    _check_translation_size("monet2photo", size)
    base = req.root / "monet2photo"
    dirs = [base / d for d in MONET_FOLDERS[req.split]]
    how = (f"download {MONET2PHOTO_URL} and unzip it into {req.root}, so that {base}/trainA, trainB, testA "
           f"and testB hold the JPEGs; or put monet2photo.zip itself into {req.root} and it is unpacked at the next load")

    def build() -> tuple[Tensors, dict[str, object]]:
        _obtain(req, base, lambda: all(d.is_dir() and list_images(d) for d in dirs), MONET2PHOTO_URL,
                req.root / "monet2photo.zip", req.root, how)
        a, b = (decode_images(list_images(d), size, 3, desc="monet2photo") for d in dirs)
        return {"a": a, "b": b}, {}

    tensors, _ = load_or_build(req.cache_dir, cache_key("monet2photo", req.split, size, 3), build)
    other = Parts(images=tensors["b"], info={"name": "photo", "source": f"{MONET2PHOTO_URL} ({dirs[1].name}: Flickr photos)"})
    return Parts(images=tensors["a"], other=other,
                 info={"name": "monet", "source": f"{MONET2PHOTO_URL} ({dirs[0].name}: Monet paintings, WikiArt)"})


# --------------------------------------------------------------------------- set5 / set14
def common_square(shapes: list[tuple[int, int]]) -> int:
    """The largest multiple of 4 that fits inside every ``(H, W)`` of ``shapes``."""
    return min(min(h, w) for h, w in shapes) // _MULTIPLE * _MULTIPLE


def _centre(image: torch.Tensor, side: int) -> torch.Tensor:
    """The centre ``side`` x ``side`` square of ``(C, H, W)``."""
    h, w = image.shape[-2:]
    top, left = (h - side) // 2, (w - side) // 2
    return image[..., top:top + side, left:left + side]


def _sr_paths(name: str, folder: Path) -> list[Path]:
    """The benchmark's HR files below ``folder``; ValueError unless there are exactly ``SR_COUNTS[name]``."""
    paths = list_images(folder)
    want = SR_COUNTS[name]
    if len(paths) != want:
        shown = ", ".join(p.relative_to(folder).as_posix() for p in paths[:20]) + (" ..." if len(paths) > 20 else "")
        raise ValueError(f"{name} expects the {want} high-resolution images of the benchmark below {folder} "
                         f"(searched recursively); found {len(paths)}: {shown}; accepted: exactly {want} image "
                         "files (keep the HR images, remove LR or result images)")
    return paths


def _build_sr(req: Request, name: str) -> Parts:
    """``images`` = centre squares of the HR images of ``name``, uint8 ``(N, 3, S, S)``; ``sources``
    their 4x bicubic downsamplings, uint8 ``(N, 3, S/4, S/4)``.

    Raises:
        ValueError: not exactly the benchmark's number of images, ``image_size`` not None or a
            multiple of 4 in 16..S, ``channels=1``, unreadable files.
        DatasetUnavailableError: the files are not on disk and cannot be downloaded.
    """
    _rgb_only(name, req)
    if req.image_size is not None and (req.image_size % SCALE or req.image_size < 16):
        raise ValueError(f"{name} image_size={req.image_size} is not accepted; accepted: None (the common square "
                         f"of the images) or a multiple of {SCALE} from 16 up to that square (a smaller centre crop)")
    folder = req.root / name
    archive = req.root / Path(SR_URLS[name]).name
    how = (f"download {SR_URLS[name]} and unpack it into {folder}, or put the {SR_COUNTS[name]} HR images "
           f"themselves (any {SR_TITLES[name]} distribution: PNG, BMP ...) anywhere below {folder}; or put "
           f"{archive.name} itself into {req.root} and it is unpacked at the next load")

    def build() -> tuple[Tensors, dict[str, object]]:
        _obtain(req, folder, lambda: folder.is_dir() and bool(list_images(folder)), SR_URLS[name], archive, folder, how)
        paths = _sr_paths(name, folder)
        arrays = list(_iter_rgb(paths, name))
        side = common_square([a.shape[:2] for a in arrays])
        hr = torch.stack([_centre(torch.from_numpy(a.copy()).permute(2, 0, 1), side) for a in arrays])
        return {"images": hr.contiguous()}, {"files": [p.relative_to(folder).as_posix() for p in paths]}

    tensors, _ = load_or_build(req.cache_dir, cache_key(name, "all", None, 3), build)
    hr, native = tensors["images"], int(tensors["images"].shape[-1])
    if req.image_size is not None:
        if req.image_size > native:
            raise ValueError(f"{name} image_size={req.image_size} is not accepted; accepted: None (the common "
                             f"square, {native} px here) or a multiple of {SCALE} in 16..{native} (a smaller centre crop)")
        hr = _centre(hr, req.image_size).contiguous()
    return Parts(images=hr, sources=downsample(hr), info={"source": f"{folder} ({SR_URLS[name]})"})


def build_set5(req: Request) -> Parts:
    """Set5 (Bevilacqua et al., 2012), 4x: 5 HR centre squares and their bicubic downsamplings (see :func:`_build_sr`)."""
    return _build_sr(req, "set5")


def build_set14(req: Request) -> Parts:
    """Set14 (Zeyde et al., 2010), 4x: 14 HR centre squares and their bicubic downsamplings (see :func:`_build_sr`)."""
    return _build_sr(req, "set14")
