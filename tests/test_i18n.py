"""Languages: the shipped catalogs are compiled and complete, BCP 47 tags find them, and country names,
times, durations and lists come out in each language's own form."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALE_DIR, SOURCE, check, compiled, language, resolve

SHIPPED = ("en", "hi", "tr")
FIELDS = re.compile(r"\{[a-z_]+\}|%\([a-z_]+\)[sd]")
MOMENT = datetime(2021, 2, 1, 14, 5, tzinfo=UTC)


def catalog(code: str) -> list[tuple[object, object]]:
    with (LOCALE_DIR / code / "LC_MESSAGES" / "presswatch.po").open("rb") as file:
        return [(message.id, message.string) for message in read_po(file) if message.id]


def test_english_turkish_and_hindi_are_compiled() -> None:
    assert set(SHIPPED) <= set(compiled())
    for code in SHIPPED:
        assert (LOCALE_DIR / code / "LC_MESSAGES" / "presswatch.mo").is_file(), "pip install -e . builds them"


def template_ids() -> set[object]:
    with (LOCALE_DIR / "presswatch.pot").open("rb") as file:
        return {message.id for message in read_po(file) if message.id}


@pytest.mark.parametrize("code", SHIPPED)
def test_each_shipped_catalog_translates_every_message_with_its_placeholders(code: str) -> None:
    entries = catalog(code)
    assert {msgid for msgid, _ in entries} == template_ids()
    for msgid, string in entries:
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        strings = string if isinstance(string, tuple) else (string,)
        assert all(strings), f"{code}: {msgid!r} is not translated"
        for text in strings:
            assert set(FIELDS.findall(text)) == set(FIELDS.findall(ids[-1])), f"{code}: {msgid!r} -> {text!r}"


def test_the_template_lists_every_message_of_the_code(tmp_path: Path) -> None:
    """Extracting again finds nothing the .pot lacks: a new message has its translations to write."""
    from babel.messages.frontend import CommandLineInterface

    out = tmp_path / "fresh.pot"
    root = Path(__file__).parents[1]
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(root / "babel.cfg"), "-o", str(out), str(root)])
    with out.open("rb") as file:
        fresh = {message.id for message in read_po(file) if message.id}
    assert fresh == template_ids()


@pytest.mark.parametrize(("tag", "found"), [
    ("tr", "tr"), ("tr-TR", "tr"), ("TR_tr", "tr"), ("hi-IN", "hi"), ("en-GB", "en"), ("EN", "en"),
    ("de", None), ("pt-br", None), ("klingon", None), ("", None), (None, None), ("x" * 500, None),
])
def test_a_bcp47_tag_finds_its_catalog(tag: str | None, found: str | None) -> None:
    assert resolve(tag) == found


def test_an_unknown_language_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"no German catalog \('de'\); it speaks en, hi, tr"):
        check("de")
    with pytest.raises(ValueError, match=r"'zz-top' is not a language code"):
        check("zz-top")
    assert check("hi-IN") == "hi"


@pytest.mark.parametrize(("code", "turkey", "india", "everywhere"), [
    ("en", "Turkey", "India", "all countries"),
    ("tr", "Türkiye", "Hindistan", "tüm ülkeler"),
    ("hi", "तुर्किये", "भारत", "सभी देश"),
])
def test_country_names_come_from_pycountrys_translations(code: str, turkey: str, india: str, everywhere: str) -> None:
    lang = language(code)
    assert (lang.country("TR"), lang.country("IN"), lang.country("XX")) == (turkey, india, everywhere)
    assert lang.country("QQ") == "QQ"


@pytest.mark.parametrize(("code", "when", "lasted", "joined"), [
    ("en", "2021-02-01 14:05 UTC", "3 days 4 hours", "a, b and c"),
    ("tr", "1 Şubat 2021 14:05 UTC", "3 gün 4 saat", "a, b ve c"),
    ("hi", "1 फ़रवरी 2021 2:05 pm UTC", "3 दिन 4 घंटे", "a, b और c"),
])
def test_times_durations_and_lists_in_each_languages_form(code: str, when: str, lasted: str, joined: str) -> None:
    lang = language(code)
    assert lang.when(MOMENT) == when
    assert lang.duration(3 * 86400 + 4 * 3600 + 59) == lasted
    assert lang.join(["a", "b", "c"]) == joined


def test_turkish_keeps_its_dotted_capital_i() -> None:
    tr = language("tr")
    assert tr.gettext("First seen") == "İlk görülme"
    assert "İzlenen" in tr.gettext("<b>Watched accounts</b> ({count}), page {page} of {pages}:")
    assert tr.name == "Türkçe" and language("hi").name == "हिन्दी"


def test_an_unknown_code_is_english() -> None:
    assert language("xx").code == SOURCE and language("xx").gettext("Name") == "Name"


@pytest.mark.parametrize("code", [code for code in SHIPPED if code != SOURCE])
def test_no_message_is_left_in_english(code: str) -> None:
    """A catalog update that copies the English text in gives a 'translation' the test above accepts."""
    untranslated = [msgid for msgid, string in catalog(code) if string == msgid]
    assert untranslated == [], f"{code}: {untranslated}"
