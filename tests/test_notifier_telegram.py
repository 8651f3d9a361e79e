"""TelegramNotifier against the sandbox: what reaches the chat, and the decision each failure carries."""

from __future__ import annotations

import html
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Mapping

import pytest
from telegram.error import RetryAfter

from bot.models import Message
from bot.sandbox.telegram_api import TelegramSandbox
from notifiers.base import ConfigRefused, Moved, NotifyError, Permanent, RetryLater, Unreached
from notifiers.telegram import TelegramNotifier, build_bot, retry_seconds
from tests.helpers_echo import EchoServer

TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def alert(name: str = "Jane Doe") -> Message:
    escaped = html.escape(name)
    return Message(
        subject=f"{name} suspended",
        text=f"{name} suspended",
        html=f"<p>{escaped}</p>",
        telegram_html=f"<b>{escaped}</b> was suspended",
    )


@pytest.fixture
def sandbox() -> Iterator[TelegramSandbox]:
    with TelegramSandbox(TOKEN) as sb:
        yield sb


@pytest.fixture
async def notifier(sandbox: TelegramSandbox) -> AsyncIterator[TelegramNotifier]:
    bot = build_bot(TOKEN, sandbox.base_url, read_timeout=0.5, connect_timeout=0.5)
    await bot.initialize()
    notifier = TelegramNotifier(bot, owns_sender=True)
    yield notifier
    await notifier.aclose()


async def test_it_sends_html_without_link_preview(notifier: TelegramNotifier, sandbox: TelegramSandbox) -> None:
    sandbox.add_chat(100)
    await notifier.send("100", alert())
    [record] = sandbox.sent_to(100)
    assert record["parse_mode"] == "HTML" and record["plain"] == "Jane Doe was suspended"
    assert record["params"]["link_preview_options"] == {"is_disabled": True}
    assert notifier.channel == "telegram"


async def test_a_hostile_display_name_arrives_intact(notifier: TelegramNotifier, sandbox: TelegramSandbox) -> None:
    name = "<b>Ali & Co</b> \u202eعلي الصحفي\u202c 📰🇹🇷 &amp;"
    sandbox.add_chat(-1001, "supergroup", title="Desk")
    await notifier.send("-1001", alert(name))
    assert sandbox.sent_to(-1001)[0]["plain"] == f"{name} was suspended"


def block(sb: TelegramSandbox) -> None:
    sb.add_chat(5)
    sb.block(5)


def kick(sb: TelegramSandbox) -> None:
    sb.add_chat(5, "group")
    sb.kick(5)


def deactivate(sb: TelegramSandbox) -> None:
    sb.add_chat(5)
    sb.deactivate_user(5)


def nothing(sb: TelegramSandbox) -> None:
    """Chat 5 was never seen: chat not found."""


def server_error(kind: str) -> Callable[[TelegramSandbox], None]:
    def fail(sb: TelegramSandbox) -> None:
        sb.add_chat(5)
        sb.slow_seconds = 1.0
        sb.fail_next(kind)

    return fail


def down(sb: TelegramSandbox) -> None:
    sb.add_chat(5)
    sb.set_down(True)


@pytest.mark.parametrize(
    ("setup", "decision", "words"),
    [
        (block, Permanent, "blocked"),
        (kick, Permanent, "kicked"),
        (deactivate, Permanent, "deactivated"),
        (nothing, Permanent, "not found"),
        (server_error("500"), NotifyError, "network error"),
        (server_error("502"), NotifyError, "network error"),
        (server_error("timeout"), NotifyError, "timed out"),
        (down, Unreached, "not reachable"),
    ],
    ids=["blocked", "kicked", "deactivated", "chat-not-found", "500", "502", "timeout", "down"],
)
async def test_failures_carry_the_delivery_decision(
    notifier: TelegramNotifier,
    sandbox: TelegramSandbox,
    setup: Callable[[TelegramSandbox], None],
    decision: type[NotifyError],
    words: str,
) -> None:
    setup(sandbox)
    with pytest.raises(NotifyError) as raised:
        await notifier.send("5", alert())
    error = raised.value
    assert type(error) is decision
    assert words in str(error).lower()
    assert TOKEN not in str(error) and TOKEN.split(":")[1] not in str(error)


async def test_a_migrated_group_names_its_new_id(notifier: TelegramNotifier, sandbox: TelegramSandbox) -> None:
    sandbox.add_chat(-77, "group")
    sandbox.migrate(-77, -1007700)
    with pytest.raises(Moved) as raised:
        await notifier.send("-77", alert())
    assert raised.value.address == "-1007700"
    await notifier.send(raised.value.address, alert())
    assert len(sandbox.sent_to(-1007700)) == 1


@pytest.mark.filterwarnings("error")
async def test_flood_control_gives_retry_after(
    notifier: TelegramNotifier, sandbox: TelegramSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With int periods PTB's own RetryAfter constructor warns; the timedelta mode is clean end to end.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    sandbox.add_chat(6)
    sandbox.fail_next("429", retry_after=7)
    with pytest.raises(RetryLater) as raised:
        await notifier.send("6", alert())
    assert raised.value.after == 7.0


async def test_a_burst_to_one_chat_is_told_to_wait(notifier: TelegramNotifier, sandbox: TelegramSandbox) -> None:
    sandbox.add_chat(6)
    await notifier.send("6", alert())
    with pytest.raises(RetryLater) as raised:
        await notifier.send("6", alert())
    assert raised.value.after == 1.0


@pytest.mark.parametrize("timedelta_mode", ["false", "true"])
def test_retry_seconds_reads_both_ptb_forms_without_warning(
    monkeypatch: pytest.MonkeyPatch, timedelta_mode: str
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", timedelta_mode)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # in int mode PTB's own constructor warns
        error = RetryAfter(12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert retry_seconds(error) == 12.0


async def test_a_wrong_token_is_our_configuration_refused_and_not_quoted(sandbox: TelegramSandbox) -> None:
    wrong = "999999:ZZZdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    notifier = TelegramNotifier(build_bot(wrong, sandbox.base_url), owns_sender=True)
    sandbox.add_chat(5)
    with pytest.raises(ConfigRefused) as raised:
        await notifier.send("5", alert())
    await notifier.aclose()
    assert raised.value.condition == "telegram_token" and "telegram.bot_token" in str(raised.value)
    assert wrong not in str(raised.value)


async def test_an_address_that_is_no_chat_id_is_permanent(notifier: TelegramNotifier) -> None:
    with pytest.raises(Permanent):
        await notifier.send("desk@example.org", alert())


async def test_a_bad_message_is_not_the_subscribers_fault(notifier: TelegramNotifier, sandbox: TelegramSandbox) -> None:
    sandbox.add_chat(5)
    broken = Message(subject="s", text="t", html="h", telegram_html="<b>unclosed")
    with pytest.raises(NotifyError) as raised:
        await notifier.send("5", broken)
    assert type(raised.value) is NotifyError and "parse entities" in str(raised.value)


async def test_a_proxy_page_that_quotes_the_url_has_the_token_redacted() -> None:
    """httpx's URL holds the token: a 502 page from a proxy in front of a self-hosted Bot API quotes it."""
    def page(path: str, headers: Mapping[str, str]) -> tuple[int, str, bytes]:
        return 502, "text/html", f"<html><body>upstream failed for {path}</body></html>".encode()

    with EchoServer(page) as proxy:
        notifier = TelegramNotifier(build_bot(TOKEN, proxy.base_url + "/bot"), owns_sender=True)
        with pytest.raises(NotifyError) as raised:
            await notifier.send("100", alert())
        await notifier.aclose()
    assert "upstream failed for /bot[redacted]/sendMessage" in str(raised.value)
    assert TOKEN.split(":")[1] not in str(raised.value)
