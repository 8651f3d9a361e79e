"""Alerts in words: every event kind, escaping, Telegram's limit, overrides and strict templates."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import UndefinedError

from bot.delivery.render import Renderer
from bot.models import EventKind, Notice, NoticeKind, Transition
from bot.text import TELEGRAM_LIMIT, utf16_units, visible_text

CONFIRMED = datetime(2021, 2, 1, 14, 5, tzinfo=UTC)
SHA = "0123456789abcdef" + "f" * 48
TELEGRAM_TAGS = {"b", "i", "u", "s", "a", "code", "pre", "blockquote", "tg-spoiler"}
HOSTILE_NAME = "<b>x</b> & \u200fעברית 🙂"


def transition(kind: EventKind = EventKind.WITHHELD, **changes: object) -> Transition:
    base = Transition(
        id=7,
        account_pk=1,
        platform="x",
        account_id="1234567890",
        handle="MahirZeynalov",
        name="Mahir Zeynalov",
        kind=kind,
        countries=("IN",),
        withheld_in=("IN",),
        previous_handle="MahirZeynalov",
        first_seen_at=CONFIRMED - timedelta(minutes=10),
        confirmed_at=CONFIRMED,
        evidence_sha256=SHA,
        tags=("journalist", "turkey"),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def renderer() -> Renderer:
    return Renderer()


class TelegramChecker(HTMLParser):
    """Fails on tags outside Telegram's subset and on tags that do not nest properly."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in TELEGRAM_TAGS, f"<{tag}> is not allowed in Telegram HTML"
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack}"
        self.stack.pop()


def assert_valid_telegram(markup: str) -> None:
    checker = TelegramChecker()
    checker.feed(markup)
    checker.close()
    assert checker.stack == []
    assert 0 < len(visible_text(markup)) < TELEGRAM_LIMIT
    assert utf16_units(markup) < TELEGRAM_LIMIT


KIND_CASES = [
    (EventKind.WITHHELD, {}, "@MahirZeynalov is now withheld in India (IN)"),
    (EventKind.UNWITHHELD, {"countries": ("TR",)}, "@MahirZeynalov is no longer withheld in Turkey (TR)"),
    (EventKind.SUSPENDED, {}, "@MahirZeynalov has been suspended"),
    (EventKind.UNSUSPENDED, {}, "@MahirZeynalov is no longer suspended"),
    (EventKind.DEACTIVATED, {}, "@MahirZeynalov can no longer be found (deactivated or deleted)"),
    (EventKind.REACTIVATED, {}, "@MahirZeynalov is back (reactivated)"),
    (EventKind.PROTECTED, {}, "@MahirZeynalov is now protected"),
    (EventKind.UNPROTECTED, {}, "@MahirZeynalov is no longer protected"),
    (EventKind.RENAMED, {"previous_handle": "OldName"}, "@OldName renamed to @MahirZeynalov"),
    (EventKind.LIMITED, {"platform": "mastodon", "handle": "mahir@mastodon.social"},
     "@mahir@mastodon.social has been limited by the moderators of its instance on Mastodon"),
    (EventKind.UNLIMITED, {"platform": "mastodon", "handle": "mahir@mastodon.social"},
     "@mahir@mastodon.social is no longer limited on Mastodon"),
]


def test_every_event_kind_has_a_case() -> None:
    assert {kind for kind, _, _ in KIND_CASES} == set(EventKind)


@pytest.mark.parametrize(("kind", "changes", "sentence"), KIND_CASES, ids=[k for k, _, _ in KIND_CASES])
def test_it_says_what_happened_in_every_format(
    renderer: Renderer, kind: EventKind, changes: dict[str, object], sentence: str
) -> None:
    message = renderer.alert(transition(kind, **changes))
    assert sentence in message.text
    actor, _, rest = sentence.partition(" ")
    for markup in (message.html, message.telegram_html):
        assert f"<b>{actor}</b> {rest}" in markup
    assert_valid_telegram(message.telegram_html)


@pytest.mark.parametrize(
    ("countries", "phrase"),
    [
        (("IN",), "withheld in India (IN)"),
        (("TR", "IN"), "withheld in India (IN) and Turkey (TR)"),
        (("RU", "IN", "TR"), "withheld in India (IN), Russia (RU) and Turkey (TR)"),
        (("CI",), "withheld in Côte d'Ivoire (CI)"),
        (("XX",), "withheld in all countries"),
    ],
)
def test_it_names_the_countries_added(renderer: Renderer, countries: tuple[str, ...], phrase: str) -> None:
    message = renderer.alert(transition(countries=countries, withheld_in=countries))
    assert f"is now {phrase}" in message.text
    assert phrase.replace("'", "&#39;") in message.telegram_html


def test_it_lists_the_full_withheld_set_or_none(renderer: Renderer) -> None:
    withheld = renderer.alert(transition(countries=("TR",), withheld_in=("IN", "TR")))
    assert "Withheld in: India (IN), Turkey (TR)" in withheld.text
    lifted = renderer.alert(transition(EventKind.UNWITHHELD, countries=("IN",), withheld_in=()))
    assert "Withheld in: none" in lifted.text
    assert "<b>Withheld in:</b> none" in lifted.telegram_html


def test_subject_is_one_short_line(renderer: Renderer) -> None:
    assert renderer.alert(transition()).subject == "[presswatch] @MahirZeynalov withheld in India (IN)"
    many = ("IN", "TR", "RU", "PK", "EG")
    subject = renderer.alert(transition(countries=many, name="a\r\nb")).subject
    assert "and 3 more" in subject
    assert "\n" not in subject and len(subject) <= 150


def test_it_says_how_long_the_previous_state_lasted(renderer: Renderer) -> None:
    since = CONFIRMED - timedelta(days=3, hours=4, minutes=12)
    message = renderer.alert(transition(EventKind.UNWITHHELD, countries=("TR",), previous_since=since))
    assert "@MahirZeynalov is no longer withheld in Turkey (TR) after 3 days 4 hours" in message.text


def test_it_leaves_out_the_duration_when_unknown(renderer: Renderer) -> None:
    assert " after " not in renderer.alert(transition(EventKind.UNSUSPENDED)).text


def test_it_shows_details_links_and_evidence(renderer: Renderer) -> None:
    message = renderer.alert(transition())
    assert "https://x.com/MahirZeynalov" in message.text
    assert "2021-02-01 13:55 UTC" in message.text and "2021-02-01 14:05 UTC" in message.text
    assert "journalist, turkey" in message.telegram_html
    assert SHA in message.text and SHA in message.html
    assert f"<code>{SHA[:16]}</code>" in message.telegram_html and SHA not in message.telegram_html
    assert "`presswatch history MahirZeynalov` shows the raw evidence" in message.text
    assert "<code>presswatch history MahirZeynalov</code> shows the raw evidence" in message.telegram_html
    assert "/i/user/" not in message.text


@pytest.mark.parametrize("kind", [EventKind.SUSPENDED, EventKind.DEACTIVATED])
def test_a_lost_account_links_its_id(renderer: Renderer, kind: EventKind) -> None:
    message = renderer.alert(transition(kind))
    assert "https://x.com/i/user/1234567890" in message.text
    assert 'href="https://x.com/i/user/1234567890"' in message.telegram_html
    assert "/i/user/" not in renderer.alert(transition(kind, account_id=None)).text


def test_outside_values_are_escaped_in_html_and_intact_in_text(renderer: Renderer) -> None:
    message = renderer.alert(transition(name=HOSTILE_NAME, tags=("a&b", '"q"')))
    escaped = "&lt;b&gt;x&lt;/b&gt; &amp; \u200fעברית 🙂"
    for markup in (message.html, message.telegram_html):
        assert escaped in markup
        assert "<b>x</b>" not in markup
        assert "a&amp;b" in markup and '"q"' not in markup
    assert HOSTILE_NAME in message.text and "a&b" in message.text
    assert_valid_telegram(message.telegram_html)
    assert message.html.startswith("<!DOCTYPE html>") and "</html>" in message.html


def test_a_name_cannot_forge_lines(renderer: Renderer) -> None:
    message = renderer.alert(transition(name="Real\nWithheld in: none"))
    assert "\nWithheld in: none" not in message.text
    assert "Real Withheld in: none" in message.telegram_html


@pytest.mark.parametrize("unit", ["x", "&", "🙂", "<b>"])
def test_a_huge_name_is_trimmed_under_telegrams_limit(renderer: Renderer, unit: str) -> None:
    name = unit * 10_000
    message = renderer.alert(transition(name=name, tags=("t" * 5000,)))
    assert_valid_telegram(message.telegram_html)
    assert "…" in visible_text(message.telegram_html)
    assert "@MahirZeynalov is now withheld in India (IN)" in visible_text(message.telegram_html)
    assert name in message.text


def test_every_country_at_once_still_fits(renderer: Renderer) -> None:
    import pycountry

    codes = tuple(country.alpha_2 for country in pycountry.countries)
    message = renderer.alert(transition(countries=codes, withheld_in=codes))
    assert_valid_telegram(message.telegram_html)


def test_an_override_folder_replaces_one_template(tmp_path: Path) -> None:
    (tmp_path / "alert.tg.j2").write_text("{{ icon }} custom: <b>{{ name }}</b>\n")
    renderer = Renderer(tmp_path)
    message = renderer.alert(transition(name="A & B"))
    assert message.telegram_html == "🔴 custom: <b>A &amp; B</b>"
    assert "@MahirZeynalov is now withheld in India (IN)" in message.text
    assert "alert.tg.j2" in renderer.templates()


def test_an_override_too_long_to_fit_falls_back_to_escaped_text(tmp_path: Path) -> None:
    (tmp_path / "alert.tg.j2").write_text("<b>{{ handle }}</b> " + "padding " * 1000 + "\n")
    message = Renderer(tmp_path).alert(transition(name="A & B"))
    assert_valid_telegram(message.telegram_html)
    assert message.telegram_html.startswith("@MahirZeynalov is now withheld in India (IN)")
    assert "A &amp; B" in message.telegram_html


def test_an_override_can_reuse_the_shared_sentence(tmp_path: Path) -> None:
    (tmp_path / "alert.txt.j2").write_text(
        '{% import "_macros.j2" as m with context %}NEWS: {{ m.what_happened(what) }}\n'
    )
    message = Renderer(tmp_path).alert(transition(countries=("CI",)))
    assert message.text == "NEWS: @MahirZeynalov is now withheld in Côte d'Ivoire (CI)\n"


def test_a_template_typo_fails_loudly(tmp_path: Path) -> None:
    (tmp_path / "alert.txt.j2").write_text("{{ handel }}\n")
    with pytest.raises(UndefinedError):
        Renderer(tmp_path).alert(transition())


def test_templates_lists_the_bundled_set() -> None:
    names = Renderer().templates()
    for stem in ("alert", "operator"):
        for fmt in ("txt", "html", "tg"):
            assert f"{stem}.{fmt}.j2" in names
    assert "_macros.j2" in names


def notice(kind: NoticeKind = NoticeKind.X_AUTH, **changes: object) -> Notice:
    base = Notice(id=3, kind=kind, summary="X answered 401", detail="Unauthorized <token?>", at=CONFIRMED)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_operator_alert_reads_as_health_news(renderer: Renderer, kind: NoticeKind) -> None:
    message = renderer.operator(notice(kind))
    assert message.subject.startswith("[presswatch health] ")
    assert "presswatch health" in visible_text(message.telegram_html)
    assert "X answered 401" in message.text and "2021-02-01 14:05 UTC" in message.text
    assert "Unauthorized &lt;token?&gt;" in message.telegram_html
    assert "Unauthorized &lt;token?&gt;" in message.html
    assert_valid_telegram(message.telegram_html)


def test_operator_alert_differs_from_a_subscriber_alert(renderer: Renderer) -> None:
    operator = renderer.operator(notice())
    alert = renderer.alert(transition())
    assert operator.subject.split("]")[0] != alert.subject.split("]")[0]
    assert "presswatch health" not in alert.telegram_html
    assert "shows the raw evidence" not in operator.text


def test_a_huge_operator_detail_is_trimmed(renderer: Renderer) -> None:
    message = renderer.operator(notice(detail="<err> " * 5000, summary="s\nt" * 100))
    assert_valid_telegram(message.telegram_html)
    assert "\n" not in message.subject


@pytest.mark.parametrize(("code", "sentence", "label"), [
    ("tr", "@MahirZeynalov artık şu ülkelerde erişime engellendi: Hindistan (IN) ve Türkiye (TR)", "Ad:"),
    ("hi", "@MahirZeynalov को अब भारत (IN) और तुर्किये (TR) में रोक दिया गया है", "नाम:"),
])
def test_an_alert_speaks_the_subscribers_language(renderer: Renderer, code: str, sentence: str, label: str) -> None:
    from bot.i18n import language

    message = renderer.alert(transition(countries=("TR", "IN"), withheld_in=("TR", "IN")), language(code))
    assert sentence in message.text and sentence in visible_text(message.telegram_html)
    assert label in message.text and f'<html lang="{code}">' in message.html
    assert "India" not in message.text + message.html + message.telegram_html + message.subject
    assert_valid_telegram(message.telegram_html)


def test_a_digest_counts_in_the_subscribers_language(renderer: Renderer) -> None:
    from bot.i18n import language

    message, count = renderer.digest([transition(), transition(id=8, kind=EventKind.SUSPENDED)], language("tr"))
    assert count == 2 and message.text.startswith("presswatch: aynı anda 2 değişiklik")
    assert message.subject.startswith("[presswatch] 2 değişiklik: ")


def test_operator_notices_are_in_the_default_language() -> None:
    from bot.i18n import language

    notice = Notice(3, NoticeKind.STALE, "no poll", "since noon", CONFIRMED)
    message = Renderer(default=language("tr")).operator(notice)
    assert "PRESSWATCH SAĞLIK DURUMU: Son zamanlarda başarılı yoklama yok" in message.text
    assert "1 Şubat 2021 14:05 UTC" in message.text


def test_an_operator_notice_is_said_whole_in_the_default_language() -> None:
    from bot.i18n import language
    from bot.said import N_, Said

    summary = Said(N_("Subscriber {name} was disabled"), name="<Old room>")
    detail = Said(N_("{channel} {address}: {error}. Its alerts are held until it is enabled again."),
                  channel="matrix", address="!left:sandbox", error="403 M_FORBIDDEN")
    notice = Notice(4, NoticeKind.SUBSCRIBER_DISABLED, summary, detail, CONFIRMED)
    message = Renderer(default=language("tr")).operator(notice)
    assert message.subject.startswith("[presswatch sağlık durumu] Bir abone devre dışı bırakıldı: <Old room> abonesi")
    assert "<Old room> abonesi devre dışı bırakıldı" in message.text
    assert "!left:sandbox: 403 M_FORBIDDEN. Yeniden etkinleştirilene kadar uyarıları bekletiliyor." in message.text
    assert "&lt;Old room&gt; abonesi" in message.telegram_html
    hindi = Renderer(default=language("hi")).operator(notice)
    assert "सदस्य <Old room> को निष्क्रिय किया गया" in hindi.text
    assert Renderer().operator(notice).text.count("Subscriber <Old room> was disabled") == 1
