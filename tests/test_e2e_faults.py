"""Faults end to end: `presswatch run` against the sandboxes while its database is locked by another
program, and with a bot token Telegram refuses."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e import WAIT, Daemon, cycles, db_rows, wait_until, write_config

from bot.sandbox.mail import MailSink
from bot.sandbox.telegram_api import TelegramSandbox
from bot.sandbox.x_api import XSandbox

OPS, DESK = "ops@rights.test", "desk@rights.test"


def test_a_database_locked_past_the_busy_timeout_delays_alerts_loses_none_and_stops_cleanly(
        x_sandbox: XSandbox, mail_sink: MailSink, tmp_path: Path) -> None:
    """Once, one refused write ended the dispatcher for good, and SIGTERM then exited 1 with a traceback."""
    x_sandbox.add_account("alice")
    config = write_config(tmp_path, x_url=x_sandbox.base_url, smtp_port=mail_sink.port,
                          watchlist=[{"handle": "alice"}], subscribers=[{"name": "Desk", "email": DESK}])
    lock = sqlite3.connect(tmp_path / "presswatch.db", isolation_level=None, check_same_thread=False)
    with Daemon(config) as daemon:
        cycles(x_sandbox, 2)
        lock.execute("BEGIN EXCLUSIVE")  # another program holds the write lock beyond the 5 s busy timeout
        x_sandbox.suspend("alice")
        wait_until(lambda: "the database refused" in daemon.output(), what="the refusal in the log")
        assert daemon.stop() == 0
    assert "Traceback" not in daemon.output()
    with Daemon(config) as daemon:  # started while the lock is still held: it waits, it does not crash
        wait_until(lambda: "refused the start-up sync" in daemon.output(), what="the start-up refusal")
        lock.execute("COMMIT")
        lock.close()
        assert mail_sink.wait_for(1, WAIT), daemon.output()
        cycles(x_sandbox, 2)
        assert daemon.stop() == 0
    assert [m["To"] for m in mail_sink.messages] == [DESK] and "suspended" in mail_sink.messages[0]["Subject"]
    assert "Traceback" not in daemon.output()


@pytest.fixture
def refusing_telegram() -> Iterator[TelegramSandbox]:
    with TelegramSandbox(token="999999:a-token-that-is-not-presswatch") as sandbox:
        yield sandbox


def test_a_refused_bot_token_tells_the_operators_by_email_once_and_disables_no_one(
        x_sandbox: XSandbox, refusing_telegram: TelegramSandbox, mail_sink: MailSink, tmp_path: Path) -> None:
    """Once, a wrong token was logged as "not reachable" and retried forever, and no operator heard of it."""
    x_sandbox.add_account("alice")
    refusing_telegram.add_chat(-1005, "supergroup")
    config = write_config(
        tmp_path, x_url=x_sandbox.base_url, tg_url=refusing_telegram.base_url, smtp_port=mail_sink.port,
        watchlist=[{"handle": "alice"}],
        subscribers=[{"name": "Group", "telegram_chat": -1005}, {"name": "Desk", "email": DESK}],
        operators=[{"name": "ops by mail", "email": OPS}, {"name": "ops on Telegram", "telegram_chat": 11}])
    with Daemon(config) as daemon:
        cycles(x_sandbox, 2)
        x_sandbox.suspend("alice")
        assert mail_sink.wait_for(2, WAIT), daemon.output()
        cycles(x_sandbox, 5)
        assert daemon.stop() == 0
    to_ops = [m["Subject"] for m in mail_sink.messages if m["To"] == OPS]
    assert len(to_ops) == 1 and "Telegram refuses presswatch" in to_ops[0]
    assert [m["To"] for m in mail_sink.messages if m["To"] == DESK] == [DESK]
    assert "Telegram refused the bot token: check telegram.bot_token" in daemon.output()
    assert db_rows(config, "SELECT name FROM subscribers WHERE enabled = 0") == []
    pending = db_rows(config, "SELECT o.status FROM outbox o JOIN subscribers s ON s.id = o.subscriber_id"
                              " WHERE s.channel = 'telegram'")
    assert pending and {row["status"] for row in pending} == {"pending"}, "kept for when the token is fixed"
