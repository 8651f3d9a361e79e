"""The field types of the config models: each a Python type with the validator that makes it strict.

Numbers: ``Whole`` (never true/false or 1.0), ``Rate``, Telegram ids. Text that can reach an email header
(names, addresses, the sender) is one line. Durations carry bounds: the floors catch unit slips (``1ms`` for
``1m``) yet let the demo and the tests poll the loopback sandboxes every 0.2 s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr

from bot.config import values as values
from bot.config.durations import parse_duration, within
from bot.config.written import text
from bot.countries import normalize_country
from bot.handles import normalize_handle
from bot.i18n import check as check_language
from bot.models import GROUPS, PLATFORMS, EventKind
from bot.social_handles import normalize_bluesky, normalize_mastodon

EVENT_NAMES = (*GROUPS, *(kind.value for kind in EventKind))
MINUTE, DAY = 60.0, 86400.0


def event_name(value: str) -> str:
    """An event kind or a group name."""
    if value not in EVENT_NAMES:
        raise ValueError(f"{value!r} is not an event kind or group: use {', '.join(EVENT_NAMES)}")
    return value


def file_path(value: object) -> str:
    """A file or folder path: one line of text, not blank."""
    path = values.one_line(text(value)).strip()
    if not path:
        raise ValueError("must not be empty (a file name like presswatch.db)")
    return path


def optional_text(value: object) -> str:
    """An optional setting that, when present, is one line and not blank (leave the key out instead)."""
    written = values.one_line(text(value)).strip()
    if not written:
        raise ValueError("must not be empty (leave the key out instead)")
    return written


def secret(value: SecretStr) -> SecretStr:
    """A secret must not be empty (an env var set to '' is a mistake)."""
    if not value.get_secret_value().strip():
        raise ValueError("must not be empty")
    return value


AUTO = "auto"


def auto_or_duration(value: object) -> object:
    """``auto`` (the budget decides), or a duration."""
    if isinstance(value, str) and value.strip() == AUTO:
        return AUTO
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ValueError(str(exc).replace("(use ", "(use auto, ", 1)) from None


def _auto_within(low: float, high: float) -> Any:
    """A duration between ``low`` and ``high`` seconds, or ``auto``."""
    check = within(low, high)
    return AfterValidator(lambda value: value if value == AUTO else check(value))


def _seconds(low: float, high: float) -> Any:
    """A duration between ``low`` and ``high`` seconds."""
    return AfterValidator(within(low, high))


Text = Annotated[str, BeforeValidator(optional_text)]
Whole = Annotated[int, BeforeValidator(values.whole)]
Rate = Annotated[float, BeforeValidator(values.number), Field(gt=0)]
Name = Annotated[str, BeforeValidator(values.name)]
Address = Annotated[str, BeforeValidator(values.address)]
Mailbox = Annotated[str, BeforeValidator(values.mailbox)]
Host = Annotated[str, BeforeValidator(values.host)]
ChatId = Annotated[int, BeforeValidator(values.telegram_chat)]
UserId = Annotated[int, BeforeValidator(values.telegram_user)]
Version = Annotated[int, BeforeValidator(values.version)]
Url = Annotated[str, BeforeValidator(values.url)]
Listen = Annotated[tuple[str, int], BeforeValidator(values.listen)]
Tag = Annotated[str, BeforeValidator(values.tag)]
Handle = Annotated[str, BeforeValidator(lambda value: normalize_handle(text(value)))]
Country = Annotated[str, BeforeValidator(lambda value: normalize_country(text(value)))]
BlueskyHandle = Annotated[str, BeforeValidator(lambda value: normalize_bluesky(text(value)))]
MastodonHandle = Annotated[str, BeforeValidator(lambda value: normalize_mastodon(text(value)))]
Platform = Literal[PLATFORMS]  # type: ignore[valid-type]
EventName = Annotated[str, AfterValidator(event_name)]
WebhookUrl = Annotated[str, BeforeValidator(values.webhook_url)]
RoomId = Annotated[str, BeforeValidator(values.matrix_room)]
LanguageTag = Annotated[str, BeforeValidator(lambda value: check_language(text(value)))]
FilePath = Annotated[Path, BeforeValidator(file_path)]
Duration = Annotated[float, BeforeValidator(parse_duration)]
PollInterval = Annotated[Duration, _seconds(0.1, DAY)]
AutoInterval = Annotated[float | Literal["auto"], BeforeValidator(auto_or_duration), _auto_within(0.1, DAY)]
Reserve = Annotated[float, BeforeValidator(values.reserve)]
RequestTimeout = Annotated[Duration, _seconds(0.1, 5 * MINUTE)]
Window = Annotated[Duration, _seconds(1.0, DAY)]
RetryWait = Annotated[Duration, _seconds(0.1, DAY)]
GiveUp = Annotated[Duration, _seconds(MINUTE, 30 * DAY)]
