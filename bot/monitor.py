"""One poll cycle: read every watched account in batches, detect, record with evidence."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.detect import detect, unchanged
from bot.models import NoticeKind, Observation
from bot.outbox import Outbox
from bot.ratelimit import SlidingWindow
from bot.store import Outcome, Store, Watched
from watchers.base import AppAuthError, BatchResult, RateInfo, RateLimited, Watcher, WatcherError

log = logging.getLogger("presswatch.monitor")

STALE_AFTER_INTERVALS = 3
STALE_FLOOR = 60.0  # seconds: with very short intervals, three missed polls is noise, not an outage


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


@dataclass(frozen=True, slots=True)
class Batch:
    by: str  # "ids" or "handles"
    keys: tuple[str, ...]
    accounts: dict[str, Watched]


def _wrote(outcome: Outcome) -> bool:
    """Whether recording this outcome changed the account's row."""
    verdict, watched = outcome.verdict, outcome.watched
    return (verdict.state is not None or verdict.pending != watched.pending
            or outcome.observation.account_id not in (None, watched.account.account_id))


def plan_batches(watched: Sequence[Watched], size: int) -> list[Batch]:
    """Known ids are polled by id (they survive renames); the rest by handle, ``size`` a request."""
    by_id = [w for w in watched if w.account.account_id]
    by_handle = [w for w in watched if not w.account.account_id]
    batches = []
    for i in range(0, len(by_id), size):
        chunk = by_id[i : i + size]
        batches.append(Batch("ids", tuple(w.account.account_id or "" for w in chunk),
                             {w.account.account_id or "": w for w in chunk}))
    for i in range(0, len(by_handle), size):
        chunk = by_handle[i : i + size]
        batches.append(Batch("handles", tuple(w.account.handle for w in chunk),
                             {w.account.handle.casefold(): w for w in chunk}))
    return batches


class Monitor:
    """Runs poll cycles; ``run_cycle`` never raises for a platform failure, it reports it."""

    def __init__(
        self,
        store: Store,
        watcher: Watcher,
        limiter: SlidingWindow,
        *,
        confirmations: int,
        poll_interval: float,
        clock: Callable[[], datetime],
        max_rate_wait: float = 900.0,
        on_recorded: Callable[[list[int]], None] | None = None,
    ) -> None:
        self.store = store
        self.outbox = Outbox(store.db)
        self.watcher = watcher
        self.limiter = limiter
        self.confirmations = confirmations
        self.poll_interval = poll_interval
        self.clock = clock
        self.max_rate_wait = max_rate_wait
        self.on_recorded = on_recorded
        # The watched accounts as of the last cycle, kept between cycles: reloading 100,000 rows
        # every cycle cost more than the HTTP requests. Rows a batch changed are re-read after it;
        # any other change to the watchlist moves store.watchlist_version and forces a reload.
        self._cache: dict[int, Watched] = {}
        self._cache_version = -1

    def _watched(self) -> list[Watched]:
        if self._cache_version != self.store.watchlist_version:
            self._cache = {w.account.pk: w for w in self.store.watched(self.watcher.platform)}
            self._cache_version = self.store.watchlist_version
        return list(self._cache.values())

    def _refresh(self, outcomes: Sequence[Outcome]) -> None:
        """Re-read the accounts whose row a batch wrote."""
        changed = [o.watched.account.pk for o in outcomes if _wrote(o)]
        for watched in self.store.watched(self.watcher.platform, pks=changed) if changed else ():
            self._cache[watched.account.pk] = watched

    async def run_cycle(self, now: datetime) -> CycleReport:
        """Poll every watched account once and record what changed."""
        report = CycleReport(started_at=now)
        watched = self._watched()
        poll_id = self.store.start_poll(now)
        known_ids: dict[str, int] = {w.account.account_id: w.account.pk for w in watched if w.account.account_id}
        batches = plan_batches(watched, self.watcher.batch_size)
        # One request ahead: the next batch is on the wire while this one is detected and recorded.
        ahead = asyncio.ensure_future(self._fetch(batches[0], report)) if batches else None
        try:
            for index, batch in enumerate(batches):
                assert ahead is not None
                result = await ahead
                ahead = None
                if report.aborted:
                    report.failed += sum(len(rest.keys) for rest in batches[index:])
                    break
                if index + 1 < len(batches):
                    ahead = asyncio.ensure_future(self._fetch(batches[index + 1], report))
                if result is None:
                    report.failed += len(batch.keys)
                    continue
                self._record(batch, result, known_ids, report)
        finally:
            if ahead is not None:
                ahead.cancel()
        finished = self.clock()
        reset = report.rate.reset_at if report.rate else None
        self.store.finish_poll(
            poll_id, finished, requests=report.requests, ok=report.ok, failed=report.failed,
            error="; ".join(report.errors) or None,
            rate_remaining=report.rate.remaining if report.rate else None,
            rate_reset_at=datetime.fromtimestamp(reset, UTC) if reset else None,
        )
        self._health(report, finished)
        log.log(logging.WARNING if report.errors else logging.INFO,
                "cycle: %d requests, %d accounts read, %d not read, %d transitions%s", report.requests, report.ok,
                report.failed, len(report.transitions), f" ({'; '.join(report.errors)})" if report.errors else "")
        return report

    async def _fetch(self, batch: Batch, report: CycleReport) -> BatchResult | None:
        """One batch, waiting out rate limits; None when it could not be read (no observation)."""
        for _attempt in range(3):
            await self.limiter.acquire()
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
            report.rate = result.rate or report.rate
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
        report.ok += read
        report.failed += len(batch.keys) - read
        written = self.store.record(outcomes, self.clock())
        self._refresh(outcomes)
        if written:
            report.transitions.extend(written)
            if self.on_recorded:
                self.on_recorded(written)

    def _match(self, batch: Batch, observation: Observation, known_ids: dict[str, int]) -> Watched | None:
        key = observation.requested if batch.by == "ids" else observation.requested.casefold()
        watched = batch.accounts.get(key)
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

    def _health(self, report: CycleReport, now: datetime) -> None:
        """Clear health alerts after a good cycle; after a bad one, alert if the failure has persisted."""
        if report.ok:
            for condition in ("x_auth", "x_usage_cap", "stale"):
                self.outbox.resolve(condition, "presswatch is reading X again", now)
            return
        self.check_stale(now, cause=report.aborted, errors=report.errors)

    def check_stale(self, now: datetime, *, cause: str | None = None, errors: Sequence[str] = ()) -> None:
        """Alert the operators when no poll has succeeded for three intervals (at least a minute), with the cause.

        One failed poll alerts no one: X's API is flaky, and a false alarm teaches people to ignore alerts.
        """
        last = self.store.last_poll(successful=True)
        since = datetime.fromisoformat(last["finished_at"]) if last else None
        if since is None:
            first = self.store.rows("SELECT min(started_at) AS at FROM polls")[0]["at"]
            since = datetime.fromisoformat(first) if first else now
        if now - since < timedelta(seconds=max(STALE_FLOOR, STALE_AFTER_INTERVALS * self.poll_interval)):
            return
        detail = f"No successful poll since {since.isoformat()}."
        if errors:
            detail += f" Last errors: {'; '.join(errors)}"
        if cause == "auth":
            self.outbox.notify_operators(NoticeKind.X_AUTH, "X keeps refusing presswatch's credentials",
                                         detail, now, condition="x_auth")
        elif cause == "usage_cap":
            self.outbox.notify_operators(NoticeKind.X_USAGE_CAP, "X usage cap or credits exhausted",
                                         detail, now, condition="x_usage_cap")
        else:
            self.outbox.notify_operators(NoticeKind.STALE, "No successful poll of X for three intervals",
                                         detail, now, condition="stale")
