"""Run records: one JSON file per training run (``ganlab.course.tables`` builds notebook 17's tables from them).

A record holds everything needed to compare and reproduce a run: notebook, run name, dataset,
family and recipe, config, seed, losses and evaluations over training, final metrics (keys
name extractor and N, e.g. ``fid[mnist_cnn,N=1000]``), wall time, throughput, device, versions
of python / torch / ganlab and the git commit. Notebook 17 builds its tables only from records.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ganlab.device import environment
from ganlab.io import atomic_write_json, ensure_writable_dir

__all__ = ["save_record", "load_records", "environment", "RECORD_SCHEMA"]

RECORD_SCHEMA = 1


def _clean(value: Any) -> Any:
    """JSON-safe copy: tensors to numbers/lists, NaN kept as NaN, paths as names only."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return value.name
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def save_record(results_dir: str | Path, *, notebook: str, run: str, dataset: str,
                seed: int, model: Any = None, config: Mapping[str, Any] | None = None,
                history: Any = None, metrics: Mapping[str, float] | None = None,
                device: Any = None, extra: Mapping[str, Any] | None = None) -> Path:
    """Write one run's record atomically to ``results_dir/records/<notebook>__<run>__seed<seed>.json``.

    Args:
        model: a GANModel (family, recipe, parameter counts are taken from it) or None.
        history: a :class:`ganlab.train.History` (or its dict).
        metrics: final metrics, keys naming extractor and N.

    Raises:
        ValueError: ``results_dir`` is not writable, or ``run`` is empty.
    """
    if not run or "/" in run:
        raise ValueError(f"run name must be a non-empty string without '/', got {run!r}")
    folder = ensure_writable_dir(Path(results_dir) / "records", "RESULTS_DIR")
    hist = history.to_dict() if hasattr(history, "to_dict") else (history or {})
    wall = float(hist.get("wall_time", 0.0) or 0.0)
    seen = int(hist.get("images_seen", 0) or 0)
    record = {
        "schema": RECORD_SCHEMA, "notebook": notebook, "run": run, "dataset": dataset,
        "seed": seed, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "model": model.describe() if hasattr(model, "describe") else _clean(model),
        "config": _clean(dict(config or {})), "history": _clean(hist),
        "metrics": _clean(dict(metrics or {})), "wall_time": wall,
        "img_per_s": seen / wall if wall > 0 else None,
        "environment": environment(device), "extra": _clean(dict(extra or {})),
    }
    return atomic_write_json(folder / f"{notebook}__{run}__seed{seed}.json", record)


def load_records(results_dir: str | Path, notebook: str | None = None) -> list[dict[str, Any]]:
    """All records under ``results_dir/records`` (optionally one notebook's), oldest first.

    Unreadable files are skipped with a warning rather than failing the table.
    """
    import warnings

    folder = Path(results_dir) / "records"
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.json")):
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            warnings.warn(f"skipping unreadable record {path.name}: {exc}", stacklevel=2)
            continue
        if notebook is None or rec.get("notebook") == notebook:
            out.append(rec)
    return sorted(out, key=lambda r: r.get("created", ""))
