"""Bot API objects (users, chats, messages, members) as the sandbox serialises them."""

from __future__ import annotations

import re
from typing import Any

JSON = dict[str, Any]

_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")
_ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_post_messages",
    "can_edit_messages",
    "can_pin_messages",
)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Bot API entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def compact(obj: JSON) -> JSON:
    """Drop None values, as the Bot API omits absent optional fields."""
    return {key: value for key, value in obj.items() if value is not None}


def bot_user(bot_id: int, username: str) -> JSON:
    return {
        "id": bot_id,
        "is_bot": True,
        "first_name": "presswatch",
        "username": username,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def user(user_id: int, first_name: str = "Reporter", username: str | None = None,
         language_code: str | None = "en") -> JSON:
    return compact(
        {"id": user_id, "is_bot": False, "first_name": first_name, "username": username,
         "language_code": language_code}
    )


def chat(
    chat_id: int,
    chat_type: str,
    *,
    title: str | None = None,
    username: str | None = None,
    first_name: str | None = None,
) -> JSON:
    if chat_type == "private":
        return compact({"id": chat_id, "type": "private", "first_name": first_name or "Reporter", "username": username})
    return compact({"id": chat_id, "type": chat_type, "title": title or f"Chat {chat_id}", "username": username})


def full_chat(base: JSON) -> JSON:
    """A ChatFullInfo, the getChat result (PTB requires these fields)."""
    gifts = dict.fromkeys(
        ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription", "gifts_from_channels"),
        False,
    )
    return {**base, "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}


def command_entities(text: str) -> list[JSON]:
    """A bot_command entity at offset 0 when the text starts with a command, as Telegram adds it."""
    match = _COMMAND.match(text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}]


def message(message_id: int, chat_obj: JSON, text: str, date: int, sender: JSON | None) -> JSON:
    msg: JSON = {"message_id": message_id, "date": date, "chat": chat_obj, "text": text}
    if sender is not None:
        msg["from"] = sender
    else:
        msg["sender_chat"] = chat_obj
    entities = command_entities(text)
    if entities:
        msg["entities"] = entities
    return msg


def member(member_user: JSON, status: str) -> JSON:
    """A ChatMember of the given status, with the fields PTB requires for it."""
    if status == "administrator":
        rights = dict.fromkeys(_ADMIN_RIGHTS, True)
        return {"user": member_user, "status": status, "can_be_edited": False, "is_anonymous": False, **rights}
    if status == "creator":
        return {"user": member_user, "status": status, "is_anonymous": False}
    return {"user": member_user, "status": status}
