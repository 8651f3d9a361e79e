"""The restrictions-over-time chart as SVG geometry (pure): the template draws it, no script is needed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

WIDTH, HEIGHT = 760, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 14, 30  # margins for the axis labels


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    y: float
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    """Paths and labels in SVG user units (``WIDTH`` x ``HEIGHT``); ``empty`` when there is nothing to draw."""

    width: int
    height: int
    area: str
    line: str
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    latest: int
    peak: int
    summary: str
    empty: bool


def _nice_top(peak: int) -> int:
    """The y axis' top: 1, 2 or 5 times a power of ten, at or above ``peak``."""
    if peak <= 1:
        return 1
    magnitude = 10 ** (len(str(peak)) - 1)
    return next(step * magnitude for step in (1, 2, 5, 10) if step * magnitude >= peak)


def _date(moment: datetime, span_days: float) -> str:
    """A label as precise as the span needs: days over two days, minutes over two hours, else seconds."""
    return moment.strftime("%Y-%m-%d" if span_days >= 2 else "%m-%d %H:%M" if span_days >= 1 / 12 else "%H:%M:%S")


def _levels(top: int) -> list[int]:
    """The y axis' gridlines: 0 to ``top`` in five or two equal steps (1, 2 or 5 times a power of ten)."""
    step = top // 5 if top >= 5 and top % 5 == 0 else max(1, top // 2)
    return list(range(0, top + 1, step))


def build(series: Sequence[tuple[datetime, int]]) -> Chart:
    """The chart of ``series`` (moments in order, and how many accounts were restricted then)."""
    if len(series) < 2:
        return Chart(WIDTH, HEIGHT, "", "", (), (), series[-1][1] if series else 0, 0,
                     "No accounts watched yet.", True)
    peak = max(level for _, level in series)
    top = _nice_top(peak)
    first, last = series[0][0], series[-1][0]
    span = max((last - first).total_seconds(), 1.0)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(moment: datetime) -> float:
        return round(LEFT + inner_w * (moment - first).total_seconds() / span, 1)

    def y(level: float) -> float:
        return round(TOP + inner_h * (1 - level / top), 1)

    # A step line: the level holds until the next moment.
    points: list[tuple[float, float]] = []
    for index, (moment, level) in enumerate(series):
        if index:
            points.append((x(moment), points[-1][1]))
        points.append((x(moment), y(level)))
    line = "M" + " L".join(f"{px},{py}" for px, py in points)
    area = f"{line} L{x(last)},{y(0)} L{x(first)},{y(0)} Z"
    days = span / 86400
    x_ticks = tuple(Tick(x(moment), HEIGHT - 10, _date(moment, days))
                    for moment in (first, first + (last - first) / 2, last))
    y_ticks = tuple(Tick(LEFT - 6, y(level), str(level)) for level in _levels(top))
    latest = series[-1][1]
    summary = (f"Accounts restricted from {_date(first, days)} to {_date(last, days)}: {latest} now,"
               f" at most {peak}.")
    return Chart(WIDTH, HEIGHT, area, line, x_ticks, y_ticks, latest, peak, summary, False)
