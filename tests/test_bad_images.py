"""Unreadable image files (truncated, corrupt, not images, empty) give one clear ValueError.

Real files in tmp_path: a truncated PNG / JPEG is the first half of a real file's bytes.
"""

from __future__ import annotations

import gzip
import re
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganlab.data import folders, load
from ganlab.data.formats import read_cifar_batch, read_idx
from ganlab.data.imagefiles import decode_image, decode_images, probe

FIX = "delete or replace it, or re-download the data set"
BAD_KINDS = ("truncated.png", "truncated.jpg", "text.jpg", "empty.png")


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """image_folder caches under the default data root: keep it inside tmp_path."""
    monkeypatch.setenv("GANLAB_DATA_DIR", str(tmp_path / "default-root"))
    return tmp_path / "default-root"


def save_image(path: Path, seed: int = 0) -> None:
    """A 64x64 noise image: big enough that half its bytes keep the whole header (lazy decode fails)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(arr).save(path, **({"quality": 90} if path.suffix == ".jpg" else {}))


def write_bad(path: Path, kind: str) -> Path:
    """A bad file of ``kind`` (one of BAD_KINDS) at ``path``, with that kind's suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind.startswith("truncated"):
        save_image(path, seed=1)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "text.jpg":
        path.write_text("this is a text file, not a JPEG\n")
    else:
        path.write_bytes(b"")
    return path


def assert_clean(exc: BaseException) -> None:
    """The message comes first; no Pillow exception chained underneath."""
    assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__)


# --------------------------------------------------------------------------- one file
def test_valid_png_decodes(tmp_path: Path) -> None:
    save_image(tmp_path / "ok.png")
    assert probe(tmp_path / "ok.png") == (64, 64, "RGB")
    assert decode_image(tmp_path / "ok.png", 8, 3).shape == (3, 8, 8)


@pytest.mark.parametrize(
    ("kind", "why"),
    [("truncated.png", "truncated"), ("truncated.jpg", "truncated"),
     ("text.jpg", "not an image"), ("empty.png", "empty file \\(0 bytes\\)")],
)
def test_single_bad_file_is_a_clear_value_error(tmp_path: Path, kind: str, why: str) -> None:
    path = write_bad(tmp_path / f"x_{kind}", kind)
    if kind.startswith("truncated"):  # the header is intact: only a full decode finds the damage
        assert probe(path) == (64, 64, "RGB")
    with pytest.raises(ValueError, match=f"{re.escape(str(path))}: .*{why}.*; {FIX}") as info:
        decode_image(path, 8, 3)
    assert_clean(info.value)
    assert "Traceback" not in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("kind", ["text.jpg", "empty.png"])
def test_probe_names_the_file(tmp_path: Path, kind: str) -> None:
    path = write_bad(tmp_path / f"x_{kind}", kind)
    with pytest.raises(ValueError, match=f"{re.escape(str(path))}.*{FIX}") as info:
        probe(path)
    assert_clean(info.value)


def test_decode_images_tries_every_file(tmp_path: Path) -> None:
    good = [tmp_path / f"g{i}.png" for i in range(3)]
    for i, p in enumerate(good):
        save_image(p, seed=i)
    bad = [write_bad(tmp_path / f"b_{k}", k) for k in BAD_KINDS]
    with pytest.raises(ValueError, match=f"^4 of 7 image files in {re.escape(str(tmp_path))} cannot be read") as info:
        decode_images([*good, *bad], 8, 3)
    assert all(str(p) in str(info.value) for p in bad)
    assert not any(str(p) in str(info.value) for p in good)


# --------------------------------------------------------------------------- image_folder
def make_folder(folder: Path, classes: tuple[str, ...]) -> list[Path]:
    """Two good PNGs per class (or flat) and the four bad kinds spread over the classes."""
    subs = [folder / c for c in classes] or [folder]
    for j, sub in enumerate(subs):
        for i in range(2):
            save_image(sub / f"good{i}.png", seed=10 * j + i)
    return [write_bad(subs[i % len(subs)] / f"bad_{k}", k) for i, k in enumerate(BAD_KINDS)]


@pytest.mark.parametrize("classes", [(), ("cats", "dogs")], ids=["flat", "class-subfolders"])
@pytest.mark.parametrize("image_size", [None, 8], ids=["probed", "sized"])
def test_image_folder_reports_every_bad_file_once(
    tmp_path: Path, data_dir: Path, classes: tuple[str, ...], image_size: int | None
) -> None:
    folder = tmp_path / "imgs"
    bad = make_folder(folder, classes)
    n_files = 2 * max(1, len(classes)) + len(bad)
    with pytest.raises(ValueError, match=f"4 of {n_files} image files in {re.escape(str(folder))}") as info:
        load("image_folder", root=folder, image_size=image_size)
    msg = str(info.value)
    assert_clean(info.value)
    assert msg.startswith("image_folder: ")
    for p in bad:  # every bad file, whether its header (text, empty) or its pixels (truncated) fail
        assert str(p) in msg
    assert "good0.png" not in msg and "more" not in msg
    assert "Delete or replace these files, or re-download the data set" in msg
    assert not list((data_dir / "cache").glob("image_folder-*")), "nothing cached from a failed build"


def test_image_folder_lists_ten_then_counts(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    save_image(folder / "ok.png")
    for i in range(13):
        write_bad(folder / f"bad{i:02d}.png", "empty.png")
    with pytest.raises(ValueError, match="13 of 14 image files") as info:
        load("image_folder", root=folder)
    msg = str(info.value)
    assert [f"bad{i:02d}.png" in msg for i in range(13)] == [True] * 10 + [False] * 3
    assert "... and 3 more" in msg


def test_bad_file_keeps_the_existing_cache(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "imgs"
    for i in range(3):
        save_image(folder / f"{i}.png", seed=i)
    first = load("image_folder", root=folder)
    cached = {p: p.read_bytes() for p in (data_dir / "cache").glob("image_folder-*")}
    assert len(cached) == 2  # .pt + .json sidecar
    bad = write_bad(folder / "3.png", "truncated.png")
    with pytest.raises(ValueError, match="1 of 4 image files"):
        load("image_folder", root=folder)
    assert {p: p.read_bytes() for p in (data_dir / "cache").glob("image_folder-*")} == cached
    bad.unlink()  # fixed: the old cache is still valid and is used without decoding anything
    calls = []
    monkeypatch.setattr(folders, "decode_images", lambda *a, **k: calls.append(a))
    assert load("image_folder", root=folder).images.equal(first.images) and not calls


# --------------------------------------------------------------------------- IDX / CIFAR files
def test_corrupt_idx_and_cifar_files_say_how_to_fix(tmp_path: Path) -> None:
    payload = struct.pack(">BBBBI", 0, 0, 0x08, 1, 4) + bytes(4)
    gz = tmp_path / "labels.gz"
    gz.write_bytes(gzip.compress(payload)[:-12])
    with pytest.raises(ValueError, match=f"labels.gz is a truncated or corrupt gzip file.*{FIX}") as info:
        read_idx(gz)
    assert_clean(info.value)
    empty = tmp_path / "images-idx3-ubyte"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=f"not an IDX file.*empty file.*{FIX}"):
        read_idx(empty)
    batch = tmp_path / "data_batch_1"
    batch.write_bytes(b"")
    with pytest.raises(ValueError, match=f"data_batch_1 is a truncated or corrupt CIFAR python batch.*{FIX}") as info:
        read_cifar_batch(batch)
    assert_clean(info.value)
