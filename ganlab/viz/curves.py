"""Loss and metric curves from a training history (``ganlab.train.History`` or its dict)."""

from __future__ import annotations

from typing import Any

__all__ = ["plot_losses", "plot_metric", "smoothness"]


def _hist(history: Any) -> dict[str, Any]:
    return history.to_dict() if hasattr(history, "to_dict") else dict(history)


def plot_losses(history: Any, keys: tuple[str, ...] = ("d", "g"), ax: Any = None,
                title: str | None = None, label_prefix: str = "") -> Any:
    """Plot logged losses against the step; returns the figure."""
    import matplotlib.pyplot as plt

    h = _hist(history)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3))
    else:
        fig = ax.figure
    for k in keys:
        if k in h["losses"]:
            ax.plot(h["steps"], h["losses"][k], label=f"{label_prefix}{k}")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    if title:
        ax.set_title(title)
    return fig


def plot_metric(histories: dict[str, Any], key_prefix: str, ax: Any = None,
                title: str | None = None, logy: bool = False) -> Any:
    """Plot one metric (the eval key starting with ``key_prefix``, e.g. ``"fid["``) for several runs."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3))
    else:
        fig = ax.figure
    ylabel = key_prefix
    for label, history in histories.items():
        evals = _hist(history)["evals"]
        keys = [k for k in (evals[0] if evals else {}) if k.startswith(key_prefix)]
        if not keys:
            continue
        ylabel = keys[0]
        ax.plot([e["step"] for e in evals], [e[keys[0]] for e in evals], marker="o", label=label)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    ax.legend()
    if title:
        ax.set_title(title)
    return fig


def smoothness(values: list[float]) -> float:
    """Roughness of a loss curve: mean absolute step-to-step change divided by the curve's range.

    0 for a straight line; larger is more jagged. Used for the batch-norm ablation, whose source
    report judged curves by eye.
    """
    if len(values) < 3:
        raise ValueError(f"need at least 3 values to measure smoothness, got {len(values)}")
    diffs = [abs(b - a) for a, b in zip(values, values[1:])]
    span = max(values) - min(values)
    return float(sum(diffs) / len(diffs) / span) if span > 0 else 0.0
