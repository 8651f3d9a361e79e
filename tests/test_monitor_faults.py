"""bot.monitor under faults: one notice per X outage whatever its cause, and a database that refuses writes.

The real XWatcher (tweepy) against the X sandbox, a real SQLite file and a second connection that locks it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.models import NoticeKind
from bot.polling.monitor import X_CONDITION, CycleReport, Monitor
from bot.ratelimit import SlidingWindow
from bot.sandbox.x_api import XSandbox
from bot.storage.accounts import Store
from bot.storage.guard import StorageGuard
from bot.storage.outbox import Outbox, SubscriberSpec
from tests.helpers_core import Clock, FakeMonotonic, rows
from watchers.x import XWatcher

TOKEN = "monitor-faults-token"
INTERVAL = 60.0


@pytest.fixture
def sb(clock: Clock) -> Iterator[XSandbox]:
    with XSandbox(TOKEN, clock=clock.unix) as sandbox:  # X stamps its rate-limit resets on the test's clock
        yield sandbox


@pytest.fixture
async def watcher(sb: XSandbox) -> AsyncIterator[XWatcher]:
    w = XWatcher.connect(TOKEN, sb.base_url, timeout=0.5)
    yield w
    await w.aclose()


@pytest.fixture
def db(file_db: Database) -> Database:
    """In a file, so that another connection can lock it."""
    file_db.execute("PRAGMA busy_timeout = 20")  # a lock outlives this at once: no 5 s wait
    return file_db


@pytest.fixture
def backoff() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def monitor(store: Store, watcher: XWatcher, clock: Clock, backoff: FakeMonotonic) -> Monitor:
    pace = FakeMonotonic()
    limiter = SlidingWindow(300, 900, monotonic=pace.monotonic, unix=clock.unix, sleep=pace.sleep)
    guard = StorageGuard(initial=1, maximum=1, monotonic=backoff.monotonic)
    return Monitor(store, Outbox(store.db), watcher, limiter, confirmations=2, poll_interval=INTERVAL, clock=clock,
                   guard=guard)


async def cycle(monitor: Monitor, clock: Clock, after: float = INTERVAL) -> CycleReport:
    clock.advance(after)
    return await monitor.run_cycle(clock.now)


def notices(store: Store) -> list[tuple[str, str | None]]:
    return [(r["kind"], r["condition"]) for r in rows(store.db, "SELECT kind, condition FROM notices ORDER BY id")]


def setup(store: Store, sb: XSandbox, clock: Clock) -> None:
    Outbox(store.db).upsert_subscriber(
        SubscriberSpec(key="ops", name="ops", channel="telegram", address="11", operator=True), clock.now)
    sb.add_account("alice")
    store.sync_watchlist([("alice", ())], clock.now)


async def test_one_x_outage_is_one_notice_and_one_recovery_whatever_checks_it(
        sb: XSandbox, store: Store, clock: Clock, monitor: Monitor) -> None:
    """Once, a minute of 401s raised "credentials refused" and "no successful poll", then two recoveries."""
    setup(store, sb, clock)
    assert (await cycle(monitor, clock)).ok == 1
    for _ in range(5):  # 401 for five intervals, with the periodic stale check in between
        sb.fail_next("401")
        assert (await cycle(monitor, clock)).aborted == "auth"
        clock.advance(INTERVAL / 2)
        monitor.check_stale(clock.now)
    assert notices(store) == [(str(NoticeKind.X_AUTH), X_CONDITION)]
    assert (await cycle(monitor, clock)).ok == 1
    monitor.check_stale(clock.now)
    assert notices(store) == [(str(NoticeKind.X_AUTH), X_CONDITION), (str(NoticeKind.RECOVERED), None)]


async def test_a_database_that_refuses_writes_skips_polls_and_cries_no_wolf_about_x(
        sb: XSandbox, store: Store, clock: Clock, monitor: Monitor, db_path: Path, backoff: FakeMonotonic) -> None:
    """Once, a refused write ended the cycle with a traceback; polls went on blind; now they wait it out."""
    setup(store, sb, clock)
    assert (await cycle(monitor, clock)).ok == 1
    lock = sqlite3.connect(db_path, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    sb.suspend("alice")
    refused = await cycle(monitor, clock)
    assert refused.aborted == "storage" and refused.ok == 0
    requests = sb.request_count
    for _ in range(5):  # five intervals locked: each cycle skipped before asking X (backoff not elapsed)
        assert (await cycle(monitor, clock)).aborted == "storage"
        monitor.check_stale(clock.now)
    assert sb.request_count == requests, "no X request is spent while nothing could be recorded"
    lock.execute("COMMIT")
    lock.close()
    backoff.now += 5
    reports = [await cycle(monitor, clock) for _ in range(2)]
    assert [r.ok for r in reports] == [1, 1] and not any(r.errors for r in reports)
    assert [t.kind for t in store.transitions()] == ["suspended"]
    assert notices(store) == [], "X was fine all along: no stale alert"
