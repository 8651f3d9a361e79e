"""The Telegram sandbox's state and test controls: chats, faults, records and injected updates."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from typing import Any

from bot.sandbox import telegram_objects as obj

JSON = dict[str, Any]
FAULT_KINDS = frozenset({"500", "502", "timeout", "429"})


class ApiError(Exception):
    """A Bot API error answer."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    @classmethod
    def flood(cls, retry_after: int) -> ApiError:
        return cls(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})

    def envelope(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class SandboxState:
    """Everything the sandbox remembers, guarded by one Condition that waiters sleep on."""

    def __init__(self, bot_id: int, bot_username: str) -> None:
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.me = obj.bot_user(bot_id, bot_username)
        self.messages: list[JSON] = []
        self.calls: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()  # calls answered 401 for a wrong token, by method
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._chats: dict[int, JSON] = {}
        self._usernames: dict[str, int] = {}
        self._admins: dict[int, tuple[int, ...]] = {}
        self._chat_faults: dict[int, ApiError] = {}
        self._faults: list[tuple[str, int, str | None]] = []
        self._updates: list[JSON] = []
        self._next_update_id = 1
        self._message_ids: Counter[int] = Counter()
        self._commands: dict[str, list[JSON]] = {}

    def add_chat(
        self,
        chat_id: int,
        type: str = "private",
        title: str | None = None,
        username: str | None = None,
        admins: tuple[int, ...] | list[int] = (),
    ) -> JSON:
        """Make a chat known (and replace an earlier one with the same id)."""
        chat = obj.chat(chat_id, type, title=title, username=username)
        with self._cond:
            self._chats[chat_id] = chat
            self._admins[chat_id] = tuple(admins)
            if username:
                self._usernames[username.lower()] = chat_id
        return chat

    def block(self, chat_id: int) -> None:
        """The user blocked the bot."""
        self._fault_chat(chat_id, "private", ApiError(403, "Forbidden: bot was blocked by the user"))

    def deactivate_user(self, chat_id: int) -> None:
        """The user deleted their account."""
        self._fault_chat(chat_id, "private", ApiError(403, "Forbidden: user is deactivated"))

    def kick(self, chat_id: int) -> None:
        """The bot was removed from the group, supergroup or channel."""
        chat_type = self._chats.get(chat_id, {}).get("type", "group")
        kind = "group" if chat_type in ("group", "private") else "supergroup"
        self._fault_chat(chat_id, "group", ApiError(403, f"Forbidden: bot was kicked from the {kind} chat"))

    def migrate(self, chat_id: int, new_chat_id: int) -> None:
        """The group became a supergroup with a new id; the new chat accepts messages."""
        old = self._chats.get(chat_id) or self.add_chat(chat_id, "group")
        self.add_chat(new_chat_id, "supergroup", title=old.get("title"), admins=self._admins.get(chat_id, ()))
        error = ApiError(
            400, "Bad Request: group chat was upgraded to a supergroup chat", {"migrate_to_chat_id": new_chat_id}
        )
        self._fault_chat(chat_id, "group", error)

    def restore(self, chat_id: int) -> None:
        """Undo block, kick, deactivate_user or migrate for this chat."""
        with self._cond:
            self._chat_faults.pop(chat_id, None)

    def fail_next(self, kind: str, count: int = 1, *, retry_after: int = 3, method: str | None = "sendMessage") -> None:
        """Fail the next ``count`` calls of ``method`` (None: any method) with "500", "502", "429" or "timeout"."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        with self._cond:
            self._faults.extend([(kind, retry_after, method)] * count)

    def sent_to(self, chat_id: int) -> list[JSON]:
        """The messages delivered to one chat, oldest first."""
        with self._cond:
            return [m for m in self.messages if m["chat_id"] == chat_id]

    def wait_for_messages(self, n: int, timeout: float) -> bool:
        """Block until at least ``n`` messages were delivered; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.messages) >= n, timeout=timeout)

    def wait_for_replies(self, chat_id: int, n: int, timeout: float) -> bool:
        """Block until at least ``n`` messages were delivered to ``chat_id``; False on timeout."""
        with self._cond:
            return self._cond.wait_for(
                lambda: sum(m["chat_id"] == chat_id for m in self.messages) >= n, timeout=timeout
            )

    async def wait_for_messages_async(self, n: int, timeout: float) -> bool:
        """wait_for_messages without blocking the caller's event loop (where a PTB app may run)."""
        return await asyncio.to_thread(self.wait_for_messages, n, timeout)

    async def wait_for_replies_async(self, chat_id: int, n: int, timeout: float) -> bool:
        """wait_for_replies without blocking the caller's event loop."""
        return await asyncio.to_thread(self.wait_for_replies, chat_id, n, timeout)

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by a getUpdates offset."""
        with self._cond:
            return list(self._updates)

    def inject_message(
        self,
        chat_id: int,
        text: str,
        *,
        from_id: int | None = None,
        chat_type: str = "private",
        from_username: str | None = None,
        first_name: str = "Reporter",
        title: str | None = None,
        language_code: str | None = "en",
    ) -> JSON:
        """Queue an Update carrying a text message, as a user sending it to the bot produces (``language_code``:
        the sender's Telegram client language, an IETF tag; None leaves it out, as Telegram may)."""
        with self._cond:
            chat = self._chats.get(chat_id)
            if chat is None:
                chat = obj.chat(
                    chat_id,
                    chat_type,
                    title=title,
                    first_name=first_name,
                    username=from_username if chat_type == "private" else None,
                )
                self._chats[chat_id] = chat
            user_id = from_id if from_id is not None else (chat_id if chat_type == "private" else 1000)
            sender = obj.user(user_id, first_name, from_username, language_code)
            msg = obj.message(self._next_message_id(chat_id), chat, text, int(time.time()), sender)
            return self._push_update({"message": msg})

    def inject_channel_post(
        self, chat_id: int, text: str, *, title: str | None = None, username: str | None = None
    ) -> JSON:
        """Queue an Update carrying a post in a channel the bot is in."""
        with self._cond:
            chat = self._chats.get(chat_id) or obj.chat(chat_id, "channel", title=title, username=username)
            self._chats[chat_id] = chat
            msg = obj.message(self._next_message_id(chat_id), chat, text, int(time.time()), None)
            return self._push_update({"channel_post": msg})

    def inject_my_chat_member(
        self,
        chat_id: int,
        *,
        chat_type: str = "group",
        title: str | None = None,
        from_id: int = 1000,
        new_status: str = "member",
        old_status: str = "left",
    ) -> JSON:
        """Queue the Update Telegram sends when someone adds the bot to a group or channel."""
        with self._cond:
            chat = self._chats.get(chat_id) or obj.chat(chat_id, chat_type, title=title)
            self._chats[chat_id] = chat
            change = {
                "chat": chat,
                "from": obj.user(from_id),
                "date": int(time.time()),
                "old_chat_member": obj.member(self.me, old_status),
                "new_chat_member": obj.member(self.me, new_status),
            }
            return self._push_update({"my_chat_member": change})

    def inject_raw_update(self, payload: JSON) -> JSON:
        """Queue any update body as is, with the next update_id: for shapes python-telegram-bot cannot parse.

        For example ``{"message": {"message_id": 1, "date": 0, "chat": ..., "from": {"first_name": "A"}}}``:
        a sender without ``id`` and ``is_bot`` makes ``Update.de_json`` raise TypeError.
        """
        with self._cond:
            return self._push_update(payload)

    def _push_update(self, payload: JSON) -> JSON:
        update = {"update_id": self._next_update_id, **payload}
        self._next_update_id += 1
        self._updates.append(update)
        self._cond.notify_all()
        return update

    def _next_message_id(self, chat_id: int) -> int:
        self._message_ids[chat_id] += 1
        return self._message_ids[chat_id]

    def _fault_chat(self, chat_id: int, default_type: str, error: ApiError) -> None:
        if chat_id not in self._chats:
            self.add_chat(chat_id, default_type)
        with self._cond:
            self._chat_faults[chat_id] = error

    def _take_fault(self, method: str) -> tuple[str, int] | None:
        for index, (kind, retry_after, only) in enumerate(self._faults):
            if only is None or only.lower() == method.lower():
                del self._faults[index]
                return kind, retry_after
        return None

    def _chat(self, chat_id: object) -> JSON:
        """The chat a chat_id parameter names (an id or "@username"), or 400 chat not found."""
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            chat_id = self._usernames.get(chat_id[1:].lower(), 0)
        elif isinstance(chat_id, str):
            try:
                chat_id = int(chat_id)
            except ValueError:
                chat_id = None
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat
