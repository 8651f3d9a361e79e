"""The watchlist revision: a change made by another process (`presswatch import`, `remove`) reaches a running
daemon's monitor at its next cycle, through the database alone; recording polls does not move it."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.detect import detect
from bot.polling.monitor import Monitor
from bot.ratelimit import SlidingWindow
from bot.sandbox.x_api import XSandbox
from bot.storage.accounts import Outcome, Store, open_db
from bot.storage.migrations import migrations
from bot.storage.outbox import Outbox, SubscriberSpec
from tests.helpers_core import SUSPENDED, Clock, FakeMonotonic, observe, rows, seen
from watchers.x import XWatcher

TOKEN = "revision-test-token"
INTERVAL = 600.0


@pytest.fixture
def db(file_db: Database) -> Database:
    return file_db  # on disk, as the daemon's


@pytest.fixture
def other(db_path: Path, db: Database) -> Iterator[Store]:
    """A second connection to the same file: what `presswatch import` in another process holds."""
    database = open_db(db_path)
    yield Store(database, Outbox(database))
    database.close()


@pytest.fixture
def sb(clock: Clock) -> Iterator[XSandbox]:
    with XSandbox(TOKEN, clock=clock.unix) as sandbox:
        yield sandbox


@pytest.fixture
async def monitor(sb: XSandbox, store: Store, clock: Clock) -> AsyncIterator[Monitor]:
    watcher = XWatcher.connect(TOKEN, sb.base_url, timeout=0.5)
    pace = FakeMonotonic()
    limiter = SlidingWindow(300, 900, monotonic=pace.monotonic, unix=clock.unix, sleep=pace.sleep)
    yield Monitor(store, store.outbox, watcher, limiter, confirmations=2, poll_interval=INTERVAL, clock=clock)
    await watcher.aclose()


def test_a_change_by_another_connection_moves_the_revision_and_recording_a_poll_does_not(
        store: Store, other: Store, clock: Clock) -> None:
    store.sync_watchlist([("alice", ["a"])], clock.now)
    before = store.watchlist_revision()
    observe(store, "alice", seen(handle="alice"), clock.now)  # a baseline: state and id written
    observe(store, "alice", seen(SUSPENDED), clock.advance(60), confirmations=1)  # a transition
    assert store.watchlist_revision() == before
    store.sync_watchlist([("alice", ["a"])], clock.now)  # a restart with the same config changes nothing
    assert store.watchlist_revision() == before
    other.add_account("bob", ["b"], "import", None, clock.now)
    after_add = store.watchlist_revision()
    assert after_add > before
    bob = other.find_account("bob")
    assert bob is not None
    other.set_owner(bob.pk, 7)
    assert store.watchlist_revision() > after_add
    moved = store.watchlist_revision()
    other.unwatch(bob.pk)
    assert store.watchlist_revision() > moved
    assert store.watchlist_version == store.watchlist_revision()  # the name the scheduler of issue 9 reads


async def test_the_monitor_polls_accounts_another_process_adds_from_its_next_cycle_with_a_baseline(
        sb: XSandbox, store: Store, other: Store, monitor: Monitor, clock: Clock) -> None:
    for handle in ("alice", "newbie"):
        sb.add_account(handle)
    store.sync_watchlist([("alice", ())], clock.now)
    assert (await monitor.run_cycle(clock.now)).ok == 1
    sb.set_withheld("newbie", ["TR"])  # already withheld when it is added: not news
    other.add_account("newbie", ["court"], "import", None, clock.advance(1))
    report = await monitor.run_cycle(clock.advance(INTERVAL))
    assert (report.ok, report.transitions) == (2, [])
    newbie = store.find_watched("newbie")
    assert newbie is not None and newbie.state is not None and newbie.state.withheld_in == {"TR"}
    assert store.transitions() == []
    other.unwatch(newbie.account.pk)
    requests = sb.request_count
    report = await monitor.run_cycle(clock.advance(INTERVAL))
    assert report.ok == 1
    asked = {key for r in sb.requests[requests:] for value in r.query.values() for key in value.split(",")}
    assert asked and not asked & {"newbie", newbie.account.account_id}


def test_a_transition_of_an_account_removed_meanwhile_is_history_that_alerts_no_one(
        store: Store, other: Store, clock: Clock) -> None:
    store.sync_watchlist([("alice", ())], clock.now)
    store.outbox.upsert_subscriber(SubscriberSpec(key="config:desk", name="desk", channel="email",
                                                  address="desk@example.org"), clock.now)
    observe(store, "alice", seen(handle="alice"), clock.now)
    watched = store.find_watched("alice")  # the monitor's copy, taken before the removal
    assert watched is not None
    other.unwatch(watched.account.pk)  # `presswatch remove alice` while the poll was on the wire
    observation = seen(SUSPENDED)
    verdict = detect(watched.state, observation, watched.pending, 1)
    written = store.record([Outcome(watched, observation, verdict)], clock.advance(60))
    assert len(written) == 1 and [t.kind for t in store.transitions(handle="alice")] == ["suspended"]
    assert rows(store.db, "SELECT * FROM outbox") == []


def schema_5(path: Path) -> Database:
    """A database as the build before imports left it (schema 5), with one watched account."""
    db = Database(path)
    migrations.apply(db, stop_before="m006_imports")
    db.execute("INSERT INTO accounts (platform, handle, listed_handle, source, added_at)"
               " VALUES ('x', 'old_one', 'old_one', 'config', '2024-01-01T00:00:00+00:00')")
    db.conn.commit()
    return db


def test_an_older_database_gets_the_revision_and_keeps_its_accounts(tmp_path: Path, clock: Clock) -> None:
    schema_5(tmp_path / "old.db").close()
    db = open_db(tmp_path / "old.db")
    store = Store(db, Outbox(db))
    [old] = store.watched()
    assert (old.account.handle, old.account.reference) == ("old_one", None)
    before = store.watchlist_revision()
    store.add_account("new_one", [], "telegram", None, clock.now)
    assert store.watchlist_revision() == before + 1
    db.close()


def test_the_migration_is_one_transaction_a_failure_leaves_the_schema_as_it_was(tmp_path: Path) -> None:
    old = schema_5(tmp_path / "old.db")
    old.execute("CREATE TABLE watchlist_revision (x)")  # makes the step fail after its first statements
    old.conn.commit()
    old.close()
    with pytest.raises(sqlite3.OperationalError, match="already exists"):
        open_db(tmp_path / "old.db")
    db = Database(tmp_path / "old.db")
    assert "source_ref" not in db["accounts"].columns_dict  # the ALTERs before the failure were rolled back
    assert "m006_imports" not in {m.name for m in migrations.applied(db)}
    db.close()
