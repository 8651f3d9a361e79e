"""bot.models.Secrets, the one scrubber: known secrets and Telegram bot tokens become [redacted]."""

from __future__ import annotations

import logging
import sys

import pytest

from bot.cli.logs import Redactor
from bot.models import REDACTED, Secrets

BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_each_known_secret_is_replaced_and_short_values_are_left_alone() -> None:
    secrets = Secrets.of(["s3cret-value", "abc", None, ""])
    assert secrets.scrub("token s3cret-value, abc") == f"token {REDACTED}, abc"
    assert REDACTED == "[redacted]"


def test_a_longer_secret_goes_before_one_it_contains() -> None:
    secrets = Secrets.of(["pass", "pass-and-more"])
    assert secrets.scrub("pass-and-more / pass") == f"{REDACTED} / {REDACTED}"


@pytest.mark.parametrize("text", [
    f"POST https://api.telegram.org/bot{BOT_TOKEN}/sendMessage",
    f"token {BOT_TOKEN} refused",
    "https://api.telegram.org/bot12:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe",
])
def test_a_telegram_bot_token_goes_known_or_not(text: str) -> None:
    scrubbed = Secrets().scrub(text)
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in scrubbed and REDACTED in scrubbed


def test_the_values_never_show_in_its_repr_and_adding_keeps_the_rules() -> None:
    both = Secrets.of(["first-secret"]) + Secrets.of(["second-secret-longer", "x"])
    assert "secret" not in repr(both)
    assert both.values == ("second-secret-longer", "first-secret")


def test_the_log_redactor_scrubs_messages_and_tracebacks_with_it() -> None:
    """A Telegram token outside a bot URL (an error quoting it bare) is scrubbed in the log too."""
    redactor = Redactor(["s3cret-value"])
    try:
        raise RuntimeError(f"refused s3cret-value and {BOT_TOKEN}")
    except RuntimeError:
        record = logging.LogRecord("presswatch.test", logging.ERROR, __file__, 1, "sent %s", ("s3cret-value",),
                                   exc_info=sys.exc_info())
    assert redactor.filter(record)
    text = record.getMessage()
    assert text.startswith(f"sent {REDACTED}\n") and "s3cret-value" not in text
    assert f"refused {REDACTED} and {REDACTED}" in text and BOT_TOKEN not in text
