"""The explicit registry: the one module that imports watchers and notifiers and builds them from config."""

from __future__ import annotations

from collections.abc import Callable

from bot import __version__
from bot import clock as wall
from bot.config.model import Config
from notifiers.base import Notifier
from notifiers.email import EmailNotifier
from notifiers.matrix import MatrixNotifier
from notifiers.telegram import MessageSender, TelegramNotifier, build_bot, retry_seconds
from notifiers.webhook import Hook, WebhookNotifier
from watchers.base import Watcher
from watchers.mastodon import MastodonWatcher
from watchers.x import XWatcher


def _x(config: Config) -> Watcher:
    return XWatcher.connect(config.x.bearer_token.get_secret_value(), config.x.api_base_url, config.x.timeout)


def _telegram(config: Config, sender: MessageSender | None) -> Notifier:
    assert config.telegram is not None
    if sender is None:
        sender = build_bot(config.telegram.bot_token.get_secret_value(), config.telegram.api_base_url)
    return TelegramNotifier(sender)


def _email(config: Config, _sender: MessageSender | None) -> Notifier:
    assert config.email is not None
    email = config.email
    return EmailNotifier(
        host=email.host,
        port=email.port,
        security=email.security,
        username=email.username,
        password=email.password.get_secret_value() if email.password else None,
        sender=email.from_,
        timeout=email.timeout,
    )


def _webhook(config: Config, _sender: MessageSender | None) -> Notifier:
    hooks = {sub.webhook.url: Hook(sub.webhook.url, sub.webhook.format,
                                   sub.webhook.secret.get_secret_value() if sub.webhook.secret else None,
                                   sub.webhook.timeout)
             for sub in config.subscribers if sub.webhook is not None}
    return WebhookNotifier(hooks, unix=wall.unix, user_agent=f"presswatch/{__version__}")


def _matrix(config: Config, _sender: MessageSender | None) -> Notifier:
    assert config.matrix is not None
    return MatrixNotifier(config.matrix.homeserver, config.matrix.access_token.get_secret_value(),
                          timeout=config.matrix.timeout)


WATCHERS: dict[str, Callable[[Config], Watcher]] = {"x": _x}
NOTIFIERS: dict[str, Callable[[Config, MessageSender | None], Notifier]] = {
    "telegram": _telegram, "email": _email, "webhook": _webhook, "matrix": _matrix}


def build_watcher(config: Config, platform: str = "x") -> Watcher:
    return WATCHERS[platform](config)


def build_bluesky(config: Config) -> Watcher:
    """The Bluesky watcher (labels expire on the wall clock)."""
    # Imported here: the atproto SDK takes two seconds of CPU to import, which every `presswatch` command would
    # pay (each e2e test's daemon too) when no account is on Bluesky.
    from watchers.bluesky import BlueskyWatcher

    section = config.bluesky
    assert section is not None
    return BlueskyWatcher.connect(section.api_base_url, section.labelers, clock=wall.now, timeout=section.timeout)


def build_mastodon(config: Config, instance: str) -> Watcher:
    """The watcher of one Mastodon instance, at its configured URL (default https://<instance>)."""
    section = config.mastodon
    assert section is not None
    return MastodonWatcher.connect(instance, section.url_of(instance), section.timeout)


def build_notifiers(config: Config, telegram_sender: MessageSender | None = None) -> dict[str, Notifier]:
    """One notifier per configured channel; ``telegram_sender`` is the PTB bot to share, if any."""
    built: dict[str, Notifier] = {}
    if config.telegram is not None:
        built["telegram"] = NOTIFIERS["telegram"](config, telegram_sender)
    if config.email is not None:
        built["email"] = NOTIFIERS["email"](config, None)
    if any(sub.webhook is not None for sub in config.subscribers):
        built["webhook"] = NOTIFIERS["webhook"](config, None)
    if config.matrix is not None:
        built["matrix"] = NOTIFIERS["matrix"](config, None)
    return built


# The Telegram shell reads a flood-control answer's wait as the notifier does; it gets this by wiring.
telegram_retry_seconds = retry_seconds
