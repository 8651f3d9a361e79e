"""The daemon's parts that come from the config alone: subscriber rows, the Telegram pacer, the scheduling
settings (the budget and periods the poll plan and runner take), and the chat bot (the PTB Application with
the Shell's handlers installed, and its core)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.chatbot.connection import PTBApplication, build_application
from bot.chatbot.links import link_secret
from bot.chatbot.ownership import Lookup
from bot.chatbot.service import SelfService
from bot.chatbot.shell import Shell
from bot.config.model import Config
from bot.daemon import registry
from bot.delivery.pacing import TelegramPacer
from bot.polling.budget import Budget, OwnInterval, Settings
from bot.polling.runner import Scheduling
from bot.storage.accounts import Store
from bot.storage.claims import ClaimBook
from bot.storage.outbox import Outbox, SubscriberSpec


def subscriber_specs(config: Config) -> list[SubscriberSpec]:
    """The config's subscribers and operators as store rows, keyed so restarts update them in place."""
    specs = []
    for sub in config.subscribers:
        channel, address = ("email", sub.email) if sub.email else ("telegram", str(sub.telegram_chat))
        specs.append(SubscriberSpec(
            key=f"config:{sub.name}", name=sub.name, channel=channel, address=address or "",
            countries=tuple(sub.countries), events=tuple(sub.events), tags=tuple(sub.tags),
            platforms=tuple(sub.platforms)))
    for op in config.operators:
        channel, address = ("email", op.email) if op.email else ("telegram", str(op.telegram_chat))
        specs.append(SubscriberSpec(
            key=f"operator:{channel}:{address}", name=op.name or f"operator {address}", channel=channel,
            address=address or "", operator=True))
    return specs


def scheduling(config: Config) -> Scheduling:
    """The runner's settings: X's budget less the reserve, the shared interval (None: auto), rechecks."""
    x = config.x
    budget = Budget(x.rate_limit.requests, x.rate_limit.per, x.reserve)
    return Scheduling(budget, x.interval, x.min_poll_interval, config.detection.recheck_after)


def plan_settings(config: Config) -> Settings:
    """What `presswatch plan` (and the daemon's plan at start) is computed from."""
    s = scheduling(config)
    return Settings(s.budget, s.interval, s.floor, config.detection.confirmations, s.recheck_after)


def own_intervals(config: Config) -> list[OwnInterval]:
    """The watchlist entries with their own poll_interval, with the config path a warning names."""
    return [OwnInterval(f"watchlist.{index}.poll_interval", entry.x_handle, entry.poll_interval)
            for index, entry in enumerate(config.watchlist) if entry.poll_interval is not None and entry.x_handle]


def config_warnings(config: Config) -> list[str]:
    """Settings that are valid but do nothing or surprise (warnings, not errors)."""
    if config.x.jitter is None:
        return []
    return ["x.jitter: no longer used: requests are spaced evenly by the budget (deadline scheduling); remove it"]


def telegram_pacer(config: Config) -> TelegramPacer:
    """The one pacer of everything sent to Telegram: alerts and command replies share its limits."""
    if config.telegram is None:
        return TelegramPacer()
    rate = config.telegram.rate_limit
    return TelegramPacer(rate.overall_per_second, rate.per_chat_per_second, rate.group_per_minute)


@dataclass(frozen=True, slots=True)
class ChatBot:
    """The Telegram bot that answers commands: the PTB Application, its core, and the handlers between them."""

    application: PTBApplication
    service: SelfService
    shell: Shell


def build_chatbot(config: Config, *, store: Store, outbox: Outbox, claims: ClaimBook, lookup: Lookup,
                  pacer: TelegramPacer, clock: Callable[[], datetime]) -> ChatBot | None:
    """The chat bot, built but not started; None when Telegram is not configured or its commands are off."""
    telegram = config.telegram
    if telegram is None or not telegram.commands:
        return None
    application = build_application(telegram)
    service = SelfService(
        store, outbox, claims, admins=telegram.admins, mode=telegram.self_service,
        secret=link_secret(telegram.bot_token.get_secret_value()), lookup=lookup, clock=clock,
        confirmations=config.detection.confirmations,
        bot_username=lambda: application.bot.username,  # known once the Application has started
    )
    shell = Shell(service, pacer, registry.telegram_retry_seconds)
    shell.install(application)
    return ChatBot(application, service, shell)
