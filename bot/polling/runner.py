"""The daemon's polls by deadline: a request whenever an account is due, paced by the budget (see
bot.polling.deadlines), its answer recorded as it comes; reported in rounds of one shared period.

A round is the cycle of the deadline runner: one polls row (when it made requests), the X condition judged
on it, one log line, and ``on_round``. Time: the monotonic clock paces (the same one the rate limiter
uses), the wall clock stamps what is recorded; both are given.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.polling.batches import latest_rate
from bot.polling.budget import Budget, shared_period
from bot.polling.deadlines import Deadlines, Pick
from bot.polling.monitor import Monitor
from bot.polling.reader import CycleReport
from bot.storage.rows import Watched

log = logging.getLogger("presswatch.monitor")
IDLE = 1.0  # seconds the loop sleeps at most: accounts added on Telegram are picked up this soon
IN_FLIGHT = 4  # requests on the wire at once; their accounts are never asked for twice meanwhile


@dataclass(frozen=True, slots=True)
class Scheduling:
    """The config's scheduling keys: the budget, the shared interval (None: auto), its floor, rechecks."""

    budget: Budget
    interval: float | None
    floor: float
    recheck_after: float


def group_of(watched: Watched) -> str:
    """X answers ids and handles on two endpoints: accounts with an id are asked for by id."""
    return "ids" if watched.account.account_id else "handles"


class Runner:
    """Polls the watched accounts by their deadlines until stopped (or cancelled); never raises for X."""

    def __init__(self, monitor: Monitor, scheduling: Scheduling, *, monotonic: Callable[[], float],
                 clock: Callable[[], datetime], on_round: Callable[[CycleReport], None] | None = None,
                 in_flight: int = IN_FLIGHT, idle: float = IDLE) -> None:
        self.monitor = monitor
        self.scheduling = scheduling
        self.monotonic = monotonic
        self.clock = clock
        self.on_round = on_round
        self.in_flight = in_flight
        self.idle = idle
        self.deadlines: Deadlines[int] = Deadlines(scheduling.budget.pace(scheduling.recheck_after))
        self.period = scheduling.floor  # the shared period, set by each sync
        self._own: dict[int, float] = {}
        self._synced: int | None = None
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._crash: BaseException | None = None
        self._round = CycleReport(started_at=clock())
        self._round_end = monotonic()
        self._skipped = False

    def set_own(self, own: Mapping[int, float]) -> None:
        """The accounts with their own period (store key -> seconds); the others share the rest."""
        self._own = dict(own)
        self._synced = None

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop``; a cancel (the daemon stopping) ends it too. Requests on the wire are dropped:
        each batch is recorded whole or not at all, and their accounts are read at the next start."""
        self._new_round(self.monotonic())
        try:
            while not stop.is_set():
                if self._crash is not None:
                    raise self._crash
                now = self.monotonic()
                self.sync(now)
                if now >= self._round_end:
                    self._close_round()
                    self._new_round(now)
                wait = min(self._wait(now), self._round_end - now, self.idle)
                if wait > 0:
                    await self._pause(wait)
                    continue
                pick = self.deadlines.take(now)
                if pick is not None:
                    self._launch(pick)
        finally:
            await self._drop_in_flight()
            self._close_round()

    def wake(self) -> None:
        """Look again now (an account was added, an answer came)."""
        self._wake.set()

    def sync(self, now: float) -> None:
        """Follow the watchlist: new accounts are due now (a change being confirmed: a recheck)."""
        accounts = self.monitor.reader.accounts()
        version = self.monitor.reader.revision  # the watchlist revision those accounts were read at
        if self._synced == version:
            return
        self._synced = version
        own = {pk: seconds for pk, seconds in self._own.items() if pk in accounts}
        s = self.scheduling
        self.period = shared_period(s.budget, len(accounts) - len(own), list(own.values()), s.interval, s.floor)
        self.monitor.poll_interval = self.period
        for pk in self.deadlines.keys():
            if pk not in accounts:
                self.deadlines.discard(pk)
        for pk, watched in accounts.items():
            self.deadlines.put(pk, group=group_of(watched), period=own.get(pk, self.period), now=now,
                               recheck=watched.pending is not None)

    def _wait(self, now: float) -> float:
        """Seconds until a request may go (0: now)."""
        if (refused := self.monitor.guard.wait()) > 0:
            if not self._skipped:  # said once a round: nothing is asked of X while nothing could be recorded
                self._skipped = True
                self.monitor.skip(self._round, self.clock(), "the database refuses writes")
            return refused
        if len(self._tasks) >= self.in_flight:
            return self.idle  # woken when one comes back
        if (limited := self.monitor.limiter.delay()) > 0:
            return limited
        at = self.deadlines.next_at(now)
        return self.idle if at is None else at - now

    async def _pause(self, seconds: float) -> None:
        self._wake.clear()  # no await since the wait was computed: nothing can have set it meanwhile
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass

    def _launch(self, pick: Pick[int]) -> None:
        task = asyncio.create_task(self._request(pick))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None and self._crash is None:
            self._crash = task.exception()  # a bug: the loop raises it, and is restarted by its supervisor
        self._wake.set()

    async def _request(self, pick: Pick[int]) -> None:
        """Ask for one pick and record the answer; its accounts' deadlines move on (or stay, unanswered)."""
        part = CycleReport(started_at=self.clock())
        batch = self.monitor.reader.batch(pick.group, pick.keys)
        try:
            result = await self.monitor.reader.fetch(batch, part)
        except BaseException:
            self.deadlines.failed(pick)
            raise
        if result is None or self.monitor.guard.wait() > 0:
            part.failed += len(batch.keys)
            self.deadlines.failed(pick)
        else:
            read = self.monitor.read(batch, result, part)
            self.deadlines.answered(pick, read.read, set(read.pending), self.monotonic())
            part.rechecks = pick.rechecks if read.read else 0
            self._regroup(read.read, pick.group)
            if part.aborted != "storage":
                self.monitor.guard.succeeded(self.clock())
        if part.aborted in ("auth", "usage_cap"):  # our app is refused: ask again after the shortest period
            self.deadlines.hold(self.monotonic() + min([self.period, *self._own.values()]))
        self._merge(part)

    def _regroup(self, pks: tuple[int, ...], group: str) -> None:
        """An account whose handle resolved to an id is asked for by id from now on."""
        accounts = self.monitor.reader.accounts()
        for pk in pks:
            watched = accounts.get(pk)
            if watched is not None and group_of(watched) != group:
                self.deadlines.put(pk, group=group_of(watched), period=self._own.get(pk, self.period),
                                   now=self.monotonic())

    def _merge(self, part: CycleReport) -> None:
        """One request's figures into the round; the round's verdict is its latest request's."""
        report = self._round
        report.requests += part.requests
        report.ok += part.ok
        report.failed += part.failed
        report.rechecks += part.rechecks
        report.transitions += part.transitions
        report.errors += part.errors
        report.rate = latest_rate(report.rate, part.rate)
        report.aborted = part.aborted

    def _new_round(self, now: float) -> None:
        self._round = CycleReport(started_at=self.clock())
        self._round_end = now + self.period
        self._skipped = False

    def _close_round(self) -> None:
        """Record the round (when it asked X anything) and hand it on; a storage failure is the guard's."""
        report = self._round
        if report.requests or report.ok or report.failed:
            self.monitor.close(report, None, "round")
        if self.on_round is not None:
            self.on_round(report)

    async def _drop_in_flight(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
