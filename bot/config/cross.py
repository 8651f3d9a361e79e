"""Checks that span items or sections of the raw config: repeats, and channels without their section.

They run on the data before the models validate it, so each is reported with every field problem at once;
a value that is itself invalid is skipped here (its field reports it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from bot.config.reader import Loc
from bot.config.values import address, telegram_chat
from bot.config.written import shown, text
from bot.handles import normalize_handle
from bot.social_handles import normalize_bluesky, normalize_mastodon

Found = list[tuple[Loc, str]]
_SECTIONS = (("telegram_chat", "telegram", "a telegram section"), ("email", "email", "an email section"),
             ("matrix_room", "matrix", "a matrix section"))


def cross_check(data: Mapping[str, Any]) -> Found:
    """Repeated handles, subscriber names, chats and addresses; channels without their section.

    A subscriber and an operator may share a chat or an address (they get different messages); two
    subscribers, or two operators, may not: one of them would be a mistake, and get everything twice.
    """
    found: Found = [*_x_repeats(data.get("watchlist")), *_platform_entries(data)]
    for section in ("subscribers", "operators"):
        items = data.get(section)
        if section == "subscribers":
            found += _repeats(items, section, "name", _name_key)
        found += _repeats(items, section, "telegram_chat", _chat_key)
        found += _repeats(items, section, "email", _address_key)
        found += _repeats(items, section, "matrix_room", _room_key)
        found += _repeated_hooks(items, section)
        found += _channels(data, section)
    return found


def _valid(check: Callable[[object], Any], value: object) -> Any:
    """``check(value)``, or None when the value is invalid (its own field reports that)."""
    try:
        return None if value is None else check(value)
    except ValueError:
        return None


def _handle_key(value: object) -> str | None:
    """A handle as compared for repeats: case does not matter on X."""
    handle = _valid(lambda raw: normalize_handle(text(raw)), value)
    return None if handle is None else str(handle).casefold()


def _name_key(value: object) -> str | None:
    """A subscriber name as compared for repeats."""
    name = _valid(text, value)
    return (name.strip() or None) if isinstance(name, str) else None


def _chat_key(value: object) -> int | None:
    """A Telegram chat id as compared for repeats (-100123 written as text or as a number is one chat)."""
    chat = _valid(telegram_chat, value)
    return None if chat is None else int(chat)


def _address_key(value: object) -> str | None:
    """An email address as compared for repeats: case-insensitive, as mailbox providers treat them."""
    found = _valid(address, value)
    return None if found is None else str(found).casefold()


def _room_key(value: object) -> str | None:
    return value if isinstance(value, str) and value.startswith("!") else None


def _repeated_hooks(items: object, section: str) -> Found:
    """Two subscribers posting to one webhook URL; the message names the first, never the URL (a secret)."""
    found: Found = []
    first: dict[str, int] = {}
    for index, item in enumerate(items if isinstance(items, list) else []):
        hook = item.get("webhook") if isinstance(item, dict) else None
        url = hook.get("url") if isinstance(hook, dict) else None
        if not isinstance(url, str) or not url.strip():
            continue
        if url.strip() in first:
            found.append(((section, index, "webhook", "url"),
                          f"duplicate: the same webhook URL as {section}.{first[url.strip()]}"))
        else:
            first[url.strip()] = index
    return found


def _repeats(items: object, section: str, field: str, key: Callable[[object], Any]) -> Found:
    """A problem at each item whose ``field`` repeats an earlier one, naming the first."""
    found: Found = []
    first: dict[Any, int] = {}
    for index, item in enumerate(items if isinstance(items, list) else []):
        value = key(item.get(field)) if isinstance(item, dict) else None
        if value is None:
            continue
        if value in first:
            message = f"duplicate: {shown(item[field])} is already {section}.{first[value]}"
            found.append(((section, index, field), message))
        else:
            first[value] = index
    return found


def _platform_entries(data: Mapping[str, Any]) -> Found:
    """Bluesky and Mastodon accounts given twice, or without their section."""
    entries = data.get("watchlist")
    found: Found = []
    for field, check in (("bluesky", normalize_bluesky), ("mastodon", normalize_mastodon)):
        found += _repeats(entries, "watchlist", field, functools.partial(_folded, check))
        for index, item in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(item, dict) and item.get(field) is not None and field not in data:
                found.append((("watchlist", index, field), f"needs a {field} section at the top level ({field}: {{}}"
                              " takes its defaults)"))
    return found


def _x_repeats(entries: object) -> Found:
    """An X account given twice, as ``handle`` (the old form) or ``x`` (a person's entry), naming the first."""
    found: Found = []
    first: dict[str, int] = {}
    for index, item in enumerate(entries if isinstance(entries, list) else []):
        for field in ("handle", "x"):
            key = _handle_key(item.get(field)) if isinstance(item, dict) else None
            if key is None:
                continue
            if key in first:
                found.append((("watchlist", index, field), f"duplicate: {shown(item[field])} is already "
                              f"watchlist.{first[key]}"))
            else:
                first[key] = index
    return found


def _folded(check: Callable[[str], str], value: object) -> str | None:
    account = _valid(lambda raw: check(text(raw)), value)
    return None if account is None else str(account).casefold()


def _channels(data: Mapping[str, Any], section: str) -> Found:
    """Telegram and email recipients need the telegram and email sections."""
    found: Found = []
    items = data.get(section)
    for index, item in enumerate(items if isinstance(items, list) else []):
        for field, top, needed in _SECTIONS:
            if isinstance(item, dict) and item.get(field) is not None and data.get(top) is None:
                found.append(((section, index, field), f"needs {needed} at the top level"))
    return found
