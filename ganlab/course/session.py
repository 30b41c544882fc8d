"""What every notebook does right after its parameters cell: :func:`start`.

It checks the parameters, seeds every generator, picks the device, resolves the data, results and
checkpoint folders (on Colab with Google Drive mounted, results and checkpoints go to Drive so a
disconnect loses nothing), warns when the ``full`` profile runs without a GPU, and returns a
:class:`Session` that the rest of the notebook reads its settings from.
"""

from __future__ import annotations

import os
import random
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ganlab.device import describe_device, pick_device
from ganlab.io import ensure_writable_dir
from ganlab.profiles import Settings, settings

__all__ = ["Session", "start", "seed_everything", "in_colab", "drive_folder", "repo_root",
           "display_path"]

DRIVE_MOUNT = Path("/content/drive/MyDrive")


def in_colab() -> bool:
    """True inside a Google Colab runtime."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def drive_folder() -> Path | None:
    """``MyDrive/ganlab`` when Google Drive is mounted in Colab (or ``$GANLAB_DRIVE_DIR``), else None."""
    env = os.environ.get("GANLAB_DRIVE_DIR")
    if env:
        return Path(env)
    if in_colab() and DRIVE_MOUNT.is_dir():
        return DRIVE_MOUNT / "ganlab"
    return None


def repo_root(start: Path | None = None) -> Path | None:
    """The ganlab checkout containing ``start`` (default: cwd), found by its pyproject.toml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and 'name = "ganlab"' in pyproject.read_text(encoding="utf-8"):
            return folder
    return None


def display_path(path: str | os.PathLike[str]) -> str:
    """A path as notebooks print it: relative to the working folder when inside it, ``~`` for home.

    Executed notebooks are shared; they should not carry anyone's absolute home folder.
    """
    p = Path(path).resolve()
    for base, prefix in ((Path.cwd().resolve(), ""), (Path.home().resolve(), "~/")):
        try:
            rel = p.relative_to(base)
        except ValueError:
            continue
        return prefix + str(rel) if prefix else (str(rel) or ".")
    return str(p)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"SEED must be a non-negative integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass
class Session:
    """A notebook's resolved parameters.

    Attributes:
        notebook: notebook stem, e.g. ``"04_dcgan"``.
        settings: the profile's settings for this notebook (``S.steps``, ``S.batch_size``...).
        device: the torch device everything runs on.
        data_dir, results_dir, checkpoint_root: absolute folders.
        pretrained: take the notebook's headline runs from the course's shipped finished runs
            (:mod:`ganlab.course.shipped_runs`) instead of training them.
    """

    notebook: str
    settings: Settings
    seed: int
    device: torch.device
    data_dir: Path
    results_dir: Path
    checkpoint_root: Path
    notes: list[str] = field(default_factory=list)
    pretrained: bool = False

    @property
    def profile(self) -> str:
        """``smoke``, ``quick`` or ``full``."""
        return self.settings.profile

    def checkpoint_dir(self, run: str) -> Path:
        """Folder for one run's rotating checkpoints (created on demand by the trainer)."""
        return self.checkpoint_root / self.notebook / run

    def __repr__(self) -> str:
        return (
            f"Session({self.notebook}, profile={self.profile}, seed={self.seed}, "
            f"device={describe_device(self.device)}, results={display_path(self.results_dir)})"
        )


def _default_results(profile: str) -> Path:
    root = repo_root()
    if root is not None:
        return root / "build" / "results" / profile
    return Path.cwd() / "ganlab-results" / profile


def start(
    notebook: str,
    *,
    profile: str = "quick",
    seed: int = 0,
    device: str = "auto",
    data_dir: str | None = None,
    results_dir: str | None = None,
    use_drive: bool | None = None,
    pretrained: bool = False,
) -> Session:
    """Validate a notebook's parameters and prepare the run (see module docstring).

    Args:
        notebook: the notebook's stem; selects ``ganlab/profiles/<notebook>.toml`` overrides.
        use_drive: ``None`` = use Google Drive when it is mounted in Colab; ``False`` never.
        pretrained: the notebook's ``PRETRAINED``: load its headline runs from the shipped
            weights (seconds) instead of training them; the other runs train as usual.

    Raises:
        ValueError: unknown profile or device, negative seed, a folder that is not writable, or
            a ``pretrained`` that is not True / False.
    """
    if not isinstance(pretrained, bool):
        raise ValueError(f"PRETRAINED must be True or False, got {pretrained!r}")
    cfg = settings(profile, notebook)
    seed_everything(seed)
    dev = pick_device(device)
    notes: list[str] = []
    drive = drive_folder() if use_drive is not False else None

    if data_dir:
        os.environ["GANLAB_DATA_DIR"] = str(Path(data_dir).expanduser().resolve())
    from ganlab.data import default_root

    data_path = Path(default_root())
    if results_dir:
        results_path = Path(results_dir).expanduser().resolve()
    elif drive is not None:
        results_path = drive / "results" / profile
        notes.append(f"Google Drive is mounted: records and checkpoints go to {drive}")
    else:
        results_path = _default_results(profile)
    results_path = ensure_writable_dir(results_path, "RESULTS_DIR")
    ckpt_root = (drive / "checkpoints" / profile) if drive is not None else results_path / "checkpoints"

    if in_colab() and drive is None and use_drive is not False:
        notes.append(
            "checkpoints are kept on this runtime's disk and vanish if Colab disconnects. To keep "
            "them, run `from google.colab import drive; drive.mount('/content/drive')` and re-run "
            "this cell: records and checkpoints then go to MyDrive/ganlab."
        )
    if profile == "full" and dev.type == "cpu":
        msg = (
            "PROFILE='full' is running without a GPU: it trains at the source reports' scale and "
            "would take many hours here. On Colab choose Runtime > Change runtime type > T4 GPU, "
            "or run with PROFILE='quick'."
        )
        warnings.warn(msg, stacklevel=2)
        notes.append(msg)
    if pretrained:
        notes.append(_pretrained_note(notebook))
    session = Session(notebook, cfg, seed, dev, data_path, results_path, ckpt_root, notes, pretrained)
    print(session)
    for note in notes:
        print("note:", note)
    return session


def _pretrained_note(notebook: str) -> str:
    """What ``PRETRAINED = True`` does in ``notebook``."""
    from ganlab.course.shipped_runs import shipped_for

    runs = shipped_for(notebook)
    if not runs:
        return "PRETRAINED = True: this notebook ships no finished runs; every run trains."
    return (f"PRETRAINED = True: run(s) {', '.join(runs)} load from the course's shipped weights when "
            "they are exactly the runs asked for (the quick profile, unchanged settings); the other "
            "runs train.")
