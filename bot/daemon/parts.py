"""The daemon's parts that come from the config alone: subscriber rows, the Telegram pacer, and the chat bot
(the PTB Application with the Shell's handlers installed, and its core)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.chatbot.connection import PTBApplication, build_application
from bot.chatbot.links import link_secret
from bot.chatbot.lookup import Lookup
from bot.chatbot.service import SelfService
from bot.chatbot.shell import Shell
from bot.config.model import Config, SubscriberConfig
from bot.daemon import registry
from bot.delivery.pacing import TelegramPacer
from bot.i18n import language
from bot.storage.accounts import Store
from bot.storage.claims import ClaimBook
from bot.storage.outbox import Outbox, SubscriberSpec


def subscriber_specs(config: Config) -> list[SubscriberSpec]:
    """The config's subscribers and operators as store rows, keyed so restarts update them in place."""
    specs = []
    for sub in config.subscribers:
        channel, address = _channel(sub)
        specs.append(SubscriberSpec(
            key=f"config:{sub.name}", name=sub.name, channel=channel, address=address,
            countries=tuple(sub.countries), events=tuple(sub.events), tags=tuple(sub.tags),
            language=sub.language or ""))
    for op in config.operators:
        channel, address = ("email", op.email) if op.email else ("telegram", str(op.telegram_chat))
        specs.append(SubscriberSpec(
            key=f"operator:{channel}:{address}", name=op.name or f"operator {address}", channel=channel,
            address=address or "", operator=True))
    return specs


def _channel(sub: SubscriberConfig) -> tuple[str, str]:
    """(channel, address) of a config subscriber: its one channel (the config checked there is one)."""
    if sub.email:
        return "email", sub.email
    if sub.webhook is not None:
        return "webhook", sub.webhook.url
    if sub.matrix_room:
        return "matrix", sub.matrix_room
    return "telegram", str(sub.telegram_chat)


def channel_pacers() -> dict[str, TelegramPacer]:
    """The limits of the other chat channels. Slack: "1 message per second" per incoming webhook (short bursts
    allowed); Discord: 5 requests per 2 s per webhook. Matrix limits per account (Synapse's rc_message):
    its 429s are honoured; 10/s overall and 1/s a room stay polite meanwhile."""
    return {"webhook": TelegramPacer(100, 1), "matrix": TelegramPacer(10, 1)}


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
        default=language(config.i18n.default_language),
    )
    shell = Shell(service, pacer, registry.telegram_retry_seconds)
    shell.install(application)
    return ChatBot(application, service, shell)
