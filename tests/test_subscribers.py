"""bot.storage.subscribers: the named queries of the subscribers table, on a real in-memory SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.storage.accounts import Store, open_db
from bot.storage.outbox import Outbox, SubscriberSpec
from bot.storage.rows import DisabledSubscriber, OwnerRoute
from tests.helpers_core import T0


@pytest.fixture
def outbox() -> Iterator[Outbox]:
    db = open_db(None)
    yield Outbox(db)
    db.close()


def add(outbox: Outbox, key: str, address: str = "-1001", channel: str = "telegram", **kw: Any) -> int:
    return outbox.upsert_subscriber(SubscriberSpec(key=key, name=key, channel=channel, address=address, **kw), T0)


def test_disabled_lists_subscribers_not_operators_oldest_first_but_the_reasons_left_out(outbox: Outbox) -> None:
    blocked = add(outbox, "config:A")
    left = add(outbox, "tg:5", "5")
    ops = add(outbox, "config:Ops", "6", operator=True)
    silent = add(outbox, "config:B", "7")
    add(outbox, "config:C", "8")
    outbox.disable(blocked, "bot was blocked by the user")
    outbox.disable(left, "unsubscribed on Telegram")
    outbox.disable(ops, "chat not found")
    outbox.db.execute("UPDATE subscribers SET enabled = 0, disabled_reason = NULL WHERE id = ?", [silent])
    assert outbox.disabled(except_reasons=("unsubscribed on Telegram",)) == [
        DisabledSubscriber(blocked, "config:A", "bot was blocked by the user"),
        DisabledSubscriber(silent, "config:B", None)]
    assert [sub.id for sub in outbox.disabled()] == [blocked, left, silent]


def test_key_at_prefers_the_given_key_then_the_oldest_row_with_the_prefix(outbox: Outbox) -> None:
    add(outbox, "config:Desk", "-1001")
    add(outbox, "tg:-1000", "-1001")  # a group that became a supergroup keeps its old key
    add(outbox, "tg:-1001", "-1001")
    add(outbox, "tg:-1002", "-1002", channel="email")
    assert outbox.key_at("telegram", "-1001", prefix="tg:", prefer="tg:-1001") == "tg:-1001"
    assert outbox.key_at("telegram", "-1001", prefix="tg:", prefer="tg:-9") == "tg:-1000"
    assert outbox.key_at("telegram", "-1002", prefix="tg:", prefer="tg:-1002") is None
    assert outbox.key_at("telegram", "-1003", prefix="tg:", prefer="tg:-1003") is None


def test_enabled_spec_is_the_subscription_as_declared_and_none_once_disabled(outbox: Outbox) -> None:
    sub = add(outbox, "tg:-1001", countries=("TR", "IN"), events=("restricted", "renamed"), tags=("outlet",))
    spec = outbox.enabled_spec("tg:-1001")
    assert spec is not None
    assert (spec.countries, spec.events, spec.tags, spec.source) == (("IN", "TR"), ("restricted", "renamed"),
                                                                     ("outlet",), "config")
    outbox.disable(sub, "unsubscribed on Telegram")
    assert outbox.enabled_spec("tg:-1001") is None and outbox.enabled_spec("tg:-404") is None


def test_enabled_at_finds_the_routes_to_one_address_by_kind_and_key(outbox: Outbox) -> None:
    add(outbox, "config:Night", events=("withheld",))
    add(outbox, "tg:-1001")
    add(outbox, "config:Ops", operator=True)
    add(outbox, "config:Day", "-1001", channel="email")
    add(outbox, "config:Elsewhere", "-1002")
    outbox.disable(add(outbox, "config:Gone"), "removed from the config")
    assert [s.key for s in outbox.enabled_at("telegram", "-1001", operator=False, prefix="config:")] == [
        "config:Night"]
    assert [s.key for s in outbox.enabled_at("telegram", "-1001", operator=False)] == ["config:Night", "tg:-1001"]
    assert [s.key for s in outbox.enabled_at("telegram", "-1001", operator=True)] == ["config:Ops"]
    assert outbox.enabled_at("telegram", "-1001", operator=False)[0].events == ("withheld",)


def test_owner_routes_join_the_owned_watched_accounts_by_handle(outbox: Outbox) -> None:
    store = Store(outbox.db, outbox)
    store.sync_watchlist([("zed", ()), ("Alice", ()), ("bob", ())], T0)
    zed, alice, bob = (store.find_account(h) for h in ("zed", "alice", "bob"))
    assert zed is not None and alice is not None and bob is not None
    add(outbox, f"owner:7:{zed.pk}", "7", events=("restricted",))
    add(outbox, f"owner:7:{alice.pk}", "7", events=("restricted", "other"))
    add(outbox, f"owner:8:{bob.pk}", "8")
    add(outbox, f"owner:7:{bob.pk}", "7")
    store.unwatch(bob.pk)
    assert outbox.owner_routes("owner:7:") == [OwnerRoute("Alice", ("restricted", "other")),
                                               OwnerRoute("zed", ("restricted",))]
    zed_route = outbox.subscriber_by_key(f"owner:7:{zed.pk}")
    assert zed_route is not None and outbox.disable(zed_route.id, "no longer the account's owner")
    assert outbox.owner_routes("owner:7:") == [OwnerRoute("Alice", ("restricted", "other"))]


def test_enabled_keyed_matches_the_key_literally_at_both_ends(outbox: Outbox) -> None:
    one = add(outbox, "owner:7:12")
    two = add(outbox, "owner:8:12")
    add(outbox, "owner:7:112")
    add(outbox, "owner:7:2")
    add(outbox, "ownerX7:12")  # '_' or '%' in a prefix is a character, not a LIKE wildcard
    add(outbox, "config:50%_off")
    add(outbox, "config:50xyoff")
    outbox.disable(add(outbox, "owner:9:12"), "no longer the account's owner")
    assert [sub.id for sub in outbox.enabled_keyed("owner:", ":12")] == [one, two]
    assert [sub.name for sub in outbox.enabled_keyed("config:50%_", "")] == ["config:50%_off"]
    assert [sub.name for sub in outbox.enabled_keyed("owner_", ":12")] == []
