"""Rotating, atomic, checksummed checkpoints.

Each checkpoint is ``ckpt-<step:08d>.pt`` (written with temp file + rename) plus its
:mod:`ganlab.io` checksum sidecar ``ckpt-<step:08d>.json`` (``{"sha256", "step"}``). :func:`latest_good` walks from the newest to the
oldest and returns the first whose sum matches and that loads with ``weights_only=True``; a
truncated or corrupt newest file therefore falls back to the previous good one.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import torch

from ganlab.io import (
    ChecksumError,
    atomic_torch_save_checked,
    load_verified,
    read_sidecar,
    sidecar_path,
)

__all__ = ["save_checkpoint", "list_checkpoints", "latest_good", "load_checkpoint", "CheckpointError",
           "finished_run", "FINISHED_KEYS"]

#: What a finished run keeps (:func:`finished_run`): everything but the optimiser, scheduler,
#: scaler and RNG states, which only continuing a run needs.
FINISHED_KEYS = ("format", "family", "step", "cursor", "history", "config", "samples", "recipe", "identity")

_NAME = re.compile(r"^ckpt-(\d{8})\.pt$")


class CheckpointError(ValueError):
    """A checkpoint file is corrupt, truncated, or from another architecture."""


def list_checkpoints(folder: str | Path) -> list[Path]:
    """Checkpoint files in ``folder``, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if _NAME.match(p.name))


def save_checkpoint(folder: str | Path, step: int, state: dict[str, Any], keep: int = 3) -> Path:
    """Write ``state`` as the checkpoint of ``step``; keep only the ``keep`` newest."""
    folder = Path(folder)
    path = folder / f"ckpt-{step:08d}.pt"
    atomic_torch_save_checked(path, state, step=step)
    for old in list_checkpoints(folder)[:-keep]:
        old.unlink(missing_ok=True)
        sidecar_path(old).unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """Load one checkpoint, verifying its sidecar sum when present (a crash between writing the
    file and its sidecar leaves none: such a file is loaded unverified).

    Raises:
        CheckpointError: unreadable sidecar, sum mismatch or unreadable file (names the file).
    """
    try:
        side = read_sidecar(path)
        return load_verified(path, side and side["sha256"], map_location=map_location)
    except ChecksumError as exc:
        raise CheckpointError(f"checkpoint {exc}") from None


def latest_good(folder: str | Path, map_location: Any = "cpu") -> tuple[Path, dict[str, Any]] | None:
    """Newest checkpoint in ``folder`` that verifies and loads, or None if there is none."""
    for path in reversed(list_checkpoints(folder)):
        try:
            return path, load_checkpoint(path, map_location)
        except CheckpointError as exc:
            warnings.warn(f"{exc}; trying the previous checkpoint", stacklevel=2)
    return None


def finished_run(state: dict[str, Any], networks: tuple[str, ...] | None = None,
                 dtype: torch.dtype = torch.float16) -> dict[str, Any]:
    """A finished run's checkpoint made small enough to ship: what loading it needs, not training on.

    Keeps :data:`FINISHED_KEYS` (weights, history, training samples, config, run identity) and
    drops the optimiser, scheduler, scaler and RNG states. Floating-point weights are cast to
    ``dtype`` (fp16 halves the file; a generator's outputs move by ~1e-3 of their [-1, 1]
    range), rounded toward zero so no magnitude grows: a bound the run kept (WGAN's clipped
    weights, ``|w| <= c``) still holds. Integer buffers (batch-norm counters) stay as they are.

    Args:
        state: a :meth:`ganlab.train.Trainer.state_dict` checkpoint whose ``step`` reached its
            config's ``steps``.
        networks: the networks to keep, by their name in the model (``("G", "G_ema")``); None
            keeps all. The others are left at their initial weights when the run is loaded.

    Returns:
        ``{...FINISHED_KEYS, "model", "finished": True, "networks": [...], "weights_dtype"}``.

    Raises:
        CheckpointError: the run is not finished, or ``networks`` names none of its weights.
    """
    steps = int(state.get("config", {}).get("steps", -1))
    if int(state.get("step", -1)) != steps:
        raise CheckpointError(f"checkpoint at step {state.get('step')} of {steps}: only a finished run can be shipped")
    model = state["model"]
    present = sorted({k.split(".", 1)[0] for k in model})
    keep = present if networks is None else [n for n in present if n in networks]
    if not keep:
        raise CheckpointError(f"networks {networks} match none of the run's networks {present}")
    weights = {k: (_toward_zero(v, dtype) if torch.is_tensor(v) and v.is_floating_point() else v)
               for k, v in model.items() if k.split(".", 1)[0] in keep}
    return {**{k: state[k] for k in FINISHED_KEYS if k in state}, "model": weights, "finished": True,
            "networks": keep, "weights_dtype": str(dtype).removeprefix("torch.")}


def _toward_zero(v: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``v`` in ``dtype``, each element the nearest value whose magnitude is not larger (within one
    unit in the last place of ``dtype``)."""
    h = v.detach().to(dtype)
    grew = h.to(v.dtype).abs() > v.detach().abs()
    return torch.where(grew, torch.nextafter(h, torch.zeros_like(h)), h)
