"""App's wiring end to end: parts built before anything starts, one of each shared, and a stop that
unwinds in reverse order of start. The real App against the X and Bot API sandboxes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config.model import load_config
from bot.daemon.app import App
from bot.models import NoticeKind
from bot.sandbox.telegram_api import TelegramSandbox
from bot.sandbox.x_api import XSandbox
from bot.storage.accounts import open_db
from bot.storage.outbox import Outbox
from tests.helpers_core import until
from tests.helpers_telegram import WAIT, Harness, launch, write_config

pytestmark = pytest.mark.timeout(60)

OPERATOR = 40
OPERATORS = [{"name": "ops", "telegram_chat": OPERATOR}]
Start = Callable[..., Awaitable[Harness]]


@pytest.fixture
def sandboxes() -> Iterator[tuple[XSandbox, TelegramSandbox]]:
    with XSandbox() as x, TelegramSandbox(per_chat_per_second=None, group_per_minute=None) as tg:
        x.add_account("ConfigDesk")
        tg.add_chat(OPERATOR, "private")
        yield x, tg


@pytest.fixture
async def start(tmp_path: Path, sandboxes: tuple[XSandbox, TelegramSandbox]) -> AsyncIterator[Start]:
    x, tg = sandboxes
    started: list[App] = []

    async def run(**options: Any) -> Harness:
        harness = await launch(tmp_path, x, tg, **options)
        started.append(harness.app)
        return harness

    yield run
    for app in started:
        await app.stop()


async def test_an_alert_in_flight_at_stop_is_delivered_through_a_bot_still_open(start: Start) -> None:
    """The Telegram notifier sends through the PTB Application's bot: it must close after the dispatcher."""
    h = await start(poll="1h", operators=OPERATORS)
    h.tg.slow_seconds = 1.0
    h.tg.fail_next("timeout")  # the next sendMessage is answered (and takes effect) a second late
    h.app.outbox.notify_operators(NoticeKind.TASK_RESTARTED, "a notice in flight at stop", "body", h.clock())
    h.app.dispatcher.wake()
    await until(lambda: h.tg.calls["sendMessage"] == 1, WAIT, "the notice to be sent")
    await h.app.stop()
    await until(lambda: len(h.tg.sent_to(OPERATOR)) == 1, WAIT, "Telegram to get it")  # a second late
    db = open_db(h.app.config.database)
    try:  # and it is recorded as sent: the next start does not send it a second time
        assert Outbox(db).depth() == {"sent": 1}
    finally:
        db.close()


async def test_every_part_is_built_once_before_start_and_handed_to_those_that_use_it(
        tmp_path: Path, sandboxes: tuple[XSandbox, TelegramSandbox]) -> None:
    x, tg = sandboxes
    config = load_config(write_config(tmp_path, x, tg), {"X_BEARER_TOKEN": x.bearer_token,
                                                         "TELEGRAM_BOT_TOKEN": tg.token})
    app = App(config)
    try:
        assert app.chatbot is not None
        service = app.chatbot.service
        users = (app.dispatcher, app.monitor, app.monitor.health, service, service.subscriptions, service.ownership)
        assert all(part.outbox is app.outbox for part in users)  # one Outbox
        assert service.subscriptions.claims is service.ownership.claims is app.claims  # one ClaimBook
        assert app.chatbot.shell.pacer is app.dispatcher.pacer is app.pacer  # replies paced with the alerts
        assert app.monitor.watcher is app.watcher and app.monitor.limiter is app.limiter
        assert x.request_count == 0 and sum(tg.calls.values()) == 0  # built, not started
    finally:
        await app.stop()

