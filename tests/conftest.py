"""Shared fixtures: the three loopback sandboxes, fresh for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.sandbox.mail import MailSink
from bot.sandbox.telegram_api import TelegramSandbox
from bot.sandbox.x_api import XSandbox


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
