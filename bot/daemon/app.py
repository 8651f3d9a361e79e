"""Wiring: one asyncio loop runs the poll schedule, the outbox dispatcher and the Telegram bot."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot import clock as wall
from bot.config.model import Config, format_duration
from bot.daemon import registry
from bot.daemon.supervise import supervise
from bot.delivery.dispatch import Dispatcher
from bot.delivery.pacing import RetryPolicy, TelegramPacer
from bot.delivery.render import Renderer
from bot.models import Message, NoticeKind
from bot.polling.monitor import CycleReport, Monitor
from bot.polling.ratelimit import SlidingWindow
from bot.polling.scheduler import PollSchedule
from bot.storage.accounts import Store, open_db
from bot.storage.guard import StorageGuard, is_storage_error
from bot.storage.outbox import Outbox, OutboxItem, SubscriberSpec

log = logging.getLogger("presswatch.app")


def subscriber_specs(config: Config) -> list[SubscriberSpec]:
    """The config's subscribers and operators as store rows, keyed so restarts update them in place."""
    specs = []
    for sub in config.subscribers:
        channel, address = ("email", sub.email) if sub.email else ("telegram", str(sub.telegram_chat))
        specs.append(SubscriberSpec(
            key=f"config:{sub.name}", name=sub.name, channel=channel, address=address or "",
            countries=tuple(sub.countries), events=tuple(sub.events), tags=tuple(sub.tags)))
    for op in config.operators:
        channel, address = ("email", op.email) if op.email else ("telegram", str(op.telegram_chat))
        specs.append(SubscriberSpec(
            key=f"operator:{channel}:{address}", name=op.name or f"operator {address}", channel=channel,
            address=address or "", operator=True))
    return specs


class App:
    """The daemon. ``start`` inside a running loop, ``stop`` to shut down cleanly."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Callable[[], datetime] = wall.now,
        on_delivered: Callable[[OutboxItem, Message], None] | None = None,
        on_cycle: Callable[[CycleReport], None] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.on_delivered = on_delivered
        self.on_cycle = on_cycle
        self.db = open_db(config.database)
        self.outbox = Outbox(self.db)
        self.store = Store(self.db, self.outbox)
        self.cycles = 0
        self.last_report: CycleReport | None = None
        self._cycle_done = asyncio.Condition()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self.telegram_app: Any = None
        self._current: asyncio.Task[Any] | None = None
        self.guard = StorageGuard(on_recovered=self._storage_recovered)

    def sync(self) -> None:
        """Make the store's config-sourced watchlist and subscribers match the config."""
        now = self.clock()
        added, dropped = self.store.sync_watchlist(
            [(entry.handle, entry.tags) for entry in self.config.watchlist], now)
        self.outbox.sync_config(subscriber_specs(self.config), now)
        log.info("watchlist: %d accounts from the config (%d new, %d dropped)",
                 len(self.config.watchlist), added, dropped)

    async def _sync_when_writable(self, stop: asyncio.Event) -> bool:
        """``sync``, waiting out a database that refuses writes at start-up; False when stopped first."""
        while not stop.is_set():
            try:
                self.sync()
            except Exception as exc:
                if not is_storage_error(exc):
                    raise
                delay = self.guard.failed(exc, self.clock(), "the start-up sync of the config")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                continue
            self.guard.succeeded(self.clock())
            return True
        return False

    async def start(self, stop: asyncio.Event | None = None) -> None:
        """Build and start every part; waits out a database that refuses writes (until ``stop``)."""
        if not await self._sync_when_writable(stop or asyncio.Event()):
            return
        config = self.config
        limiter = SlidingWindow(config.x.rate_limit.requests, config.x.rate_limit.per)
        self.monitor = Monitor(
            self.store, registry.build_watcher(config), limiter,
            confirmations=config.detection.confirmations, poll_interval=config.x.poll_interval,
            clock=self.clock, max_rate_wait=max(config.x.rate_limit.per, config.x.poll_interval), guard=self.guard,
        )
        sender = await self._start_telegram()
        rate = config.telegram.rate_limit if config.telegram else None
        self.dispatcher = Dispatcher(
            self.store, Renderer(config.templates), registry.build_notifiers(config, sender), clock=self.clock,
            retry=RetryPolicy(config.delivery.retry_initial, config.delivery.retry_max,
                              config.delivery.give_up_after),
            pacer=TelegramPacer(rate.overall_per_second, rate.per_chat_per_second, rate.group_per_minute)
            if rate else None,
            on_delivered=self.on_delivered, guard=self.guard,
        )
        self._reenable_changed()
        self.monitor.on_recorded = lambda _ids: self.dispatcher.wake()
        self._tasks.append(asyncio.create_task(
            supervise("dispatcher", lambda: self.dispatcher.run(self._stop), self._stop, on_restart=self._restarted),
            name="dispatcher"))
        self.schedule = PollSchedule(
            self._cycle, interval=config.x.poll_interval, jitter=config.x.jitter_seconds, clock=self.clock,
            extra=((self._check_stale, config.x.poll_interval),),
        )
        self.schedule.start()
        log.info("presswatch running: polling every %s", format_duration(config.x.poll_interval))

    async def _start_telegram(self) -> Any:
        """Start the Telegram bot's command handling when configured; return the bot to send with."""
        telegram = self.config.telegram
        if telegram is None or not telegram.commands:
            return None
        from bot.chatbot.shell import start_application

        self.telegram_app = await start_application(self)
        return self.telegram_app.bot if self.telegram_app else None

    def _reenable_changed(self) -> None:
        """Subscribers a delivery failure disabled under another channel configuration get another try."""
        fingerprints = {channel: n.fingerprint for channel, n in self.dispatcher.notifiers.items()}
        for sub in self.outbox.reenable_changed(fingerprints):
            log.info("subscriber %s enabled again: the %s configuration changed since it was disabled",
                     sub.name, sub.channel)

    def _check_stale(self, now: datetime) -> None:
        try:
            self.monitor.check_stale(now)
        except Exception as exc:
            if not is_storage_error(exc):
                raise
            self.guard.failed(exc, now, "the stale-poll check")
        self.dispatcher.wake()

    def _restarted(self, name: str, exc: BaseException) -> None:
        self.outbox.notify_operators(
            NoticeKind.TASK_RESTARTED, f"presswatch restarted its {name}",
            f"It stopped on {type(exc).__name__}: {exc}. Nothing queued was lost; the log has the details.",
            self.clock())

    def _storage_recovered(self, since: datetime, until: datetime, cause: str) -> None:
        minutes = max(1, round((until - since).total_seconds() / 60))
        self.outbox.notify_operators(
            NoticeKind.STORAGE, f"The database refused writes for about {minutes} min",
            f"From {wall.iso(since)} to {wall.iso(until)}: {cause}. presswatch kept every queued alert and "
            "retried; polls of that time were not recorded (the accounts were read again after).", until)

    async def _cycle(self, now: datetime) -> CycleReport | None:
        if self._stop.is_set():
            return None
        self._current = asyncio.current_task()
        try:
            report = await self.monitor.run_cycle(now)
        finally:
            self._current = None
        self.dispatcher.wake()
        self.last_report = report
        if self.on_cycle:
            self.on_cycle(report)
        async with self._cycle_done:
            self.cycles += 1
            self._cycle_done.notify_all()
        return report

    async def wait_cycles(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` cycles have finished in total; False on timeout."""
        async def reached() -> None:
            async with self._cycle_done:
                await self._cycle_done.wait_for(lambda: self.cycles >= count)

        try:
            await asyncio.wait_for(reached(), timeout)
        except TimeoutError:
            return False
        return True

    async def run_until_stopped(self, stop: asyncio.Event) -> None:
        await self.start(stop)
        try:
            await stop.wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        """Stop polling, let the dispatcher finish what it is sending, close everything; never raises."""
        self._stop.set()
        steps = [("the schedule", self._stop_schedule), ("the poll cycle", self._stop_cycle),
                 ("Telegram", self._stop_telegram), ("the dispatcher", self._stop_tasks),
                 ("the X watcher", self._close_watcher), ("the notifiers", self._close_notifiers)]
        for name, step in steps:
            try:
                await step()
            except Exception:
                log.exception("stopping %s failed; going on with the shutdown", name)
        try:
            self.db.close()
        except Exception:
            log.exception("closing the database failed")

    async def _stop_schedule(self) -> None:
        if hasattr(self, "schedule"):
            self.schedule.shutdown()

    async def _stop_cycle(self) -> None:
        if self._current is not None:
            # Each batch is recorded atomically, so a cycle cut short loses nothing: the next run re-polls.
            self._current.cancel()
            try:
                await self._current
            except (asyncio.CancelledError, Exception):
                pass

    async def _stop_telegram(self) -> None:
        if self.telegram_app is not None:
            from bot.chatbot.shell import stop_application

            await stop_application(self.telegram_app)

    async def _stop_tasks(self) -> None:
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, 10)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
            except Exception:
                log.exception("the %s ended on an error", task.get_name())

    async def _close_watcher(self) -> None:
        if hasattr(self, "monitor"):
            await self.monitor.watcher.aclose()

    async def _close_notifiers(self) -> None:
        if hasattr(self, "dispatcher"):
            for notifier in self.dispatcher.notifiers.values():
                await notifier.aclose()
