"""Strict reading of what people type: numbers in commands, and replies to bad input that stay short."""

from __future__ import annotations

import pytest

from bot.chatbot.links import parse_link_args
from bot.chatbot.service import COMMANDS
from bot.chatbot.userinput import parse_number, quote
from bot.storage.outbox import SubscriberSpec
from bot.text import TELEGRAM_BUDGET, utf16_units
from tests.helpers_bot import ADMIN, T0, Bot


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", 1), ("42", 42), ("007", 7), ("99999", 99_999), ("100000", None), ("0", None), ("000", None),
     ("²", None), ("¹", None), ("٣", None), ("１", None), ("-1", None), ("+1", None), (" 1", None), ("1 ", None),
     ("1.0", None), ("1e3", None), ("", None), ("9" * 5000, None), ("0" * 5000 + "1", 1)],
)
def test_numbers_are_ascii_digits_from_one_to_the_bound(text: str, expected: int | None) -> None:
    assert parse_number(text, 99_999) == expected


def test_a_quote_of_bad_input_is_short_and_one_line() -> None:
    assert quote("abc") == "'abc'"
    assert quote("x" * 4000) == "'" + "x" * 40 + "…'"
    assert "\n" not in quote("a\nb")


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("/list ²", "Usage: /list"),
        ("/list ٣", "Usage: /list"),
        ("/list 99999999999999999999999", "Usage: /list"),
        ("/approve ²", "Usage: /approve <claim id> or /approve @handle"),
        ("/reject #¹", "Usage: /reject <claim id> or /reject @handle"),
        ("/approve 99999999999999999999999", "There is no claim #99999999999999999999999."),
        ("/reject #9223372036854775808", "There is no claim #9223372036854775808."),  # 2**63: over SQLite's
        ("/approve 0", "There is no claim #0."),
        ("/approve " + "9" * 5000, "There is no claim #" + "9" * 40 + "…."),
        ("/link 99999999999999999999d", "a link lasts between 1 minute and 366 days"),
        ("/link ²d", "is not an expiry"),
        ("/link ٣d", "is not an expiry"),
        ("/link 1.5d", "is not an expiry"),
        ("/link 0d", "a link lasts between 1 minute and 366 days"),
    ],
)
async def test_a_bad_number_gets_usage_not_a_crash(command: str, answer: str) -> None:
    bot = Bot(mode="approve")
    reply = await bot.say(bot.private(ADMIN), command)
    assert answer in bot.plain(reply)


@pytest.mark.parametrize(("word", "days"), [("12h", 0.5), ("7d", 7), ("2w", 14), ("1d12h", 1.5), ("366d", 366)])
def test_link_expiries_are_whole_numbers_with_a_unit(word: str, days: float) -> None:
    assert parse_link_args([word])[1].total_seconds() == days * 86_400


LONG = "x" * 4000
USAGES = {
    "subscribe": "Usage: /subscribe [countries] [kinds or groups] [tag:name], for example "
                 "/subscribe TR IN restricted tag:journalist",
    "unsubscribe": "Usage: /unsubscribe",
    "settings": "Usage: /settings",
    "watch": "Usage: /watch @handle (your own X, Bluesky or Mastodon account)",
    "verify": "Usage: /verify, or /verify @handle",
    "unwatch": "Usage: /unwatch @handle",
    "status": "Usage: /status @handle",
    "list": "Usage: /list, or /list 2 for the second page",
    "history": "Usage: /history @handle",
    "add": "Usage: /add @handle [tag ...]",
    "remove": "Usage: /remove @handle",
    "pending": "Usage: /pending",
    "approve": "Usage: /approve <claim id> or /approve @handle",
    "reject": "Usage: /reject <claim id> or /reject @handle",
    "subscribers": "Usage: /subscribers",
    "health": "Usage: /health",
    "link": "Usage: /link [countries] [kinds or groups] [tag:name] [expiry like 7d]",
}


@pytest.mark.parametrize("name", [command.name for command in COMMANDS])
@pytest.mark.parametrize("arg", [LONG, "@" + LONG, "#" + "9" * 4000, f"tag:{LONG}", "7" * 4000 + "d"])
async def test_long_input_gets_the_whole_usage_line_and_a_short_quote(name: str, arg: str) -> None:
    bot = Bot()
    command = f"/{name} {arg}" if name != "add" else f"/add @someone {arg}"
    reply = await bot.say(bot.private(ADMIN), command)
    text = bot.plain(reply)
    assert len(text) < 400 or name == "help", text  # /help ignores arguments: its answer is the command list
    assert "x" * 41 not in text and "9" * 41 not in text and "7" * 41 not in text
    claim_id = name in ("approve", "reject") and arg.startswith("#9")  # "There is no claim #999…."
    if name in USAGES and not claim_id:
        assert text.endswith(USAGES[name]), text


async def test_a_long_unknown_command_is_quoted_short() -> None:
    bot = Bot()
    reply = await bot.say(bot.private(ADMIN), "/" + "y" * 4000)
    assert "y" * 33 not in reply.text and "Send /help" in reply.text


async def test_a_reply_of_wide_characters_stays_within_telegrams_budget() -> None:
    """Telegram counts UTF-16 units: 30 subscribers named in emoji made a reply of 3,900 code points but
    7,000 units, which Telegram refuses."""
    bot = Bot()
    for n in range(30):
        spec = SubscriberSpec(key=f"tg:{n}", name="🙂" * 100, channel="telegram", address=str(1000 + n))
        bot.outbox.upsert_subscriber(spec, T0)
    reply = await bot.say(bot.private(ADMIN), "/subscribers")
    assert "Enabled: 30" in reply.text and "🙂" * 100 in reply.text
    assert utf16_units(reply.text) <= TELEGRAM_BUDGET
