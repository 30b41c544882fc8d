"""ganlab.data's online translation / super-resolution sets against tiny files in their real
on-disk formats; never the network.

``facades`` (pix2pix's [photo | label map] JPEGs), ``monet2photo`` (CycleGAN's trainA/trainB
folders), ``set5`` / ``set14`` (HR images of the SR benchmarks). Every test replaces
``translation_sets.http_download`` with one that fails like an offline machine, unless it installs
one that copies a locally built archive.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganlab.data import DatasetUnavailableError, load, translation_sets
from ganlab.data.photos import downsample
from ganlab.data.unpaired import UnpairedDataset
from ganlab.io import sha256_file

Calls = list[tuple[str, Path]]
REAL_DOWNLOAD = translation_sets.http_download  # before the autouse fixture replaces it


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Calls:
    """No network: every download raises as on a machine without internet; calls are recorded."""
    monkeypatch.setenv("GANLAB_DATA_DIR", str(tmp_path / "default-root"))
    calls: Calls = []

    def fail(url: str, dest: Path) -> Path:
        calls.append((url, dest))
        raise OSError("[Errno 101] Network is unreachable (test)")

    monkeypatch.setattr(translation_sets, "http_download", fail)
    return calls


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "data"


def serve(monkeypatch: pytest.MonkeyPatch, archive: Path) -> Calls:
    """Replace the download with a copy of the local ``archive``; returns the recorded calls."""
    calls: Calls = []

    def copy(url: str, dest: Path) -> Path:
        calls.append((url, dest))
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(archive, dest)
        return dest

    monkeypatch.setattr(translation_sets, "http_download", copy)
    return calls


def count_calls(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    counter = [0]
    real: Callable[..., object] = getattr(translation_sets, name)

    def counting(*args: object, **kwargs: object) -> object:
        counter[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(translation_sets, name, counting)
    return counter


def save(path: Path, arr: np.ndarray, **kw: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, **kw)


def solid(h: int, w: int, rgb: tuple[int, int, int]) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, np.uint8), (h, w, 3)).copy()


# --------------------------------------------------------------------------- facades
def photo_colour(n: int) -> tuple[int, int, int]:
    return (20 * n, 40, 200)


def label_colour(n: int) -> tuple[int, int, int]:
    return (230, 200 - 10 * n, 10)


def write_facade(path: Path, n: int) -> None:
    """pix2pix's format: one 512x256 JPEG, the photo on the left, the label map on the right."""
    save(path, np.concatenate([solid(256, 256, photo_colour(n)), solid(256, 256, label_colour(n))], axis=1), quality=95)


def make_facades(base: Path, numbers: dict[str, list[int]]) -> None:
    for split, ns in numbers.items():
        for n in ns:
            write_facade(base / "facades" / split / f"{n}.jpg", n)


def colours(images: torch.Tensor) -> list[list[int]]:
    """Mean RGB of the inner part of every image (JPEG edges left out), rounded."""
    return images[:, :, 4:-4, 4:-4].float().mean((2, 3)).round().int().tolist()


def close(got: list[list[int]], want: list[tuple[int, int, int]], tol: int = 4) -> bool:
    return len(got) == len(want) and all(abs(g - w) <= tol for gs, ws in zip(got, want) for g, w in zip(gs, ws))


def facades_tar(tmp_path: Path, numbers: dict[str, list[int]]) -> Path:
    src = tmp_path / "build"
    make_facades(src, numbers)
    archive = tmp_path / "served" / "facades.tar.gz"
    archive.parent.mkdir(parents=True)
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(src / "facades", arcname="facades")
    return archive


def test_facades_label_map_is_the_source_photo_the_target(root: Path) -> None:
    make_facades(root, {"train": [1, 2, 10], "val": [3], "test": [4, 5]})
    train = load("facades", root=root, image_size=64)
    assert train.images.shape == (3, 3, 64, 64) and train.images.dtype == torch.uint8
    assert train.sources.shape == (3, 3, 64, 64) and train.sources.dtype == torch.uint8
    # numeric file order (1, 2, 10), target = left half (photo), source = right half (label map)
    assert close(colours(train.images), [photo_colour(n) for n in (1, 2, 10)])
    assert close(colours(train.sources), [label_colour(n) for n in (1, 2, 10)])
    assert train.info.kind == "paired" and train.info.size == 64 and train.info.channels == 3
    batch = train.batch(torch.tensor([2, 0]))
    assert batch.source.shape == batch.real.shape == (2, 3, 64, 64)
    assert float(batch.source[0, 1].mean()) == pytest.approx(float(train.sources[2, 1].float().mean()) / 127.5 - 1, abs=1e-5)
    assert [len(load("facades", root=root, split=s, image_size=64)) for s in ("val", "test", "all")] == [1, 2, 6]
    every = load("facades", root=root, split="all", image_size=64)
    assert torch.equal(every.images[:3], train.images) and torch.equal(every.sources[3:4], load(
        "facades", root=root, split="val", image_size=64).sources)
    assert load("facades", root=root).images.shape == (3, 3, 256, 256)  # default size: the native halves
    two = load("facades", root=root, image_size=64, limit=2)
    assert len(two) == 2 and all(
        any(torch.equal(two.images[i], train.images[j]) and torch.equal(two.sources[i], train.sources[j])
            for j in range(3)) for i in range(2))  # a limit keeps pairs together


def test_facades_cache_is_checksummed_and_reused(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_facades(root, {"train": [1, 2]})
    reads = count_calls(monkeypatch, "_iter_rgb")
    first = load("facades", root=root, image_size=32)
    assert reads[0] == 1
    pt, side = root / "cache" / "facades-train-32-3.pt", root / "cache" / "facades-train-32-3.json"
    meta = json.loads(side.read_text())
    assert meta["sha256"] == sha256_file(pt) and meta["shapes"] == {"images": [2, 3, 32, 32], "sources": [2, 3, 32, 32]}
    shutil.rmtree(root / "facades")  # the raw files are not needed any more
    second = load("facades", root=root, image_size=32)
    assert reads[0] == 1
    assert torch.equal(first.images, second.images) and torch.equal(first.sources, second.sources)


def test_facades_archive_is_downloaded_once_and_unpacked(tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = serve(monkeypatch, facades_tar(tmp_path, {"train": [1, 7], "val": [2], "test": [3]}))
    train = load("facades", root=root, image_size=32)
    assert calls == [(translation_sets.FACADES_URL, root / "facades.tar.gz")]
    assert close(colours(train.sources), [label_colour(1), label_colour(7)])
    assert (root / "facades" / "test" / "3.jpg").is_file()
    assert not (root / "facades.tar.gz").exists()  # a downloaded archive is deleted once unpacked
    assert len(load("facades", root=root, split="test", image_size=32)) == 1
    load("facades", root=root, image_size=32)
    assert len(calls) == 1  # the test split found the unpacked files, the second train load the cache


def test_facades_archive_placed_by_hand_needs_no_network(tmp_path: Path, root: Path, offline: Calls) -> None:
    root.mkdir()
    shutil.copyfile(facades_tar(tmp_path, {"train": [4]}), root / "facades.tar.gz")
    ds = load("facades", root=root, image_size=16, download=False)
    assert len(ds) == 1 and close(colours(ds.images), [photo_colour(4)], tol=6)
    assert offline == [] and (root / "facades.tar.gz").is_file()  # a hand-placed archive is kept


def test_facades_damaged_archive_is_a_clear_error(root: Path) -> None:
    root.mkdir()
    (root / "facades.tar.gz").write_bytes(b"\x1f\x8b not really a tarball")
    with pytest.raises(DatasetUnavailableError, match="facades.tar.gz could not be unpacked.*delete or replace it"):
        load("facades", root=root)


def test_facades_bad_jpeg_names_the_file(root: Path) -> None:
    make_facades(root, {"train": [1]})
    (root / "facades" / "train" / "2.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match=r"(?s)facades: 1 of 2 image files.*2\.jpg: empty file \(0 bytes\)"):
        load("facades", root=root)


# --------------------------------------------------------------------------- offline errors
SR_URL5, SR_URL14 = translation_sets.SR_URLS["set5"], translation_sets.SR_URLS["set14"]


@pytest.mark.parametrize(("name", "split", "url", "hint"), [
    ("facades", "train", translation_sets.FACADES_URL, "facades/train/1.jpg"),
    ("monet2photo", "test", translation_sets.MONET2PHOTO_URL, "trainA, trainB, testA and testB"),
    ("set5", "test", SR_URL5, "the 5 HR images"),
    ("set14", "all", SR_URL14, "the 14 HR images"),
])
def test_offline_error_names_set_folder_url_and_manual_steps(root: Path, offline: Calls, name: str, split: str,
                                                             url: str, hint: str) -> None:
    with pytest.raises(DatasetUnavailableError) as exc:
        load(name, root=root, split=split)
    msg = str(exc.value)
    assert f"dataset '{name}' is not available" in msg and f"not in {root / name} " in msg
    assert url in msg and "Network is unreachable" in msg and "place the files by hand" in msg and hint in msg
    assert exc.value.__cause__ is None and exc.value.__suppress_context__
    assert offline == [(url, root / Path(url).name)]
    with pytest.raises(DatasetUnavailableError, match=f"'{name}'.*download=False was given.*{Path(url).name}"):
        load(name, root=root, split=split, download=False)
    assert len(offline) == 1


def test_bad_image_size_split_and_channels_are_value_errors(root: Path, offline: Calls) -> None:
    for name in ("facades", "monet2photo"):
        for size in (30, 12, 260):
            with pytest.raises(ValueError, match=f"{name} image_size={size} is not accepted; accepted: a multiple of 4 in 16..256"):
                load(name, root=root, image_size=size)
    with pytest.raises(ValueError, match="split 'valid' is not available for 'facades'; accepted: 'train', 'val', 'test', 'all'"):
        load("facades", root=root, split="valid")
    with pytest.raises(ValueError, match="split 'train' is not available for 'set5'; accepted: 'test', 'all'"):
        load("set5", root=root)
    with pytest.raises(ValueError, match="split 'all' is not available for 'monet2photo'"):
        load("monet2photo", root=root, split="all")
    for name, split in (("facades", "train"), ("set14", "test")):
        with pytest.raises(ValueError, match=f"{name} is RGB.*given channels=1; accepted: channels=3 or None"):
            load(name, root=root, split=split, channels=1)
    with pytest.raises(ValueError, match="set5 image_size=18 is not accepted; accepted: None .* multiple of 4"):
        load("set5", root=root, split="test", image_size=18)
    assert offline == []  # every bad request is refused before any download


# --------------------------------------------------------------------------- monet2photo
MONET, PHOTO = (200, 60, 30), (40, 160, 60)
MONET_COUNTS = {"trainA": 3, "trainB": 5, "testA": 1, "testB": 2}


def make_monet2photo(base: Path) -> None:
    for folder, n in MONET_COUNTS.items():
        rgb = MONET if folder.endswith("A") else PHOTO
        for i in range(n):
            save(base / "monet2photo" / folder / f"{i:05d}.jpg", solid(256, 256, rgb), quality=95)


def test_monet2photo_two_domains(root: Path) -> None:
    make_monet2photo(root)
    ds = load("monet2photo", root=root, image_size=32)
    assert isinstance(ds, UnpairedDataset) and ds.shape == (3, 32, 32) and len(ds) == 5
    assert ds.a.images.shape == (3, 3, 32, 32) and ds.b.images.shape == (5, 3, 32, 32)
    assert close(colours(ds.a.images), [MONET] * 3) and close(colours(ds.b.images), [PHOTO] * 5)
    assert (ds.a.info.name, ds.b.info.name, ds.info.name) == ("monet", "photo", "monet2photo")
    assert "trainA" in ds.a.info.source and "trainB" in ds.b.info.source and ds.a.sources is None
    order = ds.epoch_order(0, seed=0)
    assert order.shape == (5, 2) and sorted(order[:, 1].tolist()) == list(range(5))
    batch = ds.batch(order[:2])
    assert batch.real.shape == batch.other.shape == (2, 3, 32, 32)
    test = load("monet2photo", root=root, split="test", image_size=32)
    assert (len(test.a), len(test.b), len(test)) == (1, 2, 2)
    assert load("monet2photo", root=root).shape == (3, 256, 256)
    grey = load("monet2photo", root=root, image_size=32, channels=1)
    assert grey.a.images.shape == (3, 1, 32, 32) and grey.b.images.shape == (5, 1, 32, 32)
    assert (root / "cache" / "monet2photo-train-32-3.pt").is_file()


def test_monet2photo_zip_download(tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "build"
    make_monet2photo(src)
    archive = tmp_path / "served" / "monet2photo.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted((src / "monet2photo").rglob("*.jpg")):
            zf.write(p, p.relative_to(src).as_posix())
    calls = serve(monkeypatch, archive)
    ds = load("monet2photo", root=root, split="test", image_size=16)
    assert (len(ds.a), len(ds.b)) == (1, 2)
    assert calls == [(translation_sets.MONET2PHOTO_URL, root / "monet2photo.zip")]
    assert sorted(p.name for p in (root / "monet2photo").iterdir()) == sorted(MONET_COUNTS)
    assert not (root / "monet2photo.zip").exists()


def test_http_download_writes_the_whole_file_atomically(tmp_path: Path) -> None:
    src = tmp_path / "served.bin"
    src.write_bytes(bytes(range(256)) * 4096)  # 1 MiB: more than one read chunk
    dest = tmp_path / "got" / "served.bin"
    assert REAL_DOWNLOAD(src.as_uri(), dest) == dest and dest.read_bytes() == src.read_bytes()
    with pytest.raises(OSError):
        REAL_DOWNLOAD((tmp_path / "missing.bin").as_uri(), tmp_path / "got" / "missing.bin")
    assert sorted(p.name for p in dest.parent.iterdir()) == ["served.bin"]  # no temporary file left


def test_unpack_refuses_members_outside_the_folder(tmp_path: Path) -> None:
    evil_zip, evil_tar = tmp_path / "evil.zip", tmp_path / "evil.tar.gz"
    with zipfile.ZipFile(evil_zip, "w") as zf:
        zf.writestr("../outside.txt", "no")
    with tarfile.open(evil_tar, "w:gz") as tf:
        member = tarfile.TarInfo("../outside.txt")
        member.size = 2
        tf.addfile(member, io.BytesIO(b"no"))
    for archive, match in ((evil_zip, "outside the folder"), (evil_tar, "not plain data inside the folder")):
        with pytest.raises(ValueError, match=match):
            translation_sets.unpack(archive, tmp_path / "into")
    with tarfile.open(evil_tar) as tf, pytest.raises(ValueError, match="'../outside.txt'"):
        translation_sets._check_tar_members(evil_tar, tf, tmp_path / "into")  # the check for older Pythons
    assert not (tmp_path / "outside.txt").exists()


# --------------------------------------------------------------------------- set5 / set14
SR_SIZES = [(52, 60), (48, 48), (45, 70), (64, 50), (47, 47)]  # (H, W); the smallest side 45 -> S = 44


def gradient(h: int, w: int, k: int) -> np.ndarray:
    """uint8 (h, w, 3) whose every pixel says where it is: (3x, 3y, x + y + 40k) mod 256."""
    y, x = np.mgrid[0:h, 0:w]
    return (np.stack([3 * x, 3 * y, x + y + 40 * k], axis=-1) % 256).astype(np.uint8)


def make_set5(folder: Path, sizes: list[tuple[int, int]] = SR_SIZES) -> list[np.ndarray]:
    """One PNG per size below folder/Set5_HR (the mirror's layout), the third one grey; returns them as RGB."""
    out = []
    for k, (h, w) in enumerate(sizes):
        arr = gradient(h, w, k)
        if k == 2:
            arr = np.repeat(arr[..., :1], 3, axis=-1)
            save(folder / "Set5_HR" / f"img{k}.png", arr[..., 0])  # mode "L"
        else:
            save(folder / "Set5_HR" / f"img{k}.png", arr)
        out.append(arr)
    return out


def centre(arr: np.ndarray, side: int) -> np.ndarray:
    h, w = arr.shape[:2]
    top, left = (h - side) // 2, (w - side) // 2
    return arr[top:top + side, left:left + side]


def test_set5_centre_squares_grey_to_rgb_and_bicubic_sources(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    arrays = make_set5(root / "set5")
    assert Image.open(root / "set5" / "Set5_HR" / "img2.png").mode == "L"
    ds = load("set5", root=root, split="test")
    assert ds.images.shape == (5, 3, 44, 44) and ds.sources.shape == (5, 3, 11, 11) and ds.info.size == 44
    for k, arr in enumerate(arrays):  # each target is exactly its image's centre 44 x 44 pixels
        assert np.array_equal(ds.images[k].permute(1, 2, 0).numpy(), centre(arr, 44)), k
    assert torch.equal(ds.images[2, 0], ds.images[2, 1]) and torch.equal(ds.images[2, 0], ds.images[2, 2])
    assert torch.equal(ds.sources, downsample(ds.images))
    reads = count_calls(monkeypatch, "_iter_rgb")
    every = load("set5", root=root, split="all")
    assert torch.equal(every.images, ds.images) and reads[0] == 0  # the same cache entry
    small = load("set5", root=root, split="test", image_size=16)
    assert small.images.shape == (5, 3, 16, 16) and small.sources.shape == (5, 3, 4, 4)
    assert np.array_equal(small.images[0].permute(1, 2, 0).numpy(), centre(centre(arrays[0], 44), 16))
    assert torch.equal(small.sources, downsample(small.images)) and reads[0] == 0
    with pytest.raises(ValueError, match="set5 image_size=48 is not accepted; accepted: None .*44 px here.*16..44"):
        load("set5", root=root, split="test", image_size=48)


def test_set5_wrong_number_of_files_is_a_value_error(root: Path, offline: Calls) -> None:
    make_set5(root / "set5", SR_SIZES[:4])
    with pytest.raises(ValueError, match="set5 expects the 5 high-resolution images.*found 4: Set5_HR/img0.png"):
        load("set5", root=root, split="test")
    assert offline == []  # files were there: no download


def test_set14_mirror_tarball(tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "build" / "Set14_HR"
    for k in range(14):
        save(src / f"img_{k:03d}.png", gradient(26 + k, 30, k))
    archive = tmp_path / "served" / "Set14_HR.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(src, arcname="Set14_HR")
    calls = serve(monkeypatch, archive)
    ds = load("set14", root=root, split="test")
    assert calls == [(SR_URL14, root / "Set14_HR.tar.gz")] and not (root / "Set14_HR.tar.gz").exists()
    assert ds.images.shape == (14, 3, 24, 24) and ds.sources.shape == (14, 3, 6, 6)
    assert np.array_equal(ds.images[13].permute(1, 2, 0).numpy(), centre(gradient(39, 30, 13), 24))
    assert (root / "set14" / "Set14_HR" / "img_000.png").is_file()
