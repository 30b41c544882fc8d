"""ganlab: the helper package of a Generative Adversarial Networks lab course.

Rooms (one job each): ``data``, ``nets``, ``losses``, ``models``, ``train``, ``metrics``,
``results``, ``viz``, ``widgets``, ``profiles``, ``bench``; see docs/ARCHITECTURE.md.
Importing ``ganlab`` is cheap: submodules are imported where they are used.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "environment_report"]


def environment_report() -> str:
    """One short paragraph on versions and device, printed by every notebook's setup cell."""
    import platform

    import torch

    from ganlab.device import describe_device, pick_device

    device = pick_device("auto")
    lines = [
        f"ganlab {__version__} | python {platform.python_version()} | torch {torch.__version__}",
        f"device: {describe_device(device)}",
    ]
    if device.type == "cpu":
        lines.append(
            "note: no GPU in this runtime. The default 'quick' profile runs on a CPU; "
            "the 'full' profile needs a GPU (on Colab: Runtime > Change runtime type > T4 GPU)."
        )
    return "\n".join(lines)
