"""getUpdates answers read one update at a time: the real PTB Bot with our request class, against the sandbox."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from telegram import Bot

from bot.chatbot.updates import UpdatesRequest, readable_updates
from bot.sandbox.telegram_api import TelegramSandbox


def unparseable(chat_id: int, name: str = "Secret Person") -> dict[str, Any]:
    """A message whose sender has no ``id`` and ``is_bot``: PTB's Update.de_json raises TypeError."""
    chat = {"id": chat_id, "type": "private", "first_name": name}
    return {"message": {"message_id": 1, "date": 0, "chat": chat, "text": "/help", "from": {"first_name": name}}}


async def test_an_unparseable_update_comes_back_empty_with_its_id(tg_sandbox: TelegramSandbox) -> None:
    tg_sandbox.inject_message(11, "/start")
    tg_sandbox.inject_raw_update(unparseable(11))
    tg_sandbox.inject_message(11, "/help")
    async with Bot(tg_sandbox.token, base_url=tg_sandbox.base_url, get_updates_request=UpdatesRequest()) as bot:
        updates = await bot.get_updates()
        assert [u.update_id for u in updates] == [1, 2, 3]
        assert updates[1].message is None and updates[1].effective_message is None  # no handler takes it
        assert [u.message.text for u in (updates[0], updates[2]) if u.message] == ["/start", "/help"]
        assert await bot.get_updates(offset=updates[-1].update_id + 1) == ()
    assert tg_sandbox.pending_updates == []


def test_the_log_names_the_update_id_and_never_its_content(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    kept = readable_updates([{"update_id": 7, **unparseable(11)}])
    assert kept == [{"update_id": 7}]
    assert caplog.messages == ["skipped Telegram update 7: python-telegram-bot cannot read it (TypeError)"]


def test_an_entry_without_an_update_id_is_dropped_and_good_ones_are_untouched() -> None:
    good = {"update_id": 9, "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}}
    assert readable_updates(["junk", {"update_id": "8"}, good]) == [good]
