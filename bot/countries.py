"""ISO 3166-1 alpha-2 codes and their English names (pycountry), plus X's XX (everywhere)."""

from __future__ import annotations

from functools import cache

import pycountry

from bot.models import EVERYWHERE

_SPECIAL = {EVERYWHERE: "all countries", "XY": "all countries (copyright)"}
# Names as the English-language press writes them, where ISO's short name differs.
_PRESS_NAMES = {
    "CD": "DR Congo",
    "FM": "Micronesia",
    "PS": "Palestine",
    "RU": "Russia",
    "TR": "Turkey",
    "VG": "British Virgin Islands",
    "VI": "US Virgin Islands",
}


@cache
def country_name(code: str) -> str:
    """'IN' -> 'India'; an unknown code comes back as itself."""
    code = code.upper()
    if code in _SPECIAL:
        return _SPECIAL[code]
    if code in _PRESS_NAMES:
        return _PRESS_NAMES[code]
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)


def normalize_country(text: str) -> str:
    """'tr' -> 'TR'; raises ValueError naming the problem for anything not an alpha-2 code."""
    code = text.strip().upper()
    if code in _SPECIAL:
        return code
    if len(code) == 2 and code.isalpha() and pycountry.countries.get(alpha_2=code) is not None:
        return code
    hint = ""
    if len(code) == 3 and (match := pycountry.countries.get(alpha_3=code)) is not None:
        hint = f" (did you mean {match.alpha_2}?)"
    raise ValueError(f"{text!r} is not an ISO 3166 alpha-2 code{hint}")


def alpha2_hint(text: str) -> str | None:
    """The alpha-2 code of an alpha-3 one ('TUR' -> 'TR'), or None."""
    code = text.strip().upper()
    match = pycountry.countries.get(alpha_3=code) if len(code) == 3 and code.isalpha() else None
    return str(match.alpha_2) if match is not None else None


def describe(codes: tuple[str, ...] | list[str] | frozenset[str]) -> str:
    """'India (IN), Turkey (TR)'."""
    return ", ".join(f"{country_name(code)} ({code})" for code in sorted(codes))
