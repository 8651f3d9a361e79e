"""One poll cycle: read every watched account in batches, detect, record with evidence."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.detect import detect, unchanged
from bot.models import Observation
from bot.polling.batches import Batch, latest_rate, plan_batches, wrote
from bot.polling.health import STALE_AFTER_INTERVALS, STALE_FLOOR, X_CONDITION, PollHealth
from bot.ratelimit import SlidingWindow
from bot.storage.accounts import Outcome, Store, Watched
from bot.storage.guard import StorageGuard, is_storage_error
from bot.storage.outbox import Outbox
from watchers.base import AppAuthError, BatchResult, RateInfo, RateLimited, Watcher, WatcherError

log = logging.getLogger("presswatch.monitor")



@dataclass(slots=True)
class CycleReport:
    """What one cycle did: requests made, accounts read or not, transitions recorded, errors."""

    started_at: datetime
    requests: int = 0
    ok: int = 0
    failed: int = 0
    transitions: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    rate: RateInfo | None = None
    aborted: str | None = None


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
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.watcher = watcher
        self.limiter = limiter
        self.confirmations = confirmations
        self.poll_interval = poll_interval
        self.clock = clock
        self.max_rate_wait = max_rate_wait
        self.on_recorded = on_recorded
        self.pipeline = pipeline  # requests kept in flight beyond the batch being recorded
        self.guard = guard or StorageGuard()
        self.health = PollHealth(store, self.outbox, self.guard, poll_interval)
        # The watched accounts as of the last cycle, kept between cycles: reloading 100,000 rows
        # every cycle cost more than the HTTP requests. Rows a batch changed are re-read after it;
        # any other change to the watchlist, by any process, moves store.watchlist_revision() and
        # forces a reload.
        # The batch plan and the id -> account map are kept too, until an id or a handle changes.
        self._cache: dict[int, Watched] = {}
        self._cache_version = -1
        self._plan: list[Batch] | None = None
        self._known_ids: dict[str, int] = {}

    def _batches(self) -> list[Batch]:
        revision = self.store.watchlist_revision()  # moved by any process: an import reaches a running daemon
        if self._cache_version != revision:
            self._cache = {w.account.pk: w for w in self.store.watched(self.watcher.platform)}
            self._cache_version = revision
            self._plan = None
        if self._plan is None:
            watched = list(self._cache.values())
            self._plan = plan_batches(watched, self.watcher.batch_size)
            self._known_ids = {w.account.account_id: w.account.pk for w in watched if w.account.account_id}
        return self._plan

    def _refresh(self, outcomes: Sequence[Outcome]) -> None:
        """Re-read the accounts whose row a batch wrote."""
        changed = [o.watched.account.pk for o in outcomes if wrote(o)]
        for watched in self.store.watched(self.watcher.platform, pks=changed) if changed else ():
            old = self._cache.get(watched.account.pk)
            if old is None or (old.account.account_id, old.account.handle) != (
                    watched.account.account_id, watched.account.handle):
                self._plan = None  # polled by another key from the next cycle on
            self._cache[watched.account.pk] = watched

    async def run_cycle(self, now: datetime) -> CycleReport:
        """Poll every watched account once and record what changed.

        While the database refuses writes the cycle is skipped (the accounts are read again next time);
        a write refused in the middle stops it: nothing half-recorded, nothing lost.
        """
        report = CycleReport(started_at=now)
        if self.guard.wait() > 0:
            return self._skip(report, now, "the database refuses writes")
        try:
            batches = self._batches()
            poll_id = self.store.start_poll(now)
        except Exception as exc:
            self._storage_failed(exc, report, "starting a poll")
            return self._skip(report, now, "the database refuses writes")
        await self._poll(batches, report)
        finished = self.clock()
        reset = report.rate.reset_at if report.rate else None
        try:
            self.store.finish_poll(
                poll_id, finished, requests=report.requests, ok=report.ok, failed=report.failed,
                error="; ".join(report.errors) or None,
                rate_remaining=report.rate.remaining if report.rate else None,
                rate_reset_at=datetime.fromtimestamp(reset, UTC) if reset else None,
            )
            self.health.after_cycle(report.ok, report.aborted, report.errors, finished)
        except Exception as exc:
            self._storage_failed(exc, report, "recording a poll")
        if report.aborted != "storage":
            self.guard.succeeded(finished)
        else:
            self.health.untried(finished)
        log.log(logging.WARNING if report.errors else logging.INFO,
                "cycle: %d requests, %d accounts read, %d not read, %d transitions%s", report.requests, report.ok,
                report.failed, len(report.transitions), f" ({'; '.join(report.errors)})" if report.errors else "")
        return report

    def _skip(self, report: CycleReport, now: datetime, why: str) -> CycleReport:
        report.aborted = report.aborted or "storage"
        self.health.untried(now)
        log.warning("poll skipped: %s (%s); the accounts are read once it takes writes again", why, self.guard.cause)
        return report

    def _storage_failed(self, exc: Exception, report: CycleReport, doing: str) -> None:
        """A storage error stops the cycle; anything else is a bug and propagates."""
        if not is_storage_error(exc):
            raise exc
        self.guard.failed(exc, self.clock(), doing)
        report.aborted = "storage"
        report.errors.append(f"the database refused {doing}: {exc}")

    async def _poll(self, batches: list[Batch], report: CycleReport) -> None:
        """Fetch and record the batches, keeping ``pipeline`` requests ahead of the one being recorded."""
        known_ids = dict(self._known_ids)
        # Requests ahead: the next batches are on the wire (and parsed in the worker thread) while this
        # one is detected and recorded, so X's answer time and ours overlap.
        in_flight: deque[asyncio.Future[BatchResult | None]] = deque()
        started = 0
        try:
            for index, batch in enumerate(batches):
                while started < len(batches) and len(in_flight) <= self.pipeline and not report.aborted:
                    in_flight.append(asyncio.ensure_future(self._fetch(batches[started], report)))
                    started += 1
                if not in_flight:  # aborted: this batch and the rest were never asked for
                    report.failed += sum(len(rest.keys) for rest in batches[index:])
                    break
                await asyncio.sleep(0)  # let the new fetches submit their requests before we record
                result = await in_flight.popleft()  # batches are started in order: this one's
                if result is not None and report.aborted != "storage":
                    # answers already on their way when a cycle aborts are used too
                    self._record(batch, result, known_ids, report)
                else:
                    report.failed += len(batch.keys)
        finally:
            for future in in_flight:
                future.cancel()

    async def _fetch(self, batch: Batch, report: CycleReport) -> BatchResult | None:
        """One batch, waiting out rate limits; None when it could not be read (no observation)."""
        for _attempt in range(3):
            await self.limiter.acquire()
            if report.aborted:  # another batch found the cycle cannot go on
                return None
            report.requests += 1
            try:
                if batch.by == "ids":
                    result = await self.watcher.lookup_ids(batch.keys)
                else:
                    result = await self.watcher.lookup_handles(batch.keys)
            except RateLimited as exc:
                if not self._wait_out(exc, report):
                    return None
                continue
            except AppAuthError as exc:
                report.errors.append(f"X refused presswatch's credentials (HTTP {exc.status}): {exc}")
                report.aborted = "auth"
                return None
            except WatcherError as exc:
                report.errors.append(f"{type(exc).__name__}: {exc}")
                return None
            report.rate = latest_rate(report.rate, result.rate)
            if result.rate and result.rate.remaining == 0 and result.rate.reset_at:
                self.limiter.block_until(result.rate.reset_at)
            return result
        report.errors.append("rate limited three times in a row")
        return None

    def _wait_out(self, exc: RateLimited, report: CycleReport) -> bool:
        """After a 429: block the limiter until the reset; False when the cycle must give up."""
        if exc.usage_cap:
            report.errors.append(f"X usage cap exhausted: {exc}")
            report.aborted = "usage_cap"
            return False
        reset = exc.reset_at if exc.reset_at is not None else self.clock().timestamp() + 60
        if reset - self.clock().timestamp() > self.max_rate_wait:
            report.errors.append("rate limited until a reset too far away")
            report.aborted = "rate_limit"
            return False
        log.warning("rate limited by X: resuming after the reset")
        self.limiter.block_until(reset)
        return True

    def _record(self, batch: Batch, result: BatchResult, known_ids: dict[str, int],
                report: CycleReport) -> None:
        outcomes = []
        read = 0
        for observation in result.observations:
            watched = self._match(batch, observation, known_ids)
            if watched is None:
                continue
            read += 1
            if observation.account_id == watched.account.account_id and unchanged(
                    watched.state, observation, watched.pending):
                continue
            verdict = detect(watched.state, observation, watched.pending, self.confirmations)
            outcomes.append(Outcome(watched, observation, verdict))
        if read:
            self.health.read(self.clock())
        try:
            written = self.store.record(outcomes, self.clock())
            self._refresh(outcomes)
        except Exception as exc:
            self._storage_failed(exc, report, "recording a batch")
            report.failed += len(batch.keys)
            return
        report.ok += read
        report.failed += len(batch.keys) - read
        if written:
            report.transitions.extend(written)
            if self.on_recorded:
                self.on_recorded(written)

    def _match(self, batch: Batch, observation: Observation, known_ids: dict[str, int]) -> Watched | None:
        key = observation.requested if batch.by == "ids" else observation.requested.casefold()
        pk = batch.pks.get(key)
        watched = self._cache.get(pk) if pk is not None else None
        if watched is None:
            log.warning("an answer for %r matched no request; ignored", observation.requested)
            return None
        owner = known_ids.get(observation.account_id) if observation.account_id else None
        if owner is not None and owner != watched.account.pk:
            log.warning("@%s is the same X account as another watched entry; polled there", watched.account.handle)
            return None
        if observation.account_id:
            known_ids[observation.account_id] = watched.account.pk
        return watched

    def check_stale(self, now: datetime) -> None:
        """The periodic check: alert the operators when X has not been read for too long."""
        self.health.check_stale(now)


__all__ = ["STALE_AFTER_INTERVALS", "STALE_FLOOR", "X_CONDITION", "CycleReport", "Monitor", "plan_batches"]
