"""The daemon's parts that come from the config alone: subscriber rows, the Telegram pacer, the scheduling
settings (the budget and periods the poll plan and runner take), and the chat bot (the PTB Application with
the Shell's handlers installed, and its core)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.chatbot.connection import PTBApplication, build_application
from bot.chatbot.links import link_secret
from bot.chatbot.lookup import Lookup, x_lookup
from bot.chatbot.lookups import PlatformLookups
from bot.chatbot.service import SelfService
from bot.chatbot.shell import Shell
from bot.config.model import Config, SubscriberConfig
from bot.daemon import registry
from bot.daemon.lanes import Lane, wanted
from bot.delivery.dispatch import Dispatcher
from bot.delivery.pacing import RetryPolicy, TelegramPacer
from bot.delivery.render import Renderer
from bot.i18n import language
from bot.models import Message, NoticeKind
from bot.polling.budget import Budget, OwnInterval, Settings, describe, make_plan
from bot.polling.runner import Scheduling
from bot.ratelimit import SlidingWindow
from bot.said import N_, Said
from bot.storage.accounts import Store
from bot.storage.claims import ClaimBook
from bot.storage.guard import StorageGuard
from bot.storage.outbox import Outbox, OutboxItem, SubscriberSpec
from bot.storage.public import open_reader
from bot.text import iso
from bot.web.html import environment
from bot.web.ops import Metrics, PollStatus
from bot.web.reader import Reader
from bot.web.server import WebServer
from bot.web.site import Site
from bot.web.unsubscribe import Unsubscriber
from notifiers.base import Notifier
from watchers.base import Watcher

log = logging.getLogger("presswatch.app")  # the plan is the app's word at start


def subscriber_specs(config: Config) -> list[SubscriberSpec]:
    """The config's subscribers and operators as store rows, keyed so restarts update them in place."""
    specs = []
    for sub in config.subscribers:
        channel, address = _channel(sub)
        specs.append(SubscriberSpec(
            key=f"config:{sub.name}", name=sub.name, channel=channel, address=address or "",
            countries=tuple(sub.countries), events=tuple(sub.events), tags=tuple(sub.tags),
            language=sub.language or "", platforms=tuple(sub.platforms)))
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


def period(config: Config) -> float:
    """The shared poll period as configured, or the floor while auto has not resolved it yet."""
    rule = scheduling(config)
    return rule.interval or rule.floor


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
        lanes=[(key, label) for key, label, _ in wanted(config)],  # /health names each platform's last poll
    )
    shell = Shell(service, pacer, registry.telegram_retry_seconds)
    shell.install(application)
    return ChatBot(application, service, shell)


def build_web(config: Config, *, outbox: Outbox, clock: Callable[[], datetime]) -> WebServer | None:
    """The web server, built but not started; None unless ``server.listen`` is set.

    Its reads go through connections of its own, opened read-only in its worker threads.
    """
    server = config.server
    if server is None or server.listen is None:
        return None
    database = config.database
    reader = Reader(lambda shared: open_reader(database, shared=shared))
    site = Site(
        title=server.title, public_url=server.public_url, confirmations=config.detection.confirmations,
        reader=reader, env=environment(), renderer=Renderer(config.templates, public_url=server.public_url),
        clock=clock, health=PollStatus(period(config), clock()), metrics=Metrics(reader.view),
        unsubscriber=Unsubscriber(outbox, server.public_url, clock) if server.public_url else None)
    return WebServer(site, *server.listen)


def own_periods(config: Config, store: Store) -> dict[int, float]:
    """The store keys of the watchlist entries with their own poll_interval (renames keep the key)."""
    own = {}
    for interval in own_intervals(config):
        account = store.find_account(interval.handle)
        if account is not None:
            own[account.pk] = interval.seconds
    return own


def log_plan(config: Config, watched: int) -> None:
    """Log the plan for ``watched`` accounts under this config, with its warnings."""
    settings, own = plan_settings(config), own_intervals(config)
    plan = make_plan(settings, max(0, watched - len(own)), own)
    log.info("plan: %s", describe(plan, settings))
    for warning in (*plan.warnings, *config_warnings(config)):
        log.warning("plan: %s", warning)


def build_dispatcher(config: Config, store: Store, outbox: Outbox, notifiers: dict[str, Notifier],
                     web: WebServer | None, *, clock: Callable[[], datetime], pacer: TelegramPacer,
                     guard: StorageGuard, on_delivered: Callable[[OutboxItem, Message], None] | None,
                     on_sent: Callable[[list[OutboxItem], datetime], None]) -> Dispatcher:
    """The dispatcher: alerts rendered in each subscriber's language (linking the web's pages when it has a
    public address), paced per channel, retried with the config's backoff."""
    delivery, unsubscriber = config.delivery, web.site.unsubscriber if web else None
    public_url = config.server.public_url if config.server else None
    return Dispatcher(
        store, outbox, Renderer(config.templates, language(config.i18n.default_language), public_url=public_url),
        notifiers, clock=clock, retry=RetryPolicy(delivery.retry_initial, delivery.retry_max, delivery.give_up_after),
        pacer=pacer, pacers=channel_pacers(), on_delivered=on_delivered, guard=guard,
        unsubscribe=unsubscriber.url if unsubscriber else None, on_sent=on_sent)


def platform_lookups(watcher: Watcher, limiter: SlidingWindow, lanes: Sequence[Lane]) -> PlatformLookups:
    """/verify's lookups: X's through the X watcher, each other lane's through its own, in its budget."""
    lookups = {"x": x_lookup(watcher, limiter)} | {
        lane.key: x_lookup(lane.watcher, lane.limiter, name=lane.label) for lane in lanes}
    return PlatformLookups(lookups)


def storage_recovered(outbox: Outbox, since: datetime, until: datetime, cause: str) -> None:
    """Tell the operators the database took writes again after refusing them from ``since``."""
    minutes = max(1, round((until - since).total_seconds() / 60))
    outbox.notify_operators(
        NoticeKind.STORAGE, Said(N_("The database refused writes for about {minutes} min"), minutes=minutes),
        Said(N_("From {since} to {until}: {cause}. presswatch kept every queued alert and retried; polls of "
                "that time were not recorded (the accounts were read again after)."),
             since=iso(since), until=iso(until), cause=cause), until)
