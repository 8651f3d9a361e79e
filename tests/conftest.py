"""Shared fixtures: the three loopback sandboxes, a database, a store and a clock, fresh for each test.

A module that needs its database in a file overrides ``db`` with ``file_db``; one that needs accounts
watched first overrides ``store`` with a fixture of that name that asks for this one and seeds it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.sandbox.mail import MailSink
from bot.sandbox.telegram_api import TelegramSandbox
from bot.sandbox.x_api import XSandbox
from bot.storage.accounts import Store, open_db
from bot.storage.outbox import Outbox
from tests.helpers_core import T0, Clock


@pytest.fixture
def x_sandbox() -> Iterator[XSandbox]:
    with XSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def tg_sandbox() -> Iterator[TelegramSandbox]:
    with TelegramSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def mail_sink() -> Iterator[MailSink]:
    with MailSink() as sink:
        yield sink


@pytest.fixture
def db() -> Iterator[Database]:
    """A fresh database with the whole schema, in memory."""
    database = open_db(None)
    yield database
    database.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "pw.db"


@pytest.fixture
def file_db(db_path: Path) -> Iterator[Database]:
    """A fresh database with the whole schema in ``db_path``, opened as the daemon opens it (WAL)."""
    database = open_db(db_path)
    yield database
    database.close()


@pytest.fixture
def store(db: Database) -> Store:
    return Store(db, Outbox(db))


@pytest.fixture
def clock() -> Clock:
    """A wall clock at T0 that moves only when the test says so."""
    return Clock(T0)
