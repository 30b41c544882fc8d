"""Profiles as data: ``smoke`` (CI), ``quick`` (default, offline, CPU) and ``full`` (GPU).

``base.toml`` holds the settings every notebook shares; ``NN_topic.toml`` beside it holds the few
keys a notebook changes, per profile. Keys ending in ``limit`` set to 0 mean "no limit" (None). :func:`settings` merges them (notebook file wins) and
returns a read-only :class:`Settings`, so notebooks never branch on the profile name.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["PROFILES", "Settings", "settings", "notebook_names"]

PROFILES = ("smoke", "quick", "full")


class Settings(Mapping[str, Any]):
    """Read-only mapping of one profile's settings; keys are also attributes (``S.steps``)."""

    def __init__(self, profile: str, notebook: str | None, values: dict[str, Any]) -> None:
        self._values = dict(values)
        self.profile = profile
        self.notebook = notebook

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __getattr__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(
                f"profile {self.profile!r} has no setting {key!r}; known: {', '.join(sorted(self._values))}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some keys changed (e.g. from a notebook's parameters cell)."""
        return Settings(self.profile, self.notebook, {**self._values, **changes})

    def as_dict(self) -> dict[str, Any]:
        """Plain dict copy (for JSON records)."""
        return {"profile": self.profile, "notebook": self.notebook, **self._values}

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"Settings({self.profile}{'/' + self.notebook if self.notebook else ''}: {body})"


def _read(name: str) -> dict[str, Any]:
    path = resources.files(__name__).joinpath(f"{name}.toml")
    if not path.is_file():
        return {}
    return tomllib.loads(path.read_text(encoding="utf-8"))


def notebook_names() -> list[str]:
    """Notebooks that have a profile file of their own."""
    return sorted(
        p.name[:-5]
        for p in resources.files(__name__).iterdir()
        if p.name.endswith(".toml") and p.name != "base.toml"
    )


def settings(profile: str = "quick", notebook: str | None = None) -> Settings:
    """Settings for ``profile``, with ``notebook``'s own overrides applied when it has a file.

    Raises:
        ValueError: unknown profile name.
    """
    if profile not in PROFILES:
        raise ValueError(f"profile {profile!r} is not known; accepted: {', '.join(PROFILES)}")
    values = dict(_read("base")[profile])
    if notebook is not None:
        values.update(_read(notebook).get(profile, {}))
    # TOML has no null: a limit of 0 means "no limit" and reaches the code as None.
    for key, value in values.items():
        if key.endswith("limit") and value == 0:
            values[key] = None
    return Settings(profile, notebook, values)
