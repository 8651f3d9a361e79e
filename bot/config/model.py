"""The operator's YAML config as frozen pydantic models, and a loader that names every problem.

The sections live in bot.config_sections and are re-exported here: import them from bot.config.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from bot.config.cross import cross_check
from bot.config.durations import format_duration, parse_duration
from bot.config.fields import FilePath, Version
from bot.config.platforms import BlueskyConfig, MastodonConfig
from bot.config.reader import ConfigError, Loc, Problem
from bot.config.report import load_model
from bot.config.sections import (
    DeliveryConfig,
    DetectionConfig,
    EmailConfig,
    OperatorConfig,
    RateLimitConfig,
    SubscriberConfig,
    TelegramConfig,
    TelegramRateLimit,
    WatchEntry,
    WebhookConfig,
    XConfig,
)
from bot.config.services import I18nConfig, MatrixConfig, ServerConfig

__all__ = [
    "Config",
    "ConfigError",
    "DeliveryConfig",
    "DetectionConfig",
    "EmailConfig",
    "I18nConfig",
    "MatrixConfig",
    "OperatorConfig",
    "Problem",
    "RateLimitConfig",
    "ServerConfig",
    "SubscriberConfig",
    "TelegramConfig",
    "TelegramRateLimit",
    "WatchEntry",
    "WebhookConfig",
    "XConfig",
    "cross_check",
    "format_duration",
    "load_config",
    "parse_duration",
]

SECRET_PATHS: tuple[Loc, ...] = (("x", "bearer_token"), ("telegram", "bot_token"), ("email", "password"),
                                 ("matrix", "access_token"), ("subscribers", "*", "webhook", "url"),
                                 ("subscribers", "*", "webhook", "secret"))


class Config(BaseModel):
    """The whole config file, version 1; frozen, and unknown keys are errors, like every section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Version
    database: FilePath
    x: XConfig
    detection: DetectionConfig = DetectionConfig()
    telegram: TelegramConfig | None = None
    email: EmailConfig | None = None
    matrix: MatrixConfig | None = None
    i18n: I18nConfig = I18nConfig()
    bluesky: BlueskyConfig | None = None  # present (even empty) when the watchlist has Bluesky accounts
    mastodon: MastodonConfig | None = None
    watchlist: list[WatchEntry]
    subscribers: list[SubscriberConfig] = []
    operators: list[OperatorConfig] = []
    templates: FilePath | None = None
    delivery: DeliveryConfig = DeliveryConfig()
    server: ServerConfig | None = None

    @field_validator("bluesky", "mastodon", mode="before")
    @classmethod
    def _empty_section(cls, value: Any) -> Any:
        """``bluesky:`` written with nothing under it is the section with its defaults."""
        return {} if value is None else value

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
            self.matrix.access_token if self.matrix else None,
        ]
        hooks = [sub.webhook for sub in self.subscribers if sub.webhook is not None]
        urls = [hook.url for hook in hooks]
        return [secret.get_secret_value() for secret in candidates if secret is not None] + urls + [
            hook.secret.get_secret_value() for hook in hooks if hook.secret is not None]


def _detail(loc: Loc, message: str, kind: str = "config", value: Any = None) -> InitErrorDetails:
    """One validation error with a loc of our choosing (the message is kept as is)."""
    error = PydanticCustomError(kind, "{message}", {"message": message})
    return InitErrorDetails(type=error, loc=loc, input=value)


def load_config(path: Path | str, env: Mapping[str, str] | None = None) -> Config:
    """Read, substitute ${VAR}s and validate a config file; ConfigError lists every problem."""
    return load_model(Path(path), os.environ if env is None else env, Config, SECRET_PATHS)
