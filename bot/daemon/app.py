"""Wiring: App builds every long-lived part before anything starts, then runs them on one asyncio loop (the
deadline runner's polls, the periodic stale check, the outbox dispatcher, the Telegram bot); ``stop`` closes
what ``start`` started, in reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from datetime import datetime
from functools import partial
from typing import TypeVar

from bot import clock as wall
from bot.chatbot.connection import start_application, stop_application
from bot.config.model import Config
from bot.daemon import registry
from bot.daemon.lanes import Lane, LaneParts, build_lanes, sync_watchlists
from bot.daemon.parts import (
    build_chatbot,
    build_dispatcher,
    build_web,
    log_plan,
    own_periods,
    platform_lookups,
    scheduling,
    storage_recovered,
    subscriber_specs,
    telegram_pacer,
)
from bot.daemon.supervise import logged_exit, supervise
from bot.models import Message, NoticeKind
from bot.polling.monitor import CycleReport, Monitor
from bot.polling.runner import Runner
from bot.polling.scheduler import Periodic
from bot.ratelimit import SlidingWindow
from bot.said import N_, Said
from bot.storage.accounts import Store, open_db
from bot.storage.claims import ClaimBook
from bot.storage.guard import StorageGuard, is_storage_error
from bot.storage.outbox import Outbox, OutboxItem
from bot.storage.site import SiteKeys, set_private
from bot.text import short_duration
from bot.web.server import WebServer

log = logging.getLogger("presswatch.app")
T = TypeVar("T")
STOP_WAIT = 10.0  # seconds the dispatcher may take to finish what it is sending when the daemon stops
STALE_CHECK_MAX = 60.0  # seconds between two stale-poll checks, at most (the shared period, when shorter)

__all__ = ["App", "subscriber_specs"]


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
        self.on_cycle = on_cycle
        self.cycles = 0
        self.last_report: CycleReport | None = None
        self._cycle_done = asyncio.Event()
        self._stop = asyncio.Event()
        self._stack = AsyncExitStack()  # what start started, closed in reverse order by stop
        self.db = open_db(config.database)
        try:
            self._build(on_delivered)
        except BaseException:
            self.db.close()
            raise

    def _build(self, on_delivered: Callable[[OutboxItem, Message], None] | None) -> None:
        """Every long-lived part, each built once and handed to those that use it; nothing starts here."""
        config = self.config
        self.outbox, self.claims = Outbox(self.db), ClaimBook(self.db)
        self.store = Store(self.db, self.outbox)  # record() fans out to this outbox
        self.guard = StorageGuard(on_recovered=self._storage_recovered)
        self.watcher = registry.build_watcher(config)
        self.limiter = SlidingWindow(config.x.rate_limit.requests, config.x.rate_limit.per,
                                     unix=lambda: self.clock().timestamp())  # X's resets, on the App's clock
        self.pacer = telegram_pacer(config)
        self.lanes: list[Lane] = build_lanes(config, LaneParts(  # Bluesky, each Mastodon instance: own budgets
            self.store, self.outbox, self.guard, self.clock, wall.monotonic,
            on_recorded=lambda _ids: self.dispatcher.wake(), on_round=lambda _report: self.dispatcher.wake()))
        self.chatbot = build_chatbot(  # /verify looks handles up within the polls' request budget of each platform
            config, store=self.store, outbox=self.outbox, claims=self.claims,
            lookup=platform_lookups(self.watcher, self.limiter, self.lanes), pacer=self.pacer, clock=self.clock)
        # Alerts to Telegram go through the chat bot's own Bot when there is one.
        self.notifiers = registry.build_notifiers(config, self.chatbot.application.bot if self.chatbot else None)
        self.web: WebServer | None = build_web(config, outbox=self.outbox, clock=self.clock)
        self.dispatcher = build_dispatcher(config, self.store, self.outbox, self.notifiers, self.web, clock=self.clock,
                                           pacer=self.pacer, guard=self.guard, on_delivered=on_delivered,
                                           on_sent=self._sent)
        rule = scheduling(config)
        self.monitor = Monitor(
            self.store, self.outbox, self.watcher, self.limiter, confirmations=config.detection.confirmations,
            poll_interval=rule.interval or rule.floor, clock=self.clock,
            max_rate_wait=max(config.x.rate_limit.per, rule.interval or rule.floor),
            on_recorded=lambda _ids: self.dispatcher.wake(), guard=self.guard,
        )
        self.runner = Runner(self.monitor, rule, monotonic=wall.monotonic, clock=self.clock, on_round=self._round)
        self.periodic: Periodic | None = None  # the stale check, every period: known once the watchlist is

    def sync(self) -> None:
        """Make the store's config-sourced watchlist and subscribers match the config."""
        now = self.clock()
        added, dropped = self.store.sync_watchlist(
            [(entry.x_handle, entry.tags, entry.name or "") for entry in self.config.watchlist if entry.x_handle], now)
        social = sync_watchlists(self.config, self.store, now)  # Bluesky and Mastodon: bot/daemon/lanes.py
        added, dropped = added + social[0], dropped + social[1]
        self.outbox.sync_config(subscriber_specs(self.config), now)
        set_private(self.db, [entry.x_handle for entry in self.config.watchlist if entry.private and entry.x_handle])
        if self.web is not None:
            self.web.prepare(SiteKeys(self.db), self.store.last_poll(successful=True), now)
        log.info("watchlist: %d accounts from the config (%d new, %d dropped)",
                 len(self.config.watchlist), added, dropped)
        self.runner.set_own(own_periods(self.config, self.store))

    def _log_plan(self) -> None:
        """The plan for what is watched now, once at start (and after a reload), with its warnings."""
        log_plan(self.config, len(self.monitor.reader.accounts()))

    def _sent(self, items: list[OutboxItem], now: datetime) -> None:
        if self.web is not None:
            self.web.delivered(items, now)

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
        """Start every part, in order; waits out a database that refuses writes first (until ``stop``)."""
        if not await self._sync_when_writable(stop or asyncio.Event()):
            return
        if self.web is not None:  # first: a port in use stops the start before anything else runs
            await self._enter("the web server", self.web)
        await self._enter("the X watcher", self.watcher)
        for channel, notifier in self.notifiers.items():
            await self._enter(f"the {channel} notifier", notifier)
        if self.chatbot is not None:
            application = self.chatbot.application
            self._on_stop("Telegram", partial(stop_application, application))  # also after a partial start
            await start_application(application, outbox=self.outbox, clock=self.clock)
        self._reenable_changed()
        dispatcher = asyncio.create_task(
            supervise("dispatcher", lambda: self.dispatcher.run(self._stop), self._stop, on_restart=self._restarted),
            name="dispatcher")
        self._on_stop("the dispatcher", partial(self._finish, dispatcher))
        self.runner.sync(wall.monotonic())  # the shared period, for the plan and the stale check
        self._log_plan()
        self._run_polls("poll runner", self.runner)
        for lane in self.lanes:  # Bluesky, each Mastodon instance: as X's, on their own budgets
            await self._enter(f"the {lane.label} watcher", lane.watcher)
            lane.runner.sync(wall.monotonic())
            self._run_polls(f"{lane.label} poll runner", lane.runner)
        self.periodic = Periodic(((self._check_stale, min(STALE_CHECK_MAX, self.runner.period)),), clock=self.clock)
        self.periodic.start()
        self._on_stop("the stale check", self._stop_periodic)
        for label, monitor, runner in (("X", self.monitor, self.runner),
                                       *((lane.label, lane.monitor, lane.runner) for lane in self.lanes)):
            log.info("presswatch running: %d accounts on %s, polled by deadline (shared period %s)",
                     len(monitor.reader.accounts()), label, short_duration(runner.period))

    def _run_polls(self, name: str, runner: Runner) -> None:
        """A runner supervised on the loop; cancelled at stop (each batch is recorded whole or not at all)."""
        task = asyncio.create_task(supervise(name, lambda: runner.run(self._stop), self._stop,
                                             on_restart=self._restarted), name=name)
        self._on_stop(f"the {name}", partial(self._cancel, task))

    async def _enter(self, name: str, part: AbstractAsyncContextManager[T]) -> T:
        """Enter ``part`` on the stack: stop exits it after everything entered later."""
        self._stack.push_async_exit(logged_exit(name))
        return await self._stack.enter_async_context(part)

    def _on_stop(self, name: str, close: Callable[[], Awaitable[object]]) -> None:
        """At stop, ``close()`` runs before whatever was registered earlier; a failure is logged, not raised."""
        self._stack.push_async_exit(logged_exit(name))
        self._stack.push_async_callback(close)

    def _reenable_changed(self) -> None:
        """Subscribers a delivery failure disabled under another channel configuration get another try."""
        fingerprints = {channel: n.fingerprint for channel, n in self.notifiers.items()}
        for sub in self.outbox.reenable_changed(fingerprints):
            log.info("subscriber %s enabled again: the %s configuration changed since it was disabled",
                     sub.name, sub.channel)

    def _check_stale(self, now: datetime) -> None:
        try:
            for monitor in (self.monitor, *(lane.monitor for lane in self.lanes)):
                monitor.check_stale(now)
        except Exception as exc:
            if not is_storage_error(exc):
                raise
            self.guard.failed(exc, now, "the stale-poll check")
        self.dispatcher.wake()

    def _restarted(self, name: str, exc: BaseException) -> None:
        self.outbox.notify_operators(
            NoticeKind.TASK_RESTARTED, Said(N_("presswatch restarted its {task}"), task=name),
            Said(N_("It stopped on {error_type}: {error}. Nothing queued was lost; the log has the details."),
                 error_type=type(exc).__name__, error=exc), self.clock())

    def _storage_recovered(self, since: datetime, until: datetime, cause: str) -> None:
        storage_recovered(self.outbox, since, until, cause)

    def _round(self, report: CycleReport) -> None:
        """A round of the runner ended: deliver what it recorded, count it for those who wait on rounds."""
        self.dispatcher.wake()
        self.last_report = report
        if self.web is not None:
            self.web.site.health.interval = self.monitor.poll_interval  # auto moves it
            self.web.cycle(self.watcher.platform, report.ok, report.failed, report.aborted, self.clock())
        if self.on_cycle:
            self.on_cycle(report)
        self.cycles += 1
        done, self._cycle_done = self._cycle_done, asyncio.Event()
        done.set()  # wakes every wait_cycles, which looks at the count again

    async def wait_cycles(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` cycles have finished in total; False on timeout."""
        async def reached() -> None:
            while self.cycles < count:
                await self._cycle_done.wait()

        try:
            await asyncio.wait_for(reached(), timeout)
        except TimeoutError:
            return False
        return True

    async def run_until_stopped(self, stop: asyncio.Event) -> None:
        """Start, run until ``stop`` is set, stop; what a failed start had started is closed too."""
        try:
            await self.start(stop)
            await stop.wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        """Stop polling, let the dispatcher finish what it is sending, close what ``start`` started in reverse
        order, then the database; never raises."""
        self._stop.set()
        try:
            await self._stack.aclose()
        except Exception:
            log.exception("stopping failed; going on with the shutdown")
        finally:
            try:
                self.db.close()
            except Exception:
                log.exception("closing the database failed")

    async def _stop_periodic(self) -> None:
        if self.periodic is not None:
            self.periodic.shutdown()

    @staticmethod
    async def _cancel(task: asyncio.Task[None]) -> None:
        """End the polls: each batch is recorded whole or not at all, so a cut loses nothing (read again)."""
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    @staticmethod
    async def _finish(task: asyncio.Task[None]) -> None:
        """Wait for a task that ``_stop`` ends; cancel it past STOP_WAIT (its rows are sent again at start)."""
        try:
            await asyncio.wait_for(task, STOP_WAIT)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
        except Exception:
            log.exception("the %s ended on an error", task.get_name())
