"""bot.monitor with the real XWatcher (tweepy) against the real X sandbox and a real Store on disk."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from sqlite_utils import Database

from bot.models import EventKind, NoticeKind
from bot.polling.batches import latest_rate
from bot.polling.monitor import STALE_FLOOR, X_CONDITION, CycleReport, Monitor
from bot.ratelimit import SlidingWindow
from bot.sandbox.x_api import XSandbox
from bot.storage.accounts import Store
from bot.storage.outbox import Outbox, SubscriberSpec
from tests.helpers_core import ACTIVE, SUSPENDED, Clock, FakeMonotonic, rows
from watchers.base import RateInfo
from watchers.x import XWatcher

TOKEN = "monitor-test-token"
INTERVAL = 600.0


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
    return file_db  # on disk, as the daemon's


@pytest.fixture
def pace() -> FakeMonotonic:
    return FakeMonotonic()


def window(pace: FakeMonotonic, clock: Clock) -> SlidingWindow:
    """X's 300 requests a 15-minute window, paced on ``pace`` and reading X's resets on ``clock``."""
    return SlidingWindow(300, 900, monotonic=pace.monotonic, unix=clock.unix, sleep=pace.sleep)


@pytest.fixture
def monitor(store: Store, watcher: XWatcher, clock: Clock, pace: FakeMonotonic) -> Monitor:
    return Monitor(store, Outbox(store.db), watcher, window(pace, clock), confirmations=2,
                   poll_interval=INTERVAL, clock=clock)


async def cycle(monitor: Monitor, clock: Clock, after: float = INTERVAL) -> CycleReport:
    clock.advance(after)
    return await monitor.run_cycle(clock.now)


def watch(store: Store, clock: Clock, *handles: str) -> None:
    store.sync_watchlist([(h, ()) for h in handles], clock.now)


def kinds(store: Store) -> list[EventKind]:
    return [t.kind for t in reversed(store.transitions())]


async def test_250_accounts_take_three_requests_a_cycle_first_by_handle_then_by_id(
        sb: XSandbox, store: Store, clock: Clock, monitor: Monitor) -> None:
    ids = sb.seed(250)
    watch(store, clock, *[f"acct{n}" for n in range(250)])
    report = await cycle(monitor, clock)
    assert (report.requests, report.ok, report.failed, report.transitions) == (3, 250, 0, [])
    first = sb.requests
    assert [r.path for r in first] == ["/2/users/by"] * 3
    assert sorted(len(r.query["usernames"].split(",")) for r in first) == [50, 100, 100]
    assert sorted(w.account.account_id or "" for w in store.watched()) == sorted(ids)

    report = await cycle(monitor, clock)
    assert (report.requests, report.ok) == (3, 250)
    second = sb.requests[3:]
    assert [r.path for r in second] == ["/2/users"] * 3
    assert sorted(i for r in second for i in r.query["ids"].split(",")) == sorted(ids)
    assert report.rate is not None and report.rate.remaining == 300 - 6


async def test_a_handle_not_found_at_first_is_polled_by_handle_until_it_resolves(
        sb: XSandbox, store: Store, clock: Clock, monitor: Monitor) -> None:
    alice = sb.add_account("alice")
    watch(store, clock, "alice", "ghost")
    await cycle(monitor, clock)
    await cycle(monitor, clock)
    ghost = store.find_watched("ghost")
    assert ghost is not None and ghost.account.account_id is None
    assert ghost.state is not None and ghost.state.availability == "not_found"
    assert {(r.path, r.query.get("ids") or r.query.get("usernames")) for r in sb.requests[-2:]} == {
        ("/2/users", alice), ("/2/users/by", "ghost")}
    ident = sb.add_account("ghost")
    await cycle(monitor, clock)
    found = store.find_watched("ghost")
    assert found is not None and found.account.account_id == ident
    await cycle(monitor, clock)
    assert {r.query.get("ids") for r in sb.requests[-1:]} == {f"{alice},{ident}"}


async def test_a_rename_is_detected_through_the_id(sb: XSandbox, store: Store, clock: Clock,
                                                   monitor: Monitor) -> None:
    sb.add_account("alice")
    watch(store, clock, "alice")
    await cycle(monitor, clock)
    sb.rename("alice", "alice_new")
    first = await cycle(monitor, clock)
    assert first.transitions == [] and first.ok == 1
    confirmed = await cycle(monitor, clock)
    [t] = store.transitions(ids=confirmed.transitions)
    assert (t.kind, t.handle, t.previous_handle) == (EventKind.RENAMED, "alice_new", "alice")
    assert all(r.path == "/2/users" for r in sb.requests[1:])
    renamed = store.find_watched("alice")
    assert renamed is not None and renamed.state is not None and renamed.state.handle == "alice_new"


async def test_a_suspension_is_recorded_after_two_agreeing_cycles(sb: XSandbox, store: Store, clock: Clock,
                                                                  monitor: Monitor) -> None:
    sb.add_account("alice", withheld_in=["TR"])
    watch(store, clock, "alice")
    await cycle(monitor, clock)
    sb.suspend("alice")
    seen_at = clock.now + timedelta(seconds=INTERVAL)
    assert (await cycle(monitor, clock)).transitions == []
    report = await cycle(monitor, clock)
    [t] = store.transitions(ids=report.transitions)
    assert (t.kind, t.first_seen_at, t.confirmed_at, t.withheld_in) == (
        EventKind.SUSPENDED, seen_at, clock.now, ("TR",))


FAULTS = [
    pytest.param("500", 1, None, id="500"),
    pytest.param("html502", 1, None, id="html502"),
    pytest.param("timeout", 1, None, id="timeout"),
    pytest.param("malformed", 1, None, id="malformed"),
    pytest.param("drop", 1, None, id="drop"),
    pytest.param("401", 1, "auth", id="401"),
    pytest.param("402", 1, "auth", id="402"),
    pytest.param("403", 1, "auth", id="403"),
    pytest.param("429", 3, None, id="429-three-times"),
    pytest.param("usage_cap", 1, "usage_cap", id="usage_cap"),
]


@pytest.mark.parametrize("fault, times, aborted", FAULTS)
async def test_a_failed_poll_is_no_observation(sb: XSandbox, store: Store, clock: Clock, monitor: Monitor,
                                               fault: str, times: int, aborted: str | None) -> None:
    sb.configure(slow_seconds=2.0, reset_in=0.01)
    sb.add_account("alice")
    watch(store, clock, "alice")
    await cycle(monitor, clock)
    sb.suspend("alice")
    await cycle(monitor, clock)
    candidate_at = clock.now
    before = store.find_watched("alice")
    assert before is not None and before.pending is not None and before.pending.count == 1

    sb.fail_next(fault, times)
    report = await cycle(monitor, clock)
    assert (report.ok, report.failed, report.transitions, report.aborted) == (0, 1, [], aborted)
    assert report.errors
    after = store.find_watched("alice")
    assert after is not None and after.state == before.state and after.pending == before.pending
    assert after.state is not None and after.state.availability == ACTIVE
    assert store.transitions() == []

    report = await cycle(monitor, clock)
    [t] = store.transitions(ids=report.transitions)
    assert (t.kind, t.first_seen_at) == (EventKind.SUSPENDED, candidate_at)


async def test_a_429_waits_for_the_reset_and_resumes_the_same_batch(sb: XSandbox, store: Store, clock: Clock,
                                                                    monitor: Monitor, pace: FakeMonotonic) -> None:
    sb.configure(reset_in=5)
    sb.seed(150)
    watch(store, clock, *[f"acct{n}" for n in range(150)])
    await cycle(monitor, clock)
    sb.fail_next("429")
    report = await cycle(monitor, clock)
    assert (report.requests, report.ok, report.failed, report.aborted, report.errors) == (3, 150, 0, None, [])
    cycle_two = sb.requests[2:]  # the next batch may be on the wire already when the 429 comes back
    [limited] = [r for r in cycle_two if r.status == 429]
    after = cycle_two[cycle_two.index(limited) + 1 :]
    assert sorted(r.status for r in cycle_two) == [200, 200, 429]
    assert [r.query for r in after if r.query == limited.query and r.status == 200], "the same batch again"
    assert pace.sleeps == [5.0]  # waited out the reset exactly, on the clock X stamped it with


async def test_a_rate_limit_reset_too_far_away_aborts_the_cycle(sb: XSandbox, store: Store, clock: Clock,
                                                               monitor: Monitor, pace: FakeMonotonic) -> None:
    sb.configure(reset_in=5000)
    sb.add_account("alice")
    watch(store, clock, "alice")
    await cycle(monitor, clock, after=0)
    sb.fail_next("429")
    report = await cycle(monitor, clock, after=0)
    assert (report.requests, report.ok, report.aborted) == (1, 0, "rate_limit")
    assert pace.sleeps == []


@pytest.mark.parametrize("status", ["401", "402", "403"])
async def test_an_auth_failure_aborts_the_cycle(sb: XSandbox, store: Store, clock: Clock, monitor: Monitor,
                                                status: str) -> None:
    sb.seed(250)
    watch(store, clock, *[f"acct{n}" for n in range(250)])
    await cycle(monitor, clock)
    sb.fail_next(status)
    report = await cycle(monitor, clock)
    # One request goes ahead of the batch being recorded, so the 401 may come back for either of two on
    # the wire: answers that were already coming are recorded, then nothing more is asked for.
    assert report.aborted == "auth" and report.requests in (2, 3) and sb.request_count == 3 + report.requests
    # Batches of 100, 100 and 50: two asked, one answered; or three asked, the 401 on the second or the third.
    assert report.ok in {2: (100,), 3: (150, 200)}[report.requests] and report.ok + report.failed == 250
    assert rows(store.db, "SELECT count(*) AS n FROM transitions")[0]["n"] == 0
    poll = store.last_poll()
    assert poll is not None and poll.accounts_failed == report.failed and f"HTTP {status}" in (poll.error or "")


def open_notices(store: Store) -> list[tuple[str, str | None]]:
    return [(r["kind"], r["condition"]) for r in rows(
        store.db, "SELECT kind, condition FROM notices WHERE resolved_at IS NULL ORDER BY id")]


def operator(store: Store, clock: Clock) -> None:
    spec = SubscriberSpec(key="ops", name="ops", channel="telegram", address="11", operator=True)
    Outbox(store.db).upsert_subscriber(spec, clock.now)


@pytest.mark.parametrize("fault, kind", [
    ("500", NoticeKind.STALE),
    ("drop", NoticeKind.STALE),
    ("401", NoticeKind.X_AUTH),
    ("usage_cap", NoticeKind.X_USAGE_CAP),
])
async def test_health_notices_wait_for_failures_to_persist_and_resolve_after_a_good_cycle(
        sb: XSandbox, store: Store, clock: Clock, monitor: Monitor, fault: str, kind: NoticeKind) -> None:
    operator(store, clock)
    sb.add_account("alice")
    watch(store, clock, "alice")
    assert (await cycle(monitor, clock)).ok == 1
    threshold = max(STALE_FLOOR, 3 * INTERVAL)
    for _ in range(2):  # 10 and 20 minutes without a good poll: not yet an outage
        sb.fail_next(fault)
        await cycle(monitor, clock)
    assert open_notices(store) == [] and Outbox(store.db).depth() == {}
    sb.fail_next(fault)
    await cycle(monitor, clock, after=threshold - 2 * INTERVAL)
    assert open_notices(store) == [(str(kind), X_CONDITION)]
    sb.fail_next(fault)
    await cycle(monitor, clock)
    assert len(rows(store.db, "SELECT id FROM notices")) == 1  # raised once while it lasts
    assert Outbox(store.db).depth() == {"pending": 1}

    assert (await cycle(monitor, clock)).ok == 1
    assert open_notices(store) == [(str(NoticeKind.RECOVERED), None)]
    assert rows(store.db, "SELECT resolved_at FROM notices WHERE kind = ?", [str(kind)])[0]["resolved_at"]
    assert Outbox(store.db).depth() == {"pending": 2}
    await cycle(monitor, clock)
    assert Outbox(store.db).depth() == {"pending": 2}


async def test_short_intervals_wait_at_least_the_stale_floor(sb: XSandbox, store: Store, clock: Clock,
                                                             watcher: XWatcher, pace: FakeMonotonic) -> None:
    monitor = Monitor(store, Outbox(store.db), watcher, window(pace, clock), confirmations=2, poll_interval=10,
                      clock=clock)
    operator(store, clock)
    sb.add_account("alice")
    watch(store, clock, "alice")
    await cycle(monitor, clock, after=10)
    for _ in range(int(STALE_FLOOR // 10) - 1):  # 3 intervals (30 s) have passed, the floor has not
        sb.fail_next("500")
        await cycle(monitor, clock, after=10)
    assert open_notices(store) == []
    sb.fail_next("500")
    await cycle(monitor, clock, after=10)
    assert open_notices(store) == [("stale", X_CONDITION)]


async def test_a_first_cycle_that_fails_alerts_no_one(sb: XSandbox, store: Store, clock: Clock,
                                                      monitor: Monitor) -> None:
    operator(store, clock)
    sb.add_account("alice")
    watch(store, clock, "alice")
    sb.fail_next("401")
    report = await cycle(monitor, clock)
    assert report.aborted == "auth" and open_notices(store) == []


async def test_cycles_record_their_polls(sb: XSandbox, store: Store, clock: Clock, monitor: Monitor) -> None:
    sb.add_account("alice")
    watch(store, clock, "alice")
    await cycle(monitor, clock)
    sb.fail_next("500")
    await cycle(monitor, clock)
    good = store.last_poll(successful=True)
    last = store.last_poll()
    assert good is not None and last is not None and good.id != last.id
    assert (good.accounts_ok, good.requests, good.rate_remaining) == (1, 1, 299)
    assert (last.accounts_ok, last.accounts_failed) == (0, 1) and "500" in (last.error or "")


async def test_recorded_transitions_are_handed_to_on_recorded(sb: XSandbox, store: Store, clock: Clock,
                                                              watcher: XWatcher, pace: FakeMonotonic) -> None:
    handed: list[list[int]] = []
    monitor = Monitor(store, Outbox(store.db), watcher, window(pace, clock), confirmations=1,
                      poll_interval=INTERVAL, clock=clock, on_recorded=handed.append)
    sb.add_account("alice")
    watch(store, clock, "alice")
    await cycle(monitor, clock)
    sb.set_withheld("alice", ["IN", "TR"])
    report = await cycle(monitor, clock)
    assert handed == [report.transitions] and kinds(store) == [EventKind.WITHHELD]
    [t] = store.transitions()
    assert t.countries == ("IN", "TR")


async def test_listing_a_renamed_account_by_its_new_handle_keeps_polling_it(
        sb: XSandbox, store: Store, clock: Clock, monitor: Monitor) -> None:
    sb.add_account("alice")
    watch(store, clock, "alice")
    await cycle(monitor, clock)
    sb.rename("alice", "alice_new")
    await cycle(monitor, clock)
    await cycle(monitor, clock)
    watch(store, clock, "alice_new")  # the operator updates the config to the new handle
    reports = [await cycle(monitor, clock)]  # today: IntegrityError, the new row cannot take alice's id
    sb.suspend("alice_new")
    reports += [await cycle(monitor, clock) for _ in range(2)]
    assert [r.ok for r in reports] == [1, 1, 1]
    assert kinds(store) == [EventKind.RENAMED, EventKind.SUSPENDED]
    assert len(store.watched()) == 1 and store.watched()[0].state.availability == SUSPENDED  # type: ignore[union-attr]


@pytest.mark.parametrize("first, second, latest", [
    (RateInfo(300, 290, 100.0), RateInfo(300, 291, 100.0), RateInfo(300, 290, 100.0)),  # came back out of order
    (RateInfo(300, 2, 100.0), RateInfo(300, 299, 1000.0), RateInfo(300, 299, 1000.0)),  # a new window began
    (RateInfo(300, 299, 1000.0), RateInfo(300, 2, 100.0), RateInfo(300, 299, 1000.0)),  # an old window's answer
    (None, RateInfo(300, 5, 100.0), RateInfo(300, 5, 100.0)),
    (RateInfo(300, 5, 100.0), None, RateInfo(300, 5, 100.0)),
    (RateInfo(None, None, None), RateInfo(300, 5, None), RateInfo(300, 5, None)),
])
def test_the_cycle_reports_the_budget_of_the_latest_answer(first: RateInfo | None, second: RateInfo | None,
                                                          latest: RateInfo) -> None:
    assert latest_rate(first, second) == latest
