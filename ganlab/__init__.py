"""ganlab: the helper package of a Generative Adversarial Networks lab course.

Rooms (one job each): ``data``, ``nets``, ``losses``, ``models``, ``train``, ``metrics``,
``results``, ``viz``, ``widgets``, ``profiles``, ``bench``; see docs/ARCHITECTURE.md.
Importing ``ganlab`` is cheap: submodules are imported where they are used.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "environment_report"]


def environment_report() -> str:
    """One short paragraph on versions and device, printed by every notebook's setup cell
    (:func:`ganlab.device.environment_report`; imported here on call, so ``import ganlab`` stays cheap)."""
    from ganlab.device import environment_report

    return environment_report()
