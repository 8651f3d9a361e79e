"""Reading one batch: the request (waiting out rate limits), then detection and recording of its answer.

Shared by the full pass (``Monitor.run_cycle``) and the deadline runner: a batch is read the same way
whichever decided to read it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.detect import detect, unchanged
from bot.models import PLATFORM_NAMES, Observation
from bot.polling.batches import Batch, latest_rate, plan_batches, wrote
from bot.ratelimit import SlidingWindow
from bot.storage.accounts import Outcome, Store, Watched
from bot.storage.guard import StorageGuard, is_storage_error
from watchers.base import AppAuthError, BatchResult, RateInfo, RateLimited, Watcher, WatcherError

log = logging.getLogger("presswatch.monitor")


@dataclass(slots=True)
class CycleReport:
    """What a poll cycle (a full pass, or a round of the deadline runner) did: requests made, accounts read
    or not, transitions recorded, errors; ``aborted`` says why it stopped asking (auth, usage_cap,
    rate_limit, storage)."""

    started_at: datetime
    requests: int = 0
    ok: int = 0
    failed: int = 0
    rechecks: int = 0
    transitions: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    rate: RateInfo | None = None
    aborted: str | None = None


@dataclass(frozen=True, slots=True)
class Read:
    """What one answered batch showed: the accounts read, and those now confirming a change (to recheck)."""

    read: tuple[int, ...] = ()
    pending: tuple[int, ...] = ()


class Reader:
    """Fetches batches within the rate limits and records what they show; keeps the watched accounts cached."""

    def __init__(self, store: Store, watcher: Watcher, limiter: SlidingWindow, *, confirmations: int,
                 clock: Callable[[], datetime], max_rate_wait: float, guard: StorageGuard,
                 on_recorded: Callable[[list[int]], None] | None = None) -> None:
        self.store = store
        self.watcher = watcher
        self.limiter = limiter
        self.confirmations = confirmations
        self.clock = clock
        self.max_rate_wait = max_rate_wait
        self.guard = guard
        self.on_recorded = on_recorded
        # The watched accounts, kept between reads: reloading 100,000 rows every cycle cost more than the
        # HTTP requests. Rows a batch changed are re-read after it; any other change to the watchlist, by
        # any process, moves store.watchlist_revision() and forces a reload. The batch plan and the id ->
        # account map are kept too, until an id or a handle changes.
        self._cache: dict[int, Watched] = {}
        self.revision = -1  # the watchlist revision the cache was loaded at
        self._plan: list[Batch] | None = None
        self.known_ids: dict[str, int] = {}

    def accounts(self) -> dict[int, Watched]:
        """Every watched account by its store key, as of the last read (reloaded when the watchlist changed)."""
        revision = self.store.watchlist_revision()  # moved by any process: an import reaches a running daemon
        if self.revision != revision:
            self._cache = {w.account.pk: w for w in self.store.watched(self.watcher.platform,
                                                                       instance=self.watcher.instance)}
            self.revision = revision
            self._plan = None
            self.known_ids = {w.account.account_id: pk for pk, w in self._cache.items() if w.account.account_id}
        return self._cache

    def plan(self) -> list[Batch]:
        """The batches of a full pass: known ids by id, the rest by handle."""
        accounts = self.accounts()
        if self._plan is None:
            self._plan = plan_batches(list(accounts.values()), self.watcher.batch_size)
        return self._plan

    def batch(self, by: str, pks: Sequence[int]) -> Batch:
        """A batch of these accounts, asked for by id or by handle."""
        accounts = [self._cache[pk].account for pk in pks]
        if by == "ids":
            keys = tuple(a.account_id or "" for a in accounts)
            return Batch("ids", keys, {key: a.pk for key, a in zip(keys, accounts, strict=True)})
        return Batch("handles", tuple(a.handle for a in accounts), {a.handle.casefold(): a.pk for a in accounts})

    async def fetch(self, batch: Batch, report: CycleReport) -> BatchResult | None:
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
                who = PLATFORM_NAMES.get(self.watcher.platform, self.watcher.platform)
                report.errors.append(f"{who} refused presswatch's credentials (HTTP {exc.status}): {exc}")
                report.aborted = "auth"
                return None
            except WatcherError as exc:
                report.errors.append(f"{type(exc).__name__}: {exc}")
                return None
            report.requests += max(0, result.requests - 1)  # single lookups the batch needed (paced by the watcher)
            report.rate = latest_rate(report.rate, result.rate)
            if result.rate and result.rate.remaining == 0 and result.rate.reset_at:
                self.limiter.block_until(result.rate.reset_at)
            return result
        report.errors.append("rate limited three times in a row")
        return None

    def _wait_out(self, exc: RateLimited, report: CycleReport) -> bool:
        """After a 429: no request before the reset; False when the cycle must give up."""
        if exc.usage_cap:
            report.errors.append(f"X usage cap exhausted: {exc}")
            report.aborted = "usage_cap"
            return False
        reset = exc.reset_at if exc.reset_at is not None else self.clock().timestamp() + 60
        self.limiter.block_until(reset)  # X said when: asking before that only earns another 429
        if reset - self.clock().timestamp() > self.max_rate_wait:
            report.errors.append("rate limited until a reset too far away")
            report.aborted = "rate_limit"
            return False
        log.warning("rate limited by X: resuming after the reset")
        return True

    def record(self, batch: Batch, result: BatchResult, report: CycleReport) -> Read:
        """Detect and record what the answer shows; what was read (none when the database refused it)."""
        outcomes, read, pending = [], [], []
        for observation in result.observations:
            watched = self._match(batch, observation)
            if watched is None:
                continue
            read.append(watched.account.pk)
            if observation.account_id == watched.account.account_id and unchanged(
                    watched.state, observation, watched.pending):
                continue
            verdict = detect(watched.state, observation, watched.pending, self.confirmations)
            outcomes.append(Outcome(watched, observation, verdict))
            if verdict.pending is not None:
                pending.append(watched.account.pk)
        try:
            written = self.store.record(outcomes, self.clock())
            self._refresh(outcomes)
        except Exception as exc:
            self.storage_failed(exc, report, "recording a batch")
            report.failed += len(batch.keys)
            return Read()
        report.ok += len(read)
        report.failed += len(batch.keys) - len(read)
        if written:
            report.transitions.extend(written)
            if self.on_recorded:
                self.on_recorded(written)
        return Read(tuple(read), tuple(pending))

    def storage_failed(self, exc: Exception, report: CycleReport, doing: str) -> None:
        """A storage error stops the cycle; anything else is a bug and propagates."""
        if not is_storage_error(exc):
            raise exc
        self.guard.failed(exc, self.clock(), doing)
        report.aborted = "storage"
        report.errors.append(f"the database refused {doing}: {exc}")

    def _refresh(self, outcomes: Sequence[Outcome]) -> None:
        """Re-read the accounts whose row a batch wrote."""
        changed = [o.watched.account.pk for o in outcomes if wrote(o)]
        for watched in self.store.watched(self.watcher.platform, pks=changed) if changed else ():
            old = self._cache.get(watched.account.pk)
            if old is None or (old.account.account_id, old.account.handle) != (
                    watched.account.account_id, watched.account.handle):
                self._plan = None  # polled by another key from the next cycle on
            self._cache[watched.account.pk] = watched

    def _match(self, batch: Batch, observation: Observation) -> Watched | None:
        key = observation.requested if batch.by == "ids" else observation.requested.casefold()
        pk = batch.pks.get(key)
        watched = self._cache.get(pk) if pk is not None else None
        if watched is None:
            log.warning("an answer for %r matched no request; ignored", observation.requested)
            return None
        owner = self.known_ids.get(observation.account_id) if observation.account_id else None
        if owner is not None and owner != watched.account.pk:
            log.warning("@%s is the same %s account as another watched entry; polled there", watched.account.handle,
                        PLATFORM_NAMES.get(self.watcher.platform, self.watcher.platform))
            return None
        if observation.account_id:
            self.known_ids[observation.account_id] = watched.account.pk
        return watched
