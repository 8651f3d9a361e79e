"""Text for people (pure): times in words, clipping with an ellipsis, HTML escaping for Telegram, Telegram's
text budget, and the rule a tag follows.

Every module that writes a time, cuts a text or escapes a value for Telegram uses these, so one alert, one
reply and one log line say a time the same way. Part of the pure core: it imports nothing of presswatch.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

ELLIPSIS = "…"
TELEGRAM_LIMIT = 4096  # Telegram's limit on a message, in UTF-16 code units after entity parsing
TELEGRAM_BUDGET = 4000  # a margin under the limit, for whatever Telegram counts differently
# A tag, as the config and the bot's commands take it: lower case, 1 to 32 of a-z, 0-9, '_' and '-'.
_TAG_RE = re.compile(r"[a-z0-9_-]{1,32}")
TAG_RULE = "1 to 32 of a-z, 0-9, '_' or '-'"  # in the bot's replies


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with a Z, to the second: '2021-02-01T14:05:00Z' (JSON output, notices)."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms(moment: datetime) -> str:
    """ISO 8601 UTC with a Z, to the millisecond: '2021-02-01T14:05:00.123Z' (`history --json`)."""
    moment = utc(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    """An ISO 8601 time as stored or printed ('...Z' or '+00:00') -> an aware UTC datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def format_utc(moment: datetime) -> str:
    """'2021-02-01 14:05 UTC': a time as alerts, replies and notices show it."""
    return utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def when(moment: datetime | None) -> str:
    """``format_utc``, or 'never' for no time at all."""
    return format_utc(moment) if moment else "never"


def humanize_duration(seconds: float) -> str:
    """3 days 4 hours, 2 hours, 5 minutes: the largest unit and the next one down when not zero."""
    minutes = int(seconds // 60) if seconds == seconds else 0
    if minutes < 1:
        return "less than a minute"
    units = (("day", minutes // 1440), ("hour", minutes // 60 % 24), ("minute", minutes % 60))
    first = next(index for index, (_, count) in enumerate(units) if count)
    shown = [(unit, count) for unit, count in units[first : first + 2] if count]
    return " ".join(f"{count} {unit}{'' if count == 1 else 's'}" for unit, count in shown)


def short_duration(seconds: float) -> str:
    """A duration as the config writes them, to the precision a message needs: 250ms, 3.3s, 45s, 16m40s, 2h5m."""
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    if seconds < 10:
        return f"{seconds:.1f}".rstrip("0").rstrip(".") + "s"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m{secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


def clip(text: str, cap: int | None) -> str:
    """At most ``cap`` characters of ``text``, the last one an ellipsis when some were cut; None keeps it whole."""
    if cap is None or len(text) <= cap:
        return text
    return text[: max(cap - 1, 0)] + ELLIPSIS


def esc(value: object) -> str:
    """Any outside value, made safe for Telegram's HTML parse mode (quotes included, for attributes)."""
    return html.escape(str(value), quote=True)


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible_text(markup: str) -> str:
    """What a reader sees of a Telegram HTML message: tags removed, entities decoded."""
    parser = _VisibleText()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


def utf16_units(text: str) -> int:
    """The length Telegram counts: UTF-16 code units (an emoji outside the BMP is two)."""
    return len(text.encode("utf-16-le")) // 2


def fits_telegram(markup: str, limit: int = TELEGRAM_BUDGET) -> bool:
    """True when both the visible text and the raw HTML are within ``limit`` UTF-16 code units."""
    visible = visible_text(markup)
    return bool(visible.strip()) and utf16_units(visible) <= limit and utf16_units(markup) <= limit


def is_tag(text: str) -> bool:
    """True when ``text`` is a tag as written: 1 to 32 of a-z, 0-9, '_' and '-' (already lower-cased)."""
    return _TAG_RE.fullmatch(text) is not None
