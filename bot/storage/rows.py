"""Subscriber and outbox rows as values: what a source declares, what the dispatcher delivers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.models import Subscriber, expand_events


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


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One message to deliver: to ``subscriber``, about a transition or an operator notice."""

    id: int
    subscriber: Subscriber
    transition_id: int | None
    notice_id: int | None
    attempts: int
    created_at: datetime


def route_key(sub: Subscriber) -> tuple[str, str]:
    """Where a subscriber's messages arrive: one chat or one mailbox (addresses compared without case)."""
    return sub.channel, sub.address.casefold() if sub.channel == "email" else sub.address


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
        operator=bool(row["operator"]),
        enabled=bool(row["enabled"]),
    )
