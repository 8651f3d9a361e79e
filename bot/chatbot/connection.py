"""The PTB Application's life: built from the ``telegram`` config section, started (long polling, or retries
in the background while Telegram cannot be reached), stopped. Its handlers are the Shell's (shell.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from telegram import BotCommand
from telegram.error import InvalidToken
from telegram.ext import Application, ApplicationBuilder

from bot.chatbot.service import COMMANDS
from bot.chatbot.updates import UpdatesRequest
from bot.config.sections import TelegramConfig
from bot.i18n import SOURCE, compiled, language
from bot.models import NoticeKind
from bot.said import N_, Said
from bot.storage.outbox import Outbox

log = logging.getLogger("presswatch.telegram")

PTBApplication = Application[Any, Any, Any, Any, Any, Any]
RETRY_INITIAL = 1.0  # seconds before the first retry when Telegram cannot be reached at start
RETRY_MAX = 300.0
_RETRY_TASK = "presswatch.start_retry"
TOKEN_CONDITION = "telegram_token"  # the operator notice's condition; the dispatcher raises the same one
TOKEN_REFUSED = ("Telegram refused the bot token: check telegram.bot_token; Telegram commands are off until it "
                 "is fixed and presswatch restarted")


def build_application(telegram: TelegramConfig) -> PTBApplication:
    """The Application for ``telegram.bot_token`` at ``telegram.api_base_url``; it sends nothing until started.

    Its bot is built here too, so the alerts' notifier can share it before anything starts.
    """
    return (
        ApplicationBuilder().token(telegram.bot_token.get_secret_value()).base_url(telegram.api_base_url)
        .connection_pool_size(64).pool_timeout(5.0).connect_timeout(5.0).read_timeout(10.0).write_timeout(10.0)
        .get_updates_request(UpdatesRequest(connection_pool_size=1))  # skips updates PTB cannot parse
        .job_queue(None).build()
    )


async def start_application(application: PTBApplication, *, outbox: Outbox,
                            clock: Callable[[], datetime]) -> None:
    """Register the commands and start polling; when Telegram is unreachable, keep retrying in the background.

    A refused token is told to the operators through ``outbox``, and not retried. Never raises for Telegram.
    """
    try:
        await _launch(application, outbox, clock)
    except InvalidToken:
        _refused(outbox, clock)
    except Exception as exc:
        log.warning("Telegram is not reachable (%s); retrying in the background", type(exc).__name__)
        application.bot_data[_RETRY_TASK] = asyncio.create_task(
            _retry(application, outbox, clock), name="telegram-start")


def _refused(outbox: Outbox, clock: Callable[[], datetime]) -> None:
    """Telegram refused the token (401/404 on getMe): our configuration error, so no retry can help."""
    log.error(TOKEN_REFUSED)
    outbox.notify_operators(
        NoticeKind.CONFIG_REFUSED, Said(N_("Telegram refused the bot token")),
        Said(N_("Telegram answered getMe with 401 or 404: telegram.bot_token is wrong or was revoked in "
                "BotFather. Telegram commands are off until it is fixed and presswatch restarted.")),
        clock(), condition=TOKEN_CONDITION)


async def _launch(application: PTBApplication, outbox: Outbox, clock: Callable[[], datetime]) -> None:
    """Each step is skipped when done, so a retry resumes where the last attempt failed."""
    await application.initialize()
    # getMe worked: a refusal of an earlier token (and start) is over.
    outbox.resolve(TOKEN_CONDITION, Said(N_("Telegram accepts the bot token again")), clock())
    await application.bot.set_my_commands([BotCommand(c.name, c.description) for c in COMMANDS])
    for code in compiled():  # clients show the descriptions in their user's language, where there is one
        if code != SOURCE:
            words = language(code).gettext
            await application.bot.set_my_commands([BotCommand(c.name, words(c.description)) for c in COMMANDS],
                                                  language_code=code)
    if not application.running:
        await application.start()
    updater = application.updater
    if updater is not None and not updater.running:
        # Pending updates are kept: whatever people sent while presswatch was down gets its answer.
        await updater.start_polling(allowed_updates=["message", "channel_post", "my_chat_member"],
                                    drop_pending_updates=False)
    log.info("Telegram bot @%s is answering commands", application.bot.username)


async def _retry(application: PTBApplication, outbox: Outbox, clock: Callable[[], datetime]) -> None:
    """Launch again (1 s, doubling to 5 min) until it works, or Telegram refuses the token."""
    delay = RETRY_INITIAL
    while True:
        await asyncio.sleep(delay)
        try:
            await _launch(application, outbox, clock)
            return
        except InvalidToken:
            _refused(outbox, clock)
            return
        except Exception as exc:
            delay = min(delay * 2, RETRY_MAX)
            log.warning("Telegram still not reachable (%s); next try in %.0f s", type(exc).__name__, delay)


async def stop_application(application: PTBApplication) -> None:
    """Stop polling (and the retries), let the handler in progress finish, close the HTTP clients.

    Safe at any point: before the start, after a failed one, or twice.
    """
    task = application.bot_data.pop(_RETRY_TASK, None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()
    await application.bot.shutdown()  # also when initialize never succeeded
