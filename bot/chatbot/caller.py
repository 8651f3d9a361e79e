"""Who sent a command and what the bot answers: the values the Telegram shell hands the core and back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.chatbot.links import UsageError
from bot.chatbot.userinput import quote
from bot.i18n import ENGLISH, N_, Language, language
from bot.social_handles import parse_account

NOT_A_HANDLE = N_("{word} is not an account: an X handle (@name or an x.com link), a Bluesky one "
                  "(bsky:name.bsky.social or a bsky.app link) or a Mastodon one (user@instance or its profile link)")


@dataclass(frozen=True, slots=True)
class Caller:
    """The sender of a command, as the shell established it from the update (and getChatMember).

    ``user_id`` is None for a channel post (channels post as themselves). ``manages_chat``: may change
    this chat's subscription (the user in a private chat, a group's admins, a channel's posts).
    ``is_admin``: listed in ``telegram.admins``. ``language``: the catalog of the sender's Telegram
    ``language_code``, '' when presswatch has none (they are answered in English).
    """

    user_id: int | None
    chat_id: int
    chat_type: str
    name: str
    is_admin: bool = False
    manages_chat: bool = False
    language: str = ""

    @property
    def lang(self) -> Language:
        """The language the bot answers this person in."""
        return language(self.language) if self.language else ENGLISH

    @property
    def private(self) -> bool:
        return self.chat_type == "private"

    @property
    def subscriber_key(self) -> str:
        return f"tg:{self.chat_id}"


@dataclass(frozen=True, slots=True)
class Reply:
    """HTML for the chat the command came from, plus HTML for other chats (chat id, text)."""

    text: str
    notify: tuple[tuple[int, str], ...] = ()


def one_handle(args: Sequence[str], usage: str, **values: object) -> str:
    """Exactly one handle argument, normalized; UsageError otherwise."""
    if len(args) != 1:
        raise UsageError(usage, **values)
    return handle_arg(args[0], usage, **values)


def handle_arg(text: str, usage: str, **values: object) -> str:
    """``text`` as a normalized account (X, Bluesky or Mastodon, see bot.social_handles); UsageError quoting a
    short piece of it, then ``usage``."""
    try:
        return parse_account(text)[1]
    except ValueError:
        # normalize_handle's message repeats the whole input, which may be thousands of characters.
        raise UsageError(NOT_A_HANDLE, word=quote(text)).then(usage, **values) from None


def no_args(args: Sequence[str], usage: str) -> None:
    if args:
        raise UsageError(usage)
