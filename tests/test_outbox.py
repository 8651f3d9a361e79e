"""bot.outbox: subscribers, operator notices and the durable outbox."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.i18n import language
from bot.models import NoticeKind
from bot.said import N_, Said
from bot.storage.accounts import Store
from bot.storage.outbox import Outbox, SubscriberSpec
from tests.helpers_core import SUSPENDED, T0, observe, rows, seen

LATER = T0 + timedelta(minutes=5)


@pytest.fixture
def outbox(store: Store) -> Outbox:
    return Outbox(store.db)


def spec(key: str, **kwargs: Any) -> SubscriberSpec:
    values: dict[str, Any] = {"name": key, "channel": "email", "address": f"{key}@example.org"} | kwargs
    return SubscriberSpec(key=key, **values)


def statuses(store: Store) -> list[tuple[int, str]]:
    return [(r["subscriber_id"], r["status"]) for r in rows(
        store.db, "SELECT subscriber_id, status FROM outbox ORDER BY id")]


def transition(store: Store, handle: str = "alice") -> int:
    """Record one suspension of a fresh account; returns its transition id (fanned out as recorded)."""
    store.sync_watchlist([(w.account.handle, w.account.tags) for w in store.watched()] + [(handle, ())], T0)
    ident = str(100 + len(rows(store.db, "SELECT pk FROM accounts")))
    observe(store, handle, seen(account_id=ident, handle=handle), T0)
    [tid] = observe(store, handle, seen(SUSPENDED, account_id=ident), T0)
    return tid


def test_upsert_creates_then_updates_by_key(outbox: Outbox) -> None:
    sid = outbox.upsert_subscriber(spec("desk", countries=("TR",)), T0)
    assert outbox.upsert_subscriber(spec("desk", name="Press desk", countries=("IN", "TR")), LATER) == sid
    [sub] = outbox.subscribers()
    assert (sub.id, sub.name, sub.countries) == (sid, "Press desk", frozenset({"IN", "TR"}))


def test_sync_config_disables_subscribers_removed_from_the_config(store: Store, outbox: Outbox) -> None:
    outbox.sync_config([spec("a"), spec("b"), spec("ops", operator=True)], T0)
    chat = outbox.upsert_subscriber(spec("chat", channel="telegram", address="5", source="telegram"), T0)
    outbox.sync_config([spec("a")], LATER)
    assert [s.name for s in outbox.subscribers()] == ["a", "chat"]
    assert outbox.subscriber(chat) is not None
    reasons = {r["key"]: r["disabled_reason"] for r in rows(store.db, "SELECT key, disabled_reason FROM subscribers")}
    assert reasons == {"a": None, "b": "removed from the config", "ops": "removed from the config", "chat": None}


def test_emptying_the_config_disables_every_config_subscriber(outbox: Outbox) -> None:
    outbox.sync_config([spec("a"), spec("ops", operator=True)], T0)
    outbox.sync_config([], LATER)
    assert outbox.subscribers() == []


def test_a_subscriber_put_back_into_the_config_is_enabled_again(outbox: Outbox) -> None:
    outbox.sync_config([spec("a"), spec("b")], T0)
    outbox.sync_config([spec("a")], LATER)
    outbox.sync_config([spec("a"), spec("b")], LATER)
    assert [s.name for s in outbox.subscribers()] == ["a", "b"]


def test_a_subscriber_disabled_for_a_permanent_error_stays_disabled_on_the_same_address(outbox: Outbox) -> None:
    sid = outbox.upsert_subscriber(spec("a"), T0)
    outbox.disable(sid, "mailbox refused")
    outbox.sync_config([spec("a")], LATER)
    sub = outbox.subscriber(sid)
    assert sub is not None and not sub.enabled


def test_a_changed_address_re_enables_and_releases_held_messages(store: Store, outbox: Outbox) -> None:
    sid = outbox.upsert_subscriber(spec("a"), T0)
    transition(store)
    assert outbox.disable(sid, "mailbox refused")
    assert statuses(store) == [(sid, "held")]
    outbox.sync_config([spec("a", address="new@example.org")], LATER)
    sub = outbox.subscriber(sid)
    assert sub is not None and sub.enabled and sub.address == "new@example.org"
    assert statuses(store) == [(sid, "pending")]


def test_fan_out_is_idempotent(store: Store, outbox: Outbox) -> None:
    a = outbox.upsert_subscriber(spec("a"), T0)
    outbox.upsert_subscriber(spec("ops", operator=True), T0)
    tid = transition(store)  # record() fans out once already
    b = outbox.upsert_subscriber(spec("b"), T0)
    assert outbox.fan_out([tid], LATER) == 2
    assert outbox.fan_out([tid], LATER) == 2
    assert sorted(statuses(store)) == [(a, "pending"), (b, "pending")]


def test_fan_out_skips_disabled_subscribers(store: Store, outbox: Outbox) -> None:
    a = outbox.upsert_subscriber(spec("a"), T0)
    b = outbox.upsert_subscriber(spec("b"), T0)
    outbox.disable(b, "gone")
    transition(store)
    assert statuses(store) == [(a, "pending")]


def test_a_condition_is_notified_once_until_resolved(store: Store, outbox: Outbox) -> None:
    ops = [outbox.upsert_subscriber(spec(f"op{i}", operator=True), T0) for i in (1, 2)]
    outbox.upsert_subscriber(spec("desk"), T0)
    first = outbox.notify_operators(NoticeKind.STALE, "stale", "no poll", T0, condition="stale")
    assert first is not None
    assert outbox.notify_operators(NoticeKind.STALE, "stale", "still", LATER, condition="stale") is None
    assert outbox.open_conditions() == ["stale"]
    found = rows(store.db, "SELECT notice_id, subscriber_id FROM outbox ORDER BY id")
    assert [(r["notice_id"], r["subscriber_id"]) for r in found] == [(first, ops[0]), (first, ops[1])]
    notice = outbox.notice(first)
    assert notice is not None and (notice.kind, notice.summary, notice.at) == (NoticeKind.STALE, "stale", T0)

    recovered = outbox.resolve("stale", "polling again", LATER)
    assert recovered is not None and recovered != first
    notice = outbox.notice(recovered)
    assert notice is not None and (notice.kind, notice.summary) == (NoticeKind.RECOVERED, "polling again")
    assert outbox.open_conditions() == []
    assert len(rows(store.db, "SELECT id FROM outbox WHERE notice_id = ?", [recovered])) == 2
    assert outbox.resolve("stale", "again", LATER) is None
    assert outbox.notify_operators(NoticeKind.STALE, "stale", "", LATER, condition="stale") is not None


def test_notices_without_a_condition_are_always_raised(outbox: Outbox) -> None:
    outbox.upsert_subscriber(spec("ops", operator=True), T0)
    ids = [outbox.notify_operators(NoticeKind.DELIVERY_FAILED, "x", "", T0) for _ in range(2)]
    assert None not in ids and len(set(ids)) == 2
    assert outbox.depth() == {"pending": 2}


def test_claim_due_marks_rows_sending_and_never_returns_one_twice(store: Store, outbox: Outbox) -> None:
    a = outbox.upsert_subscriber(spec("a"), T0)
    outbox.upsert_subscriber(spec("t", channel="telegram", address="7"), T0)
    tids = [transition(store, h) for h in ("alice", "bob", "carol")]
    first = outbox.claim_due(T0, 2, "email")
    assert [(i.transition_id, i.subscriber.id, i.attempts) for i in first] == [(tids[0], a, 1), (tids[1], a, 1)]
    second = outbox.claim_due(T0, 10, "email")
    assert [i.transition_id for i in second] == [tids[2]]
    assert outbox.claim_due(T0, 10, "email") == []
    assert outbox.depth() == {"sending": 3, "pending": 3}
    assert len(outbox.claim_due(T0, 10)) == 3  # no channel: any channel
    assert outbox.depth() == {"sending": 6}


def test_claim_due_skips_rows_not_yet_due(store: Store, outbox: Outbox) -> None:
    outbox.upsert_subscriber(spec("a"), T0)
    transition(store)
    [item] = outbox.claim_due(T0, 1)
    outbox.mark_retry(item.id, T0 + timedelta(seconds=30), "timeout")
    assert outbox.claim_due(T0 + timedelta(seconds=29), 1) == []
    [again] = outbox.claim_due(T0 + timedelta(seconds=30), 1)
    assert (again.id, again.attempts) == (item.id, 2)
    assert rows(store.db, "SELECT last_error FROM outbox")[0]["last_error"] == "timeout"


def test_recover_in_flight_puts_sending_rows_back_to_pending(store: Store, outbox: Outbox) -> None:
    outbox.upsert_subscriber(spec("a"), T0)
    for handle in ("alice", "bob", "carol"):
        transition(store, handle)
    sent, in_flight = outbox.claim_due(T0, 2)
    outbox.mark_sent(sent.id, T0)
    assert outbox.recover_in_flight() == 1
    assert outbox.depth() == {"sent": 1, "pending": 2}
    assert {i.id for i in outbox.claim_due(T0, 10)} == {in_flight.id, in_flight.id + 1}


def test_disable_holds_queued_rows_and_enable_releases_them(store: Store, outbox: Outbox) -> None:
    a = outbox.upsert_subscriber(spec("a"), T0)
    b = outbox.upsert_subscriber(spec("b"), T0)
    transition(store, "alice")
    transition(store, "bob")
    outbox.claim_due(T0, 1)  # a's first row is in flight
    assert outbox.disable(a, "blocked") is True
    assert outbox.disable(a, "blocked") is False
    assert sorted(statuses(store)) == [(a, "held"), (a, "held"), (b, "pending"), (b, "pending")]
    assert {i.subscriber.id for i in outbox.claim_due(T0, 10)} == {b}
    outbox.enable(a)
    assert [i.subscriber.id for i in outbox.claim_due(T0, 10)] == [a, a]


def test_next_due_is_the_earliest_pending_row_of_an_enabled_subscriber(store: Store, outbox: Outbox) -> None:
    assert outbox.next_due() is None
    a = outbox.upsert_subscriber(spec("a"), T0)
    b = outbox.upsert_subscriber(spec("b"), T0)
    transition(store)
    items = {i.subscriber.id: i for i in outbox.claim_due(T0, 10)}
    outbox.mark_retry(items[a].id, T0 + timedelta(seconds=10), "x")
    outbox.mark_retry(items[b].id, T0 + timedelta(seconds=20), "x")
    assert outbox.next_due() == T0 + timedelta(seconds=10)
    outbox.disable(a, "gone")
    assert outbox.next_due() == T0 + timedelta(seconds=20)
    outbox.mark_failed(items[b].id, "gave up")
    assert outbox.next_due() is None


def test_depth_counts_rows_by_status(store: Store, outbox: Outbox) -> None:
    assert outbox.depth() == {}
    outbox.upsert_subscriber(spec("a"), T0)
    for handle in ("alice", "bob", "carol", "dave"):
        transition(store, handle)
    one, two, _three = outbox.claim_due(T0, 3)
    outbox.mark_sent(one.id, T0)
    outbox.mark_failed(two.id, "no")
    assert outbox.depth() == {"sent": 1, "failed": 1, "sending": 1, "pending": 1}


def test_move_address_changes_where_the_next_claim_goes(store: Store, outbox: Outbox) -> None:
    sid = outbox.upsert_subscriber(spec("g", channel="telegram", address="-100"), T0)
    transition(store)
    [item] = outbox.claim_due(T0, 1)
    outbox.move_address(sid, "-1001")
    outbox.mark_retry(item.id, T0, "migrated")
    [again] = outbox.claim_due(T0, 1)
    assert again.subscriber.address == "-1001"


def test_a_notice_keeps_its_words_to_be_said_in_the_default_language(store: Store, outbox: Outbox) -> None:
    outbox.upsert_subscriber(spec("ops", operator=True), T0)
    summary = Said(N_("Subscriber {name} was disabled"), name="Desk {1}")
    first = outbox.notify_operators(NoticeKind.SUBSCRIBER_DISABLED, summary, "plain words", T0, condition="c")
    [row] = rows(store.db, "SELECT summary FROM notices WHERE id = ?", [first])
    assert row["summary"] == "Subscriber Desk {1} was disabled"  # the English text, for history and logs
    notice = outbox.notice(first or 0)
    assert notice is not None and isinstance(notice.summary, Said) and notice.summary.values == {"name": "Desk {1}"}
    assert not isinstance(notice.detail, Said) and notice.detail == "plain words"
    cleared = outbox.notice(outbox.resolve("c", Said(N_("Messages reach {name} again"), name="Desk"), LATER) or 0)
    assert cleared is not None and isinstance(cleared.detail, Said)
    assert language("tr").say(cleared.detail).startswith("Giderildi: Desk {1} abonesi devre dışı bırakıldı")
