"""Finished runs that ship with the course: a notebook's headline runs, loaded in seconds.

A student who sets ``PRETRAINED = True`` in a notebook's parameters cell (or runs
``make run-all PRETRAINED=1``) gets the notebook's headline runs (:data:`SHIPPED_RUNS`) from the
course's files instead of training them — the UvA deep-learning notebooks' "load the pretrained
model if it is there" pattern — and every other run of the notebook trains as usual. What is
shipped is the finished run itself (:func:`ganlab.train.checkpoint.finished_run`: weights in fp16,
the loss and metric history, the training samples; no optimiser state), so every figure, table
and check of the notebook reads the same numbers as after training it. A shipped run is used only
when it is exactly the run the cell asks for (family, steps, batch size, seed, recipe, data:
:meth:`ganlab.train.Trainer.restore_finished`); otherwise the cell says why and trains.

Where a shipped run comes from, in order: ``data/checkpoints/runs/`` of the checkout (verified
against its manifest), a copy downloaded earlier into the session's checkpoint folder, a download
from the course repository (:func:`ganlab.course.pretrained.checkpoint_base_url`): the runs'
``manifest.json`` must have the sha256 pinned here (:data:`RUNS_MANIFEST_SHA256`), and each file
the sha256 that manifest lists, before anything is written.

``make checkpoints`` rebuilds them: ``python -m ganlab.course.shipped_runs --from
build/results/quick/checkpoints`` harvests the finished quick runs of a ``make run-all`` and
re-pins the manifest's sum in this file. All shipped weights together stay under
:data:`BUDGET_BYTES` (a test checks it).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganlab.io import atomic_write_bytes, atomic_write_json, sha256_file
from ganlab.shipped import MANIFEST, ShippedWeightsError, load_weights, read_manifest, save_weights
from ganlab.train.checkpoint import CheckpointError, finished_run, latest_good

__all__ = ["Ship", "SHIPPED_RUNS", "RUNS_MANIFEST_SHA256", "BUDGET_BYTES", "ShippedRunError", "runs_dir",
           "entry_name", "shipped_for", "harvest", "find", "main"]

@dataclass(frozen=True)
class Ship:
    """How one run is shipped.

    Attributes:
        networks: the networks kept (None: all); the others stay at their initial weights when
            the run is loaded, so only leave out what no cell uses after training.
        seeds: the seeds shipped (None: every seed the profile trains).
    """

    networks: tuple[str, ...] | None = None
    seeds: tuple[int, ...] | None = None


G_ONLY = Ship(("G", "G_ema"))

#: notebook -> {run name: :class:`Ship`}: each notebook's headline runs, what its first figures
#: and its comparison row are made of. Discriminators no cell uses after training are left out,
#: and so are the extra seeds of notebooks whose training is spread over many short runs (10, 15,
#: 16: their seed 0 is shipped), to keep every shipped weight under :data:`BUDGET_BYTES`.
SHIPPED_RUNS: dict[str, dict[str, Ship]] = {
    # one batch per method holds both data sets' seeds (train_seeds_jointly)
    "02_toy_2d_mode_collapse": {f"ring8_{method}+grid25_{method}": G_ONLY for method in ("gan", "pacgan2", "wgan_gp")},
    "03_vanilla_gan_mlp": {"gan_mlp": G_ONLY},
    "04_dcgan": {"dcgan": G_ONLY},
    "05_lsgan": {"lsgan": G_ONLY},
    "06_wgan_weight_clipping": {"wgan": Ship()},  # the critic's weights are examined after training
    "07_wgan_gp": {"wgan_gp": G_ONLY},
    "08_conditional_dcgan": {"cdcgan_projection": G_ONLY},
    "09_infogan": {"infogan_lambda1": Ship()},  # D holds Q, which reads the codes back
    "10_sngan_hinge": {"sngan_hinge_spectral": Ship(seeds=(0,))},  # D's spectra are examined
    "11_stylegan_lite": {"stylegan_depth8": G_ONLY},
    "12_image_to_image": {"cyclegan": Ship(("G_AB", "G_BA", "G_AB_ema", "G_BA_ema"))},
    "13_srgan": {"srresnet": G_ONLY, "srgan": G_ONLY},
    "14_realnessgan": {"realnessgan": Ship()},  # D's distributions are examined
    "15_augmentation": {"diffaugment_10pct": Ship(("G", "G_ema"), seeds=(0,))},
    "16_ablations": {"ablation_base": Ship(("G", "G_ema"), seeds=(0,))},
}
#: sha256 of ``data/checkpoints/runs/manifest.json``; ``make checkpoints`` rewrites this line.
RUNS_MANIFEST_SHA256 = "72ac15e5f5f643d7a848c0019d669376746f3c2e67a4fada3cb8155d4e49bf41"
#: All shipped weights (``data/checkpoints`` with its ``runs/``) stay below this.
BUDGET_BYTES = 25 * 10**6
COMMAND = "make checkpoints  (python -m ganlab.course.shipped_runs --from build/results/quick/checkpoints)"
_FOLDER = re.compile(r"^(?P<run>.+)-seeds?(?P<seeds>\d+(?:-\d+)*)$")


class ShippedRunError(ShippedWeightsError):
    """A shipped run is missing, not the pinned file, or cannot be harvested."""


def runs_dir() -> Path:
    """``data/checkpoints/runs`` of the checkout this package runs from."""
    return Path(__file__).resolve().parents[2] / "data" / "checkpoints" / "runs"


def entry_name(notebook: str, folder: str) -> str:
    """A shipped run's name: its notebook and checkpoint folder, ``"04_dcgan__dcgan-seed0"``."""
    return f"{notebook}__{folder}"


def shipped_for(notebook: str) -> list[str]:
    """The run names notebook ``notebook`` ships (empty when none)."""
    return list(SHIPPED_RUNS.get(notebook, {}))


def _run_folders(root: Path, notebook: str, run: str) -> list[Path]:
    """The checkpoint folders of ``run`` (one per seed, or one per batch of seeds)."""
    folder = root / notebook
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.is_dir() and (m := _FOLDER.match(p.name)) and m["run"] == run)


def _ships(ship: Ship, folder: str) -> bool:
    """Whether checkpoint folder ``folder``'s seeds are all shipped."""
    m = _FOLDER.match(folder)
    return m is not None and (ship.seeds is None or {int(x) for x in m["seeds"].split("-")} <= set(ship.seeds))


def harvest(checkpoint_root: str | Path, out_dir: str | Path | None = None,
            notebooks: list[str] | None = None) -> list[dict[str, Any]]:
    """Ship the finished headline runs found under ``checkpoint_root`` (``<notebook>/<folder>``).

    Each run of :data:`SHIPPED_RUNS` becomes ``out_dir/<notebook>__<folder>.pt``
    (:func:`~ganlab.train.checkpoint.finished_run`) with a manifest entry (notebook, run,
    steps, networks, training time); entries of runs no longer listed are removed.

    Returns:
        The manifest entries written.

    Raises:
        ShippedRunError: a listed run has no finished checkpoint under ``checkpoint_root``.
    """
    root, out = Path(checkpoint_root), Path(out_dir) if out_dir is not None else runs_dir()
    wanted = {nb: runs for nb, runs in SHIPPED_RUNS.items() if notebooks is None or nb in notebooks}
    missing, entries = [], []
    for notebook, runs in wanted.items():
        for run, ship in runs.items():
            folders = [f for f in _run_folders(root, notebook, run) if _ships(ship, f.name)]
            if not folders:
                missing.append(f"{notebook}/{run}")
            for folder in folders:
                found = latest_good(folder)
                if found is None:
                    missing.append(f"{notebook}/{folder.name}")
                    continue
                try:
                    state = finished_run(found[1], ship.networks)
                except CheckpointError as exc:
                    raise ShippedRunError(f"{folder}: {exc}; finish the run (make run-all) first") from None
                facts = {"notebook": notebook, "run": run, "folder": folder.name, "steps": state["step"],
                         "networks": state["networks"], "weights_dtype": state["weights_dtype"],
                         "trained_s": round(float(state["history"].get("wall_time", 0.0)), 1),
                         "command": COMMAND, "created": time.strftime("%Y-%m-%d"), "torch": torch.__version__}
                entries.append(save_weights(out, entry_name(notebook, folder.name), state, facts))
    if missing:
        raise ShippedRunError(f"no finished run under {root} for: {', '.join(missing)}; run "
                              "`make run-all` (quick, PRETRAINED off) first")
    # drop what is no longer shipped: every notebook's on a full harvest, else the re-shipped
    # notebooks' (a renamed run's old file goes)
    manifest = read_manifest(out)
    keep = {e["file"] for e in entries}
    for name in [n for n, e in manifest["entries"].items()
                 if e["file"] not in keep and (notebooks is None or e.get("notebook") in wanted)]:
        (out / manifest["entries"].pop(name)["file"]).unlink(missing_ok=True)
    atomic_write_json(out / MANIFEST, manifest)
    return entries


def pin_manifest(out_dir: str | Path | None = None, source: Path = Path(__file__)) -> str:
    """Write the runs manifest's sha256 into :data:`RUNS_MANIFEST_SHA256`'s line of ``source``."""
    digest = sha256_file(Path(out_dir or runs_dir()) / MANIFEST)
    text = source.read_text(encoding="utf-8")
    new, n = re.subn(r'^RUNS_MANIFEST_SHA256 = ".*"$', f'RUNS_MANIFEST_SHA256 = "{digest}"', text, flags=re.M)
    if n != 1:
        raise ShippedRunError(f"no RUNS_MANIFEST_SHA256 line in {source}")
    atomic_write_bytes(source, new.encode("utf-8"))
    return digest


def _download(name: str, cache: Path) -> None:
    """Fetch run ``name`` (and the runs' manifest, checked against the pin) into ``cache``."""
    from ganlab.course.pretrained import checkpoint_base_url, fetch_pinned

    if not RUNS_MANIFEST_SHA256:
        raise ShippedRunError("no pinned sha256 for the shipped runs' manifest: they cannot be downloaded")
    base = f"{checkpoint_base_url()}/runs"
    raw = fetch_pinned(f"{base}/{MANIFEST}", RUNS_MANIFEST_SHA256, "the shipped runs' manifest",
                       error=ShippedRunError)
    entry = json.loads(raw)["entries"].get(name)
    if entry is None:
        raise ShippedRunError(f"the course ships no run {name!r}")
    data = fetch_pinned(f"{base}/{entry['file']}", entry["sha256"], f"shipped run {name}", error=ShippedRunError)
    atomic_write_bytes(cache / entry["file"], data)
    atomic_write_bytes(cache / MANIFEST, raw)


def find(notebook: str, folder: str, cache: str | Path, *, download: bool = True) -> tuple[dict[str, Any], str] | None:
    """The shipped finished run of checkpoint folder ``folder`` and where it came from, or None.

    Looks in the checkout, then in ``cache`` (a copy downloaded before), then downloads it into
    ``cache`` (when ``download``). A run the course does not ship is None without a word; a
    shipped one that cannot be had says why in one line and is None (the cell then trains).
    """
    m = _FOLDER.match(folder)
    ship = SHIPPED_RUNS.get(notebook, {}).get(m["run"]) if m else None
    if ship is None or not _ships(ship, folder):
        return None
    name, cache = entry_name(notebook, folder), Path(cache)
    reasons = []
    for where, place in (("shipped", runs_dir()), ("downloaded", cache)):
        if (place / MANIFEST).is_file():
            try:
                return load_weights(place, name, what="shipped run", fix=COMMAND, error=ShippedRunError)[0], \
                    f"{where} weights {name}"
            except ShippedWeightsError as exc:
                reasons.append(str(exc))
    if download:
        try:
            _download(name, cache)
            return load_weights(cache, name, what="shipped run", fix=COMMAND, error=ShippedRunError)[0], \
                f"downloaded weights {name}"
        except ShippedWeightsError as exc:
            reasons.append(str(exc))
    print(f"PRETRAINED: {name} could not be loaded ({'; '.join(reasons) or 'not found'}); training it.")
    return None


def total_bytes(folder: Path | None = None) -> int:
    """Bytes of every shipped ``.pt`` file under ``data/checkpoints`` (with ``runs/``)."""
    folder = folder or runs_dir().parent
    return sum(p.stat().st_size for p in folder.rglob("*.pt"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ship the notebooks' finished headline runs.")
    parser.add_argument("--from", dest="root", default="build/results/quick/checkpoints",
                        help="checkpoint folder of a quick make run-all")
    parser.add_argument("--out", default=None, help="default: data/checkpoints/runs")
    parser.add_argument("--no-pin", action="store_true", help="do not rewrite RUNS_MANIFEST_SHA256")
    parser.add_argument("--notebook", action="append", default=None, metavar="NAME",
                        help="re-ship only this notebook's runs (repeatable; e.g. after changing its "
                             "headline runs); the others stay as shipped")
    args = parser.parse_args(argv)
    if args.notebook:
        unknown = sorted(set(args.notebook) - set(SHIPPED_RUNS))
        if unknown:
            print(f"error: --notebook {', '.join(unknown)}: not a notebook with shipped runs; accepted: "
                  f"{', '.join(SHIPPED_RUNS)}", file=sys.stderr)
            return 2
    try:
        entries = harvest(args.root, args.out, notebooks=args.notebook)
    except ShippedRunError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for e in entries:
        print(f"{e['file']:<60} {e['bytes'] / 1e6:6.2f} MB  {e['steps']:>5} steps  trained {e['trained_s']:.0f} s")
    out = Path(args.out) if args.out else runs_dir()
    total = total_bytes(out.parent)
    print(f"{len(entries)} runs, {sum(e['bytes'] for e in entries) / 1e6:.1f} MB; all shipped weights "
          f"{total / 1e6:.1f} MB (budget {BUDGET_BYTES / 1e6:.0f} MB)")
    if not args.no_pin:
        print(f"RUNS_MANIFEST_SHA256 = {pin_manifest(out)}")
    return 0 if total <= BUDGET_BYTES else 1


if __name__ == "__main__":
    raise SystemExit(main())
