"""The Telegram bot's connection end to end: updates PTB cannot parse, and a bot token Telegram refuses.

The real App and PTB Application against the Bot API and X sandboxes (and the mail sink for operators).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.daemon.app import App
from bot.sandbox.mail import MailSink
from bot.sandbox.telegram_api import TelegramSandbox
from bot.sandbox.x_api import XSandbox
from tests.helpers_telegram import WAIT, Harness, launch

pytestmark = pytest.mark.timeout(60)

READER = 30
WRONG_TOKEN = "123456:AAE-refused-token-0123456789abcdef"
REFUSED = "Telegram refused the bot token: check telegram.bot_token"
Start = Callable[..., Awaitable[Harness]]


@pytest.fixture
def sandboxes() -> Iterator[tuple[XSandbox, TelegramSandbox, MailSink]]:
    with XSandbox() as x, TelegramSandbox(per_chat_per_second=None, group_per_minute=None) as tg, MailSink() as mail:
        x.add_account("ConfigDesk")
        yield x, tg, mail


def operator_by_email(mail: MailSink) -> dict[str, Any]:
    """Config options: one operator, reached through the mail sink (Telegram may be the thing that fails)."""
    return {"smtp_port": mail.port, "operators": [{"name": "ops", "email": "ops@presswatch.test"}]}


@pytest.fixture
async def start(tmp_path: Path, sandboxes: tuple[XSandbox, TelegramSandbox, MailSink]) -> AsyncIterator[Start]:
    """Start an App (stopped at the end of the test) whose operator is reached by email."""
    x, tg, mail = sandboxes
    started: list[App] = []

    async def run(**options: Any) -> Harness:
        harness = await launch(tmp_path, x, tg, **operator_by_email(mail), **options)
        started.append(harness.app)
        return harness

    yield run
    for app in started:
        await app.stop()


async def until(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    """Poll ``condition`` every 20 ms until it holds; False after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def unparseable(chat_id: int) -> dict[str, Any]:
    """A message whose sender lacks ``id`` and ``is_bot``: Update.de_json raises TypeError on it."""
    chat = {"id": chat_id, "type": "private", "first_name": "Secret Person"}
    return {"message": {"message_id": 900, "date": 0, "chat": chat, "text": "/help private words",
                        "from": {"first_name": "Secret Person"}}}


async def test_an_update_ptb_cannot_parse_is_skipped_and_the_next_command_answered(
        start: Start, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    h = await start(poll="1h")
    assert "/subscribe" in await h.say(READER, "/help")  # polling runs
    polls = h.tg.calls["getUpdates"]
    bad = h.tg.inject_raw_update(unparseable(READER))
    assert "/subscribe" in await h.say(READER, "/help")
    # Before the fix the same batch came back ~1,100 times in 30 s and nothing was answered.
    assert h.tg.calls["getUpdates"] - polls <= 10
    assert await until(lambda: all(u["update_id"] > bad["update_id"] for u in h.tg.pending_updates))  # confirmed
    skipped = [r.getMessage() for r in caplog.records if "skipped Telegram update" in r.getMessage()]
    assert skipped == [f"skipped Telegram update {bad['update_id']}: python-telegram-bot cannot read it (TypeError)"]
    assert not [r for r in caplog.records if "Secret Person" in r.getMessage() or "private words" in r.getMessage()]


async def test_a_refused_token_is_logged_once_not_retried_and_the_operators_are_told(
        start: Start, sandboxes: tuple[XSandbox, TelegramSandbox, MailSink],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    _x, tg, mail = sandboxes
    h = await start(token=WRONG_TOKEN)
    refused = [r for r in caplog.records if r.getMessage().startswith(REFUSED)]
    assert [r.levelno for r in refused] == [logging.ERROR]
    assert "retrying" not in caplog.text and "not reachable" not in caplog.text
    assert await mail.wait_for_async(1, WAIT), "the operators were not told"
    assert "refused the bot token" in mail.messages[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert h.app.outbox.open_conditions() == ["telegram_token"]
    await h.polled()  # the daemon goes on polling X
    assert tg.refused["getMe"] == 1 and tg.calls["getMe"] == 0
    # httpx logs URLs (with the token) at INFO: `presswatch run` sets it to WARNING and redacts every line.
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("presswatch") or r.levelno >= logging.WARNING]
    assert not [line for line in ours if WRONG_TOKEN.split(":")[1] in line]


async def test_a_token_refused_once_telegram_is_back_stops_the_retries(
        start: Start, sandboxes: tuple[XSandbox, TelegramSandbox, MailSink],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    _x, tg, _mail = sandboxes
    tg.set_down(True)
    h = await start(token=WRONG_TOKEN)
    assert "retrying in the background" in caplog.text  # unreachable: today's background retry
    tg.set_down(False)
    assert await until(lambda: h.app.outbox.open_conditions() == ["telegram_token"])
    assert [r.levelno for r in caplog.records if r.getMessage().startswith(REFUSED)] == [logging.ERROR]
    assert "still not reachable (InvalidToken)" not in caplog.text


async def test_a_good_token_at_the_next_start_clears_the_refusal(
        start: Start, tmp_path: Path, sandboxes: tuple[XSandbox, TelegramSandbox, MailSink]) -> None:
    x, tg, mail = sandboxes
    first = await launch(tmp_path, x, tg, token=WRONG_TOKEN, poll="1h", **operator_by_email(mail))
    try:
        assert first.app.outbox.open_conditions() == ["telegram_token"]
    finally:
        await first.app.stop()
    second = await start(poll="1h")  # the operator fixed telegram.bot_token and restarted
    assert second.app.outbox.open_conditions() == []
    assert "/subscribe" in await second.say(READER, "/help")
    assert await mail.wait_for_async(2, WAIT)
    bodies = [message.get_body(("plain",)).get_content() for message in mail.messages]  # type: ignore[union-attr]
    assert "accepts the bot token again" in bodies[1]
