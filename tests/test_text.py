"""bot.text: times in words, clipping, escaping for Telegram, Telegram's budget, and the tag rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.chatbot.replies import fit
from bot.text import (
    ELLIPSIS,
    TELEGRAM_BUDGET,
    clip,
    esc,
    fits_telegram,
    format_utc,
    humanize_duration,
    is_tag,
    iso,
    iso_ms,
    parse_iso,
    short_duration,
    utf16_units,
    visible_text,
    when,
)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "less than a minute"),
        (59, "less than a minute"),
        (-5, "less than a minute"),
        (60, "1 minute"),
        (3 * 3600 + 5 * 60, "3 hours 5 minutes"),
        (86400, "1 day"),
        (3 * 86400 + 4 * 3600 + 12 * 60, "3 days 4 hours"),
        (2 * 86400 + 7 * 60, "2 days"),
    ],
)
def test_humanize_duration(seconds: float, words: str) -> None:
    assert humanize_duration(seconds) == words


def test_format_utc_converts_and_accepts_naive() -> None:
    assert format_utc(datetime(2021, 2, 1, 14, 5, tzinfo=UTC)) == "2021-02-01 14:05 UTC"
    assert format_utc(datetime(2021, 2, 1, 14, 5)) == "2021-02-01 14:05 UTC"
    assert format_utc(datetime.fromisoformat("2021-02-01T16:05+02:00")) == "2021-02-01 14:05 UTC"


def test_iso_is_utc_to_the_second_with_a_z_and_reads_back() -> None:
    moment = datetime(2021, 2, 1, 16, 5, 7, 999, tzinfo=timezone(timedelta(hours=2)))
    assert iso(moment) == "2021-02-01T14:05:07Z"
    assert iso(datetime(2021, 2, 1, 14, 5, 7)) == "2021-02-01T14:05:07Z"  # naive is UTC, as in format_utc
    assert parse_iso("2021-02-01T14:05:07Z") == datetime(2021, 2, 1, 14, 5, 7, tzinfo=UTC)
    assert parse_iso("2021-02-01T16:05:07+02:00") == datetime(2021, 2, 1, 14, 5, 7, tzinfo=UTC)


def test_when_says_never_for_no_time() -> None:
    assert when(None) == "never"
    assert when(datetime(2021, 2, 1, 14, 5, tzinfo=UTC)) == "2021-02-01 14:05 UTC"


@pytest.mark.parametrize(("text", "cap", "clipped"), [
    ("abc", None, "abc"), ("abc", 3, "abc"), ("abcd", 3, "ab" + ELLIPSIS), ("abcd", 1, ELLIPSIS), ("", 0, ""),
])
def test_clip_keeps_at_most_cap_characters_the_last_an_ellipsis(text: str, cap: int | None, clipped: str) -> None:
    assert clip(text, cap) == clipped


def test_esc_makes_any_value_safe_for_telegram_html() -> None:
    assert esc("<b>a</b> & \"q\" 'x'") == "&lt;b&gt;a&lt;/b&gt; &amp; &quot;q&quot; &#x27;x&#x27;"
    assert esc(42) == "42"
    assert visible_text("<b>" + esc("<i> & 🙂") + "</b>") == "<i> & 🙂"


def test_telegram_counts_utf16_units() -> None:
    assert utf16_units("abc") == 3 and utf16_units("🙂") == 2
    assert fits_telegram("🙂" * (TELEGRAM_BUDGET // 2)) and not fits_telegram("🙂" * (TELEGRAM_BUDGET // 2 + 1))
    assert not fits_telegram("<b> </b>")  # nothing to read is not a message


def test_a_reply_of_wide_characters_is_fitted_in_telegrams_units() -> None:
    """Once, fit counted code points: three lines of 1,500 emoji (6,000 units) went out and Telegram refused."""
    text = fit(["🙂" * 1500] * 3)
    assert utf16_units(text) <= TELEGRAM_BUDGET
    assert text.split("\n") == ["🙂" * 1500, f"{ELLIPSIS} (more not shown)"]


@pytest.mark.parametrize(("text", "ok"), [
    ("journalist", True), ("a", True), ("x" * 32, True), ("media-2_b", True),
    ("", False), ("x" * 33, False), ("Journalist", False), ("journalist\n", False), ("tag one", False), ("é", False),
])
def test_a_tag_is_1_to_32_of_lower_case_letters_digits_underscore_and_dash(text: str, ok: bool) -> None:
    assert is_tag(text) is ok


def test_iso_ms_keeps_milliseconds_and_parses_back() -> None:
    moment = datetime(2021, 2, 1, 14, 5, 0, 123_987, tzinfo=UTC)
    assert iso_ms(moment) == "2021-02-01T14:05:00.123Z"
    assert iso_ms(moment.replace(microsecond=0)) == "2021-02-01T14:05:00.000Z"
    assert parse_iso(iso_ms(moment)) == moment.replace(microsecond=123_000)
    assert iso_ms(moment.astimezone(timezone(timedelta(hours=3)))) == "2021-02-01T14:05:00.123Z"


@pytest.mark.parametrize(("seconds", "text"), [
    (0.25, "250ms"), (0.0001, "1ms"), (3.333, "3.3s"), (2.0, "2s"), (45.4, "45s"), (60, "1m"),
    (1000, "16m40s"), (3600, "1h"), (7530, "2h5m"), (86400, "24h"),
])
def test_short_durations_are_written_as_the_config_writes_them(seconds: float, text: str) -> None:
    assert short_duration(seconds) == text
