"""Big data caches: written without a second in-memory copy, hashed once, then trusted by their
stamp and memory-mapped (issue 18's Colab-memory item; ``python -m ganlab.bench cache``)."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import pytest
import torch

import ganlab.io
from ganlab.bench.cache_bench import measure
from ganlab.data.cache import cache_paths, load_or_build
from ganlab.io import read_sidecar


def _build() -> tuple[dict[str, torch.Tensor], dict]:
    return {"images": torch.arange(3 * 8 * 8 * 10, dtype=torch.int64).remainder(256).to(torch.uint8).reshape(10, 3, 8, 8)}, {"n": 10}


def _count_hashes(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = ganlab.io.sha256_file

    def counting(path, *args, **kwargs):
        calls.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(ganlab.io, "sha256_file", counting)
    return calls


def test_a_verified_cache_is_not_hashed_again(tmp_path: Path, monkeypatch) -> None:
    built, _ = load_or_build(tmp_path, "k", _build)
    pt, _ = cache_paths(tmp_path, "k")
    assert read_sidecar(pt)["verified"] == ganlab.io.file_stamp(pt)
    calls = _count_hashes(monkeypatch)
    again, meta = load_or_build(tmp_path, "k", lambda: pytest.fail("rebuilt a valid cache"))
    assert torch.equal(again["images"], built["images"]) and meta == {"n": 10}
    assert calls == []  # trusted by its stamp
    again["images"] += 1  # memory-mapped copy-on-write: in-place changes stay in memory
    assert torch.equal(load_or_build(tmp_path, "k", _build)[0]["images"], built["images"])


def test_a_changed_file_is_hashed_once_then_trusted(tmp_path: Path, monkeypatch) -> None:
    load_or_build(tmp_path, "k", _build)
    pt, _ = cache_paths(tmp_path, "k")
    os.utime(pt, ns=(1, 1))  # copied from elsewhere: same bytes, new identity
    calls = _count_hashes(monkeypatch)
    load_or_build(tmp_path, "k", lambda: pytest.fail("rebuilt an intact cache"))
    assert calls == [str(pt)]
    load_or_build(tmp_path, "k", lambda: pytest.fail("rebuilt an intact cache"))
    assert calls == [str(pt)]  # hashed once


def test_a_corrupt_file_with_a_new_stamp_is_rebuilt(tmp_path: Path) -> None:
    load_or_build(tmp_path, "k", _build)
    pt, _ = cache_paths(tmp_path, "k")
    data = bytearray(pt.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pt.write_bytes(bytes(data))
    rebuilt = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_or_build(tmp_path, "k", lambda: (rebuilt.append(1), _build())[1])
    assert rebuilt == [1] and any("sha256" in str(w.message) for w in caught)


def test_atomic_torch_save_digest_is_the_file_sum(tmp_path: Path) -> None:
    digest = ganlab.io.atomic_torch_save(tmp_path / "x.pt", {"a": torch.ones(3)})
    assert digest == ganlab.io.sha256_file(tmp_path / "x.pt")
    assert [p.name for p in tmp_path.iterdir()] == ["x.pt"]  # no temporary left behind


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_peak_memory_of_building_and_loading(tmp_path: Path) -> None:
    r = measure(0.2, tmp_path)
    data, base = r["data_gb"], r["baseline_rss_gb"]

    def extra(phase: str) -> float:
        return r[phase]["peak_rss_gb"] - base

    assert extra("build") < 1.35 * data, r            # the data once, not twice
    assert extra("build_buffered") > 1.7 * data, r    # the old way: a second full copy (the test can fail)
    assert extra("load") < 0.1 * data, r              # mapped, nothing read yet
    assert 0.8 * data < extra("load_touch") < 1.35 * data, r
    assert extra("load_verify") < 0.2 * data, r       # hashing streams the file
