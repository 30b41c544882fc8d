"""The one error type of the data layer that is not a plain ``ValueError``."""

from __future__ import annotations

__all__ = ["DatasetUnavailableError"]


class DatasetUnavailableError(ValueError):
    """An online data set is neither cached nor on disk, and could not be downloaded.

    The message names the data set, the folder that was searched, why the download did not
    happen (``download=False``, no network, ...) and how to place the files there by hand.
    """
