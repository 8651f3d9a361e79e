"""Helpers for the Telegram bot's end-to-end tests: a config for the sandboxes, and a harness on a movable clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot import clock as wall
from bot.config.model import load_config
from bot.daemon.app import App
from bot.sandbox.configs import FAST_X, sandbox_config
from bot.sandbox.configs import write_config as sandbox_write
from bot.sandbox.telegram_api import TelegramSandbox
from bot.sandbox.x_api import XSandbox
from tests.helpers_core import Clock

ADMIN = 11
WAIT = 15.0


class Harness:
    """A running App with both sandboxes, and helpers that talk to it as Telegram users."""

    def __init__(self, app: App, x: XSandbox, tg: TelegramSandbox, clock: Clock) -> None:
        self.app, self.x, self.tg, self.clock = app, x, tg, clock

    def texts(self, chat_id: int) -> list[str]:
        return [message["plain"] for message in self.tg.sent_to(chat_id)]

    async def say(self, chat_id: int, text: str, *, user: int | None = None, chat_type: str = "private",
                  language_code: str | None = "en") -> str:
        """Send a message as a user and return the bot's answer in that chat."""
        before = len(self.tg.sent_to(chat_id))
        self.tg.inject_message(chat_id, text, from_id=user, chat_type=chat_type, language_code=language_code)
        assert await self.tg.wait_for_replies_async(chat_id, before + 1, WAIT), f"no answer to {text!r}"
        return self.texts(chat_id)[before]

    async def wait_for(self, chat_id: int, count: int) -> list[str]:
        assert await self.tg.wait_for_replies_async(chat_id, count, WAIT), self.texts(chat_id)
        return self.texts(chat_id)

    async def polled(self) -> None:
        """Wait until a whole poll cycle has started and finished after this call."""
        assert await self.app.wait_cycles(self.app.cycles + 2, WAIT)


def write_config(tmp_path: Path, x: XSandbox, tg: TelegramSandbox, *, mode: str = "verify", poll: str = "0.3",
                 smtp_port: int | None = None, **sections: Any) -> Path:
    """config.yaml for the sandboxes, commands on; ``sections`` are top-level keys (subscribers, operators...)."""
    return sandbox_write(tmp_path, sandbox_config(
        x_url=x.base_url, watchlist=[{"handle": "ConfigDesk", "tags": ["media"]}], tg_url=tg.base_url,
        smtp_port=smtp_port, poll_interval=poll, x=FAST_X, detection={"confirmations": 1},
        telegram={"admins": [ADMIN], "self_service": mode,
                  "rate_limit": {"per_chat_per_second": 100, "group_per_minute": 6000}},
        **sections))


async def launch(tmp_path: Path, x: XSandbox, tg: TelegramSandbox, *, token: str | None = None,
                 **options: Any) -> Harness:
    """Start an App on a config written for the sandboxes (``token``: the bot token it is given)."""
    clock = Clock(wall.now())  # APScheduler plans the first poll at the App's now: it must be today
    config = load_config(write_config(tmp_path, x, tg, **options),
                         {"X_BEARER_TOKEN": x.bearer_token, "TELEGRAM_BOT_TOKEN": token or tg.token})
    app = App(config, clock=clock)
    await app.start()
    return Harness(app, x, tg, clock)
