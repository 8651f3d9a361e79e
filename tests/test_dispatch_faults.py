"""bot.dispatch under faults: a database that refuses writes, our own configuration refused, channels
that stall. A real SQLite file (a second connection holds it locked), the real Renderer, fake notifiers."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from bot.delivery.dispatch import Dispatcher
from bot.delivery.pacing import RetryPolicy, TelegramPacer
from bot.delivery.render import Renderer
from bot.models import NoticeKind
from bot.storage.accounts import Store
from bot.storage.guard import StorageGuard
from bot.storage.outbox import Outbox, SubscriberSpec
from notifiers.base import ConfigRefused, NotifyError, Unreached
from tests.helpers_core import (
    SUSPENDED,
    T0,
    Clock,
    FakeMonotonic,
    FakeNotifier,
    VirtualTime,
    observe,
    rows,
    seen,
    until,
)

HANDLES = ("alice", "bob")


@pytest.fixture
def db(file_db: Database) -> Database:
    """In a file, so that another connection can lock it."""
    file_db.execute("PRAGMA busy_timeout = 20")  # a lock outlives this at once: the test needs no 5 s wait
    return file_db


@pytest.fixture
def store(store: Store) -> Store:
    """conftest's store, with HANDLES watched and their baselines recorded."""
    store.sync_watchlist([(h, ()) for h in HANDLES], T0)
    for n, handle in enumerate(HANDLES):
        observe(store, handle, seen(account_id=str(n + 1), handle=handle), T0)
    return store


class Lock:
    """Another program holding the database's write lock (BEGIN EXCLUSIVE) until released."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)

    def take(self) -> None:
        self.conn.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        self.conn.execute("COMMIT")


@pytest.fixture
def lock(db_path: Path, store: Store) -> Iterator[Lock]:
    held = Lock(db_path)
    yield held
    held.conn.close()


def subscribe(store: Store, key: str, channel: str = "email", address: str | None = None, **kw: Any) -> int:
    spec = SubscriberSpec(key=key, name=key, channel=channel, address=address or f"{key}@example.org", **kw)
    return Outbox(store.db).upsert_subscriber(spec, T0)


def suspend(store: Store, handle: str) -> int:
    [tid] = observe(store, handle, seen(SUSPENDED, account_id=str(HANDLES.index(handle) + 1)), T0)
    return tid


def dispatcher(store: Store, clock: Clock, *notifiers: FakeNotifier, **kw: Any) -> Dispatcher:
    fake = FakeMonotonic()
    return Dispatcher(store, Outbox(store.db), Renderer(), {n.channel: n for n in notifiers}, clock=clock,
                      pacer=TelegramPacer(monotonic=fake.monotonic, sleep=fake.sleep),
                      guard=StorageGuard(initial=0.01, maximum=0.05), **kw)


def statuses(store: Store) -> list[str]:
    return [row["status"] for row in rows(store.db, "SELECT status FROM outbox ORDER BY id")]


async def test_a_locked_database_delays_delivery_and_the_dispatcher_lives_on(store: Store, lock: Lock) -> None:
    """Once, a claim refused by a locked database ended the dispatcher: no alert went out until a restart."""
    subscribe(store, "desk")
    suspend(store, "alice")
    email = FakeNotifier("email")
    d = dispatcher(store, Clock(T0), email)
    lock.take()
    stop = asyncio.Event()
    task = asyncio.create_task(d.run(stop))
    await until(lambda: d.guard.failures >= 3, what="refused claims")
    assert email.attempts == [] and not task.done()
    lock.release()
    await until(lambda: len(email.sent) == 1, what="the delivery")
    await until(lambda: statuses(store) == ["sent"], what="the row marked sent")
    assert not task.done() and d.guard.failing_since is None
    stop.set()
    await asyncio.wait_for(task, 5)


async def test_a_delivery_whose_outcome_cannot_be_written_is_kept_and_never_sent_twice(
        store: Store, lock: Lock) -> None:
    """Once, a refused mark_sent/mark_retry left the row 'sending' for the life of the process."""
    subscribe(store, "desk")
    suspend(store, "alice")
    email = FakeNotifier("email")
    email.after_send = lock.take  # the database locks up while the message is on its way
    d = dispatcher(store, Clock(T0), email)
    stop = asyncio.Event()
    task = asyncio.create_task(d.run(stop))
    await until(lambda: d.backlog() == 1 and d.guard.failures >= 2, what="the outcome kept")
    assert statuses(store) == ["sending"]
    email.after_send = None
    lock.release()
    await until(lambda: statuses(store) == ["sent"], what="the outcome written")
    suspend(store, "bob")  # the dispatcher still delivers what comes next
    d.wake()
    await until(lambda: len(email.sent) == 2, what="the next delivery")
    assert [m.subject for _, m in email.sent].count(email.sent[0][1].subject) == 1
    stop.set()
    await asyncio.wait_for(task, 5)


async def test_our_own_configuration_refused_disables_no_one_and_tells_the_operators_once(store: Store) -> None:
    """Once, a line break in email.from disabled every email subscriber, and fixing it brought none back."""
    desk, other = subscribe(store, "desk"), subscribe(store, "other")
    subscribe(store, "ops", channel="telegram", address="11", operator=True)
    for handle in HANDLES:
        suspend(store, handle)
    email, telegram = FakeNotifier("email"), FakeNotifier("telegram")
    refused = ConfigRefused("email.from 'x\\ny' cannot be sent as a From header: fix email.from",
                            condition="email_from")
    email.always = {"desk@example.org": refused, "other@example.org": refused}
    clock = Clock(T0)
    d = dispatcher(store, clock, email, telegram, retry=RetryPolicy(initial=1, maximum=60))
    await d.drain()
    await d.drain()
    outbox = Outbox(store.db)
    assert all(sub is not None and sub.enabled for sub in (outbox.subscriber(desk), outbox.subscriber(other)))
    assert len(email.attempts) == 1, "the channel waits after its configuration was refused"
    notices = rows(store.db, "SELECT kind, condition FROM notices")
    assert notices == [{"kind": str(NoticeKind.CONFIG_REFUSED), "condition": "email_from"}]
    assert len(telegram.sent) == 1 and "refuses presswatch" in telegram.sent[0][1].subject
    email.always = {}  # the operator fixed email.from (a restart, or a reload)
    clock.advance(60)
    await d.drain()
    assert sorted(address for address, _ in email.sent) == ["desk@example.org"] * 2 + ["other@example.org"] * 2
    assert outbox.open_conditions() == []
    recovered = rows(store.db, "SELECT summary FROM notices WHERE kind = ?", [str(NoticeKind.RECOVERED)])
    assert [row["summary"] for row in recovered] == ["Email accepts presswatch's configuration again"]


async def test_email_is_delivered_while_telegram_hangs(store: Store) -> None:
    """Once, a new dispatch round started only when every channel had finished: email waited on Telegram."""
    subscribe(store, "desk")
    subscribe(store, "chat", channel="telegram", address="555")
    suspend(store, "alice")
    email, telegram = FakeNotifier("email"), FakeNotifier("telegram")
    telegram.gate = asyncio.Event()  # Telegram takes its time answering
    delivered = asyncio.Event()
    d = dispatcher(store, Clock(T0), email, telegram, on_delivered=lambda item, _m: delivered.set())
    stop = asyncio.Event()
    task = asyncio.create_task(d.run(stop))
    await until(lambda: len(email.sent) == 1 and telegram.attempts == ["555"], what="the first round")
    suspend(store, "bob")  # a new alert while Telegram still has not answered
    d.wake()
    await until(lambda: len(email.sent) == 2, what="the second email, Telegram still hanging")
    assert telegram.sent == []
    telegram.gate.set()
    await until(lambda: len(telegram.sent) == 2, what="Telegram catching up")
    stop.set()
    await asyncio.wait_for(task, 5)


async def test_sends_telegram_never_received_use_up_no_group_allowance() -> None:
    """Once, connection-refused attempts during an outage used up a group's 20 a minute: 30 s of stall after."""
    vt = VirtualTime()
    pacer = TelegramPacer(monotonic=vt.monotonic, sleep=vt.sleep)
    group = "-100123"

    async def outage_then_recovery() -> float:
        for _ in range(25):
            with contextlib.suppress(Unreached):
                async with pacer.slot(group):
                    raise Unreached("connection refused")
        start = vt.now
        async with pacer.slot(group):  # Telegram is back
            pass
        return vt.now - start

    [waited] = await vt.run([outage_then_recovery()])
    assert waited < 2.0


async def test_an_answered_failure_still_counts_against_the_group() -> None:
    vt = VirtualTime()
    pacer = TelegramPacer(monotonic=vt.monotonic, sleep=vt.sleep)

    async def twenty_one() -> float:
        for _ in range(20):
            with contextlib.suppress(NotifyError):
                async with pacer.slot("-100123"):
                    raise NotifyError("Bad Request: message is too long")  # Telegram got it: it counted
        start = vt.now
        async with pacer.slot("-100123"):
            pass
        return vt.now - start

    [waited] = await vt.run([twenty_one()])
    assert waited > 30.0
