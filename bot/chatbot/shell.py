"""The Telegram shell: a PTB Application long-polling the Bot API; handlers turn updates into core calls.

Handlers are adapters: they find out who is asking (getChatMember in groups), call ``SelfService``,
and send its HTML reply through the pacer the alerts use. All decisions live in the core. The
Application's start and stop are in connection.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from telegram import LinkPreviewOptions, Message, ReplyParameters, Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.chatbot.caller import Caller, Reply
from bot.chatbot.service import BY_NAME, COMMANDS, SelfService
from bot.delivery.pacing import TelegramPacer
from bot.i18n import ENGLISH, Language, language, resolve

log = logging.getLogger("presswatch.telegram")

_POSTS = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
_CHAT_ADMIN = frozenset({ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER})
_NEEDS_CHAT_ADMIN = frozenset({"subscribe", "unsubscribe", "start"})
_SLOW = frozenset({"verify"})
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def spoken(user: object) -> str:
    """The catalog of a Telegram user's ``language_code`` ('tr', 'pt-br'...), or '' when presswatch has none."""
    return resolve(getattr(user, "language_code", None)) or ""


def _lang(user: object) -> Language:
    code = spoken(user)
    return language(code) if code else ENGLISH


def _command_name(text: str) -> str:
    """'/Subscribe@presswatch_bot TR' -> 'subscribe'."""
    return text.split()[0][1:].split("@")[0].lower() if text.strip() else ""


class Shell:
    """The PTB handlers, bound to the core and to the pacer the alerts use (replies share their limits)."""

    def __init__(self, service: SelfService, pacer: TelegramPacer,
                 retry_seconds: Callable[[RetryAfter], float]) -> None:
        """``retry_seconds`` reads a flood-control answer's wait (the Telegram notifier's, through the registry)."""
        self.service = service
        self.pacer = pacer
        self.retry_seconds = retry_seconds

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
        refusal = self.service.admit(sender, _lang(user))
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
            reply = Reply(_lang(update.effective_user).gettext(
                "Something went wrong on presswatch's side; the operators can find it in the log."))
        await self.answer(context, message, reply)

    async def unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A command the bot does not have (in groups only when addressed to this bot by name)."""
        message = update.effective_message
        if message is None or not message.text or not self._for_us(message, context, named=True):
            return
        await self.answer(context, message, self.service.unknown(_command_name(message.text),
                                                                 _lang(update.effective_user)))

    async def chatter(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Plain text in a private chat: point to /help."""
        message = update.effective_message
        if message is not None:
            await self.answer(context, message, Reply(_lang(update.effective_user).gettext(
                "I answer commands only. Send /help for the list.")))

    async def added(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The bot was added to a group or channel: say how to subscribe."""
        change = update.my_chat_member
        if change is None or change.chat.type == ChatType.PRIVATE:
            return
        joined = change.new_chat_member.status in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR)
        if joined and change.old_chat_member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
            await self.send(context, change.chat.id, _lang(change.from_user).gettext(
                "Hello! An admin of this chat can send /subscribe to get presswatch alerts here. /help lists the "
                "commands."))

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
        return Caller(user.id if user else None, chat.id, chat.type, name, is_admin, manages, spoken(user))

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
        reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        for attempt in range(2):
            try:
                async with self.pacer.slot(str(chat_id)):
                    await context.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML,
                                                   link_preview_options=_NO_PREVIEW, reply_parameters=reply)
                return
            except RetryAfter as exc:
                seconds = self.retry_seconds(exc)
                self.pacer.pause(seconds, str(chat_id))  # the alerts to this chat wait it out too
                if attempt == 0 and seconds <= 30:
                    continue
                log.warning("reply to chat %s dropped: flood control for %.0f s", chat_id, seconds)
                return
            except TelegramError as exc:
                log.warning("could not answer chat %s: %s", chat_id, exc)
                return


__all__ = ["BY_NAME", "Shell"]
