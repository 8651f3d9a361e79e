"""Drains the outbox: each channel on its own, paced, retried with backoff, never dropping a row.

The database may refuse a write at any moment (locked past the busy timeout, a full disk). A claim that
fails is tried again after the shared StorageGuard's backoff; the result of a send (sent, retry, disabled)
that cannot be written is kept in memory, in order, and written when the database takes writes again, so
a message that went out is never sent a second time by this process, and none is forgotten.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import partial

from bot.delivery.compose import language_of, render_item
from bot.delivery.outcome import Outcomes
from bot.delivery.pacing import RetryPolicy, TelegramPacer
from bot.delivery.render import Renderer
from bot.i18n import Language
from bot.models import Message, Subscriber
from bot.storage.accounts import Store
from bot.storage.guard import StorageGuard, is_storage_error
from bot.storage.outbox import Outbox, OutboxItem
from notifiers.base import Notifier, NotifyError

log = logging.getLogger("presswatch.dispatch")

DIGEST_MAX = 30
IDLE = 1.0  # seconds: a lane looks at the outbox at least this often
# Channels where alerts queued together for one chat or room go out as one digest message. A JSON webhook
# gets one POST per alert (its receivers read one event a request); email one message per alert.
DIGESTS = {"telegram": DIGEST_MAX, "matrix": DIGEST_MAX}
# Channels whose server drops a request it has seen by its id (Matrix's txnId): a digest's rows are
# recorded as one batch before it is sent, so that after a crash the same rows go out under the same id.
BATCHED = frozenset({"matrix"})

__all__ = ["DIGEST_MAX", "Dispatcher", "RetryPolicy", "TelegramPacer"]


class Dispatcher:
    """Delivers outbox rows through the notifiers; never drops one silently.

    It closes a notifier after each burst (``aclose``), never for good: whoever built the notifiers closes
    them when the daemon stops.
    """

    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        renderer: Renderer,
        notifiers: dict[str, Notifier],
        *,
        clock: Callable[[], datetime],
        retry: RetryPolicy | None = None,
        pacer: TelegramPacer | None = None,
        pacers: dict[str, TelegramPacer] | None = None,
        concurrency: dict[str, int] | None = None,
        on_delivered: Callable[[OutboxItem, Message], None] | None = None,
        guard: StorageGuard | None = None,
        unsubscribe: Callable[[Subscriber], str] | None = None,
        on_sent: Callable[[list[OutboxItem], datetime], None] | None = None,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.renderer = renderer
        self.notifiers = notifiers
        self.clock = clock
        self.retry = retry or RetryPolicy()
        self.pacer = pacer or TelegramPacer()
        # The limits each channel is sent within: Telegram's flood limits, and those of the other channels.
        self.pacers = {"telegram": self.pacer} | (pacers or {})
        self.concurrency = {"telegram": 32, "email": 1, "webhook": 8, "matrix": 4} | (concurrency or {})
        self.digest = dict(DIGESTS)
        self.on_delivered = on_delivered
        self.unsubscribe = unsubscribe  # a subscriber's one-click unsubscribe link for its alert emails
        self.on_sent = on_sent  # every delivered message, with all the rows it covered
        self.guard = guard or StorageGuard()
        self.outcomes = Outcomes(self.outbox, self.retry, self.pacers, clock)
        self._wakes = {channel: asyncio.Event() for channel in notifiers}
        self._unwritten: deque[tuple[str, Callable[[], object], list[OutboxItem]]] = deque()
        self._rendered: dict[tuple[str, int, str], Message] = {}

    def wake(self) -> None:
        for event in self._wakes.values():
            event.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Recover what a crash left in flight, then drain every channel on its own until ``stop``."""
        await self._recover(stop)
        async with asyncio.TaskGroup() as lanes:  # a lane that dies takes the others down: restarted together
            for channel, notifier in self.notifiers.items():
                lanes.create_task(self._run_lane(channel, notifier, stop), name=f"lane-{channel}")

    async def drain(self) -> None:
        """Deliver everything due now, every channel at once (tests and one-off runs)."""
        await asyncio.gather(*(self._lane(channel, notifier) for channel, notifier in self.notifiers.items()))

    async def _recover(self, stop: asyncio.Event) -> None:
        """Write what an earlier run could not, then send again the rows a crash left 'sending'."""
        while not stop.is_set():
            if self._write_pending():
                try:
                    recovered = self.outbox.recover_in_flight()
                except Exception as exc:
                    self._refused(exc, "recovering messages in flight")
                else:
                    self.guard.succeeded(self.clock())
                    if recovered:
                        log.warning("%d messages were in flight when presswatch stopped; sending them again",
                                    recovered)
                    self.outcomes.load_conditions()
                    return
            await self._sleep(stop, None, max(0.05, self.guard.wait()))

    async def _run_lane(self, channel: str, notifier: Notifier, stop: asyncio.Event) -> None:
        wake = self._wakes[channel]
        while not stop.is_set():
            wake.clear()
            await self._lane(channel, notifier)
            await self._sleep(stop, wake, self._idle(channel))

    def _idle(self, channel: str) -> float:
        """How long a lane may sleep: until the database may be tried again, or the next row is due."""
        now = self.clock()
        if self._unwritten or self.guard.wait() > 0:
            return max(0.05, self.guard.wait())
        paused = self.outcomes.paused_for(channel, now)
        if paused > 0:
            return min(IDLE, paused)
        try:
            due = self.outbox.next_due(channel)
        except Exception as exc:
            self._refused(exc, "reading when the next message is due")
            return max(0.05, self.guard.wait())
        return IDLE if due is None else min(IDLE, max(0.0, (due - now).total_seconds()))

    @staticmethod
    async def _sleep(stop: asyncio.Event, wake: asyncio.Event | None, seconds: float) -> None:
        waiters = [asyncio.ensure_future(stop.wait())]
        if wake is not None:
            waiters.append(asyncio.ensure_future(wake.wait()))
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _lane(self, channel: str, notifier: Notifier) -> None:
        running: set[asyncio.Task[None]] = set()
        limit = self.concurrency.get(channel, 4)
        try:
            while True:
                while len(running) < limit and (items := self._claim(channel)):
                    running.add(asyncio.create_task(self._deliver(notifier, items)))
                if not running:
                    return
                _done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # One SMTP connection serves a burst; close it when the burst is over.
            with contextlib.suppress(Exception):
                await notifier.aclose()

    def _claim(self, channel: str) -> list[OutboxItem]:
        """The next message's rows, marked in flight; [] when nothing is due or the database refuses."""
        now = self.clock()
        if self.outcomes.paused_for(channel, now) > 0 or not self._write_pending():
            return []
        batched = channel in BATCHED
        try:
            items = self.outbox.claim_batch(channel, now) if batched else []
            if items:
                self.guard.succeeded(now)
                return items
            items = self.outbox.claim_due(now, 1, channel, fresh=batched)
        except Exception as exc:
            self._refused(exc, "claiming the next message")
            return []
        if items and items[0].transition_id and channel in self.digest:
            try:
                items += self.outbox.claim_more(items[0].subscriber, now, self.digest[channel] - 1, fresh=batched)
                if batched and len(items) > 1:
                    self.outbox.mark_batch([item.id for item in items], f"pw{items[0].id}")
            except Exception as exc:  # the first row is claimed already: send it alone, the rest go back
                self._refused(exc, "claiming a digest")
                if batched and len(items) > 1:
                    rest = items[1:]
                    self._write("rows of a digest not recorded", partial(self.outcomes.requeue, rest, now), rest)
                    items = items[:1]
        if items:
            self.guard.succeeded(now)
        return items

    def _refused(self, exc: Exception, doing: str) -> None:
        """A storage error is waited out; anything else is a bug and propagates."""
        if not is_storage_error(exc):
            raise exc
        self.guard.failed(exc, self.clock(), doing)

    def _write(self, doing: str, write: Callable[[], object], rows: list[OutboxItem]) -> None:
        """Write a delivery's outcome now, or keep it, in order, until the database takes writes."""
        self._unwritten.append((doing, write, rows))
        self._write_pending()

    def _write_pending(self) -> bool:
        """Write the outcomes kept so far, oldest first; False while the database still refuses."""
        while self._unwritten:
            now = self.clock()
            if self.guard.wait() > 0:
                return False
            doing, write, rows = self._unwritten[0]
            try:
                write()
            except Exception as exc:
                if not is_storage_error(exc):  # a bug: the rows must not stay in flight, try them again
                    log.exception("could not record %s; its messages are due again", doing)
                    self._unwritten[0] = (doing, partial(self.outcomes.requeue, rows, now,
                                                         delay=self.retry.initial, why=f"{type(exc).__name__}"), rows)
                    continue
                self.guard.failed(exc, now, f"recording {doing}")
                return False
            self._unwritten.popleft()
            self.guard.succeeded(now)
        return True

    def _language(self, sub: Subscriber) -> Language:
        return language_of(sub, self.renderer)

    def _message(self, item: OutboxItem) -> Message | None:
        return render_item(item, self.store, self.outbox, self.renderer, self._rendered)

    def _compose(self, items: list[OutboxItem]) -> tuple[Message | None, list[OutboxItem]]:
        """The message for these items, and the items it covers (a digest may not fit them all)."""
        if len(items) == 1:
            return self._message(items[0]), items
        by_id = {item.transition_id: item for item in items if item.transition_id is not None}
        transitions = sorted(self.store.transitions(ids=list(by_id)), key=lambda t: t.id)
        message, count = self.renderer.digest(transitions, self._language(items[0].subscriber))
        covered = [by_id[t.id] for t in transitions[:count]]
        left = [item for item in items if item not in covered]
        if left:  # back in the queue, due now: the next digest takes them
            self._write("rows left for the next digest", partial(self.outcomes.requeue, left, self.clock()), left)
        return message, covered

    async def _deliver(self, notifier: Notifier, items: list[OutboxItem]) -> None:
        """Send one message; its outcome is written (or kept until it can be). Never raises."""
        first = items[0]
        try:
            message, items = self._compose(items)
        except Exception as exc:  # the transition could not be read: try again later, nothing was sent
            if not is_storage_error(exc):
                log.exception("could not compose outbox row %d", first.id)
            self._write("a message not composed",
                        partial(self.outcomes.requeue, items, self.clock(), delay=5.0, why="could not be composed"),
                        items)
            return
        if message is None:
            self._write("a message whose event is gone", partial(
                self.outbox.mark_failed, first.id, "the transition or notice it announces is gone"), items)
            return
        if self.unsubscribe is not None and first.transition_id and notifier.channel == "email":
            message = replace(message, list_unsubscribe=self.unsubscribe(first.subscriber))
        # The same on every attempt of this message: Matrix drops a repeated txnId, a webhook receiver may too.
        message = message.with_key(first.batch or f"pw{first.id}")
        pacer = self.pacers.get(notifier.channel)
        try:
            async with pacer.slot(first.subscriber.address) if pacer else contextlib.nullcontext():
                await notifier.send(first.subscriber.address, message)
        except Exception as exc:
            error = exc if isinstance(exc, NotifyError) else NotifyError(f"{type(exc).__name__}: {exc}")
            if error is not exc:  # a bug must not lose the message: retry it like a temporary error
                log.exception("unexpected error delivering outbox row %d", first.id)
            self._write(f"a failed delivery to {first.subscriber.name}",
                        partial(self.outcomes.failed, items, error, notifier, self.clock()), items)
            return
        self._write(f"a delivery to {first.subscriber.name}",
                    partial(self.outcomes.delivered, items, notifier.channel, self.clock()), items)
        log.info("delivered %s message (%d alerts) to %s", notifier.channel, len(items), first.subscriber.name)
        if self.on_sent:
            self.on_sent(items, self.clock())
        if self.on_delivered:
            self.on_delivered(first, message)

    def backlog(self) -> int:
        """Outcomes of deliveries not yet written (the database refused them so far)."""
        return len(self._unwritten)
