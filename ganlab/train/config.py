"""Training configuration and the history a run produces."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch

__all__ = ["TrainConfig", "History"]


@dataclass
class TrainConfig:
    """How the one training loop runs; every field is JSON-friendly.

    Attributes:
        steps: iterations; each does the family's ``d_steps`` D updates then ``g_steps`` G updates.
        batch_size: real (and fake) samples per update.
        seed: seeds latent sampling, data order and torch's global RNG; same seed, same run.
        device: ``"auto"`` | ``"cpu"`` | ``"cuda"`` | ``"mps"``.
        precision: ``"auto"`` (conv nets: fp16 + GradScaler on CUDA, bf16 on CPUs with native
            bf16; MLPs: fp32) |
            ``"fp32"`` | ``"bf16"`` | ``"fp16"``.
        channels_last: NHWC memory format for conv nets; ``None`` = on wherever autocast is on.
        compile: ``torch.compile`` G and D (first steps are slow while it compiles).
        ema_decay: keep an exponential moving average of G's weights (e.g. 0.999); ``None`` = off.
        log_every: iterations between reading losses from the device (the only host syncs).
        sample_every / eval_every / checkpoint_every: iterations between fixed-noise grids,
            evaluations and checkpoints; 0 = only at the end.
        n_samples: images in each fixed-noise grid.
        checkpoint_dir: folder for rotating checkpoints (``None`` = no checkpoints).
        keep_checkpoints: how many recent checkpoints to keep.
        resume: continue from the newest good checkpoint in ``checkpoint_dir`` if there is one.
        deterministic: ``torch.use_deterministic_algorithms`` for the run (bit-repeatable on CPU).
        progress: show a tqdm progress bar.
    """

    steps: int = 1000
    batch_size: int = 64
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    channels_last: bool | None = None
    compile: bool = False
    ema_decay: float | None = None
    log_every: int = 50
    sample_every: int = 0
    eval_every: int = 0
    checkpoint_every: int = 0
    n_samples: int = 64
    checkpoint_dir: str | None = None
    keep_checkpoints: int = 3
    resume: bool = False
    deterministic: bool = False
    progress: bool = True
    desc: str | None = None

    def validate(self) -> TrainConfig:
        """Raise ValueError naming any out-of-range field; returns self."""
        positive = ("steps", "batch_size", "log_every", "n_samples", "keep_checkpoints")
        for key in positive:
            value = getattr(self, key)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"TrainConfig.{key} must be an integer >= 1, got {value!r}")
        for key in ("sample_every", "eval_every", "checkpoint_every", "seed"):
            value = getattr(self, key)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"TrainConfig.{key} must be an integer >= 0, got {value!r}")
        if self.ema_decay is not None and not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"TrainConfig.ema_decay must be in (0, 1) or None, got {self.ema_decay!r}")
        if self.resume and not self.checkpoint_dir:
            raise ValueError("TrainConfig.resume=True needs a checkpoint_dir to resume from")
        return self

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (for records and checkpoints)."""
        return asdict(self)


@dataclass
class History:
    """What a run logged.

    Attributes:
        steps: iteration numbers (1-based) at which losses were read.
        losses: name -> mean over the preceding log interval, aligned with ``steps``
            (``d`` and ``g`` always; families add e.g. ``w_dist``, ``gp``, ``d_real``).
        evals: ``{"step": s, "wall_time": t, "<metric>[<extractor>,N=<n>]": value, ...}`` dicts.
        samples: ``(step, uint8 (n, C, H, W))`` fixed-noise grids (not saved in JSON records).
        wall_time: seconds spent training (summed over resumed sessions).
        images_seen: real samples consumed.
        resumed_from: step of the checkpoint a run resumed from (0 = fresh start).
        tracks: name -> ``[[step, value], ...]``: what callbacks measured during training (e.g.
            D's outputs on training vs held-out reals, :class:`ganlab.metrics.DiscriminatorGap`);
            checkpointed with the rest, so a resumed run keeps what was measured before.
    """

    steps: list[int] = field(default_factory=list)
    losses: dict[str, list[float]] = field(default_factory=dict)
    evals: list[dict[str, float]] = field(default_factory=list)
    samples: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    wall_time: float = 0.0
    images_seen: int = 0
    resumed_from: int = 0
    tracks: dict[str, list[list[float]]] = field(default_factory=dict)

    def track(self, key: str, step: int, value: float) -> None:
        """Append ``(step, value)`` to track ``key`` (a measurement a callback makes at a log point)."""
        self.tracks.setdefault(key, []).append([int(step), float(value)])

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict without the sample grids."""
        return {"steps": list(self.steps), "losses": {k: list(v) for k, v in self.losses.items()},
                "evals": [dict(e) for e in self.evals], "wall_time": self.wall_time,
                "images_seen": self.images_seen, "resumed_from": self.resumed_from,
                "tracks": {k: [list(p) for p in v] for k, v in self.tracks.items()}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        """Inverse of :meth:`to_dict` (samples start empty)."""
        return cls(steps=list(d["steps"]), losses={k: list(v) for k, v in d["losses"].items()},
                   evals=[dict(e) for e in d["evals"]], wall_time=float(d["wall_time"]),
                   images_seen=int(d["images_seen"]), resumed_from=int(d.get("resumed_from", 0)),
                   tracks={k: [list(p) for p in v] for k, v in d.get("tracks", {}).items()})

    def last(self, key: str) -> float:
        """Most recent logged value of loss ``key``."""
        return self.losses[key][-1]

    @property
    def img_per_s(self) -> float:
        """Real images consumed per second of training."""
        return self.images_seen / self.wall_time if self.wall_time > 0 else float("nan")
