"""The sections of the config file as frozen pydantic models: x, detection, telegram, email, watchlist
entries, subscribers, operators and delivery.

Every value is strict (see bot.config_fields): whole numbers are never true/false or 1.0, text that can
reach an email header is one line, durations stay within bounds that keep presswatch useful.
"""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.config.durations import format_duration
from bot.config.fields import (
    EVENT_NAMES,
    Address,
    AutoInterval,
    BlueskyHandle,
    ChatId,
    Country,
    Duration,
    EventName,
    GiveUp,
    Handle,
    Host,
    LanguageTag,
    Mailbox,
    MastodonHandle,
    Name,
    Platform,
    PollInterval,
    Rate,
    RequestTimeout,
    Reserve,
    RetryWait,
    RoomId,
    Tag,
    Text,
    Url,
    UserId,
    WebhookUrl,
    Whole,
    Window,
    secret,
)
from bot.models import DEFAULT_EVENTS


class _Model(BaseModel):
    """Frozen, and unknown keys are errors: a typo must not silently disable alerts."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimitConfig(_Model):
    """At most ``requests`` calls every ``per`` seconds."""

    requests: Whole = Field(gt=0)
    per: Window


class XConfig(_Model):
    """How to reach the X API, and the request budget its polls are scheduled in."""

    bearer_token: SecretStr
    api_base_url: Url = "https://api.x.com"
    # "auto": the shortest period the budget allows (less the reserve), never below min_poll_interval.
    poll_interval: AutoInterval = "auto"
    min_poll_interval: PollInterval = 60.0
    reserve: Reserve = 0.1  # of the budget, kept for rechecks, `check` and /verify
    jitter: Duration | None = None  # no longer used (requests are spaced evenly): accepted, with a warning
    timeout: RequestTimeout = 30.0
    rate_limit: RateLimitConfig = RateLimitConfig(requests=300, per=900.0)

    _check_token = field_validator("bearer_token")(secret)

    @field_validator("jitter")
    @classmethod
    def _check_jitter(cls, value: float | None, info: ValidationInfo) -> float | None:
        """At most half a fixed poll interval, as before deadline scheduling (a config valid then stays valid)."""
        interval = info.data.get("poll_interval")
        if value is not None and isinstance(interval, float) and value > interval / 2:
            half, every = format_duration(interval / 2), format_duration(interval)
            raise ValueError(f"{format_duration(value)} is too long: at most {half}, half of poll_interval ({every})")
        return value

    @property
    def interval(self) -> float | None:
        """The fixed poll interval in seconds; None for ``auto``."""
        return None if self.poll_interval == "auto" else float(self.poll_interval)


class DetectionConfig(_Model):
    """How many agreeing polls confirm a new state, and how soon a change seen is read again."""

    confirmations: Whole = Field(default=2, ge=1, le=10)
    recheck_after: PollInterval = 15.0


class TelegramRateLimit(_Model):
    """Telegram's flood limits, in messages."""

    overall_per_second: Rate = 30.0
    per_chat_per_second: Rate = 1.0
    group_per_minute: Rate = 20.0


class TelegramConfig(_Model):
    """The Telegram bot: token, Bot API server, admins and how it answers commands."""

    bot_token: SecretStr
    api_base_url: Url = "https://api.telegram.org/bot"
    admins: list[UserId] = []
    self_service: Literal["verify", "approve", "off"] = "verify"
    commands: StrictBool = True
    rate_limit: TelegramRateLimit = TelegramRateLimit()

    _check_token = field_validator("bot_token")(secret)


class EmailConfig(_Model):
    """The SMTP server alerts are sent through."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    host: Host
    port: Whole = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: Text | None = None
    password: SecretStr | None = None
    # The From header of every alert: one mailbox, one line (a line break would fail every send).
    from_: Mailbox = Field(alias="from")
    timeout: RequestTimeout = 30.0

    @field_validator("password")
    @classmethod
    def _check_password(cls, value: SecretStr | None) -> SecretStr | None:
        """A password, when given, is not empty."""
        return None if value is None else secret(value)


class WebhookConfig(_Model):
    """An incoming webhook: its URL (a secret: Slack's carry a token), the body's format, a signing secret."""

    url: WebhookUrl
    format: Literal["json", "slack", "mattermost", "discord"] = "json"
    secret: SecretStr | None = None
    timeout: RequestTimeout = 10.0

    @field_validator("secret")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        """A secret, when given, is not empty."""
        return None if value is None else secret(value)

    @model_validator(mode="after")
    def _check_format(self) -> WebhookConfig:
        """Only the json format is signed: chat services verify their own URLs, not our signature."""
        if self.secret is not None and self.format != "json":
            raise ValueError(f"secret signs json webhooks only; {self.format} checks its own URL")
        return self


class WatchEntry(_Model):
    """An account presswatch watches (``handle``: X's, as ever), or one person (``name``) on any of ``x``,
    ``bluesky`` and ``mastodon``; with tags subscribers can filter on; ``private`` keeps it off the web."""

    handle: Handle | None = None
    name: Name | None = None
    x: Handle | None = None
    bluesky: BlueskyHandle | None = None
    mastodon: MastodonHandle | None = None
    tags: list[Tag] = []
    private: StrictBool = False
    poll_interval: PollInterval | None = None  # this account's own period; None: the shared one

    @model_validator(mode="after")
    def _check_platforms(self) -> WatchEntry:
        """At least one platform; X's account given once."""
        if self.handle is not None and self.x is not None:
            raise ValueError("give the X account once: handle or x, not both")
        if not self.accounts():
            raise ValueError("needs at least one platform: handle (an X account), x, bluesky or mastodon")
        return self

    @property
    def x_handle(self) -> str | None:
        return self.handle or self.x

    def accounts(self) -> list[tuple[str, str]]:
        """(platform, account) for each platform the entry names, X first."""
        found = [("x", self.x_handle), ("bluesky", self.bluesky), ("mastodon", self.mastodon)]
        return [(platform, account) for platform, account in found if account is not None]


class SubscriberConfig(_Model):
    """Someone who gets alerts by email or Telegram, filtered by country, event kind and tag."""

    name: Name
    email: Address | None = None
    telegram_chat: ChatId | None = None
    webhook: WebhookConfig | None = None
    matrix_room: RoomId | None = None
    language: LanguageTag | None = None  # BCP 47; default: i18n.default_language
    countries: list[Country] = []
    events: list[EventName] = list(DEFAULT_EVENTS)
    tags: list[Tag] = []
    platforms: list[Platform] = []  # x, bluesky, mastodon; empty: every platform

    @field_validator("events")
    @classmethod
    def _check_events(cls, names: list[str]) -> list[str]:
        """At least one kind or group: an empty list would silence the subscriber."""
        if not names:
            raise ValueError(f"name at least one event kind or group: {', '.join(EVENT_NAMES)}")
        return names

    @model_validator(mode="after")
    def _check_channel(self) -> SubscriberConfig:
        """One channel per subscriber."""
        channels = [self.email, self.telegram_chat, self.webhook, self.matrix_room]
        if sum(channel is not None for channel in channels) != 1:
            raise ValueError("a subscriber needs exactly one of email, telegram_chat, webhook or matrix_room")
        return self


class OperatorConfig(_Model):
    """Someone who gets health alerts about presswatch itself."""

    name: Name | None = None
    telegram_chat: ChatId | None = None
    email: Address | None = None

    @model_validator(mode="after")
    def _check_channel(self) -> OperatorConfig:
        """One channel per operator."""
        _one_channel(self.email, self.telegram_chat, "an operator")
        return self


def _one_channel(email: str | None, telegram_chat: int | None, who: str) -> None:
    """Exactly one of the two channels must be set."""
    if (email is None) == (telegram_chat is None):
        raise ValueError(f"{who} needs exactly one of email or telegram_chat")


class DeliveryConfig(_Model):
    """Retrying alerts that could not be delivered: retry_initial <= retry_max <= give_up_after."""

    retry_initial: RetryWait = 5.0
    # Defaults are checked too: retry_initial: 20m alone is above the default retry_max.
    retry_max: RetryWait = Field(default=900.0, validate_default=True)
    give_up_after: GiveUp = Field(default=86400.0, validate_default=True)

    @field_validator("retry_max", "give_up_after")
    @classmethod
    def _check_order(cls, value: float, info: ValidationInfo) -> float:
        """Each wait is at least the one before it."""
        before = {"retry_max": "retry_initial", "give_up_after": "retry_max"}[str(info.field_name)]
        shorter = info.data.get(before)
        if shorter is not None and value < shorter:
            raise ValueError(f"{format_duration(value)} is shorter than {before} ({format_duration(shorter)})")
        return value
