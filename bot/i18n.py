"""Languages (pure core): gettext catalogs, country names, times, durations and lists in each language.

The catalogs are bot/locales/<lang>/LC_MESSAGES/presswatch.po, compiled to .mo by the packaging step
(setup.py). English is the source language: its messages are the msgids, so English works without a catalog.
Country names come from pycountry's own translations (iso3166-1), dates and durations from Babel's CLDR data.
A ``Language`` is built once per code and shared.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from pathlib import Path

import pycountry
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.lists import format_list
from babel.units import format_unit

from bot.countries import country_name
from bot.models import EVERYWHERE
from bot.said import N_, Said
from bot.text import format_utc, utc

LOCALE_DIR = Path(__file__).parent / "locales"
DOMAIN = "presswatch"
SOURCE = "en"  # the language of the msgids


_SPECIAL = {EVERYWHERE: N_("all countries"), "XY": N_("all countries (copyright)")}


def compiled() -> tuple[str, ...]:
    """The languages with a compiled catalog, and English, sorted."""
    found = {path.parts[-3] for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")}
    return tuple(sorted(found | {SOURCE}))


def uncompiled() -> tuple[str, ...]:
    """Languages whose catalog is here as a source (.po) only: the package was not built (pip install -e .)."""
    sources = {path.parts[-3] for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return tuple(sorted(sources - set(compiled())))


def resolve(tag: str | None) -> str | None:
    """The catalog for a BCP 47 tag ('tr', 'tr-TR', 'hi_IN', 'EN-us'), or None when there is none."""
    if not tag:
        return None
    try:
        locale = Locale.parse(tag.strip().replace("_", "-"), sep="-")
    except (UnknownLocaleError, ValueError, TypeError):
        return None
    known = compiled()
    for candidate in (str(locale), locale.language):
        if candidate in known:
            return candidate
    return None


def check(tag: str) -> str:
    """A subscriber's ``language``: the catalog it names; ValueError naming the tag when there is none."""
    found = resolve(tag)
    if found is not None:
        return found
    speaks = ", ".join(compiled())
    try:
        locale = Locale.parse(tag.strip().replace("_", "-"), sep="-")
    except (UnknownLocaleError, ValueError, TypeError):
        raise ValueError(f"{tag!r} is not a language code (BCP 47, like en, tr or hi)") from None
    if locale.language in uncompiled():
        raise ValueError(f"the {locale.english_name} catalog ({tag!r}) is not compiled: install presswatch "
                         "again (pip install -e .)")
    raise ValueError(f"presswatch has no {locale.english_name} catalog ({tag!r}); it speaks {speaks}")


@cache
def language(code: str) -> Language:
    """The Language of a catalog code (``resolve`` first); an unknown code is English."""
    return Language(code if code in compiled() else SOURCE)


class Language:
    """One language: its messages, country names, times, durations and lists."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.locale = Locale.parse(code)
        self.catalog: gettext.NullTranslations = gettext.NullTranslations()
        if code != SOURCE or (LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.mo").exists():
            self.catalog = gettext.translation(DOMAIN, LOCALE_DIR, languages=[code], fallback=code == SOURCE)
        self._countries = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[code], fallback=True)

    def __repr__(self) -> str:
        return f"Language({self.code!r})"

    @property
    def name(self) -> str:
        """The language's name in itself: 'Türkçe', 'हिन्दी'."""
        return str(self.locale.get_display_name(self.locale))

    def gettext(self, message: str) -> str:
        return self.catalog.gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return self.catalog.ngettext(singular, plural, count)

    def say(self, text: str) -> str:
        """A Said (bot/said.py) in this language, its quoted Saids too; plain text as it is."""
        if not isinstance(text, Said):
            return text
        values = {key: self.say(value) for key, value in text.values.items()}
        try:
            return self.gettext(text.msgid).format(**values)
        except (KeyError, IndexError, ValueError):  # a catalog that lost a placeholder: English is still right
            return str(text)

    def country(self, code: str) -> str:
        """'TR' -> 'Turkey', 'Türkiye', 'तुर्किये'; XX: all countries; an unknown code comes back as itself."""
        code = code.upper()
        if self.code == SOURCE:
            return country_name(code)
        if code in _SPECIAL:
            return self.gettext(_SPECIAL[code])
        found = pycountry.countries.get(alpha_2=code)
        if found is None:
            return code
        common = getattr(found, "common_name", None)
        if common and (translated := self._countries.gettext(common)) != common:
            return translated
        return self._countries.gettext(found.name)

    def when(self, moment: datetime) -> str:
        """A time in UTC as this language writes it: '2021-02-01 14:05 UTC', '1 Şubat 2021 14:05 UTC'."""
        if self.code == SOURCE:
            return format_utc(moment)
        moment = utc(moment)
        day = format_date(moment, "long", locale=self.locale)
        hour = format_time(moment, "short", tzinfo=moment.tzinfo, locale=self.locale)
        return f"{day} {hour} UTC"

    def duration(self, seconds: float) -> str:
        """'3 days 4 hours', '3 gün 4 saat': the largest unit and the next one down when not zero."""
        minutes = int(seconds // 60) if seconds == seconds else 0
        if minutes < 1:
            return self.gettext("less than a minute")
        units = (("day", minutes // 1440), ("hour", minutes // 60 % 24), ("minute", minutes % 60))
        first = next(index for index, (_, count) in enumerate(units) if count)
        shown = [(unit, count) for unit, count in units[first : first + 2] if count]
        return " ".join(format_unit(count, f"duration-{unit}", length="long", locale=self.locale)
                        for unit, count in shown)

    def join(self, items: Iterable[str]) -> str:
        """'a, b and c' in this language ('a, b ve c', 'a, b और c')."""
        listed = list(items)
        if len(listed) < 2:
            return "".join(listed)
        if self.code == SOURCE:  # no comma before "and", as presswatch always wrote it
            return ", ".join(listed[:-1]) + " and " + listed[-1]
        return str(format_list(listed, locale=self.locale))


ENGLISH = language(SOURCE)
