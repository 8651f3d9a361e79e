"""The one place that reads the wall clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def monotonic() -> float:
    return time.monotonic()


def unix() -> float:
    return time.time()
