"""Pretrained generators that ship with the course: load in seconds, or train when absent.

Small generators (DCGAN; StyleGAN-lite for W space) trained on the offline sets live in ``data/checkpoints/`` of the
repository with a :mod:`ganlab.shipped` ``manifest.json`` holding, for each, its file, sha256,
the architecture spec, the training settings and the command that made it (``make checkpoints`` =
``python -m ganlab.course.pretrained --all --out data/checkpoints``, on a CPU).

:func:`load_or_train` is what notebooks call: the shipped checkpoint if the checkout has it
(verified against its sum, loaded with ``weights_only=True``); else one downloaded from the
course repository (``ganlab/course/course.toml``, :func:`checkpoint_url`), when online, checked
against the sha256 pinned here (:data:`SHIPPED_SHA256`) and written atomically; else it trains one
with the profile's budget and keeps it in the session's checkpoint folder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganlab.io import atomic_write_bytes, atomic_write_json, sha256_bytes
from ganlab.shipped import (
    FORMAT,
    MANIFEST,
    ShippedWeightsError,
    load_weights,
    read_manifest,
    save_weights,
)

__all__ = ["SPECS", "train_checkpoint", "load_generator", "load_or_train",
           "shipped_dir", "PretrainedError", "SHIPPED_SHA256", "checkpoint_url",
           "download_checkpoint", "checkpoint_base_url", "fetch_pinned"]

SPECS: dict[str, dict[str, Any]] = {
    "dcgan_mnist5k": {"dataset": "mnist5k", "image_size": 28, "channels": 1, "nz": 64,
                      "ngf": 32, "ndf": 32, "steps": 1500, "batch_size": 64, "family": "dcgan",
                      "ema_decay": 0.995, "seed": 0},
    # shapes: with the published batch-norm D, D overpowers G after ~2,000 steps on this data (2 of
    # 3 shape classes, FID(shapes_cnn) > 1,000); a spectrally normalised D (no batch norm) with
    # the least-squares loss improves steadily (measured: 3 classes and FID 356 at N=500 after
    # 4,000 steps). G is the same DCGAN generator either way.
    "dcgan_shapes": {"dataset": "shapes", "image_size": 32, "channels": 3, "nz": 64,
                     "ngf": 32, "ndf": 32, "steps": 6000, "batch_size": 64, "family": "lsgan",
                     "d_spectral_norm": True, "ema_decay": 0.995, "seed": 0},
    # StyleGAN-lite (ganlab.nets.StyleGenerator) on shapes for notebook 18's W-space controls;
    # family "stylegan" = SN DCGAN D + hinge (ganlab.models.stylegan); `generator` holds the
    # StyleGenerator's settings, `recipe` the optimiser: notebook 11's quick main run (longer is
    # not better at this learning rate: FID stops improving after 600-900 steps; see
    # profiles/11_stylegan_lite.toml).
    "stylegan_shapes": {"dataset": "shapes", "image_size": 32, "channels": 3, "nz": 64,
                        "arch": "stylegan", "generator": {"width": 8, "mapping_depth": 8,
                                                          "layers_per_resolution": 2},
                        "ndf": 16, "steps": 900, "batch_size": 32, "family": "stylegan",
                        "recipe": {"lr_g": 1e-3, "lr_d": 1e-3, "betas": [0.0, 0.99]},
                        "d_spectral_norm": True, "ema_decay": 0.995, "seed": 0},
}
# sha256 of each shipped checkpoint (data/checkpoints/), pinned in the code: a downloaded file is
# used only when it matches. tests/test_colab_path.py checks these equal data/checkpoints/
# manifest.json; after `make checkpoints`, copy the new sums from the manifest here.
SHIPPED_SHA256: dict[str, str] = {
    "dcgan_mnist5k": "7be685e53fbd832433c546dd934028f56577eb166fd3b58b9b9b7ae570af9f3b",
    "dcgan_shapes": "ecdb06b83455f63d9b6b98344f1c0bd1ae9c4c77497144e5e3e86a80334fa8ec",
    "stylegan_shapes": "66a4fc996c0549023cb8727fcf82ee7e57f1fb6d61e09b4a075568ae5fd55cea",
}
DOWNLOAD_TIMEOUT_S = 20.0
MAX_DOWNLOAD_BYTES = 64 << 20
COMMAND = "make checkpoints  (python -m ganlab.course.pretrained --all --out data/checkpoints)"


class PretrainedError(ShippedWeightsError):
    """A checkpoint is unknown, does not match its sha256, or does not fit its architecture."""


def _spec(name: str) -> dict[str, Any]:
    try:
        return SPECS[name]
    except KeyError:
        raise PretrainedError(f"pretrained generator {name!r} is not known; accepted: "
                              f"{', '.join(SPECS)}") from None


def shipped_dir() -> Path | None:
    """``data/checkpoints`` of the checkout this package runs from, if there is one."""
    folder = Path(__file__).resolve().parents[2] / "data" / "checkpoints"
    return folder if (folder / MANIFEST).is_file() else None


def _untrained_generator(name: str) -> nn.Module:
    """The (untrained) generator of checkpoint ``name``'s spec (``arch``: ``"dcgan"``, the default,
    or ``"stylegan"``), from :func:`ganlab.nets.build_generator`: ``(N, nz) -> (N, C, H, W)`` in [-1, 1]."""
    from ganlab.nets import build_generator

    s = _spec(name)
    arch = s.get("arch", "dcgan")
    if arch == "stylegan":
        return build_generator("stylegan", nz=s["nz"], image_size=s["image_size"], channels=s["channels"],
                               **s["generator"])
    return build_generator("dcgan", nz=s["nz"], image_size=s["image_size"], channels=s["channels"],
                           ngf=s["ngf"])


def _train(name: str, steps: int, device: str, checkpoint_dir: Path | None,
           progress: bool) -> tuple[nn.Module, dict[str, Any]]:
    from ganlab.data import load
    from ganlab.models import build
    from ganlab.nets import DCGANDiscriminator
    from ganlab.train import TrainConfig, Trainer

    s = _spec(name)
    torch.manual_seed(s["seed"])
    G = _untrained_generator(name)
    sn = bool(s.get("d_spectral_norm", False))
    D = DCGANDiscriminator(image_size=s["image_size"], channels=s["channels"], ndf=s["ndf"],
                           norm="none" if sn else "batch", spectral_norm=sn)
    recipe = dict(s.get("recipe", {}))
    if "betas" in recipe:
        recipe["betas"] = tuple(recipe["betas"])
    model = build(s["family"], G, D, **recipe)
    ds = load(s["dataset"], split="train", image_size=s["image_size"])
    cfg = TrainConfig(steps=steps, batch_size=s["batch_size"], seed=s["seed"], device=device,
                      ema_decay=s["ema_decay"], log_every=max(1, min(100, steps)),
                      checkpoint_every=max(1, steps // 4) if checkpoint_dir else 0,
                      checkpoint_dir=str(checkpoint_dir) if checkpoint_dir else None,
                      resume=checkpoint_dir is not None, progress=progress, desc=name)
    hist = Trainer(model, ds, cfg).fit()
    G_out = model.G_ema if model.G_ema is not None else model.G
    info = {"steps": steps, "wall_time_s": round(hist.wall_time, 1), "device": device,
            "final_losses": {k: v[-1] for k, v in hist.losses.items()}}
    return G_out.cpu().eval(), info


def train_checkpoint(name: str, out_dir: str | Path, steps: int | None = None,
                     device: str = "cpu", progress: bool = True) -> Path:
    """Train generator ``name`` and write ``out_dir/<name>.pt`` plus its manifest entry."""
    out = Path(out_dir)
    s = _spec(name)
    steps = steps or s["steps"]
    # the work folder (resumable checkpoints) is named after the spec and step count, so a changed
    # recipe never resumes from checkpoints of the old one
    key = hashlib.sha256(json.dumps({**s, "steps": steps}, sort_keys=True).encode()).hexdigest()[:10]
    G, info = _train(name, steps, device, out / f".work-{name}-{key}", progress)
    state = {k: v.contiguous() for k, v in G.state_dict().items()}
    entry = save_weights(out, name, {"name": name, "spec": s, "generator": state},
                         {"spec": s, "command": COMMAND, "created": time.strftime("%Y-%m-%d"),
                          "torch": torch.__version__, **info})
    return out / entry["file"]


def load_generator(name: str, folder: str | Path | None = None,
                   device: str | torch.device = "cpu") -> nn.Module:
    """Load checkpoint ``name`` from ``folder`` (default: the shipped one), verified and in eval mode.

    Raises:
        PretrainedError: unknown name, missing file, sha256 mismatch, or architecture mismatch.
    """
    _spec(name)
    folder = Path(folder) if folder is not None else shipped_dir()
    if folder is None or not (folder / MANIFEST).is_file():
        raise PretrainedError(f"no checkpoint manifest found for {name!r} (looked in {folder})")
    state, entry = load_weights(folder, name, what="checkpoint", fix=COMMAND, error=PretrainedError)
    path = folder / entry["file"]
    G = _untrained_generator(name)
    try:
        G.load_state_dict(state["generator"])
    except (RuntimeError, KeyError) as exc:
        raise PretrainedError(f"checkpoint {path} does not fit the {name} architecture "
                              f"({str(exc).splitlines()[0]})") from None
    return G.to(device).eval()


def checkpoint_base_url() -> str:
    """The folder URL the shipped checkpoints are downloaded from (no trailing slash).

    ``$GANLAB_CHECKPOINT_URL`` when that variable is set (a mirror; the tests), else
    ``https://raw.githubusercontent.com/<repo>/<ref>/data/checkpoints`` with the repository and
    ref of ``ganlab/course/course.toml`` (``make repoint`` changes them), or of ``$GANLAB_REPO`` /
    ``$GANLAB_REF`` when the setup cell was pointed elsewhere with them.
    """
    from ganlab.course.stamping import course_config

    base = os.environ.get("GANLAB_CHECKPOINT_URL", "").rstrip("/")
    if not base:
        cfg = course_config()
        repo = os.environ.get("GANLAB_REPO", "")
        repo = repo if repo.count("/") == 1 and "://" not in repo else cfg["repo"]
        ref = os.environ.get("GANLAB_REF") or cfg["ref"]
        base = f"https://raw.githubusercontent.com/{repo}/{ref}/data/checkpoints"
    return base


def checkpoint_url(name: str) -> str:
    """Where shipped checkpoint ``name`` is downloaded from: ``<checkpoint_base_url()>/<name>.pt``."""
    return f"{checkpoint_base_url()}/{name}.pt"


def fetch_pinned(url: str, expected: str, what: str, timeout: float = DOWNLOAD_TIMEOUT_S,
                 error: type[ValueError] = PretrainedError) -> bytes:
    """The bytes at ``url``, only if their sha256 is ``expected`` (a sum pinned in the code, never
    one taken from the server). Nothing is written.

    Raises:
        ``error``: offline, not found, larger than 64 MiB or another file (one clear message).
    """
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 - https or a test's file/http
            data = r.read(MAX_DOWNLOAD_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise error(f"could not download {what} from {url}: HTTP {exc.code} "
                    f"{exc.reason} (is ganlab/course/course.toml's repository public and "
                    f"does it hold data/checkpoints/ at that ref?)") from None
    except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections, bad URLs
        reason = getattr(exc, "reason", None) or exc
        raise error(f"could not download {what} from {url}: {reason} "
                    f"(no internet in this runtime?)") from None
    got = sha256_bytes(data)
    if len(data) > MAX_DOWNLOAD_BYTES or got != expected:
        raise error(f"the {what} downloaded from {url} ({len(data)} bytes) is "
                    f"not the course's file: sha256 {got[:16]}..., pinned "
                    f"{expected[:16]}...; it was not used and nothing was written")
    return data


def download_checkpoint(name: str, dest: str | Path, timeout: float = DOWNLOAD_TIMEOUT_S) -> Path:
    """Download shipped checkpoint ``name`` into ``dest`` (with its manifest entry); its path.

    The bytes are checked against :data:`SHIPPED_SHA256` (pinned in this file, not taken from
    the server) before anything is written; the file and the manifest are written atomically, so
    a failed, interrupted or tampered download leaves ``dest`` as it was.

    Raises:
        PretrainedError: offline, not found at the URL, or not the pinned file (one clear message).
    """
    _spec(name)
    expected = SHIPPED_SHA256.get(name)
    if expected is None:
        raise PretrainedError(f"no pinned sha256 for {name!r} in SHIPPED_SHA256; it cannot be downloaded")
    url = checkpoint_url(name)
    data = fetch_pinned(url, expected, f"checkpoint {name}", timeout)
    out = Path(dest)
    path = atomic_write_bytes(out / f"{name}.pt", data)
    try:
        manifest = read_manifest(out)
    except ShippedWeightsError:
        manifest = {"format": FORMAT, "entries": {}}
    manifest["entries"][name] = {"file": path.name, "sha256": expected, "bytes": len(data),
                                 "command": f"downloaded from {url}", "spec": SPECS[name]}
    atomic_write_json(out / MANIFEST, manifest)
    return path


def _download(name: str, dest: Path) -> bool:
    """:func:`download_checkpoint`, saying in one line why not (then False) when it fails."""
    try:
        download_checkpoint(name, dest)
    except PretrainedError as exc:
        print(f"{exc}.")
        return False
    return True


def load_or_train(name: str, session: Any, steps: int | None = None) -> nn.Module:
    """A trained generator for the notebooks: shipped > downloaded > trained now (then kept).

    Training uses ``session.settings.pretrain_steps`` when the notebook's profile sets it.
    """
    spec = _spec(name)
    device = session.device
    local = shipped_dir()
    if local is not None:
        try:
            G = load_generator(name, local, device)
            print(f"Loaded the shipped checkpoint {name} ({local / (name + '.pt')}).")
            return G
        except PretrainedError as exc:
            warnings.warn(f"{exc}; falling back", stacklevel=2)
    cache = Path(session.checkpoint_root) / "pretrained"
    for attempt in ("cached", "download"):
        if attempt == "download" and not _download(name, cache):
            break
        try:
            G = load_generator(name, cache, device)
            print(f"Loaded {name} ({attempt}).")
            return G
        except PretrainedError:
            continue
    steps = steps or session.settings.get("pretrain_steps", spec["steps"])
    print(f"No checkpoint for {name}: training one now ({steps} steps; "
          "re-running this cell resumes or reloads it).")
    train_checkpoint(name, cache, steps=steps, device=str(device))
    return load_generator(name, cache, device)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the course's shipped generators.")
    parser.add_argument("names", nargs="*", help=f"any of {', '.join(SPECS)}")
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--out", default="data/checkpoints")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    names = list(SPECS) if args.all else args.names
    if not names:
        parser.error("name a checkpoint or pass --all")
    for name in names:
        path = train_checkpoint(name, args.out, steps=args.steps, device=args.device)
        print(path)
        digest = read_manifest(args.out)["entries"][name]["sha256"]
        if SHIPPED_SHA256.get(name) != digest:
            print(f"  new sha256: set SHIPPED_SHA256[{name!r}] = {digest!r} in {__file__} "
                  "(downloads are checked against it)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
