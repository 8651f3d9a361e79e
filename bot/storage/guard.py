"""Storage errors waited out with backoff.

presswatch keeps every row through a database that refuses writes for a while (locked by another
program beyond the busy timeout, a full disk): the parts that write share one StorageGuard, which spaces
their attempts during an outage, logs it once (then once a minute), and reports it when it is over.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta

from bot import clock

log = logging.getLogger("presswatch.storage")

REPEAT_LOG = timedelta(minutes=1)


def is_storage_error(exc: BaseException) -> bool:
    """SQLite refused to read or write (locked, busy, full, I/O error): a condition that may pass.

    Integrity and programming errors are bugs, not outages: they are not storage errors.
    """
    return isinstance(exc, sqlite3.OperationalError | sqlite3.InternalError) or type(exc) is sqlite3.DatabaseError


class StorageGuard:
    """Shared backoff for writers of one database; ``on_recovered(since, until, cause)`` after an outage.

    ``failed`` starts or extends an outage and pushes the next attempt back (doubling from ``initial`` to
    ``maximum``, timed on the monotonic clock); ``succeeded`` ends it. Callers check ``wait()`` before
    touching the database; ``now`` (wall time) is only for the report.
    """

    def __init__(self, *, initial: float = 0.5, maximum: float = 30.0, report_after: float = 30.0,
                 on_recovered: Callable[[datetime, datetime, str], None] | None = None,
                 monotonic: Callable[[], float] = clock.monotonic) -> None:
        self.initial, self.maximum, self.report_after = initial, maximum, report_after
        self.on_recovered = on_recovered
        self._monotonic = monotonic
        self.failing_since: datetime | None = None
        self.cause = ""
        self.failures = 0
        self._next_try: float | None = None  # monotonic
        self._logged_at: datetime | None = None

    def wait(self) -> float:
        """Seconds until the database may be tried again (0: now)."""
        if self._next_try is None:
            return 0.0
        return max(0.0, self._next_try - self._monotonic())

    def failed(self, exc: BaseException, now: datetime, doing: str) -> float:
        """Count one refused attempt at ``doing``; returns the seconds to wait before the next one."""
        self.failures += 1
        self.cause = str(exc) or type(exc).__name__
        if self.failing_since is None:
            self.failing_since = now
        delay = min(self.maximum, self.initial * 2 ** min(self.failures - 1, 20))
        self._next_try = self._monotonic() + delay
        if self._logged_at is None or now - self._logged_at >= REPEAT_LOG:
            level = logging.WARNING if self._logged_at is None else logging.ERROR
            log.log(level, "the database refused %s (%s) since %s; nothing is lost, retrying in %.1f s",
                    doing, self.cause, self.failing_since.strftime("%H:%M:%S"), delay)
            self._logged_at = now
        return delay

    def succeeded(self, now: datetime) -> None:
        """A write went through: end the outage, if any, and report it when it lasted."""
        if self.failing_since is None:
            return
        since, cause = self.failing_since, self.cause
        self.failing_since, self.failures, self._next_try, self._logged_at = None, 0, None, None
        log.info("the database takes writes again (refused since %s: %s)", since.strftime("%H:%M:%S"), cause)
        if self.on_recovered is not None and (now - since).total_seconds() >= self.report_after:
            try:
                self.on_recovered(since, now, cause)
            except Exception as exc:
                if not is_storage_error(exc):
                    raise
                self.failing_since, self.cause = since, cause  # report it with the next success
                self.failed(exc, now, "the outage report")
