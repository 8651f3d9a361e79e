"""What the result of one send means for its outbox rows, the subscriber and the operators.

Each method is one transaction, so the dispatcher can keep it and run it again, whole, when the database
refused it; the in-memory bookkeeping (paused channels, open conditions) changes only once it is written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from bot.delivery.pacing import RetryPolicy, TelegramPacer
from bot.models import NoticeKind
from bot.said import N_, Said
from bot.storage.outbox import Outbox, OutboxItem
from notifiers.base import ConfigRefused, Moved, Notifier, NotifyError, Permanent, RetryLater

log = logging.getLogger("presswatch.dispatch")

# The conditions a channel's ConfigRefused raises, and the channel whose next delivery clears each.
CONFIG_CONDITIONS = {"telegram_token": "telegram", "smtp_login": "email", "email_from": "email",
                     "matrix_token": "matrix"}
UNDELIVERABLE = "undeliverable:"


class Outcomes:
    """Marks rows sent, due again, held or failed; disables subscribers; raises and clears notices."""

    def __init__(self, outbox: Outbox, retry: RetryPolicy, pacers: dict[str, TelegramPacer],
                 clock: Callable[[], datetime]) -> None:
        self.outbox = outbox
        self.retry = retry
        self.pacers = pacers
        self.clock = clock
        self._paused: dict[str, datetime] = {}  # channel -> until: its configuration was refused
        self._refused: dict[str, str] = {}  # channel -> the open condition its next delivery clears
        self._undeliverable: set[int] = set()  # subscribers with an open "gave up" condition

    def load_conditions(self) -> None:
        """Conditions left open by an earlier run, so that the next delivery clears them."""
        for condition in self.outbox.open_conditions():
            rest = condition.removeprefix(UNDELIVERABLE)
            if rest != condition and rest.isascii() and rest.isdigit():
                self._undeliverable.add(int(rest))
            elif condition in CONFIG_CONDITIONS:
                self._refused.setdefault(CONFIG_CONDITIONS[condition], condition)

    def paused_for(self, channel: str, now: datetime) -> float:
        """Seconds this channel waits before it tries a configuration the service refused."""
        until = self._paused.get(channel)
        return 0.0 if until is None else max(0.0, (until - now).total_seconds())

    def requeue(self, items: Sequence[OutboxItem], now: datetime, *, delay: float = 0.0,
                why: str = "left for the next digest") -> None:
        with self.outbox.db.atomic():
            for item in items:
                self.outbox.mark_retry(item.id, now + timedelta(seconds=delay), why, unsent=True)

    def delivered(self, items: Sequence[OutboxItem], channel: str, now: datetime) -> None:
        sub = items[0].subscriber
        condition = self._refused.get(channel)
        undeliverable = sub.id in self._undeliverable
        with self.outbox.db.atomic():
            for item in items:
                self.outbox.mark_sent(item.id, now)
            if condition is not None:
                self.outbox.resolve(condition, Said(N_("{channel} accepts presswatch's configuration again"),
                                                    channel=channel.capitalize()), now)
            if undeliverable:
                self.outbox.resolve(f"{UNDELIVERABLE}{sub.id}", Said(N_("Messages reach {name} again"),
                                                                     name=sub.name), now)
        if condition is not None:
            log.info("%s accepts presswatch's configuration again", channel)
        self._refused.pop(channel, None)
        self._paused.pop(channel, None)
        self._undeliverable.discard(sub.id)

    def failed(self, items: Sequence[OutboxItem], error: NotifyError, notifier: Notifier, now: datetime) -> None:
        """The decision the error carries, for every row the message covered."""
        if isinstance(error, Moved):
            self._moved(items, error, now)
        elif isinstance(error, ConfigRefused):
            self._config_refused(items, error, notifier.channel, now)
        elif isinstance(error, Permanent):
            self._disable(items[0], error, notifier.fingerprint, now)
        else:
            self._retry(items, error, now)

    def _moved(self, items: Sequence[OutboxItem], error: Moved, now: datetime) -> None:
        sub = items[0].subscriber
        with self.outbox.db.atomic():
            self.outbox.move_address(sub.id, error.address)
            for item in items:
                self.outbox.mark_retry(item.id, now, str(error))
        log.info("chat of %s moved to %s; resending there", sub.name, error.address)

    def _config_refused(self, items: Sequence[OutboxItem], error: ConfigRefused, channel: str,
                        now: datetime) -> None:
        """Our own configuration: no subscriber is disabled, nothing is given up; the channel waits."""
        pause = self.retry.maximum
        with self.outbox.db.atomic():
            for item in items:
                self.outbox.mark_retry(item.id, now + timedelta(seconds=pause), str(error))
            self.outbox.notify_operators(
                NoticeKind.CONFIG_REFUSED,
                Said(N_("{channel} refuses presswatch's configuration"), channel=channel.capitalize()),
                Said(N_("{error}. Messages on this channel are kept and tried again every {minutes} min until it "
                        "is fixed; no subscriber was disabled."), error=error, minutes=f"{pause / 60:.0f}"),
                now, condition=error.condition)
        if self._refused.get(channel) != error.condition:
            log.error("%s: %s messages are kept and tried again every %.0f min", error, channel, pause / 60)
        self._refused[channel] = error.condition
        self._paused[channel] = now + timedelta(seconds=pause)

    def _disable(self, item: OutboxItem, error: Permanent, fingerprint: str, now: datetime) -> None:
        sub = item.subscriber
        with self.outbox.db.atomic():
            if not self.outbox.disable(sub.id, str(error), fingerprint):
                return
            self.outbox.notify_operators(
                NoticeKind.SUBSCRIBER_DISABLED, Said(N_("Subscriber {name} was disabled"), name=sub.name),
                Said(N_("{channel} {address}: {error}. Its alerts are held until it is enabled again."),
                     channel=sub.channel, address=sub.shown_address, error=error), now)
        log.warning("subscriber %s disabled: %s", sub.name, error)

    def _retry(self, items: Sequence[OutboxItem], error: NotifyError, now: datetime) -> None:
        """Due again after the backoff (or the delay the service asked for); given up after give_up_after."""
        sub = items[0].subscriber
        after = error.after if isinstance(error, RetryLater) else None
        if after is not None and sub.channel in self.pacers:
            self.pacers[sub.channel].pause(after, sub.address)
        delay = after if after is not None else self.retry.delay(items[0].attempts)
        old = [item for item in items if now - item.created_at > timedelta(seconds=self.retry.give_up_after)]
        with self.outbox.db.atomic():
            for item in items:
                if item in old:
                    self.outbox.mark_failed(item.id, str(error))
                else:
                    self.outbox.mark_retry(item.id, now + timedelta(seconds=delay), str(error))
            if old:
                self.outbox.notify_operators(
                    NoticeKind.DELIVERY_FAILED, Said(N_("An alert to {name} could not be delivered"), name=sub.name),
                    Said(N_("Gave up after {attempts} attempts: {error}. Later messages are still tried; you are "
                            "told when one gets through."), attempts=old[0].attempts, error=error),
                    now, condition=f"{UNDELIVERABLE}{sub.id}")
        if old:
            self._undeliverable.add(sub.id)
            log.warning("gave up on %d messages to %s: %s", len(old), sub.name, error)
        if len(old) < len(items):
            log.info("delivery to %s failed (%s); retrying in %.0f s", sub.name, error, delay)
