"""The operator's YAML config: read within limits, validated in full, every problem named by path and line.

Lives here: the pydantic models (model, sections, fields, values, cross-section checks), the YAML reader
with its line map (reader), ${VAR} substitution and problem wording (report), durations and numbers kept as
written, a version read again by a running daemon and the keys that need a restart (live). May import: the
pure core of bot/ (models, handles, countries, text). Nothing here touches the network,
the database or the clock.
"""

from bot.config.durations import format_duration, parse_duration
from bot.config.model import Config, ConfigError, Problem, cross_check, load_config
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
    XConfig,
)

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
    "cross_check",
    "format_duration",
    "load_config",
    "parse_duration",
]
