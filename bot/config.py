"""The operator's YAML config as frozen pydantic models, and a loader that names every problem."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from bot.config_report import load_model
from bot.config_yaml import ConfigError, Loc, Problem
from bot.countries import normalize_country
from bot.durations import format_duration, parse_duration
from bot.handles import normalize_handle
from bot.models import DEFAULT_EVENTS, GROUPS, EventKind
from bot.written import text as _text

__all__ = [
    "Config",
    "ConfigError",
    "DeliveryConfig",
    "DetectionConfig",
    "EmailConfig",
    "OperatorConfig",
    "Problem",
    "RateLimitConfig",
    "SubscriberConfig",
    "TelegramConfig",
    "TelegramRateLimit",
    "WatchEntry",
    "XConfig",
    "format_duration",
    "load_config",
    "parse_duration",
]

SECRET_PATHS: tuple[Loc, ...] = (("x", "bearer_token"), ("telegram", "bot_token"), ("email", "password"))
_TAG_RE = re.compile(r"^[a-z0-9_-]{1,32}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EVENT_NAMES = (*GROUPS, *(kind.value for kind in EventKind))

Duration = Annotated[float, BeforeValidator(parse_duration)]


def _url(value: str) -> str:
    """An http(s) base URL without its trailing slash."""
    if not re.match(r"^https?://[^/\s]+", value) or any(char.isspace() for char in value):
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    return value.rstrip("/")


def _tag(value: object) -> str:
    """A lower-cased tag of 1 to 32 of a-z, 0-9, '_' and '-'."""
    tag = _text(value).strip().lower()
    if not _TAG_RE.match(tag):
        raise ValueError(f"{value!r} is not a tag: 1 to 32 letters, digits, '_' or '-'")
    return tag


def _event(value: str) -> str:
    """An event kind or a group name."""
    if value not in _EVENT_NAMES:
        raise ValueError(f"{value!r} is not an event kind or group: use {', '.join(_EVENT_NAMES)}")
    return value


Tag = Annotated[str, BeforeValidator(_tag)]
Country = Annotated[str, BeforeValidator(lambda value: normalize_country(_text(value)))]
EventName = Annotated[str, AfterValidator(_event)]


def _address(value: str | None) -> str | None:
    """An email address with one @ and a dot in the domain, or None."""
    if value is None:
        return None
    address = value.strip()
    if not _EMAIL_RE.match(address):
        raise ValueError(f"{value!r} is not an email address (like desk@example.org)")
    return address


def _one_channel(email: str | None, telegram_chat: int | None, who: str) -> None:
    """Exactly one of the two channels must be set."""
    if (email is None) == (telegram_chat is None):
        raise ValueError(f"{who} needs exactly one of email or telegram_chat")


def _secret(value: SecretStr) -> SecretStr:
    """A secret must not be empty (an env var set to '' is a mistake)."""
    if not value.get_secret_value().strip():
        raise ValueError("must not be empty")
    return value


class _Model(BaseModel):
    """Frozen, and unknown keys are errors: a typo must not silently disable alerts."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimitConfig(_Model):
    """At most ``requests`` calls every ``per`` seconds."""

    requests: int = Field(gt=0)
    per: Duration


class XConfig(_Model):
    """How to reach the X API and how often to poll it."""

    bearer_token: SecretStr
    api_base_url: str = "https://api.x.com"
    poll_interval: Duration = 600.0
    jitter: Duration | None = None
    timeout: Duration = 30.0
    rate_limit: RateLimitConfig = RateLimitConfig(requests=300, per=900.0)

    _check_token = field_validator("bearer_token")(_secret)
    _check_url = field_validator("api_base_url")(_url)

    @property
    def jitter_seconds(self) -> float:
        """The jitter, or by default 10% of the poll interval capped at 30 s."""
        return self.jitter if self.jitter is not None else min(self.poll_interval * 0.1, 30.0)


class DetectionConfig(_Model):
    """How many agreeing polls confirm a new state."""

    confirmations: int = Field(default=2, ge=1, le=10)


class TelegramRateLimit(_Model):
    """Telegram's flood limits, in messages."""

    overall_per_second: float = Field(default=30.0, gt=0)
    per_chat_per_second: float = Field(default=1.0, gt=0)
    group_per_minute: float = Field(default=20.0, gt=0)


class TelegramConfig(_Model):
    """The Telegram bot: token, Bot API server, admins and how it answers commands."""

    bot_token: SecretStr
    api_base_url: str = "https://api.telegram.org/bot"
    admins: list[int] = []
    self_service: Literal["verify", "approve", "off"] = "verify"
    commands: bool = True
    rate_limit: TelegramRateLimit = TelegramRateLimit()

    _check_token = field_validator("bot_token")(_secret)
    _check_url = field_validator("api_base_url")(_url)


class EmailConfig(_Model):
    """The SMTP server alerts are sent through."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    from_: str = Field(alias="from")
    timeout: Duration = 30.0

    @field_validator("from_")
    @classmethod
    def _check_from(cls, value: str) -> str:
        """A mailbox: 'alerts@example.org' or 'Name <alerts@example.org>'."""
        _, address = parseaddr(value)
        if "@" not in address:
            raise ValueError(f'{value!r} is not a mailbox (like "presswatch <alerts@example.org>")')
        return value.strip()


class WatchEntry(_Model):
    """An account presswatch watches, with tags subscribers can filter on."""

    handle: str
    tags: list[Tag] = []

    @field_validator("handle", mode="before")
    @classmethod
    def _check_handle(cls, value: object) -> str:
        """'@name' and x.com/twitter.com links become the bare handle."""
        return normalize_handle(_text(value))


class SubscriberConfig(_Model):
    """Someone who gets alerts by email or Telegram, filtered by country, event kind and tag."""

    name: str
    email: str | None = None
    telegram_chat: int | None = None
    countries: list[Country] = []
    events: list[EventName] = list(DEFAULT_EVENTS)
    tags: list[Tag] = []

    _check_email = field_validator("email")(_address)

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        """A name that is not blank."""
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @field_validator("events")
    @classmethod
    def _check_events(cls, values: list[str]) -> list[str]:
        """At least one kind or group: an empty list would silence the subscriber."""
        if not values:
            raise ValueError(f"name at least one event kind or group: {', '.join(_EVENT_NAMES)}")
        return values

    @model_validator(mode="after")
    def _check_channel(self) -> SubscriberConfig:
        """One channel per subscriber."""
        _one_channel(self.email, self.telegram_chat, "a subscriber")
        return self


class OperatorConfig(_Model):
    """Someone who gets health alerts about presswatch itself."""

    name: str | None = None
    telegram_chat: int | None = None
    email: str | None = None

    _check_email = field_validator("email")(_address)

    @model_validator(mode="after")
    def _check_channel(self) -> OperatorConfig:
        """One channel per operator."""
        _one_channel(self.email, self.telegram_chat, "an operator")
        return self


class DeliveryConfig(_Model):
    """Retrying alerts that could not be delivered."""

    retry_initial: Duration = 5.0
    retry_max: Duration = 900.0
    give_up_after: Duration = 86400.0


class Config(_Model):
    """The whole config file, version 1."""

    version: Literal[1]
    database: Path
    x: XConfig
    detection: DetectionConfig = DetectionConfig()
    telegram: TelegramConfig | None = None
    email: EmailConfig | None = None
    watchlist: list[WatchEntry]
    subscribers: list[SubscriberConfig] = []
    operators: list[OperatorConfig] = []
    templates: Path | None = None
    delivery: DeliveryConfig = DeliveryConfig()

    @field_validator("database", "templates")
    @classmethod
    def _resolve(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        """Relative paths are relative to the config file's folder (``context['base_dir']``)."""
        if value is None:
            return None
        value = value.expanduser()
        base = (info.context or {}).get("base_dir")
        return Path(base) / value if base is not None and not value.is_absolute() else value

    @field_validator("templates")
    @classmethod
    def _check_templates(cls, value: Path | None) -> Path | None:
        """The templates folder must exist."""
        if value is not None and not value.is_dir():
            raise ValueError(f"folder {str(value)!r} does not exist")
        return value

    @model_validator(mode="wrap")
    @classmethod
    def _check_across(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Config:
        """Checks that span sections, reported with every field error at once."""
        found = cross_check(data) if isinstance(data, dict) else []
        if not found:
            return handler(data)  # type: ignore[no-any-return]
        details = [_detail(loc, message) for loc, message in found]
        try:
            handler(data)
        except ValidationError as exc:
            details = [_detail(e["loc"], e["msg"], e["type"], e["input"]) for e in exc.errors()] + details
        raise ValidationError.from_exception_data(cls.__name__, details)

    def secrets(self) -> list[str]:
        """Every secret value in use, for redacting logs."""
        candidates = [
            self.x.bearer_token,
            self.telegram.bot_token if self.telegram else None,
            self.email.password if self.email else None,
        ]
        return [secret.get_secret_value() for secret in candidates if secret is not None]


def _detail(loc: Loc, message: str, kind: str = "config", value: Any = None) -> InitErrorDetails:
    """One validation error with a loc of our choosing (the message is kept as is)."""
    error = PydanticCustomError(kind, "{message}", {"message": message})
    return InitErrorDetails(type=error, loc=loc, input=value)


def cross_check(data: Mapping[str, Any]) -> list[tuple[Loc, str]]:
    """Repeated handles or subscriber names, and channels without their section."""
    return [
        *_repeats(data.get("watchlist"), "watchlist", "handle", _handle_key),
        *_repeats(data.get("subscribers"), "subscribers", "name", _name_key),
        *_channels(data, "subscribers"),
        *_channels(data, "operators"),
    ]


def _handle_key(value: object) -> str | None:
    """A handle as compared for repeats, or None when it is not valid (reported elsewhere)."""
    try:
        return normalize_handle(_text(value)).casefold()
    except ValueError:
        return None


def _name_key(value: object) -> str | None:
    """A subscriber name as compared for repeats."""
    return value.strip() if isinstance(value, str) and value.strip() else None


def _repeats(items: object, section: str, field: str, key: Any) -> list[tuple[Loc, str]]:
    """A problem at each item whose ``field`` repeats an earlier one."""
    found: list[tuple[Loc, str]] = []
    first: dict[str, int] = {}
    for index, item in enumerate(items if isinstance(items, list) else []):
        value = key(item.get(field)) if isinstance(item, dict) else None
        if value is None:
            continue
        if value in first:
            found.append(((section, index, field), f"duplicate: {item[field]!r} is already {section}.{first[value]}"))
        else:
            first[value] = index
    return found


def _channels(data: Mapping[str, Any], section: str) -> list[tuple[Loc, str]]:
    """Telegram and email recipients need the telegram and email sections."""
    found: list[tuple[Loc, str]] = []
    items = data.get(section)
    for index, item in enumerate(items if isinstance(items, list) else []):
        for field, needed in (("telegram_chat", "telegram"), ("email", "email")):
            if isinstance(item, dict) and item.get(field) is not None and data.get(needed) is None:
                found.append(((section, index, field), f"needs a {needed} section at the top level"))
    return found


def load_config(path: Path | str, env: Mapping[str, str] | None = None) -> Config:
    """Read, substitute ${VAR}s and validate a config file; ConfigError lists every problem."""
    return load_model(Path(path), os.environ if env is None else env, Config, SECRET_PATHS)
