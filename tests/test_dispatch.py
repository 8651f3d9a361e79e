"""bot.dispatch: delivery, retries, disabling, migration, crash recovery and Telegram pacing.

A real Store, the real Renderer, a fake Notifier (our seam) and clocks that move only when told.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.delivery.dispatch import Dispatcher
from bot.delivery.pacing import RetryPolicy, TelegramPacer
from bot.delivery.render import Renderer
from bot.models import Message, NoticeKind
from bot.storage.accounts import Store, open_db
from bot.storage.outbox import Outbox, OutboxItem, SubscriberSpec
from notifiers.base import Moved, NotifyError, Permanent, RetryLater
from tests.helpers_core import SUSPENDED, T0, Clock, FakeMonotonic, FakeNotifier, VirtualTime, observe, rows, seen

HANDLES = ("alice", "bob", "carol")


@pytest.fixture
def store(store: Store) -> Store:
    """conftest's store, with HANDLES watched (tagged journalist) and their baselines recorded."""
    store.sync_watchlist([(h, ("journalist",)) for h in HANDLES], T0)
    for n, handle in enumerate(HANDLES):
        observe(store, handle, seen(account_id=str(n + 1), handle=handle), T0)
    return store


_PACER_CLOCKS: list[FakeMonotonic] = []


@pytest.fixture
def pacer_clock() -> Iterator[FakeMonotonic]:
    """The Telegram pacer of dispatchers built in this test runs on this fake clock."""
    fake = FakeMonotonic()
    _PACER_CLOCKS.append(fake)
    yield fake
    _PACER_CLOCKS.remove(fake)


def fake_pacer() -> TelegramPacer:
    if not _PACER_CLOCKS:
        return TelegramPacer()
    return TelegramPacer(monotonic=_PACER_CLOCKS[-1].monotonic, sleep=_PACER_CLOCKS[-1].sleep)


def subscribe(store: Store, key: str, channel: str = "email", address: str | None = None, **kw: Any) -> int:
    address = address or f"{key}@example.org"
    spec = SubscriberSpec(key=key, name=key, channel=channel, address=address, **kw)
    return Outbox(store.db).upsert_subscriber(spec, T0)


def suspend(store: Store, handle: str, now: datetime = T0) -> int:
    n = HANDLES.index(handle) + 1
    [tid] = observe(store, handle, seen(SUSPENDED, account_id=str(n)), now)
    return tid


def dispatcher(store: Store, clock: Clock, notifiers: list[FakeNotifier], pacer: TelegramPacer | None = None,
               **kw: Any) -> Dispatcher:
    return Dispatcher(store, Outbox(store.db), Renderer(), {n.channel: n for n in notifiers}, clock=clock,
                      pacer=pacer or fake_pacer(), **kw)


def outbox_rows(store: Store) -> list[dict[str, Any]]:
    return rows(store.db, "SELECT * FROM outbox ORDER BY id")


def notices(store: Store, kind: NoticeKind) -> list[dict[str, Any]]:
    return rows(store.db, "SELECT * FROM notices WHERE kind = ?", [str(kind)])


async def test_an_alert_is_delivered_once_and_marked_sent(store: Store, clock: Clock,
                                                          pacer_clock: FakeMonotonic) -> None:
    subscribe(store, "desk")
    suspend(store, "alice")
    email = FakeNotifier("email")
    delivered: list[tuple[OutboxItem, Message]] = []
    d = dispatcher(store, clock, [email], on_delivered=lambda item, msg: delivered.append((item, msg)))
    await d.drain()
    clock.advance(3600)
    await d.drain()
    assert [address for address, _ in email.sent] == ["desk@example.org"]
    message = email.sent[0][1]
    assert "@alice" in message.subject and "suspended" in message.subject
    [row] = outbox_rows(store)
    assert (row["status"], row["sent_at"], row["attempts"]) == ("sent", T0.isoformat(), 1)
    assert len(delivered) == 1 and delivered[0][1] == message
    assert email.closed >= 1  # the burst's connection is closed


async def test_a_temporary_error_is_retried_with_capped_exponential_backoff(store: Store, clock: Clock,
                                                                           pacer_clock: FakeMonotonic) -> None:
    subscribe(store, "desk")
    suspend(store, "alice")
    email = FakeNotifier("email")
    email.fail_next(*[NotifyError("connection reset") for _ in range(5)])
    d = dispatcher(store, clock, [email], retry=RetryPolicy(initial=5, maximum=30, give_up_after=86400))
    for expected_delay in (5, 10, 20, 30, 30):
        await d.drain()
        [row] = outbox_rows(store)
        due = clock.now + timedelta(seconds=expected_delay)
        assert (row["status"], row["next_attempt_at"], row["last_error"]) == (
            "pending", due.isoformat(), "connection reset")
        clock.advance(expected_delay - 1)
        attempts = len(email.attempts)
        await d.drain()
        assert len(email.attempts) == attempts  # not before it is due
        clock.advance(1)
    await d.drain()
    await d.drain()
    assert len(email.attempts) == 6 and len(email.sent) == 1
    assert outbox_rows(store)[0]["status"] == "sent"


async def test_retry_after_is_honoured_for_the_row_and_the_telegram_pacer(store: Store, clock: Clock,
                                                                          pacer_clock: FakeMonotonic) -> None:
    subscribe(store, "chat", channel="telegram", address="555")
    suspend(store, "alice")
    tg = FakeNotifier("telegram")
    tg.fail_next(RetryLater("Too Many Requests", after=42))
    d = dispatcher(store, clock, [tg])
    await d.drain()
    assert outbox_rows(store)[0]["next_attempt_at"] == (T0 + timedelta(seconds=42)).isoformat()
    clock.advance(42)
    slept = sum(pacer_clock.sleeps)
    await d.drain()
    assert len(tg.sent) == 1
    assert sum(pacer_clock.sleeps) - slept == pytest.approx(42, abs=1)  # the pacer held the bot too


@pytest.mark.parametrize("channel, address", [("email", "gone@example.org"), ("telegram", "777")])
async def test_a_permanent_error_disables_the_subscriber_holds_its_rows_and_tells_the_operators_once(
        store: Store, clock: Clock, pacer_clock: FakeMonotonic, channel: str, address: str) -> None:
    gone = subscribe(store, "gone", channel=channel, address=address)
    healthy = subscribe(store, "healthy")
    subscribe(store, "ops", address="ops@example.org", operator=True)
    for handle in HANDLES:
        suspend(store, handle)
    notifier = FakeNotifier(channel)
    notifier.always[address] = Permanent("bot was blocked by the user")
    email = notifier if channel == "email" else FakeNotifier("email")
    d = dispatcher(store, clock, [notifier, email] if channel != "email" else [email])
    await d.drain()
    await d.drain()
    sub = Outbox(store.db).subscriber(gone)
    assert sub is not None and not sub.enabled
    by_sub = {(r["subscriber_id"], r["status"]) for r in outbox_rows(store) if r["transition_id"]}
    assert by_sub == {(gone, "held"), (healthy, "sent")}
    assert len(notices(store, NoticeKind.SUBSCRIBER_DISABLED)) == 1
    to_ops = [m for a, m in email.sent if a == "ops@example.org"]
    assert len(to_ops) == 1 and "gone" in to_ops[0].subject
    assert len([a for a, _ in email.sent if a == "healthy@example.org"]) == 3


async def test_a_migrated_chat_gets_its_new_address_and_the_message_once(store: Store, clock: Clock,
                                                                         pacer_clock: FakeMonotonic) -> None:
    group = subscribe(store, "group", channel="telegram", address="-100")
    suspend(store, "alice")
    tg = FakeNotifier("telegram")
    tg.always["-100"] = Moved("group chat was upgraded to a supergroup chat", address="-1001")
    d = dispatcher(store, clock, [tg])
    await d.drain()
    await d.drain()
    assert tg.attempts == ["-100", "-1001"]
    assert [a for a, _ in tg.sent] == ["-1001"]
    sub = Outbox(store.db).subscriber(group)
    assert sub is not None and sub.address == "-1001" and sub.enabled
    assert outbox_rows(store)[0]["status"] == "sent"


async def test_a_message_that_keeps_failing_gives_up_and_tells_the_operators(store: Store, clock: Clock,
                                                                             pacer_clock: FakeMonotonic) -> None:
    subscribe(store, "desk")
    subscribe(store, "ops", address="ops@example.org", operator=True)
    suspend(store, "alice")
    email = FakeNotifier("email")
    email.always["desk@example.org"] = NotifyError("451 try later")
    d = dispatcher(store, clock, [email], retry=RetryPolicy(initial=5, maximum=30, give_up_after=60))
    await d.drain()
    assert outbox_rows(store)[0]["status"] == "pending"
    clock.advance(61)
    await d.drain()
    alert = outbox_rows(store)[0]
    assert (alert["status"], alert["last_error"]) == ("failed", "451 try later")
    [notice] = notices(store, NoticeKind.DELIVERY_FAILED)
    assert "desk" in notice["summary"]
    assert [a for a, _ in email.sent] == ["ops@example.org"]
    clock.advance(3600)
    await d.drain()
    assert email.attempts.count("desk@example.org") == 2


async def test_an_unexpected_exception_is_retried_not_lost(store: Store, clock: Clock,
                                                           pacer_clock: FakeMonotonic) -> None:
    subscribe(store, "desk")
    suspend(store, "alice")

    class Broken(FakeNotifier):
        calls = 0

        async def send(self, address: str, message: Message) -> None:
            Broken.calls += 1
            if Broken.calls == 1:
                raise KeyError("bug")
            await super().send(address, message)

    email = Broken("email")
    d = dispatcher(store, clock, [email], retry=RetryPolicy(initial=5))
    await d.drain()
    assert outbox_rows(store)[0]["status"] == "pending" and email.sent == []
    clock.advance(5)
    await d.drain()
    assert len(email.sent) == 1


async def test_after_a_crash_only_the_in_flight_messages_are_sent_again(tmp_path: Path, clock: Clock,
                                                                        pacer_clock: FakeMonotonic) -> None:
    path = tmp_path / "pw.db"
    first_db = open_db(path)
    first = Store(first_db, Outbox(first_db))
    first.sync_watchlist([(h, ()) for h in HANDLES], T0)
    for n, handle in enumerate(HANDLES):
        observe(first, handle, seen(account_id=str(n + 1), handle=handle), T0)
    subscribe(first, "desk")
    tids = [suspend(first, handle) for handle in HANDLES]
    outbox = Outbox(first.db)
    delivered, in_flight = outbox.claim_due(T0, 2)
    outbox.mark_sent(delivered.id, T0)  # went out before the crash; in_flight was being sent
    first.db.close()

    db = open_db(path)
    store = Store(db, Outbox(db))
    email = FakeNotifier("email")
    stop = asyncio.Event()
    d = dispatcher(store, clock, [email], on_delivered=lambda item, msg: stop.set() if len(email.sent) == 2 else None)
    await asyncio.wait_for(d.run(stop), timeout=10)
    subjects = [m.subject for _, m in email.sent]
    assert len(subjects) == 2
    assert [t.id for t in store.transitions(ids=[tids[1]])] == [in_flight.transition_id]
    assert "@bob" in subjects[0] and "@carol" in subjects[1]
    assert Outbox(store.db).depth() == {"sent": 3}
    store.db.close()


async def test_a_row_left_in_flight_is_not_resent_without_recovery(store: Store, clock: Clock,
                                                                   pacer_clock: FakeMonotonic) -> None:
    subscribe(store, "desk")
    suspend(store, "alice")
    Outbox(store.db).claim_due(T0, 1)
    email = FakeNotifier("email")
    d = dispatcher(store, clock, [email])
    await d.drain()
    assert email.attempts == []
    assert Outbox(store.db).recover_in_flight() == 1
    await d.drain()
    assert len(email.sent) == 1


async def test_an_operator_notice_is_rendered_and_delivered(store: Store, clock: Clock,
                                                            pacer_clock: FakeMonotonic) -> None:
    subscribe(store, "ops", address="ops@example.org", operator=True)
    Outbox(store.db).notify_operators(NoticeKind.X_AUTH, "X refuses our token", "HTTP 401", T0, condition="x_auth")
    email = FakeNotifier("email")
    await dispatcher(store, clock, [email]).drain()
    [(address, message)] = email.sent
    assert address == "ops@example.org" and "X refuses our token" in message.subject


def most_in_any_window(times: list[float], per: float) -> int:
    return max(sum(1 for u in times if t <= u < t + per) for t in times)


async def paced(vt: VirtualTime, pacer: TelegramPacer, chats: list[str]) -> dict[str, list[float]]:
    """Acquire for every chat in the list at once; when each was let through, by chat."""
    through: dict[str, list[float]] = {}

    async def one(chat: str) -> None:
        await pacer.acquire(chat)
        through.setdefault(chat, []).append(vt.now)

    await vt.run([one(chat) for chat in chats])
    return through


async def test_telegram_pacer_keeps_under_the_overall_limit() -> None:
    vt = VirtualTime()
    pacer = TelegramPacer(monotonic=vt.monotonic, sleep=vt.sleep)
    through = await paced(vt, pacer, [str(1000 + n) for n in range(100)])
    times = sorted(t for ts in through.values() for t in ts)
    assert len(times) == 100 and most_in_any_window(times, 1.0) <= 30


async def test_telegram_pacer_keeps_one_message_a_second_per_chat() -> None:
    vt = VirtualTime()
    through = await paced(vt, TelegramPacer(monotonic=vt.monotonic, sleep=vt.sleep), ["42"] * 5 + ["43"] * 5)
    for times in through.values():
        assert len(times) == 5 and all(b - a >= 1.0 for a, b in itertools.pairwise(times))


async def test_telegram_pacer_keeps_twenty_a_minute_per_group() -> None:
    vt = VirtualTime()
    through = await paced(vt, TelegramPacer(monotonic=vt.monotonic, sleep=vt.sleep), ["-100123"] * 45)
    times = through["-100123"]
    assert len(times) == 45 and most_in_any_window(times, 60.0) <= 20


async def test_telegram_pacer_keeps_per_chat_spacing_when_the_overall_limit_is_saturated(
) -> None:
    vt = VirtualTime()
    fillers = [str(1000 + n) for n in range(30)]  # use up the first second's overall budget
    busy = [str(2000 + n) for n in range(10)]  # two messages each, the first kept waiting by the overall limit
    through = await paced(vt, TelegramPacer(monotonic=vt.monotonic, sleep=vt.sleep), fillers + busy + busy)
    all_times = sorted(t for ts in through.values() for t in ts)
    assert most_in_any_window(all_times, 1.0) <= 30
    for times in through.values():
        assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))


@pytest.mark.parametrize("chat, per, transit", [("42", 1.0, 0.4), ("-100123", 60.0, 5.0)])
async def test_a_slow_send_spaces_the_next_message_to_its_chat_from_the_answer(chat: str, per: float,
                                                                                transit: float) -> None:
    """Telegram counts on arrival, anywhere between our send and its answer: the chat's next slot waits
    a full window after the answer, so a first request held up in transit cannot land too close to the next."""
    vt = VirtualTime()
    pacer = TelegramPacer(group_per_minute=1, monotonic=vt.monotonic, sleep=vt.sleep)
    answered: list[float] = []
    sent: list[float] = []

    async def two_sends() -> None:
        async with pacer.slot(chat):
            await vt.sleep(transit)  # the request is held up on its way
            answered.append(vt.now)
        async with pacer.slot(chat):
            sent.append(vt.now)

    await vt.run([two_sends()])
    assert sent[0] - answered[0] >= per
    other = await paced(vt, pacer, ["7"])  # other chats wait only the overall spacing, 1/30 s
    assert other["7"][0] - sent[0] < 0.1


async def test_a_burst_to_one_telegram_chat_goes_out_as_digests_each_change_once(
        store: Store, clock: Clock, pacer_clock: FakeMonotonic) -> None:
    subscribe(store, "group", channel="telegram", address="-100777", events=("restricted", "restored", "other"))
    handles = [f"burst_{n}" for n in range(45)]
    store.sync_watchlist([(h, []) for h in [*HANDLES, *handles]], T0)
    for n, handle in enumerate(handles):  # baseline, then withheld in IN: the February 2021 shape
        observe(store, handle, seen(account_id=str(900 + n), handle=handle), T0)
    for n, handle in enumerate(handles):
        observe(store, handle, seen(account_id=str(900 + n), handle=handle, withheld=["IN"]), T0)
    telegram = FakeNotifier("telegram")
    await dispatcher(store, clock, [telegram]).drain()
    assert len(telegram.sent) == 2, "45 changes in two digests, not 45 messages at 20 a minute"
    texts = [message.telegram_html for _, message in telegram.sent]
    assert all("changes at once" in text and len(text) < 4096 for text in texts)
    mentioned = [h for text in texts for h in handles if f"@{h}</b>" in text]
    assert sorted(mentioned) == sorted(handles), "every change in exactly one message"
    assert {row["status"] for row in outbox_rows(store)} == {"sent"}
