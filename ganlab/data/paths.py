"""Where data sets live on disk: ``root`` argument > ``$GANLAB_DATA_DIR`` > ``~/.cache/ganlab/data``."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENV_VAR", "default_root", "resolve_root"]

ENV_VAR = "GANLAB_DATA_DIR"


def default_root() -> Path:
    """The data root when no ``root`` is given: ``$GANLAB_DATA_DIR`` if set, else ``~/.cache/ganlab/data``."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    return Path("~/.cache/ganlab/data").expanduser()


def resolve_root(root: str | os.PathLike[str] | None) -> Path:
    """``root`` as an absolute :class:`~pathlib.Path`, falling back to :func:`default_root`."""
    if root is None:
        return default_root().absolute()
    if not isinstance(root, (str, os.PathLike)):
        raise ValueError(f"root={root!r} is not a folder path; accepted: a str or os.PathLike, or None")
    return Path(root).expanduser().absolute()
