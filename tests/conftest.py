"""Test-wide settings: headless plotting, no network, shared offline data folder."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("KAGGLEHUB_OFFLINE", "1")
