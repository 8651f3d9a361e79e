"""bot.outbox: one copy per chat or mailbox whatever the routes, and subscribers tried again when the
channel's configuration changes. A real in-memory SQLite store."""

from __future__ import annotations

from typing import Any

import pytest

from bot.storage.accounts import Store
from bot.storage.outbox import Outbox, SubscriberSpec
from tests.helpers_core import SUSPENDED, T0, observe, rows, seen


@pytest.fixture
def store(store: Store) -> Store:
    """conftest's store, with alice (tagged journalist) and bob watched and their baselines recorded."""
    store.sync_watchlist([("alice", ("journalist",)), ("bob", ())], T0)
    observe(store, "alice", seen(account_id="1", handle="alice"), T0)
    observe(store, "bob", seen(account_id="2", handle="bob"), T0)
    return store


@pytest.fixture
def outbox(store: Store) -> Outbox:
    return Outbox(store.db)


def add(outbox: Outbox, key: str, channel: str, address: str, **kw: Any) -> int:
    return outbox.upsert_subscriber(SubscriberSpec(key=key, name=key, channel=channel, address=address, **kw), T0)


def queued(store: Store) -> list[tuple[int, int]]:
    return [(r["transition_id"], r["subscriber_id"]) for r in rows(
        store.db, "SELECT transition_id, subscriber_id FROM outbox ORDER BY id")]


def test_a_chat_that_several_routes_lead_to_gets_one_copy(store: Store, outbox: Outbox) -> None:
    """Once, a group in the YAML that also sent /subscribe, or an owner who also subscribed, got two."""
    config = add(outbox, "config:Desk", "telegram", "-1001", countries=("TR",))
    add(outbox, "tg:-1001", "telegram", "-1001")
    add(outbox, "config:Twin", "telegram", "-1001", tags=("journalist",))
    owner = add(outbox, "owner:7:1", "telegram", "7", accounts=(1,), events=("restricted", "restored", "other"))
    add(outbox, "tg:7", "telegram", "7")
    mail = add(outbox, "config:Mail", "email", "Desk@Example.org")
    add(outbox, "config:Mail2", "email", "desk@example.org")
    [tid] = observe(store, "alice", seen(SUSPENDED, account_id="1"), T0)
    assert sorted(queued(store)) == sorted([(tid, config), (tid, owner), (tid, mail)])


def test_each_route_still_filters_on_its_own(store: Store, outbox: Outbox) -> None:
    only_tr = add(outbox, "config:TR", "telegram", "-1001", countries=("TR",), events=("withheld",))
    own = add(outbox, "tg:-1001", "telegram", "-1001", events=("suspended",))
    [withheld] = observe(store, "bob", seen(account_id="2", handle="bob", withheld=["TR"]), T0)
    [suspended] = observe(store, "alice", seen(SUSPENDED, account_id="1"), T0)
    assert queued(store) == [(withheld, only_tr), (suspended, own)]
    claimed = outbox.claim_due(T0, 1, "telegram")
    more = outbox.claim_more(claimed[0].subscriber, T0, 10)
    assert len(claimed + more) == 2, "one chat's alerts share a digest whichever route brought them"


def test_a_subscriber_disabled_under_another_configuration_is_tried_again(store: Store, outbox: Outbox) -> None:
    blocked = add(outbox, "config:A", "telegram", "5")
    left = add(outbox, "tg:6", "telegram", "6")
    gone = add(outbox, "config:B", "email", "gone@example.org")
    [tid] = observe(store, "alice", seen(SUSPENDED, account_id="1"), T0)
    assert outbox.disable(blocked, "bot was blocked by the user", "token-1")
    assert outbox.disable(left, "unsubscribed on Telegram")
    assert outbox.disable(gone, "550 no such mailbox", "smtp-1")
    assert outbox.reenable_changed({"telegram": "token-1", "email": "smtp-1"}) == []
    back = outbox.reenable_changed({"telegram": "token-2", "email": "smtp-1"})
    assert [sub.id for sub in back] == [blocked]
    statuses = {r["subscriber_id"]: r["status"] for r in rows(
        store.db, "SELECT subscriber_id, status FROM outbox WHERE transition_id = ?", [tid])}
    assert statuses == {blocked: "pending", left: "held", gone: "held"}
