"""ganlab.data online loaders against small files in the real on-disk formats; never the network.

Every test replaces the two download functions with ones that fail like an offline machine
(``downloads.torchvision_download`` / ``downloads.kaggle_download``), unless it installs its own.
"""

from __future__ import annotations

import gzip
import json
import pickle
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganlab.data import DatasetUnavailableError, downloads, folders, load, online
from ganlab.data.formats import read_cifar_batch, read_idx
from ganlab.io import sha256_file


class Calls(list):
    """Records the arguments of every call of a patched function."""


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Calls]:
    """No network: both downloaders raise as on a machine without internet; calls are recorded."""
    monkeypatch.setenv("GANLAB_DATA_DIR", str(tmp_path / "default-root"))
    calls = {"torchvision": Calls(), "kaggle": Calls()}

    def no_net(kind: str) -> Callable[..., None]:
        def fail(*args: object, **kwargs: object) -> None:
            calls[kind].append(args)
            raise OSError("[Errno 101] Network is unreachable (test)")

        return fail

    monkeypatch.setattr(downloads, "torchvision_download", no_net("torchvision"))
    monkeypatch.setattr(downloads, "kaggle_download", no_net("kaggle"))
    monkeypatch.setattr(online, "torchvision_download", no_net("torchvision"))
    monkeypatch.setattr(folders, "torchvision_download", no_net("torchvision"))
    monkeypatch.setattr(folders, "kaggle_download", no_net("kaggle"))
    return calls


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "data"


# --------------------------------------------------------------------------- writers
def write_idx(path: Path, arr: np.ndarray, gz: bool) -> None:
    """An IDX file as LeCun's format defines it (uint8 payload), optionally gzip'd."""
    payload = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    payload += np.ascontiguousarray(arr, dtype=np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)


def make_idx_set(root: Path, folder: str, gz: bool, n_train: int = 30, n_test: int = 10) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out = {}
    for split, stem, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = (np.arange(n) % 10).astype(np.uint8)
        write_idx(root / folder / "raw" / f"{stem}-images-idx3-ubyte", x, gz)
        write_idx(root / folder / "raw" / f"{stem}-labels-idx1-ubyte", y, gz)
        out[f"{split}_x"], out[f"{split}_y"] = x, y
    return out


def make_cifar(root: Path, per_batch: int = 4, n_test: int = 6) -> dict[str, np.ndarray]:
    """cifar-10-batches-py/ with five train batches, a test batch and batches.meta (pickled dicts)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    xs, ys = [], []
    for name, n in [*[(f"data_batch_{i}", per_batch) for i in range(1, 6)], ("test_batch", n_test)]:
        x = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        y = [int(v) for v in rng.integers(0, 10, n)]
        with open(folder / name, "wb") as fh:
            pickle.dump({"batch_label": name, "labels": y, "data": x, "filenames": [f"{i}.png" for i in range(n)]}, fh, protocol=2)
        xs.append(x)
        ys.append(y)
    with open(folder / "batches.meta", "wb") as fh:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)], "num_cases_per_batch": per_batch}, fh)
    return {"train_x": np.concatenate(xs[:5]), "train_y": np.concatenate(ys[:5]), "test_x": xs[5], "test_y": np.array(ys[5])}


def save_image(path: Path, arr: np.ndarray, mode: str | None = None, **kw: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr, mode).save(path, **kw) if mode else Image.fromarray(arr).save(path, **kw)


def framed_face(rng: np.random.Generator) -> np.ndarray:
    """178x218 RGB: red outside the central 140x140 square (the crop), blue-ish noise inside."""
    img = np.zeros((218, 178, 3), dtype=np.uint8)
    img[..., 0] = 255
    top, left = (218 - 140) // 2, (178 - 140) // 2
    img[top : top + 140, left : left + 140] = 0
    img[top : top + 140, left : left + 140, 2] = rng.integers(150, 256, (140, 140))
    return img


# --------------------------------------------------------------------------- MNIST / Fashion-MNIST
@pytest.mark.parametrize(("name", "folder", "gz"), [("mnist", "MNIST", True), ("fashion_mnist", "FashionMNIST", False)])
def test_idx_sets_read_the_torchvision_layout(root: Path, name: str, folder: str, gz: bool) -> None:
    ref = make_idx_set(root, folder, gz)
    train = load(name, root=root)
    assert train.images.shape == (30, 1, 28, 28) and train.images.dtype == torch.uint8
    assert np.array_equal(train.images[:, 0].numpy(), ref["train_x"])
    assert train.labels.tolist() == ref["train_y"].tolist() and train.labels.dtype == torch.int64
    test = load(name, split="test", root=root)
    assert np.array_equal(test.images[:, 0].numpy(), ref["test_x"])
    assert len(load(name, split="all", root=root)) == 40
    assert train.info.n_classes == 10 and train.info.size == 28
    big = load(name, root=root, image_size=32, channels=3)
    assert big.images.shape == (30, 3, 32, 32)
    assert torch.bincount(load(name, root=root, limit=10).labels).tolist() == [1] * 10


def test_cache_file_has_checksum_sidecar(root: Path) -> None:
    make_idx_set(root, "MNIST", gz=True)
    load("mnist", root=root)
    pt, side = root / "cache" / "mnist-train-28-1.pt", root / "cache" / "mnist-train-28-1.json"
    meta = json.loads(side.read_text())
    assert meta["sha256"] == sha256_file(pt)
    assert meta["shapes"] == {"images": [30, 1, 28, 28], "labels": [30]}


def count_calls(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[int]:
    counter = [0]
    real = getattr(module, name)

    def counting(*args: object, **kwargs: object) -> object:
        counter[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return counter


def test_cache_is_reused_without_rebuilding(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_idx_set(root, "MNIST", gz=True)
    reads = count_calls(monkeypatch, online, "read_idx")
    first = load("mnist", root=root)
    assert reads[0] == 2
    for f in (root / "MNIST" / "raw").iterdir():  # the raw files are not even needed any more
        f.unlink()
    second = load("mnist", root=root)
    assert reads[0] == 2
    assert torch.equal(first.images, second.images) and torch.equal(first.labels, second.labels)
    # other sizes / channel counts are derived from the native cache, not from the raw files
    rgb32 = load("mnist", root=root, image_size=32, channels=3)
    assert rgb32.images.shape == (30, 3, 32, 32) and reads[0] == 2
    assert (root / "cache" / "mnist-train-32-3.pt").is_file()


@pytest.mark.parametrize("damage", ["truncate", "flip", "no_sidecar"])
def test_corrupt_cache_is_detected_and_rebuilt(root: Path, monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    make_idx_set(root, "MNIST", gz=False)
    good = load("mnist", root=root)
    pt, side = root / "cache" / "mnist-train-28-1.pt", root / "cache" / "mnist-train-28-1.json"
    raw = pt.read_bytes()
    if damage == "truncate":
        pt.write_bytes(raw[: len(raw) // 2])
    elif damage == "flip":
        pt.write_bytes(raw[:-100] + bytes([raw[-100] ^ 0xFF]) + raw[-99:])
    else:
        side.unlink()
    reads = count_calls(monkeypatch, online, "read_idx")
    with pytest.warns(UserWarning, match="rebuilding"):
        again = load("mnist", root=root)
    assert reads[0] == 2 and torch.equal(again.images, good.images)
    assert json.loads(side.read_text())["sha256"] == sha256_file(pt)


def test_offline_failure_names_set_folder_and_manual_steps(root: Path, offline: dict[str, Calls]) -> None:
    with pytest.raises(DatasetUnavailableError) as exc:
        load("mnist", root=root)
    msg = str(exc.value)
    assert "'mnist'" in msg and str(root / "MNIST" / "raw") in msg
    assert "train-images-idx3-ubyte" in msg and "Network is unreachable" in msg
    assert exc.value.__cause__ is None and exc.value.__suppress_context__
    assert len(offline["torchvision"]) == 1 and offline["torchvision"][0][0] == "MNIST"


def test_download_false_never_downloads(root: Path, offline: dict[str, Calls]) -> None:
    for name in ("mnist", "fashion_mnist", "cifar10", "celeba64", "lsun_bedroom64"):
        with pytest.raises(DatasetUnavailableError, match=f"'{name}'.*download=False.*place the files by hand"):
            load(name, root=root, download=False)
    assert offline["torchvision"] == [] and offline["kaggle"] == []


def test_truncated_idx_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "x-idx3-ubyte"
    write_idx(path, np.zeros((5, 28, 28), np.uint8), gz=False)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(path)


# --------------------------------------------------------------------------- CIFAR-10
def test_cifar10_python_batches(root: Path) -> None:
    ref = make_cifar(root)
    train, test = load("cifar10", root=root), load("cifar10", split="test", root=root)
    assert train.images.shape == (20, 3, 32, 32) and test.images.shape == (6, 3, 32, 32)
    assert np.array_equal(train.images.reshape(20, -1).numpy(), ref["train_x"])
    assert train.labels.tolist() == ref["train_y"].tolist()
    assert test.labels.tolist() == ref["test_y"].tolist()
    assert train.info.classes == tuple(f"class{i}" for i in range(10))
    assert load("cifar10", root=root, channels=1, image_size=16).images.shape == (20, 1, 16, 16)


def test_cifar10_unavailable_message(root: Path) -> None:
    with pytest.raises(DatasetUnavailableError, match="cifar-10-python.tar.gz.*cifar-10-batches-py"):
        load("cifar10", root=root)


def test_cifar_reader_refuses_code_in_pickles(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self) -> tuple:
            return (print, ("pwned",))

    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({"data": Evil(), "labels": [0]}))
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        read_cifar_batch(path)


# --------------------------------------------------------------------------- image folders
def test_image_folder_mixed_modes_converted_as_asked(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    red = np.zeros((16, 16, 3), np.uint8)
    red[..., 0] = 255
    save_image(folder / "a_rgb.png", red)
    save_image(folder / "b_grey.png", np.full((16, 16), 100, np.uint8))
    save_image(folder / "c_rgba.png", np.dstack([red, np.full((16, 16), 128, np.uint8)]))
    Image.fromarray(red).convert("P").save(folder / "d_palette.png")
    (folder / "sub").mkdir()
    Image.fromarray(np.full((16, 16), 257 * 100, np.uint16)).save(folder / "sub" / "e_grey16.png")
    save_image(folder / "f_rgb.jpg", red, quality=95)
    (folder / "notes.txt").write_text("not an image")

    rgb = load("image_folder", root=folder)
    assert rgb.images.shape == (6, 3, 16, 16) and rgb.labels is None and rgb.info.source == str(folder)
    assert rgb.images[1].unique().tolist() == [100]  # grey -> RGB keeps the value
    assert rgb.images[0, :, 8, 8].tolist() == [255, 0, 0]
    # files sorted by relative path: a, b, c, d, f.jpg, sub/e
    assert [rgb.images[i, :, 8, 8].tolist() for i in (2, 3)] == [[255, 0, 0]] * 2  # RGBA, palette
    assert rgb.images[5].unique().tolist() == [100]  # 16-bit grey is rescaled, not clipped
    grey = load("image_folder", root=folder, channels=1)
    assert grey.images.shape == (6, 1, 16, 16)
    assert grey.images[0].unique().tolist() == [76]  # red -> L (ITU-R 601)
    assert load("image_folder", root=folder, image_size=8).images.shape == (6, 3, 8, 8)


def test_image_folder_all_grey_defaults_to_one_channel_and_subfolder_labels(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    for cls in ("cats", "dogs"):
        for i in range(3):
            save_image(folder / cls / f"{i}.png", np.full((12, 12), 40 * i, np.uint8))
    ds = load("image_folder", root=folder)
    assert ds.images.shape == (6, 1, 12, 12)
    assert ds.labels.tolist() == [0, 0, 0, 1, 1, 1] and ds.info.classes == ("cats", "dogs")
    assert ds.info.n_classes == 2


def test_image_folder_cache_follows_the_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "imgs"
    for i in range(3):
        save_image(folder / f"{i}.png", np.full((8, 8, 3), 10 * i, np.uint8))
    decodes = count_calls(monkeypatch, folders, "decode_images")
    assert len(load("image_folder", root=folder)) == 3 and decodes[0] == 1
    assert len(load("image_folder", root=folder)) == 3 and decodes[0] == 1  # cached
    save_image(folder / "3.png", np.zeros((8, 8, 3), np.uint8))
    assert len(load("image_folder", root=folder)) == 4 and decodes[0] == 2  # changed -> rebuilt
    assert list((tmp_path / "default-root" / "cache").glob("image_folder-*.pt"))


def test_image_folder_bad_input(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "readme.txt").write_text("no images")
    with pytest.raises(ValueError, match="contains no image files.*\\.png"):
        load("image_folder", root=empty)
    with pytest.raises(ValueError, match="not a folder"):
        load("image_folder", root=tmp_path / "missing")
    mixed = tmp_path / "mixed"
    save_image(mixed / "a.png", np.zeros((8, 8, 3), np.uint8))
    save_image(mixed / "b.png", np.zeros((10, 12, 3), np.uint8))
    with pytest.raises(ValueError, match="8x8, 12x10.*pass image_size="):
        load("image_folder", root=mixed)
    assert load("image_folder", root=mixed, image_size=8).images.shape == (2, 3, 8, 8)


# --------------------------------------------------------------------------- CelebA
def make_celeba(base: Path, numbers: list[int], partition: dict[int, int] | None) -> None:
    rng = np.random.default_rng(2)
    for k in numbers:
        save_image(base / "img_align_celeba" / f"{k:06d}.jpg", framed_face(rng), quality=95)
    if partition is not None:
        lines = [f"{k:06d}.jpg {p}" for k, p in partition.items()]
        (base / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")


def test_celeba64_crop_resize_and_partition(root: Path) -> None:
    make_celeba(root / "celeba", [1, 2, 3, 4, 5, 6], {1: 0, 2: 0, 3: 0, 4: 1, 5: 2, 6: 2})
    train = load("celeba64", root=root)
    assert train.images.shape == (3, 3, 64, 64) and train.labels is None and train.info.size == 64
    assert len(load("celeba64", split="valid", root=root)) == 1
    assert len(load("celeba64", split="test", root=root)) == 2
    assert len(load("celeba64", split="all", root=root)) == 6
    # the red frame lies outside the 140x140 centre crop: nothing red survives
    # (JPEG chroma subsampling may bleed a little red into the outermost pixel ring)
    img = train.images.to(torch.int64)
    assert int(img[:, 0, 1:-1, 1:-1].max()) < 40 and float(img[:, 0].float().mean()) < 10
    assert float(img[:, 2].float().mean()) > 150
    assert load("celeba64", root=root, image_size=32).images.shape == (3, 3, 32, 32)


def test_celeba64_kaggle_layout_and_number_ranges(root: Path) -> None:
    nested = root / "celeba" / "img_align_celeba"
    make_celeba(nested, [1, 2, 162771, 182638], None)  # Kaggle: img_align_celeba/img_align_celeba/
    assert len(load("celeba64", root=root)) == 2
    assert len(load("celeba64", split="valid", root=root)) == 1
    assert len(load("celeba64", split="test", root=root)) == 1


def test_celeba64_unavailable_tries_both_sources(root: Path, offline: dict[str, Calls]) -> None:
    with pytest.raises(DatasetUnavailableError) as exc:
        load("celeba64", root=root)
    msg = str(exc.value)
    assert "img_align_celeba" in msg and "torchvision:" in msg and "kagglehub:" in msg
    assert str(root / "celeba") in msg
    assert len(offline["torchvision"]) == 1 and len(offline["kaggle"]) == 1


# --------------------------------------------------------------------------- LSUN (Kaggle)
def test_lsun_bedroom64_via_kagglehub(tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sample = tmp_path / "kaggle" / "sample" / "data0" / "lsun" / "bedroom"
    rng = np.random.default_rng(3)
    sizes = [(256, 341), (341, 256), (256, 256), (300, 256), (256, 384)]
    for i, (h, w) in enumerate(sizes):
        save_image(sample / str(i % 2) / f"{i:04d}.jpg", rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    calls: list[tuple[str, Path]] = []

    def fake_kaggle(handle: str, output_dir: Path) -> Path:
        calls.append((handle, output_dir))
        return tmp_path / "kaggle"

    monkeypatch.setattr(folders, "kaggle_download", fake_kaggle)
    every = load("lsun_bedroom64", split="all", root=root)
    assert every.images.shape == (5, 3, 64, 64) and every.images.dtype == torch.uint8
    assert calls == [("jhoward/lsun_bedroom", root / "lsun_bedroom")]
    train, test = load("lsun_bedroom64", root=root), load("lsun_bedroom64", split="test", root=root)
    assert (len(train), len(test)) == (4, 1)  # every 50th file (index 0 here) is test
    load("lsun_bedroom64", split="all", root=root)
    assert len(calls) == 3  # train and test needed the files; the second 'all' came from the cache


def test_lsun_unavailable_message(root: Path, offline: dict[str, Calls]) -> None:
    with pytest.raises(DatasetUnavailableError, match="jhoward/lsun_bedroom.*lsun_bedroom"):
        load("lsun_bedroom64", root=root)
    assert offline["kaggle"] and offline["kaggle"][0][0] == "jhoward/lsun_bedroom"
