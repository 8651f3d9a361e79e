"""Poll cycles: a full pass over every watched account (``run_cycle``), and the bookkeeping every cycle ends
with (its polls row, the X condition, a log line), which the deadline runner's rounds share."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

from bot.polling.batches import Batch, plan_batches
from bot.polling.health import STALE_AFTER_INTERVALS, STALE_FLOOR, X_CONDITION, PollHealth
from bot.polling.reader import CycleReport, Read, Reader
from bot.ratelimit import SlidingWindow
from bot.storage.accounts import Store
from bot.storage.guard import StorageGuard
from bot.storage.outbox import Outbox
from watchers.base import BatchResult, Watcher

log = logging.getLogger("presswatch.monitor")


class Monitor:
    """Runs poll cycles; ``run_cycle`` never raises for a platform failure, it reports it."""

    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        watcher: Watcher,
        limiter: SlidingWindow,
        *,
        confirmations: int,
        poll_interval: float,
        clock: Callable[[], datetime],
        max_rate_wait: float = 900.0,
        on_recorded: Callable[[list[int]], None] | None = None,
        pipeline: int = 1,
        guard: StorageGuard | None = None,
        lane: str = X_CONDITION,
        label: str = "X",
    ) -> None:
        """``lane`` and ``label``: which platform (or Mastodon instance) this monitor polls, as its poll rows and
        operator notices name it."""
        self.lane = lane
        self.store = store
        self.outbox = outbox
        self.watcher = watcher
        self.limiter = limiter
        self.clock = clock
        self.pipeline = pipeline  # requests kept in flight beyond the batch being recorded
        self.guard = guard or StorageGuard()
        self.reader = Reader(store, watcher, limiter, confirmations=confirmations, clock=clock,
                             max_rate_wait=max_rate_wait, guard=self.guard, on_recorded=on_recorded)
        self.health = PollHealth(store, self.outbox, self.guard, poll_interval, lane, label)

    @property
    def poll_interval(self) -> float:
        return self.health.poll_interval

    @poll_interval.setter
    def poll_interval(self, seconds: float) -> None:
        """The period the X condition counts in (the shared period: auto moves it as the watchlist grows)."""
        self.health.poll_interval = seconds

    async def run_cycle(self, now: datetime) -> CycleReport:
        """Poll every watched account once and record what changed.

        While the database refuses writes the cycle is skipped (the accounts are read again next time);
        a write refused in the middle stops it: nothing half-recorded, nothing lost.
        """
        report = CycleReport(started_at=now)
        if self.guard.wait() > 0:
            return self.skip(report, now, "the database refuses writes")
        try:
            batches = self.reader.plan()
            poll_id = self.store.start_poll(now, self.lane)
        except Exception as exc:
            self.reader.storage_failed(exc, report, "starting a poll")
            return self.skip(report, now, "the database refuses writes")
        await self._poll(batches, report)
        self.close(report, poll_id, "cycle")
        return report

    def close(self, report: CycleReport, poll_id: int | None, what: str) -> None:
        """End a cycle: its polls row (``poll_id`` None: inserted now), the X condition, one log line."""
        finished = self.clock()
        reset = report.rate.reset_at if report.rate else None
        try:
            if poll_id is None:
                poll_id = self.store.start_poll(report.started_at, self.lane)
            self.store.finish_poll(
                poll_id, finished, requests=report.requests, ok=report.ok, failed=report.failed,
                error="; ".join(report.errors) or None,
                rate_remaining=report.rate.remaining if report.rate else None,
                rate_reset_at=datetime.fromtimestamp(reset, UTC) if reset else None,
            )
            self.health.after_cycle(report.ok, report.aborted, report.errors, finished)
        except Exception as exc:
            self.reader.storage_failed(exc, report, "recording a poll")
        if report.aborted != "storage":
            self.guard.succeeded(finished)
        else:
            self.health.untried(finished)
        rechecks = f" ({report.rechecks} rechecks)" if report.rechecks else ""
        log.log(logging.WARNING if report.errors else logging.INFO,
                "%s: %d requests, %d accounts read%s, %d not read, %d transitions%s", what, report.requests,
                report.ok, rechecks, report.failed, len(report.transitions),
                f" ({'; '.join(report.errors)})" if report.errors else "")

    def skip(self, report: CycleReport, now: datetime, why: str) -> CycleReport:
        """Nothing asked of X: the database refuses writes, so nothing read could be recorded."""
        report.aborted = report.aborted or "storage"
        self.health.untried(now)
        log.warning("poll skipped: %s (%s); the accounts are read once it takes writes again", why, self.guard.cause)
        return report

    async def _poll(self, batches: list[Batch], report: CycleReport) -> None:
        """Fetch and record the batches, keeping ``pipeline`` requests ahead of the one being recorded."""
        # Requests ahead: the next batches are on the wire (and parsed in the worker thread) while this
        # one is detected and recorded, so X's answer time and ours overlap.
        in_flight: deque[asyncio.Future[BatchResult | None]] = deque()
        started = 0
        try:
            for index, batch in enumerate(batches):
                while started < len(batches) and len(in_flight) <= self.pipeline and not report.aborted:
                    in_flight.append(asyncio.ensure_future(self.reader.fetch(batches[started], report)))
                    started += 1
                if not in_flight:  # aborted: this batch and the rest were never asked for
                    report.failed += sum(len(rest.keys) for rest in batches[index:])
                    break
                await asyncio.sleep(0)  # let the new fetches submit their requests before we record
                result = await in_flight.popleft()  # batches are started in order: this one's
                if result is not None and report.aborted != "storage":
                    # answers already on their way when a cycle aborts are used too
                    self.read(batch, result, report)
                else:
                    report.failed += len(batch.keys)
        finally:
            for future in in_flight:
                future.cancel()

    def read(self, batch: Batch, result: BatchResult, report: CycleReport) -> Read:
        """Record one answered batch; X counts as read when it answered with accounts."""
        if result.observations:  # X answered with accounts, whether or not the database takes them
            self.health.read(self.clock())
        return self.reader.record(batch, result, report)

    def check_stale(self, now: datetime) -> None:
        """The periodic check: alert the operators when X has not been read for too long."""
        self.health.check_stale(now)


__all__ = ["STALE_AFTER_INTERVALS", "STALE_FLOOR", "X_CONDITION", "CycleReport", "Monitor", "plan_batches"]
