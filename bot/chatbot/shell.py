"""The Telegram shell: a PTB Application long-polling the Bot API; handlers turn updates into core calls.

Handlers are adapters: they find out who is asking (getChatMember in groups), call ``SelfService``,
and send its HTML reply through the dispatcher's pacer. All decisions live in the core.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram import BotCommand, LinkPreviewOptions, Message, ReplyParameters, Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import InvalidToken, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.chatbot.caller import Caller, Reply
from bot.chatbot.links import link_secret
from bot.chatbot.ownership import x_lookup
from bot.chatbot.service import BY_NAME, COMMANDS, SelfService
from bot.chatbot.updates import UpdatesRequest
from bot.models import NoticeKind
from notifiers.telegram import retry_seconds

log = logging.getLogger("presswatch.telegram")

RETRY_INITIAL = 1.0  # seconds before the first retry when Telegram cannot be reached at start
RETRY_MAX = 300.0
_RETRY_TASK = "presswatch.start_retry"
TOKEN_CONDITION = "telegram_token"  # the operator notice's condition; the dispatcher raises the same one
TOKEN_REFUSED = ("Telegram refused the bot token: check telegram.bot_token; Telegram commands are off until it "
                 "is fixed and presswatch restarted")
_POSTS = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
_CHAT_ADMIN = frozenset({ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER})
_NEEDS_CHAT_ADMIN = frozenset({"subscribe", "unsubscribe", "start"})
_SLOW = frozenset({"verify"})
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def build_service(app: Any, application: Application[Any, Any, Any, Any, Any, Any]) -> SelfService:
    """The core, wired to the daemon's store, outbox, X watcher and clock."""
    telegram = app.config.telegram
    return SelfService(
        app.store, app.outbox, admins=telegram.admins, mode=telegram.self_service,
        secret=link_secret(telegram.bot_token.get_secret_value()),
        lookup=x_lookup(app.monitor.watcher, app.monitor.limiter), clock=app.clock,
        confirmations=app.config.detection.confirmations, bot_username=lambda: application.bot.username,
    )


async def start_application(app: Any) -> Application[Any, Any, Any, Any, Any, Any] | None:
    """Build, register and start polling; when Telegram is unreachable, keep retrying in the background."""
    telegram = app.config.telegram
    if telegram is None or not telegram.commands:
        return None
    application = (
        ApplicationBuilder().token(telegram.bot_token.get_secret_value()).base_url(telegram.api_base_url)
        .connection_pool_size(64).pool_timeout(5.0).connect_timeout(5.0).read_timeout(10.0).write_timeout(10.0)
        .get_updates_request(UpdatesRequest(connection_pool_size=1))  # skips updates PTB cannot parse
        .job_queue(None).build()
    )
    Shell(app, build_service(app, application)).install(application)
    try:
        await _launch(app, application)
    except InvalidToken:
        _refused(app)
    except Exception as exc:
        log.warning("Telegram is not reachable (%s); retrying in the background", type(exc).__name__)
        application.bot_data[_RETRY_TASK] = asyncio.create_task(_retry(app, application), name="telegram-start")
    return application


def _refused(app: Any) -> None:
    """Telegram refused the token (401/404 on getMe): our configuration error, so no retry can help."""
    log.error(TOKEN_REFUSED)
    app.outbox.notify_operators(
        NoticeKind.CONFIG_REFUSED, "Telegram refused the bot token",
        "Telegram answered getMe with 401 or 404: telegram.bot_token is wrong or was revoked in BotFather. "
        "Telegram commands are off until it is fixed and presswatch restarted.",
        app.clock(), condition=TOKEN_CONDITION)


async def _launch(app: Any, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Each step is skipped when done, so a retry resumes where the last attempt failed."""
    await application.initialize()
    # getMe worked: a refusal of an earlier token (and start) is over.
    app.outbox.resolve(TOKEN_CONDITION, "Telegram accepts the bot token again", app.clock())
    await application.bot.set_my_commands([BotCommand(c.name, c.description) for c in COMMANDS])
    if not application.running:
        await application.start()
    updater = application.updater
    if updater is not None and not updater.running:
        # Pending updates are kept: whatever people sent while presswatch was down gets its answer.
        await updater.start_polling(allowed_updates=["message", "channel_post", "my_chat_member"],
                                    drop_pending_updates=False)
    log.info("Telegram bot @%s is answering commands", application.bot.username)


async def _retry(app: Any, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Launch again (1 s, doubling to 5 min) until it works, or Telegram refuses the token."""
    delay = RETRY_INITIAL
    while True:
        await asyncio.sleep(delay)
        try:
            await _launch(app, application)
            return
        except InvalidToken:
            _refused(app)
            return
        except Exception as exc:
            delay = min(delay * 2, RETRY_MAX)
            log.warning("Telegram still not reachable (%s); next try in %.0f s", type(exc).__name__, delay)


async def stop_application(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Stop polling, let the handler in progress finish, close the HTTP clients."""
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


def _command_name(text: str) -> str:
    """'/Subscribe@presswatch_bot TR' -> 'subscribe'."""
    return text.split()[0][1:].split("@")[0].lower() if text.strip() else ""


class Shell:
    """The PTB handlers, bound to the daemon (for its pacer) and the core."""

    def __init__(self, app: Any, service: SelfService) -> None:
        self.app = app
        self.service = service

    def install(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        application.add_handler(TypeHandler(Update, self.gate), group=-1)
        quick = [c.name for c in COMMANDS if c.name not in _SLOW]
        application.add_handler(CommandHandler(quick, self.command, filters=_POSTS))
        # /verify waits for X: it must not hold up everyone else's commands meanwhile.
        application.add_handler(CommandHandler(sorted(_SLOW), self.command, filters=_POSTS, block=False))
        application.add_handler(MessageHandler(filters.COMMAND & _POSTS, self.unknown))
        application.add_handler(MessageHandler(
            filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE, self.chatter))
        application.add_handler(ChatMemberHandler(self.added, ChatMemberHandler.MY_CHAT_MEMBER))
        application.add_error_handler(self.error)

    async def gate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Per-sender limit on commands: over it, one refusal, then silence (no handler runs)."""
        message = update.message or update.channel_post
        if message is None or not message.text:
            return
        known = _command_name(message.text) in BY_NAME
        if not self._for_us(message, context, named=not known):
            return
        user = update.effective_user
        sender = user.id if user is not None and message.sender_chat is None else message.chat.id
        refusal = self.service.admit(sender)
        if refusal is None:
            return
        await self.send(context, message.chat.id, refusal.text)
        raise ApplicationHandlerStop

    async def command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Any known command: find the caller, run it in the core, send the reply and notices."""
        message = update.effective_message
        assert message is not None and message.text
        name = _command_name(message.text)
        check = name in _NEEDS_CHAT_ADMIN and (name != "start" or bool(context.args))
        try:
            caller = await self.caller(update, context, check_chat=check)
            reply = await self.service.run(name, caller, context.args or [])
        except Exception:
            log.exception("/%s failed", name)
            reply = Reply("Something went wrong on presswatch's side; the operators can find it in the log.")
        await self.answer(context, message, reply)

    async def unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A command the bot does not have (in groups only when addressed to this bot by name)."""
        message = update.effective_message
        if message is None or not message.text or not self._for_us(message, context, named=True):
            return
        await self.answer(context, message, self.service.unknown(_command_name(message.text)))

    async def chatter(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Plain text in a private chat: point to /help."""
        message = update.effective_message
        if message is not None:
            await self.answer(context, message, Reply("I answer commands only. Send /help for the list."))

    async def added(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The bot was added to a group or channel: say how to subscribe."""
        change = update.my_chat_member
        if change is None or change.chat.type == ChatType.PRIVATE:
            return
        joined = change.new_chat_member.status in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR)
        if joined and change.old_chat_member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
            await self.send(context, change.chat.id,
                            "Hello! An admin of this chat can send /subscribe to get presswatch alerts here. "
                            "/help lists the commands.")

    async def error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("a Telegram update could not be handled", exc_info=context.error)

    def _for_us(self, message: Message, context: ContextTypes.DEFAULT_TYPE, *, named: bool = False) -> bool:
        """False for '/cmd@otherbot'; plain text counts only in private chats.

        ``named``: in groups, only '/cmd@thisbot' counts (a bare unknown command may be another bot's).
        """
        text = message.text or ""
        if not text.startswith("/"):
            return message.chat.type == ChatType.PRIVATE
        _, _, target = text.split()[0].partition("@")
        if not target:
            return not named or message.chat.type == ChatType.PRIVATE
        return target.lower() == (context.bot.username or "").lower()

    async def caller(self, update: Update, context: ContextTypes.DEFAULT_TYPE, *, check_chat: bool) -> Caller:
        """Who is asking; ``check_chat`` asks Telegram whether they administer the group."""
        message = update.effective_message
        chat = update.effective_chat
        assert message is not None and chat is not None
        user = update.effective_user if message.sender_chat is None else None
        is_admin = self.service.is_admin(user.id if user else None)
        if chat.type == ChatType.PRIVATE:
            manages, name = True, user.full_name if user else str(chat.id)
        elif chat.type == ChatType.CHANNEL:
            manages, name = True, chat.title or str(chat.id)  # only a channel's admins can post in it
        else:
            name = chat.title or str(chat.id)
            anonymous_admin = message.sender_chat is not None and message.sender_chat.id == chat.id
            manages = is_admin or anonymous_admin
            if check_chat and user is not None and not manages:
                manages = await self._administers(context, chat.id, user.id)
        return Caller(user.id if user else None, chat.id, chat.type, name, is_admin, manages)

    @staticmethod
    async def _administers(context: ContextTypes.DEFAULT_TYPE, chat_id: int, user_id: int) -> bool:
        try:
            member = await context.bot.get_chat_member(chat_id, user_id)
        except TelegramError as exc:
            log.warning("could not check the admins of chat %s: %s", chat_id, exc)
            return False
        return member.status in _CHAT_ADMIN

    async def answer(self, context: ContextTypes.DEFAULT_TYPE, message: Message, reply: Reply) -> None:
        quote = message.chat.type != ChatType.PRIVATE
        await self.send(context, message.chat.id, reply.text, reply_to=message.message_id if quote else None)
        for chat_id, text in reply.notify:
            await self.send(context, chat_id, text)

    async def send(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, text: str, *,
                   reply_to: int | None = None) -> None:
        """One HTML message, paced with the alerts; a flood-control answer is waited out once."""
        if not text:
            return
        dispatcher = getattr(self.app, "dispatcher", None)
        pacer = dispatcher.pacer if dispatcher is not None else None
        reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        for attempt in range(2):
            try:
                async with pacer.slot(str(chat_id)) if pacer is not None else contextlib.nullcontext():
                    await context.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML,
                                                   link_preview_options=_NO_PREVIEW, reply_parameters=reply)
                return
            except RetryAfter as exc:
                seconds = retry_seconds(exc)
                if pacer is not None:
                    pacer.pause(seconds, str(chat_id))
                if attempt == 0 and seconds <= 30:
                    if pacer is None:
                        await asyncio.sleep(seconds)
                    continue
                log.warning("reply to chat %s dropped: flood control for %.0f s", chat_id, seconds)
                return
            except TelegramError as exc:
                log.warning("could not answer chat %s: %s", chat_id, exc)
                return


__all__ = ["BY_NAME", "Shell", "build_service", "start_application", "stop_application"]
