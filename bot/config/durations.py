"""Durations as operators and admins write them: 30, 2.5, 500ms, 30s, 10m, 1h, 2d, 1h30m."""

from __future__ import annotations

import math
import re
from typing import Any

from bot.config.written import WrittenFloat, WrittenInt, shown

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_RE = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d)\s*)+")
_DURATION_PART_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_PLAIN_SECONDS_RE = re.compile(r"\d+(?:\.\d+)?")
# Far beyond any sane setting, and well inside what timedelta and the scheduler can hold.
DURATION_MAX = 100 * 365 * 86400.0


def parse_duration(value: object) -> float:
    """30, 2.5, '30s', '10m', '1h30m', '500ms', '90' -> seconds (above zero, at most 100 years).

    A YAML number is read from its source text, so ``10:00`` (YAML 1.1 base 60) is refused, not 600 s.
    """
    if isinstance(value, WrittenInt | WrittenFloat):
        value = value.source
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        written = value.strip()
        if _PLAIN_SECONDS_RE.fullmatch(written):
            seconds = float(written)
        elif _DURATION_RE.fullmatch(written):
            parts = _DURATION_PART_RE.findall(written)
            seconds = sum(float(count) * _UNITS[unit] for count, unit in parts)
    if seconds is None:
        raise ValueError(f"{shown(value)} is not a duration (use 30s, 10m, 1h or seconds)")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{shown(value)} is not a duration above zero (use 30s, 10m, 1h or seconds)")
    if seconds > DURATION_MAX:
        raise ValueError(f"{shown(value)} is longer than 100 years")
    return seconds


def format_duration(seconds: float) -> str:
    """600 -> '10m', 5400 -> '1h30m', 45 -> '45s', 0.5 -> '500ms'."""
    rest = round(seconds * 1000)
    if rest <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def within(low: float, high: float) -> Any:
    """A check that a duration in seconds lies in [low, high], saying which bound it crosses."""

    def check(seconds: float) -> float:
        if seconds < low:
            raise ValueError(f"{format_duration(seconds)} is too short: at least {format_duration(low)}")
        if seconds > high:
            raise ValueError(f"{format_duration(seconds)} is too long: at most {format_duration(high)}")
        return seconds

    return check
