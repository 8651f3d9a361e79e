"""What people type into commands, read strictly: whole numbers, and short quotes of bad input (pure)."""

from __future__ import annotations

import re

from bot.text import clip

# [0-9], not \d or str.isdigit(): those also take '²', '¹' or '٣', which int() then refuses or reads as 3.
_DIGITS = re.compile(r"[0-9]+")
QUOTE_MAX = 41  # characters a quote of bad input takes at most: 40 of the input and an ellipsis when cut
SQLITE_MAX = 2**63 - 1  # the largest INTEGER SQLite can bind


def is_digits(text: str) -> bool:
    """True when ``text`` is one or more ASCII digits 0-9 and nothing else (any length)."""
    return _DIGITS.fullmatch(text) is not None


def parse_number(text: str, maximum: int) -> int | None:
    """``text`` as a whole number from 1 to ``maximum``, written in ASCII digits; None for anything else.

    Signs, spaces, decimals, Unicode digits, zero and numbers above ``maximum`` are all None, so that what
    a caller gets always fits where it goes (a page, an SQLite id, a timedelta). Leading zeros are allowed.
    The length is checked before ``int()``: a 5,000-digit argument is refused, not converted.
    """
    if not is_digits(text):
        return None
    significant = text.lstrip("0")
    if not significant or len(significant) > len(str(maximum)):
        return None
    value = int(significant)
    return value if value <= maximum else None


def quote(text: str, limit: int = QUOTE_MAX) -> str:
    """A short, single-line quote of user input for an error message: "'abc…'" (plain text, escape it)."""
    return repr(clip(text, limit))
