"""Matrix through the dispatcher: alerts due together for a room go out as one digest, recorded as one batch
before it is sent, so that after a crash the same rows go out under the same txnId and nothing new is
swallowed by the homeserver's memory of that txnId. The real notifier against the homeserver sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from test_dispatch import HANDLES, subscribe, suspend

from bot.delivery.dispatch import Dispatcher
from bot.delivery.render import Renderer
from bot.i18n import language
from bot.sandbox.matrix_api import MatrixSandbox
from bot.storage.accounts import Store
from bot.storage.outbox import Outbox
from notifiers.matrix import MatrixNotifier
from tests.helpers_core import T0, Clock, observe, rows, seen

ROOM = "!room:sandbox"


@pytest.fixture
def store(store: Store) -> Store:
    """conftest's store, with HANDLES watched and their baselines recorded (as in test_dispatch)."""
    store.sync_watchlist([(h, ("journalist",)) for h in HANDLES], T0)
    for n, handle in enumerate(HANDLES):
        observe(store, handle, seen(account_id=str(n + 1), handle=handle), T0)
    return store


@pytest.fixture
def homeserver() -> Iterator[MatrixSandbox]:
    with MatrixSandbox() as server:
        server.add_room(ROOM)
        yield server


def dispatcher(store: Store, clock: Clock, notifier: MatrixNotifier) -> Dispatcher:
    return Dispatcher(store, Outbox(store.db), Renderer(), {"matrix": notifier}, clock=clock)


async def test_alerts_due_together_reach_a_room_as_one_digest_in_its_language(
        store: Store, clock: Clock, homeserver: MatrixSandbox) -> None:
    subscribe(store, "room", channel="matrix", address=ROOM, language="tr")
    for handle in HANDLES:
        suspend(store, handle)
    async with MatrixNotifier(homeserver.base_url, homeserver.token) as notifier:
        await dispatcher(store, clock, notifier).drain()
    [digest] = homeserver.room(ROOM)
    assert digest["content"]["body"].startswith("presswatch: aynı anda 3 değişiklik")
    assert [r["status"] for r in rows(store.db, "SELECT status FROM outbox")] == ["sent"] * 3


async def test_a_digest_cut_off_by_a_crash_is_resent_as_the_same_batch(
        store: Store, clock: Clock, homeserver: MatrixSandbox) -> None:
    subscribe(store, "room", channel="matrix", address=ROOM)
    suspend(store, "alice")
    suspend(store, "bob")
    homeserver.fail("hold")
    async with MatrixNotifier(homeserver.base_url, homeserver.token) as notifier:
        first = asyncio.create_task(dispatcher(store, clock, notifier).drain())
        assert await asyncio.to_thread(homeserver.wait, lambda: homeserver.held == 1, 10)
        first.cancel()  # the process dies with the digest on the wire; the homeserver has it
        with pytest.raises(asyncio.CancelledError):
            await first
    suspend(store, "carol")  # a new alert for the room, due with the two in flight
    homeserver.release()
    async with MatrixNotifier(homeserver.base_url, homeserver.token) as notifier:
        again = dispatcher(store, clock, notifier)
        again.outbox.recover_in_flight()
        await again.drain()
    events = homeserver.room(ROOM)
    assert homeserver.duplicates == 1, "the batch went again under its txnId"
    assert len(events) == 2, [e["content"]["body"][:60] for e in events]
    assert "@alice" in events[0]["content"]["body"] and "@bob" in events[0]["content"]["body"]
    assert "@carol has been suspended" in events[1]["content"]["body"], "the new alert was not swallowed"
    assert [r["status"] for r in rows(store.db, "SELECT status FROM outbox")] == ["sent"] * 3
    assert language("en").code == "en"
