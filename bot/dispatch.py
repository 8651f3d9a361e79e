"""Drains the outbox: paced per channel, retried with backoff, permanent failures disable the subscriber."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import clock
from bot.models import Message, NoticeKind
from bot.outbox import Outbox, OutboxItem
from bot.ratelimit import SlidingWindow
from bot.render import Renderer
from bot.store import Store
from notifiers.base import Notifier, NotifyError

log = logging.getLogger("presswatch.dispatch")

# Telegram counts at its end, after network jitter: keep a little under its limits.
_MARGIN = 1.05
DIGEST_MAX = 30


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    initial: float = 5.0
    maximum: float = 900.0
    give_up_after: float = 86400.0

    def delay(self, attempts: int) -> float:
        """Exponential backoff: initial, 2x, 4x ... capped at maximum."""
        return float(min(self.maximum, self.initial * 2 ** max(0, attempts - 1)))


class TelegramPacer:
    """Telegram's limits: overall per second, per chat per second, per group per minute.

    A message takes its overall, chat and group slots together, at the moment all are free, so a wait
    for one limit can never leave a slot of another stamped too early. Its chat and group slots are
    stamped again when Telegram has answered (see ``slot``).
    """

    def __init__(
        self,
        overall: float = 30,
        per_chat: float = 1,
        group_per_minute: float = 20,
        *,
        monotonic: Callable[[], float] = clock.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._monotonic, self._sleep = monotonic, sleep
        # Evenly spaced, not 30 at once then a pause: a burst arrives spread by network jitter, and
        # its tail and the next burst's head would land in one of Telegram's one-second windows.
        self.overall = SlidingWindow(1, _MARGIN / overall, monotonic=monotonic, sleep=sleep)
        self.per_chat = per_chat
        self.group_per_minute = group_per_minute
        self._chats: dict[str, SlidingWindow] = {}
        self._groups: dict[str, SlidingWindow] = {}

    def _window(self, rate: float, per: float) -> SlidingWindow:
        """``rate`` per ``per`` seconds, fractional rates included (0.5/s: 1 per 2 s), with a margin."""
        if rate >= 1:
            return SlidingWindow(int(rate), per * _MARGIN, monotonic=self._monotonic, sleep=self._sleep)
        return SlidingWindow(1, per / rate * _MARGIN, monotonic=self._monotonic, sleep=self._sleep)

    def _windows(self, chat: str) -> list[SlidingWindow]:
        windows = [self.overall, self._chats.setdefault(chat, self._window(self.per_chat, 1.0))]
        if chat.startswith("-"):
            windows.append(self._groups.setdefault(chat, self._window(self.group_per_minute, 60.0)))
        return windows

    async def acquire(self, chat: str) -> list[tuple[SlidingWindow, float]]:
        """Wait until the overall, chat and group limits all allow a message; returns the slots taken."""
        windows = self._windows(chat)
        while (wait := max(window.delay() for window in windows)) > 0:
            await self._sleep(wait)
        return [(window, window.take()) for window in windows]  # no await since the check

    @asynccontextmanager
    async def slot(self, chat: str) -> AsyncIterator[None]:
        """Pace one send to ``chat``; its chat and group slots count from Telegram's answer.

        Two messages to one chat sent 1.05 s apart can still arrive under a second apart when the first
        was slowed on its way (a busy machine, a new connection). Counting from the answer makes that
        impossible. The overall slot keeps its send time: sends overlap, and evenly spaced sends have
        room for jitter in a one-second window of 30.
        """
        taken = await self.acquire(chat)
        try:
            yield
        finally:
            for window, stamp in taken[1:]:
                window.restamp(stamp)

    def pause(self, seconds: float, chat: str) -> None:
        """A 429: hold this chat and, as Telegram may mean the whole bot, everything else too."""
        until = clock.unix() + seconds
        for window in self._windows(chat)[:2]:
            window.block_until(until)


class Dispatcher:
    """Delivers outbox rows through the notifiers; never drops one silently."""

    def __init__(
        self,
        store: Store,
        renderer: Renderer,
        notifiers: dict[str, Notifier],
        *,
        clock: Callable[[], datetime],
        retry: RetryPolicy | None = None,
        pacer: TelegramPacer | None = None,
        concurrency: dict[str, int] | None = None,
        on_delivered: Callable[[OutboxItem, Message], None] | None = None,
    ) -> None:
        self.store = store
        self.outbox = Outbox(store.db)
        self.renderer = renderer
        self.notifiers = notifiers
        self.clock = clock
        self.retry = retry or RetryPolicy()
        self.pacer = pacer or TelegramPacer()
        self.concurrency = {"telegram": 32, "email": 1} | (concurrency or {})
        # Channels where alerts queued together for one subscriber go out as one digest message.
        self.digest = {"telegram": DIGEST_MAX}
        self.on_delivered = on_delivered
        self._wake = asyncio.Event()
        self._rendered: dict[tuple[str, int], Message] = {}

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Drain, then sleep until woken, the next retry is due, or a second passes; until ``stop``."""
        recovered = self.outbox.recover_in_flight()
        if recovered:
            log.warning("%d messages were in flight when presswatch stopped; sending them again", recovered)
        while not stop.is_set():
            self._wake.clear()
            await self.drain()
            due = self.outbox.next_due()
            timeout = 1.0 if due is None else min(1.0, max(0.0, (due - self.clock()).total_seconds()))
            waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    async def drain(self) -> None:
        """Deliver everything due now, every channel at once."""
        await asyncio.gather(*(self._lane(channel, notifier) for channel, notifier in self.notifiers.items()))

    async def _lane(self, channel: str, notifier: Notifier) -> None:
        running: set[asyncio.Task[None]] = set()
        limit = self.concurrency.get(channel, 4)
        try:
            while True:
                while len(running) < limit:
                    items = self.outbox.claim_due(self.clock(), 1, channel)
                    if not items:
                        break
                    if items[0].transition_id and channel in self.digest:
                        items += self.outbox.claim_more(items[0].subscriber.id, self.clock(), self.digest[channel] - 1)
                    running.add(asyncio.create_task(self._deliver(notifier, items)))
                if not running:
                    return
                _done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # One SMTP connection serves a burst; close it when the burst is over.
            await notifier.aclose()

    def _message(self, item: OutboxItem) -> Message | None:
        key = ("t", item.transition_id) if item.transition_id else ("n", item.notice_id or 0)
        if key in self._rendered:
            return self._rendered[key]
        if item.transition_id:
            found = self.store.transitions(ids=[item.transition_id])
            message = self.renderer.alert(found[0]) if found else None
        else:
            notice = self.outbox.notice(item.notice_id or 0)
            message = self.renderer.operator(notice) if notice else None
        if message is not None:
            if len(self._rendered) > 1000:
                self._rendered.clear()
            self._rendered[key] = message
        return message

    def _compose(self, items: list[OutboxItem]) -> tuple[Message | None, list[OutboxItem]]:
        """The message for these items, and the items it covers (a digest may not fit them all)."""
        if len(items) == 1:
            return self._message(items[0]), items
        by_id = {item.transition_id: item for item in items if item.transition_id is not None}
        transitions = sorted(self.store.transitions(ids=list(by_id)), key=lambda t: t.id)
        message, count = self.renderer.digest(transitions)
        covered = [by_id[t.id] for t in transitions[:count]]
        for item in items:
            if item not in covered:  # back in the queue, due now: the next digest takes it
                self.outbox.mark_retry(item.id, self.clock(), "left for the next digest")
        return message, covered

    async def _deliver(self, notifier: Notifier, items: list[OutboxItem]) -> None:
        first = items[0]
        address = first.subscriber.address
        try:
            message, items = self._compose(items)
            if message is None:
                self.outbox.mark_failed(first.id, "the transition or notice it announces is gone")
                return
            async with self.pacer.slot(address) if notifier.channel == "telegram" else contextlib.nullcontext():
                await notifier.send(address, message)
        except NotifyError as exc:
            for item in items:
                self._failed(item, exc)
            return
        except Exception as exc:  # a bug must not lose the message: retry it like a temporary error
            log.exception("unexpected error delivering outbox row %d", first.id)
            for item in items:
                self._failed(item, NotifyError(f"{type(exc).__name__}: {exc}"))
            return
        now = self.clock()
        for item in items:
            self.outbox.mark_sent(item.id, now)
        log.info("delivered %s message (%d alerts) to %s", notifier.channel, len(items), first.subscriber.name)
        if self.on_delivered:
            self.on_delivered(first, message)

    def _failed(self, item: OutboxItem, exc: NotifyError) -> None:
        now = self.clock()
        sub = item.subscriber
        if exc.migrate_to:
            log.info("chat of %s moved to %s; resending there", sub.name, exc.migrate_to)
            self.outbox.move_address(sub.id, exc.migrate_to)
            self.outbox.mark_retry(item.id, now, str(exc))
        elif exc.permanent:
            if self.outbox.disable(sub.id, str(exc)):
                log.warning("subscriber %s disabled: %s", sub.name, exc)
                self.outbox.notify_operators(
                    NoticeKind.SUBSCRIBER_DISABLED, f"Subscriber {sub.name} was disabled",
                    f"{sub.channel} {sub.address}: {exc}. Its alerts are held until it is enabled again.", now)
        elif now - item.created_at > timedelta(seconds=self.retry.give_up_after):
            self.outbox.mark_failed(item.id, str(exc))
            self.outbox.notify_operators(
                NoticeKind.DELIVERY_FAILED, f"An alert to {sub.name} could not be delivered",
                f"Gave up after {item.attempts} attempts: {exc}", now)
        else:
            delay = exc.retry_after if exc.retry_after is not None else self.retry.delay(item.attempts)
            if exc.retry_after is not None and sub.channel == "telegram":
                self.pacer.pause(exc.retry_after, sub.address)
            log.info("delivery to %s failed (%s); retrying in %.0f s", sub.name, exc, delay)
            self.outbox.mark_retry(item.id, now + timedelta(seconds=delay), str(exc))
