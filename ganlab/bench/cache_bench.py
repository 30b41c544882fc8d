"""Peak memory of building and loading a big uint8 data cache (the CelebA-64 size is ~2.5 GB).

Each phase runs in its own Python process, which reports its peak resident memory (``VmHWM`` of
``/proc/self/status``) and its time:

* ``build``: make ``--gb`` GB of synthetic uint8 images and write them with
  :func:`ganlab.data.cache.load_or_build` (``torch.save`` straight into the temporary file);
* ``build_buffered``: the same tensors serialised into an in-memory buffer first, then written
  (how the cache was written before: a second full copy of the data);
* ``load``: a later load of the verified cache (no hash, memory-mapped), without touching pixels;
* ``load_touch``: the same, then reads every byte (a training epoch's worth);
* ``load_verify``: the first load after the file changed identity (hash checked once).

``python -m ganlab.bench cache --gb 2.5 --dir /tmp/cache-bench`` prints one JSON line with the
data size and, per phase, ``peak_rss_gb`` and ``seconds``. Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["add_arguments", "run", "PHASES"]

PHASES = ("build", "build_buffered", "load", "load_touch", "load_verify")

_CHILD = r'''
import io, json, os, sys, time
from pathlib import Path
import torch
from ganlab.data.cache import load_or_build, cache_paths
from ganlab.io import atomic_write_bytes, read_sidecar, atomic_write_json, sidecar_path

phase, folder, nbytes = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
side = 64
n = max(1, nbytes // (3 * side * side))

def make():
    images = torch.empty((n, 3, side, side), dtype=torch.uint8)
    gen = torch.Generator().manual_seed(0)
    for i in range(0, n, 1024):  # in chunks: no temporary bigger than 12 MB
        images[i:i + 1024] = torch.randint(0, 256, images[i:i + 1024].shape, dtype=torch.uint8, generator=gen)
    return {"images": images, "labels": torch.zeros(n, dtype=torch.int64)}, {}

t0 = time.perf_counter()
if phase == "build":
    tensors, _ = load_or_build(folder, "bench", make)
elif phase == "build_buffered":
    tensors, _ = make()
    buf = io.BytesIO()
    torch.save(tensors, buf)
    atomic_write_bytes(folder / "buffered.pt", buf.getvalue())
else:
    if phase == "load_verify":  # forget the stamp: the next load hashes the file once
        meta = read_sidecar(cache_paths(folder, "bench")[0])
        meta.pop("verified", None)
        atomic_write_json(sidecar_path(cache_paths(folder, "bench")[0]), meta)
    tensors, _ = load_or_build(folder, "bench", lambda: (_ for _ in ()).throw(RuntimeError("rebuilt")))
    if phase == "load_touch":
        total = int(tensors["images"].view(-1)[:: 4096].sum())  # every page of the images
seconds = time.perf_counter() - t0
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"peak_rss_gb": round(hwm / 2**20, 3), "seconds": round(seconds, 2), "images": n}))
'''


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m ganlab.bench cache``."""
    parser.add_argument("--gb", type=float, default=2.5, help="size of the synthetic cache in GB (2**30 bytes)")
    parser.add_argument("--dir", type=Path, default=None, help="folder for the cache files (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the files afterwards")


def measure(gb: float, folder: Path) -> dict[str, Any]:
    """Run every phase in a fresh process; returns ``{"data_gb", "baseline_rss_gb", phase: {...}}``."""
    folder.mkdir(parents=True, exist_ok=True)
    nbytes = int(gb * 2**30)
    out: dict[str, Any] = {"data_gb": round(nbytes / 2**30, 3)}
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # the interpreter with torch and ganlab imported, nothing else: what every phase starts from
    base = subprocess.run([sys.executable, "-c", _CHILD.split("t0 = ")[0] + "\nhwm = next(int(l.split()[1]) for l in "
                           "open('/proc/self/status') if l.startswith('VmHWM:'))\nprint(hwm)", "none", str(folder), "1"],
                          capture_output=True, text=True, env=env, check=True)
    out["baseline_rss_gb"] = round(int(base.stdout.strip()) / 2**20, 3)
    for phase in PHASES:
        proc = subprocess.run([sys.executable, "-c", _CHILD, phase, str(folder), str(nbytes)],
                              capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"phase {phase} failed:\n{proc.stderr[-2000:]}")
        out[phase] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    """``python -m ganlab.bench cache``: measure, clean up, return the JSON-able result."""
    folder = args.dir or Path(tempfile.mkdtemp(prefix="ganlab-cache-bench-"))
    try:
        return {"bench": "cache", **measure(args.gb, folder)}
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
