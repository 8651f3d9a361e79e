"""bot.store and bot.migrations: schema, watchlist sync, recording transitions with evidence and outbox rows."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from bot.detect import detect
from bot.models import EventKind, Observation
from bot.storage.accounts import Outcome, Store, open_db
from bot.storage.migrations import migrations
from bot.storage.outbox import Outbox, SubscriberSpec
from tests.helpers_core import NOT_FOUND, SUSPENDED, T0, observe, rows, seen

K = EventKind
LATER = T0 + timedelta(hours=1)


def watch(store: Store, *handles: str, tags: tuple[str, ...] = ()) -> None:
    store.sync_watchlist([(h, tags) for h in handles], T0)


def count(store: Store, table: str) -> int:
    return int(rows(store.db, f"SELECT count(*) AS n FROM {table}")[0]["n"])


@pytest.mark.parametrize("on_disk", [True, False], ids=["file", "memory"])
def test_open_db_creates_the_schema(tmp_path: Path, on_disk: bool) -> None:
    db = open_db(tmp_path / "pw.db" if on_disk else None)
    assert {"accounts", "transitions", "polls", "subscribers", "notices", "outbox"} <= set(db.table_names())
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    if on_disk:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_reopening_applies_no_migration_twice_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "pw.db"
    db = open_db(path)
    Store(db, Outbox(db)).sync_watchlist([("alice", ["journalist"])], T0)
    applied = migrations.applied(db)
    db.close()
    reopened = open_db(path)
    assert applied[:2] and [m.name for m in applied[:2]] == ["m001_initial", "m002_delivery"]
    assert migrations.applied(reopened) == applied  # same names, same applied_at: nothing ran again
    assert migrations.pending(reopened) == []
    assert [w.account.handle for w in Store(reopened, Outbox(reopened)).watched()] == ["alice"]
    reopened.close()
    assert Path(path).exists() and open_db(path).execute("SELECT count(*) FROM accounts").fetchone()[0] == 1


def test_sync_watchlist_adds_keeps_and_drops(store: Store) -> None:
    assert store.sync_watchlist([("alice", ["a"]), ("bob", ["b"])], T0) == (2, 0)
    alice_pk = store.find_account("alice")
    assert alice_pk is not None
    assert store.sync_watchlist([("ALICE", ["a", "journalist"]), ("carol", [])], LATER) == (1, 1)
    assert [w.account.handle for w in store.watched()] == ["alice", "carol"]
    alice = store.find_account("alice")
    assert alice is not None and alice.pk == alice_pk.pk and alice.tags == ("a", "journalist")
    bob = store.find_account("bob", include_unwatched=True)
    assert bob is not None and store.find_account("bob") is None


def test_a_dropped_account_keeps_its_history_and_is_rewatched_when_re_added(store: Store) -> None:
    watch(store, "alice", "bob")
    observe(store, "bob", seen(account_id="7", handle="bob"), T0)
    observe(store, "bob", seen(SUSPENDED, account_id="7"), LATER)
    assert store.sync_watchlist([("alice", [])], LATER) == (0, 1)
    assert [t.kind for t in store.transitions(handle="bob")] == [K.SUSPENDED]
    assert store.sync_watchlist([("alice", []), ("bob", [])], LATER) == (1, 0)
    bob = store.find_watched("bob")
    assert bob is not None and bob.account.account_id == "7"
    assert bob.state is not None and bob.state.availability == SUSPENDED
    assert count(store, "accounts") == 2


def test_listing_a_renamed_account_under_its_new_handle_keeps_the_same_account(store: Store) -> None:
    watch(store, "alice")
    observe(store, "alice", seen(account_id="42", handle="alice"), T0)
    observe(store, "alice", seen(account_id="42", handle="alice_new"), LATER)
    pk = store.find_account("alice_new")
    assert pk is not None
    assert store.sync_watchlist([("alice_new", [])], LATER) == (0, 0)
    assert [w.account.pk for w in store.watched()] == [pk.pk]


def test_a_baseline_is_stored_without_a_transition(store: Store) -> None:
    watch(store, "alice")
    assert observe(store, "alice", seen(withheld=["TR"]), T0) == []
    watched = store.find_watched("alice")
    assert watched is not None and watched.state is not None
    assert watched.state.withheld_in == frozenset({"TR"}) and watched.state_since == T0
    assert watched.account.account_id == "42"
    assert count(store, "transitions") == 0


def test_a_transition_keeps_its_raw_evidence_and_its_sha256(store: Store) -> None:
    watch(store, "alice")
    observe(store, "alice", seen(), T0)
    observation = seen(withheld=["IN"])
    [tid] = observe(store, "alice", observation, LATER)
    [t] = store.transitions(ids=[tid])
    assert store.evidence(tid) == observation.evidence()
    assert t.evidence_sha256 == hashlib.sha256(observation.evidence().encode()).hexdigest()
    assert (t.kind, t.countries, t.withheld_in, t.handle) == (K.WITHHELD, ("IN",), ("IN",), "alice")


def test_first_seen_is_when_the_candidate_appeared_and_confirmed_is_now(store: Store) -> None:
    watch(store, "alice")
    observe(store, "alice", seen(), T0, confirmations=2)
    first = T0 + timedelta(minutes=10)
    assert observe(store, "alice", seen(SUSPENDED), first, confirmations=2) == []
    watched = store.find_watched("alice")
    assert watched is not None and watched.pending is not None and watched.pending.count == 1
    confirmed = T0 + timedelta(minutes=20)
    [tid] = observe(store, "alice", seen(SUSPENDED), confirmed, confirmations=2)
    [t] = store.transitions(ids=[tid])
    assert (t.first_seen_at, t.confirmed_at) == (first, confirmed)
    watched = store.find_watched("alice")
    assert watched is not None and watched.pending is None and watched.state_since == confirmed


def test_a_replaced_candidate_dates_from_the_replacement(store: Store) -> None:
    watch(store, "alice")
    observe(store, "alice", seen(), T0, confirmations=2)
    observe(store, "alice", seen(SUSPENDED), T0 + timedelta(minutes=10), confirmations=2)
    replaced = T0 + timedelta(minutes=20)
    observe(store, "alice", seen(NOT_FOUND), replaced, confirmations=2)
    [tid] = observe(store, "alice", seen(NOT_FOUND), T0 + timedelta(minutes=30), confirmations=2)
    [t] = store.transitions(ids=[tid])
    assert (t.kind, t.first_seen_at) == (K.DEACTIVATED, replaced)


def test_a_flicker_clears_the_stored_candidate(store: Store) -> None:
    watch(store, "alice")
    observe(store, "alice", seen(), T0, confirmations=2)
    observe(store, "alice", seen(SUSPENDED), T0 + timedelta(minutes=10), confirmations=2)
    observe(store, "alice", seen(), T0 + timedelta(minutes=20), confirmations=2)
    watched = store.find_watched("alice")
    assert watched is not None and watched.pending is None
    assert rows(store.db, "SELECT pending_first_seen FROM accounts")[0]["pending_first_seen"] is None


def test_a_display_name_change_updates_the_state_but_not_its_since(store: Store) -> None:
    watch(store, "alice")
    observe(store, "alice", seen(), T0)
    assert observe(store, "alice", seen(name="Alice Reporter"), LATER) == []
    watched = store.find_watched("alice")
    assert watched is not None and watched.state is not None
    assert watched.state.name == "Alice Reporter" and watched.state_since == T0


def test_a_restoring_event_knows_since_when_the_restriction_lasted(store: Store) -> None:
    watch(store, "alice")
    observe(store, "alice", seen(), T0)
    t_tr_in = T0 + timedelta(hours=1)
    t_ru = T0 + timedelta(hours=2)
    t_lift = T0 + timedelta(hours=5)
    observe(store, "alice", seen(withheld=["TR", "IN"]), t_tr_in)
    observe(store, "alice", seen(withheld=["TR", "IN", "RU"]), t_ru)
    [lift_in] = observe(store, "alice", seen(withheld=["TR", "RU"]), t_lift)
    [lift_ru] = observe(store, "alice", seen(withheld=["TR"]), t_lift + timedelta(hours=1))
    assert store.transitions(ids=[lift_in])[0].previous_since == t_tr_in
    assert store.transitions(ids=[lift_ru])[0].previous_since == t_ru


def test_unsuspended_finds_the_suspension_and_an_unseen_restriction_has_no_since(store: Store) -> None:
    watch(store, "alice")
    observe(store, "alice", seen(withheld=["TR"]), T0)  # already withheld at baseline: presswatch never saw it
    suspended_at = T0 + timedelta(hours=1)
    observe(store, "alice", seen(SUSPENDED), suspended_at)
    ids = observe(store, "alice", seen(withheld=["TR"]), T0 + timedelta(hours=3))
    [unsuspended] = store.transitions(ids=ids)
    assert (unsuspended.kind, unsuspended.previous_since) == (K.UNSUSPENDED, suspended_at)
    [lifted] = store.transitions(ids=observe(store, "alice", seen(withheld=[]), T0 + timedelta(hours=4)))
    assert (lifted.kind, lifted.previous_since) == (K.UNWITHHELD, None)


def test_several_events_in_one_change_are_separate_transitions(store: Store) -> None:
    watch(store, "alice")
    observe(store, "alice", seen(), T0)
    ids = observe(store, "alice", seen(handle="alice2", withheld=["IN"], protected=True), LATER)
    assert [t.kind for t in store.transitions(ids=ids)] == [K.PROTECTED, K.WITHHELD, K.RENAMED]
    assert all(t.handle == "alice2" and t.previous_handle == "alice" for t in store.transitions(ids=ids))


def subscribe(store: Store, key: str, **kwargs: object) -> int:
    spec = SubscriberSpec(key=key, name=key, channel="email", address=f"{key}@example.org", **kwargs)  # type: ignore[arg-type]
    return Outbox(store.db).upsert_subscriber(spec, T0)


def test_record_queues_one_outbox_row_per_matching_subscriber(store: Store) -> None:
    watch(store, "alice", tags=("journalist",))
    everyone = subscribe(store, "everyone")
    india = subscribe(store, "india", countries=("IN",))
    subscribe(store, "turkey", countries=("TR",))
    subscribe(store, "outlets", tags=("outlet",))
    subscribe(store, "ops", operator=True)
    observe(store, "alice", seen(), T0)
    [tid] = observe(store, "alice", seen(withheld=["IN"]), LATER)
    found = rows(store.db, "SELECT transition_id, subscriber_id, status, next_attempt_at FROM outbox"
                 " ORDER BY subscriber_id")
    assert [(r["transition_id"], r["subscriber_id"], r["status"]) for r in found] == [
        (tid, everyone, "pending"), (tid, india, "pending")]
    assert found[0]["next_attempt_at"] == LATER.isoformat()


def test_a_failure_inside_record_leaves_no_transition_and_no_outbox_row(store: Store) -> None:
    watch(store, "alice", "bob")
    subscribe(store, "everyone")
    observe(store, "alice", seen(account_id="1", handle="alice"), T0)
    alice = store.find_watched("alice")
    bob = store.find_watched("bob")
    assert alice is not None and alice.state is not None and bob is not None
    suspended = seen(SUSPENDED, account_id="1")
    good = Outcome(alice, suspended, detect(alice.state, suspended, None, 1))
    clash = seen(account_id="1", handle="bob")  # bob's row cannot take the id alice already has
    bad = Outcome(bob, clash, detect(None, clash, None, 1))
    with pytest.raises(sqlite3.IntegrityError):
        store.record([good, bad], LATER)
    assert (count(store, "transitions"), count(store, "outbox")) == (0, 0)
    after = store.find_watched("alice")
    assert after is not None and after.state == alice.state


def test_a_batch_is_recorded_wholly_or_not_at_all(store: Store) -> None:
    """The disk fills up on the batch's second account (its evidence is large): nothing of the first stays."""
    watch(store, "alice", "bob")
    subscribe(store, "everyone")
    observe(store, "alice", seen(account_id="1", handle="alice"), T0)
    observe(store, "bob", seen(account_id="2", handle="bob"), T0)
    huge = json.dumps({"value": "2", "title": "suspended", "detail": "x" * 400_000})
    outcomes = []
    for handle, obs in (("alice", seen(SUSPENDED, account_id="1")),
                        ("bob", Observation("x", "2", "2", SUSPENDED, huge))):
        watched = store.find_watched(handle)
        assert watched is not None
        outcomes.append(Outcome(watched, obs, detect(watched.state, obs, None, 1)))
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages + 16}")  # room for alice's rows, not for bob's evidence
    with pytest.raises(sqlite3.OperationalError, match="full"):
        store.record(outcomes, LATER)
    assert (count(store, "transitions"), count(store, "outbox")) == (0, 0)
    assert {w.state.availability for w in store.watched() if w.state} == {"active"}
    assert len(store.record(outcomes[:1], LATER)) == 1  # alice alone fits: the batch failed on bob, mid-way
    store.db.execute("PRAGMA max_page_count = 1000000")  # space freed
    assert len(store.record(outcomes[1:], LATER)) == 1 and count(store, "outbox") == 2


def test_transitions_by_handle_find_current_and_old_handles_newest_first(store: Store) -> None:
    watch(store, "alice", "bob")
    observe(store, "alice", seen(account_id="1", handle="alice"), T0)
    observe(store, "bob", seen(account_id="2", handle="bob"), T0)
    [renamed] = observe(store, "alice", seen(account_id="1", handle="alice2"), T0 + timedelta(hours=1))
    [suspended] = observe(store, "alice", seen(SUSPENDED, account_id="1"), T0 + timedelta(hours=2))
    observe(store, "bob", seen(SUSPENDED, account_id="2"), T0 + timedelta(hours=3))
    for handle in ("alice", "ALICE2", "alice2"):
        assert [t.id for t in store.transitions(handle=handle)] == [suspended, renamed]
    assert [t.kind for t in store.transitions(handle="bob")] == [K.SUSPENDED]
    assert len(store.transitions()) == 3 and len(store.transitions(limit=1)) == 1


def test_polls_are_recorded_and_the_last_successful_one_is_found(store: Store) -> None:
    first = store.start_poll(T0)
    store.finish_poll(first, T0, requests=1, ok=3, failed=0, error=None, rate_remaining=299, rate_reset_at=None)
    second = store.start_poll(LATER)
    store.finish_poll(second, LATER, requests=1, ok=0, failed=3, error="boom", rate_remaining=None,
                      rate_reset_at=None)
    last, good = store.last_poll(), store.last_poll(successful=True)
    assert last is not None and (last.id, last.finished_at, last.error) == (second, LATER, "boom")
    assert good is not None and (good.id, good.accounts_ok, good.rate_remaining) == (first, 3, 299)



def test_the_first_poll_is_when_polling_began_and_none_before(store: Store) -> None:
    assert store.first_poll_at() is None and store.last_poll() is None
    first = store.start_poll(T0)
    store.start_poll(LATER)
    assert store.first_poll_at() == T0
    running = store.last_poll()
    assert running is not None and running.id != first and running.finished_at is None
    assert running.started_at == LATER and running.rate_reset_at is None


def test_owned_handles_are_the_watched_accounts_a_user_owns_alphabetically(store: Store) -> None:
    watch(store, "zed", "Alice", "bob", "carol")
    for handle, owner in (("zed", 7), ("Alice", 7), ("bob", 7), ("carol", 8)):
        account = store.find_account(handle)
        assert account is not None
        store.set_owner(account.pk, owner)
    bob = store.find_account("bob")
    assert bob is not None
    store.unwatch(bob.pk)
    assert store.owned_handles(7) == ["Alice", "zed"]
    assert store.owned_handles(8) == ["carol"] and store.owned_handles(9) == []


def test_account_ids_are_found_by_listed_or_current_handle(store: Store) -> None:
    watch(store, "alice", "bob", "carol")
    observe(store, "alice", seen(account_id="1", handle="alice_new"), T0)
    observe(store, "bob", seen(account_id="2", handle="bob"), T0)
    assert store.account_ids(["ALICE", "alice_new", "bob", "carol", "nobody"]) == {
        "alice": "1", "alice_new": "1", "bob": "2"}


def test_add_account_watches_a_new_handle_and_rewatches_a_dropped_one_keeping_its_owner(store: Store) -> None:
    added = store.add_account("Alice", ["b", "a", "a"], "telegram", 7, T0)
    assert (added.handle, added.tags, added.source, added.owner_telegram_id) == ("Alice", ("a", "b"), "telegram", 7)
    store.unwatch(added.pk)
    assert store.find_account("alice") is None
    store.set_owner(added.pk, 8)
    again = store.add_account("ALICE", ["c"], "telegram", None, LATER)
    assert (again.pk, again.tags, again.owner_telegram_id) == (added.pk, ("a", "b", "c"), 8)
    assert [w.account.pk for w in store.watched()] == [added.pk]
    assert store.add_account("alice", [], "config", 9, LATER).owner_telegram_id == 9
