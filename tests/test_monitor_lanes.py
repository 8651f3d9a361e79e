"""Each platform's lane judges its own health: Bluesky down while X reads fine is one notice about Bluesky,
and X's polls never count as Bluesky's (the real watchers against their sandboxes, a real SQLite file)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlite_utils import Database

from bot.polling.monitor import Monitor
from bot.ratelimit import SlidingWindow
from bot.sandbox.bluesky_api import BlueskySandbox
from bot.sandbox.x_api import XSandbox
from bot.storage.accounts import Store
from bot.storage.outbox import SubscriberSpec
from tests.helpers_core import Clock, FakeMonotonic, rows
from watchers.bluesky import BlueskyWatcher
from watchers.x import XWatcher

INTERVAL = 60.0


@pytest.fixture
def db(file_db: Database) -> Database:
    return file_db


@pytest.fixture
def bsky(clock: Clock) -> Iterator[BlueskySandbox]:
    with BlueskySandbox(clock=clock.unix) as sandbox:
        yield sandbox


@pytest.fixture
async def monitors(store: Store, x_sandbox: XSandbox, bsky: BlueskySandbox,
                   clock: Clock) -> AsyncIterator[tuple[Monitor, Monitor]]:
    pace = FakeMonotonic()
    store.outbox.upsert_subscriber(
        SubscriberSpec(key="ops", name="ops", channel="telegram", address="11", operator=True), clock.now)
    x_sandbox.add_account("alice")
    bsky.add_account("alice.bsky.social")
    store.sync_watchlist([("alice", ())], clock.now)
    store.sync_watchlist([("alice.bsky.social", ())], clock.now, "bluesky")

    def limiter() -> SlidingWindow:
        return SlidingWindow(300, 900, monotonic=pace.monotonic, unix=clock.unix, sleep=pace.sleep)

    async with XWatcher.connect("sandbox-token", x_sandbox.base_url, timeout=0.5) as xw, \
            BlueskyWatcher.connect(bsky.base_url, {"TR": "did:plc:cquoj7aozvmkud2gifeinkda"}, clock=clock,
                                   timeout=0.5) as bw:
        yield (Monitor(store, store.outbox, xw, limiter(), confirmations=2, poll_interval=INTERVAL, clock=clock),
               Monitor(store, store.outbox, bw, limiter(), confirmations=2, poll_interval=INTERVAL, clock=clock,
                       lane="bluesky", label="Bluesky"))


def notices(store: Store) -> list[tuple[str, str | None, str]]:
    return [(r["kind"], r["condition"], r["summary"])
            for r in rows(store.db, "SELECT kind, condition, summary FROM notices ORDER BY id")]


async def test_bluesky_down_while_x_reads_is_one_notice_about_bluesky(
        store: Store, bsky: BlueskySandbox, clock: Clock, monitors: tuple[Monitor, Monitor]) -> None:
    x, bluesky = monitors
    assert (await x.run_cycle(clock.now)).ok == 1 and (await bluesky.run_cycle(clock.now)).ok == 1
    bsky.set_down(True)
    for _ in range(5):
        clock.advance(INTERVAL)
        assert (await x.run_cycle(clock.now)).ok == 1
        assert (await bluesky.run_cycle(clock.now)).ok == 0
        for monitor in monitors:
            monitor.check_stale(clock.now)
    assert notices(store) == [("stale", "bluesky", "No successful poll of Bluesky for three intervals")]
    bsky.set_down(False)
    clock.advance(INTERVAL)
    assert (await bluesky.run_cycle(clock.now)).ok == 1
    assert notices(store)[1:] == [("recovered", None, "presswatch reads Bluesky again")]
    lanes = [r["platform"] for r in rows(store.db, "SELECT DISTINCT platform FROM polls ORDER BY platform")]
    assert lanes == ["bluesky", "x"]
