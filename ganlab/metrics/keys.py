"""Metric keys that name their extractor and N: ``fid[mnist_cnn,N=1000]``, ``precision[mnist_cnn,N=1000,k=3]``.

A domain FID is never reported as bare "FID": every number the :class:`~ganlab.metrics.Evaluator`
returns carries the feature extractor and the sample size in its key, and tables read them back
with :func:`parse_metric_key`.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["metric_key", "parse_metric_key"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_KEY = re.compile(r"^(?P<metric>[A-Za-z][A-Za-z0-9_]*)\[(?P<extractor>[A-Za-z0-9_.-]+),N=(?P<n>\d+)(?P<extra>(?:,[A-Za-z][A-Za-z0-9_]*=[^,\[\]=]+)*)\]$")


def metric_key(metric: str, extractor: str, n: int, **extra: Any) -> str:
    """``metric[extractor,N=n,key=value,...]`` (extra items in the given order).

    >>> metric_key("precision", "mnist_cnn", 1000, k=3)
    'precision[mnist_cnn,N=1000,k=3]'
    """
    if not _NAME.match(metric):
        raise ValueError(f"metric name {metric!r} must be an identifier (letters, digits, _)")
    if not re.match(r"^[A-Za-z0-9_.-]+$", extractor):
        raise ValueError(f"extractor name {extractor!r} must use letters, digits, _ . - only")
    if isinstance(n, bool) or int(n) != n or n < 0:
        raise ValueError(f"N must be a non-negative integer, got {n!r}")
    tail = "".join(f",{k}={v}" for k, v in extra.items())
    for k, v in extra.items():
        if any(c in str(v) for c in ",[]="):
            raise ValueError(f"extra value {k}={v!r} must not contain , [ ] =")
    return f"{metric}[{extractor},N={int(n)}{tail}]"


def _value(text: str) -> int | float | str:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_metric_key(key: str) -> dict[str, Any]:
    """Inverse of :func:`metric_key`: ``{"metric", "extractor", "n", **extra}`` (numbers parsed).

    >>> parse_metric_key("precision[mnist_cnn,N=1000,k=3]")
    {'metric': 'precision', 'extractor': 'mnist_cnn', 'n': 1000, 'k': 3}

    Raises:
        ValueError: ``key`` is not of the form ``metric[extractor,N=n,...]``.
    """
    m = _KEY.match(key) if isinstance(key, str) else None
    if m is None:
        raise ValueError(f"{key!r} is not a metric key; expected e.g. 'fid[mnist_cnn,N=1000]' or 'precision[inception,N=5000,k=3]'")
    out: dict[str, Any] = {"metric": m["metric"], "extractor": m["extractor"], "n": int(m["n"])}
    for item in filter(None, m["extra"].split(",")):
        k, v = item.split("=", 1)
        out[k] = _value(v)
    return out
