"""Rows as values: watched accounts and their state, subscribers as declared and as delivered, outbox items.

The repositories return these, never dicts; the JSON text columns are read and written here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.detect import Pending
from bot.models import Account, AccountState, Availability, Subscriber, expand_events
from bot.text import parse_iso


@dataclass(frozen=True, slots=True)
class Watched:
    """A watched account with its current state (None before the baseline) and pending candidate."""

    account: Account
    state: AccountState | None
    pending: Pending | None
    state_since: datetime | None


@dataclass(frozen=True, slots=True)
class SubscriberSpec:
    """A subscriber as a source (the config, a Telegram command) declares it."""

    key: str
    name: str
    channel: str
    address: str
    countries: tuple[str, ...] = ()
    events: tuple[str, ...] = ("restricted", "restored")
    tags: tuple[str, ...] = ()
    accounts: tuple[int, ...] = ()
    operator: bool = False
    source: str = "config"
    language: str = ""  # a catalog code; '' for the default language
    platforms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DisabledSubscriber:
    """A subscriber that gets nothing now, and why (None: no reason recorded)."""

    id: int
    name: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class OwnerRoute:
    """An account owner's subscription to their account: its handle and the events it declares."""

    handle: str
    events: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One message to deliver: to ``subscriber``, about a transition or an operator notice."""

    id: int
    subscriber: Subscriber
    transition_id: int | None
    notice_id: int | None
    attempts: int
    created_at: datetime
    batch: str | None = None  # the message these rows went out in before (Matrix's txnId), if any


def route_key(sub: Subscriber) -> tuple[str, str]:
    """Where a subscriber's messages arrive: one chat or one mailbox (addresses compared without case)."""
    return sub.channel, sub.address.casefold() if sub.channel == "email" else sub.address


def state_to_json(state: AccountState) -> str:
    return json.dumps(
        {
            "availability": str(state.availability),
            "protected": state.protected,
            "withheld_in": sorted(state.withheld_in),
            "handle": state.handle,
            "name": state.name,
            "limited": state.limited,
        }
    )


def state_from_json(text: str) -> AccountState:
    data = json.loads(text)
    return AccountState(
        availability=Availability(data["availability"]),
        protected=bool(data["protected"]),
        withheld_in=frozenset(data["withheld_in"]),
        handle=data["handle"],
        name=data["name"],
        limited=bool(data.get("limited", False)),  # pending states written before schema 6 have none
    )


def account_from_row(row: dict[str, Any]) -> Account:
    return Account(
        pk=row["pk"],
        platform=row["platform"],
        handle=row["handle"],
        account_id=row["account_id"],
        tags=tuple(json.loads(row["tags"])),
        source=row["source"],
        owner_telegram_id=row["owner_telegram_id"],
        reference=row["source_ref"],
        person=row.get("person") or "",
    )


def watched_from_row(row: dict[str, Any]) -> Watched:
    state = None
    if row["availability"] is not None:
        state = AccountState(
            availability=Availability(row["availability"]),
            protected=bool(row["protected"]),
            withheld_in=frozenset(json.loads(row["withheld_in"])),
            handle=row["handle"],
            name=row["name"],
            limited=bool(row.get("limited")),
        )
    pending = None
    if row["pending_state"]:
        pending = Pending(state_from_json(row["pending_state"]), row["pending_count"])
    since = parse_iso(row["state_since"]) if row["state_since"] else None
    return Watched(account_from_row(row), state, pending, since)


def subscriber_from_row(row: dict[str, Any]) -> Subscriber:
    return Subscriber(
        id=row["id"],
        name=row["name"],
        channel=row["channel"],
        address=row["address"],
        countries=frozenset(json.loads(row["countries"])),
        events=expand_events(json.loads(row["events"])),
        tags=frozenset(json.loads(row["tags"])),
        accounts=frozenset(json.loads(row["accounts"])),
        platforms=frozenset(json.loads(row.get("platforms") or "[]")),
        operator=bool(row["operator"]),
        enabled=bool(row["enabled"]),
        language=row.get("language") or "",
    )


def spec_from_row(row: dict[str, Any]) -> SubscriberSpec:
    """A subscriber row as it was declared: its filters as written (groups not expanded)."""
    return SubscriberSpec(
        key=row["key"], name=row["name"], channel=row["channel"], address=row["address"],
        countries=tuple(json.loads(row["countries"])), events=tuple(json.loads(row["events"])),
        tags=tuple(json.loads(row["tags"])), accounts=tuple(json.loads(row["accounts"])),
        operator=bool(row["operator"]), source=row["source"], language=row.get("language") or "",
        platforms=tuple(json.loads(row.get("platforms") or "[]")),
    )


def spec_columns(spec: SubscriberSpec) -> dict[str, Any]:
    """The subscribers columns a spec sets (the key and the enabled state are the caller's)."""
    return {
        "name": spec.name, "channel": spec.channel, "address": spec.address,
        "countries": json.dumps(sorted(spec.countries)), "events": json.dumps(list(spec.events)),
        "tags": json.dumps(sorted(spec.tags)), "accounts": json.dumps(sorted(spec.accounts)),
        "operator": int(spec.operator), "source": spec.source, "language": spec.language or None,
        "platforms": json.dumps(sorted(spec.platforms)),
    }
