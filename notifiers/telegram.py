"""Telegram delivery through python-telegram-bot, with Bot API errors turned into NotifyError."""

from __future__ import annotations

import hashlib
import warnings
from datetime import timedelta
from typing import Protocol

import httpx
from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.models import Message, Secrets
from notifiers.base import ConfigRefused, Moved, Notifier, NotifyError, Permanent, RetryLater, Unreached

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
# 403 descriptions that mean this chat will never accept our messages again (CHANNELS.md):
# "Forbidden: bot was blocked by the user", "Forbidden: user is deactivated",
# "Forbidden: bot was kicked from the group chat", "Forbidden: bot is not a member of the channel chat",
# "Forbidden: bot can't initiate conversation with a user".
PERMANENT_FORBIDDEN = ("blocked", "kicked", "deactivated", "not a member", "can't initiate")
# 400 "Bad Request: chat not found": the chat id does not exist (or the bot never met the user).
# Other 400s mean our message was wrong, not that the subscriber is gone.
PERMANENT_BAD_REQUEST = ("chat not found",)
# httpx failures before the request left us: Telegram never saw it, so it counts against no limit.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class MessageSender(Protocol):
    """The one call we need from telegram.Bot (or the Application's ExtBot)."""

    async def send_message(
        self, chat_id: int | str, text: str, *, parse_mode: str | None, link_preview_options: LinkPreviewOptions
    ) -> object: ...


def build_bot(
    token: str, base_url: str = DEFAULT_BASE_URL, *, read_timeout: float = 10.0, connect_timeout: float = 5.0
) -> Bot:
    """A telegram.Bot for ``token`` at ``base_url`` (the real API, a self-hosted server or the sandbox).

    PTB's default pool is one connection; the dispatcher sends up to 32 messages at once.
    """
    request = HTTPXRequest(read_timeout=read_timeout, write_timeout=read_timeout, connect_timeout=connect_timeout,
                           connection_pool_size=64, pool_timeout=10.0)
    return Bot(token, base_url=base_url, request=request)


def retry_seconds(error: RetryAfter) -> float:
    """RetryAfter.retry_after in seconds, whether PTB gives an int or a timedelta, without its warning."""
    with warnings.catch_warnings():
        # PTB 22 warns on reading the int form; we handle both forms, so the warning says nothing new.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


class TelegramNotifier(Notifier):
    """Sends rendered alerts as HTML to a chat id; raises NotifyError with the delivery decision."""

    channel = "telegram"

    def __init__(self, sender: MessageSender, *, owns_sender: bool = False) -> None:
        self._sender = sender
        self._owns_sender = owns_sender
        token = getattr(sender, "token", "")
        self.fingerprint = hashlib.sha256(f"telegram {token}".encode()).hexdigest()[:16]
        # httpx errors can quote the request URL, which holds the token.
        self._secrets = Secrets.of([token if isinstance(token, str) else None])

    async def send(self, address: str, message: Message) -> None:
        """Send ``message.telegram_html`` to chat ``address`` (an integer id, or "@channel")."""
        chat_id = self._chat_id(address)
        try:
            await self._sender.send_message(
                chat_id, message.telegram_html, parse_mode=ParseMode.HTML, link_preview_options=_NO_PREVIEW
            )
        except TelegramError as error:
            raise self._translate(address, error) from None

    async def aclose(self) -> None:
        """Release the HTTP client when this notifier created the bot (an Application closes its own)."""
        shutdown = getattr(self._sender, "shutdown", None)
        if self._owns_sender and shutdown is not None:
            await shutdown()

    @staticmethod
    def _chat_id(address: str) -> int | str:
        # Bot API sendMessage: "chat_id: Integer or String. Unique identifier for the target chat or
        # username of the target channel (in the format @channelusername)". Anything else never will be.
        if address.startswith("@") and len(address) > 1:
            return address
        try:
            return int(address)
        except ValueError:
            raise Permanent(f"telegram: {address!r} is not a chat id") from None

    def _translate(self, address: str, error: TelegramError) -> NotifyError:
        """The delivery decision for a PTB error (BadRequest and TimedOut are NetworkErrors: test them first)."""
        reason = self._secrets.scrub(str(error))
        where = f"telegram chat {address}"
        # ResponseParameters: "migrate_to_chat_id: The group has been migrated to a supergroup with the
        # specified identifier" (PTB raises ChatMigrated); "retry_after: In case of exceeding flood control,
        # the number of seconds left to wait before the request can be repeated" (RetryAfter).
        if isinstance(error, ChatMigrated):
            return Moved(f"{where} moved to {error.new_chat_id}", address=str(error.new_chat_id))
        if isinstance(error, RetryAfter):
            seconds = retry_seconds(error)
            return RetryLater(f"{where}: flood control, retry in {seconds:g} s", after=seconds)
        if isinstance(error, Forbidden):
            permanent = any(phrase in reason.lower() for phrase in PERMANENT_FORBIDDEN)
            return (Permanent if permanent else NotifyError)(f"{where}: {reason}")
        if isinstance(error, BadRequest):
            permanent = any(phrase in reason.lower() for phrase in PERMANENT_BAD_REQUEST)
            return (Permanent if permanent else NotifyError)(f"{where}: {reason}")
        # Any method answered 401 {"description": "Unauthorized"} or 404 "Not Found" (PTB: InvalidToken):
        # the token itself is refused, our configuration, not the subscriber's.
        if isinstance(error, InvalidToken):
            return ConfigRefused("Telegram refused the bot token: check telegram.bot_token",
                                 condition="telegram_token")
        if isinstance(error.__cause__, _NEVER_SENT):
            return Unreached(f"{where}: Telegram not reachable ({type(error.__cause__).__name__})")
        if isinstance(error, TimedOut):
            return NotifyError(f"{where}: timed out ({reason})")
        if isinstance(error, NetworkError):
            return NotifyError(f"{where}: network error ({reason})")
        return NotifyError(f"{where}: {type(error).__name__}: {reason}")
