"""Frozen values that cross module boundaries: states, observations, transitions, alerts, secrets."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any


class Availability(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    NOT_FOUND = "not_found"


class EventKind(StrEnum):
    WITHHELD = "withheld"
    UNWITHHELD = "unwithheld"
    SUSPENDED = "suspended"
    UNSUSPENDED = "unsuspended"
    DEACTIVATED = "deactivated"
    REACTIVATED = "reactivated"
    PROTECTED = "protected"
    UNPROTECTED = "unprotected"
    RENAMED = "renamed"
    LIMITED = "limited"  # Mastodon: silenced ("limited") by the instance's moderators
    UNLIMITED = "unlimited"


GROUPS: dict[str, frozenset[EventKind]] = {
    "restricted": frozenset({EventKind.WITHHELD, EventKind.SUSPENDED, EventKind.DEACTIVATED, EventKind.LIMITED}),
    "restored": frozenset({EventKind.UNWITHHELD, EventKind.UNSUSPENDED, EventKind.REACTIVATED, EventKind.UNLIMITED}),
    "other": frozenset({EventKind.PROTECTED, EventKind.UNPROTECTED, EventKind.RENAMED}),
}
DEFAULT_EVENTS: tuple[str, ...] = ("restricted", "restored")
EVERYWHERE = "XX"
PLATFORMS: tuple[str, ...] = ("x", "bluesky", "mastodon")
PLATFORM_NAMES = {"x": "X", "bluesky": "Bluesky", "mastodon": "Mastodon"}


def expand_events(names: tuple[str, ...] | list[str]) -> frozenset[EventKind]:
    """Turn a list of event kinds and group names into the set of kinds it covers."""
    kinds: set[EventKind] = set()
    for name in names:
        if name in GROUPS:
            kinds |= GROUPS[name]
        else:
            kinds.add(EventKind(name))
    return frozenset(kinds)


def group_of(kind: EventKind) -> str:
    return next(group for group, kinds in GROUPS.items() if kind in kinds)


@dataclass(frozen=True, slots=True)
class AccountState:
    """What presswatch knows of an account at one moment.

    Fields an unavailable account cannot show (protected, withheld_in, handle, name) keep
    their last known values, so a restoration is compared with the state before the loss.
    """

    availability: Availability
    protected: bool
    withheld_in: frozenset[str]
    handle: str
    name: str
    limited: bool = False  # Mastodon's silencing; always False elsewhere

    def key(self) -> tuple[Availability, bool, frozenset[str], str, bool]:
        """The part of the state whose change is an event (display names and handle case are not)."""
        return (self.availability, self.protected, self.withheld_in, self.handle.casefold(), self.limited)


@dataclass(slots=True)  # not frozen: built once per account per cycle, and a frozen __init__ costs 4x
class Observation:
    """One successful reading of one account from a platform.

    ``protected``, ``withheld_in``, ``handle`` and ``name`` are None when the platform did not
    show them (a suspended or missing account). ``raw`` is the API entry as JSON text: evidence.
    ``requested`` is the id or handle the watcher asked for, to match the observation to the account.
    The evidence is ``raw`` (JSON text) or ``entry`` (the parsed API entry, serialised only when a
    transition stores it: most polls change nothing, and serialising every entry cost a third of a cycle).
    Treat it as read-only.
    """

    platform: str
    requested: str
    account_id: str | None
    availability: Availability
    raw: str = ""
    protected: bool | None = None
    withheld_in: frozenset[str] | None = None
    handle: str | None = None
    name: str | None = None
    description: str = ""
    entry: Mapping[str, Any] | None = None
    limited: bool | None = None  # Mastodon: silenced by the instance's moderators; None where not shown

    def evidence(self) -> str:
        """The API entry as compact JSON with sorted keys: what is stored and hashed."""
        if self.raw:
            return self.raw
        return json.dumps(self.entry or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Event:
    """One transition kind with the countries it added or removed (empty when none)."""

    kind: EventKind
    countries: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A confirmed move from one state to another, as one or more events."""

    previous: AccountState
    current: AccountState
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class Account:
    """A watched account as the store knows it (``pk`` is the store's key; ``person``: the watchlist entry's
    ``name`` that groups one person's accounts on several platforms, "" when none)."""

    pk: int
    platform: str
    handle: str
    account_id: str | None
    tags: tuple[str, ...] = ()
    source: str = "config"
    owner_telegram_id: int | None = None
    reference: str | None = None  # what an import listed it in ("Court order 2016/1234"); None otherwise
    person: str = ""


@dataclass(frozen=True, slots=True)
class Transition:
    """A recorded transition, as read back from the store for alerts and history."""

    id: int
    account_pk: int
    platform: str
    account_id: str | None
    handle: str
    name: str
    kind: EventKind
    countries: tuple[str, ...]
    withheld_in: tuple[str, ...]
    previous_handle: str
    first_seen_at: datetime
    confirmed_at: datetime
    evidence_sha256: str
    previous_since: datetime | None = None
    tags: tuple[str, ...] = ()
    private: bool = False  # the account is kept off the web (watchlist[].private): alerts link no page
    listed_in: str | None = None  # the account's import reference, for "listed in: ..." in alerts


@dataclass(frozen=True, slots=True)
class Subscriber:
    """Someone who receives alerts on one channel (``address``: a chat id or an email address)."""

    id: int
    name: str
    channel: str
    address: str
    countries: frozenset[str] = frozenset()
    events: frozenset[EventKind] = field(default_factory=lambda: expand_events(DEFAULT_EVENTS))
    tags: frozenset[str] = frozenset()
    accounts: frozenset[int] = frozenset()  # store keys of accounts; empty means all
    platforms: frozenset[str] = frozenset()  # x, bluesky, mastodon; empty means all
    operator: bool = False
    enabled: bool = True
    language: str = ""  # a catalog code ('tr'); '' for the default language

    @property
    def shown_address(self) -> str:
        """The address as logs, notices and replies may show it: a webhook URL carries a token, so only its
        scheme and host are shown ('https://hooks.slack.com/…')."""
        return hidden_url(self.address) if self.channel == "webhook" else self.address


def hidden_url(url: str) -> str:
    """'https://hooks.slack.com/services/T0/B0/xyz' -> 'https://hooks.slack.com/…': never the path or query."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme}://{host}/…" if rest else "…"


@dataclass(frozen=True, slots=True)
class Message:
    """A rendered alert, ready for any channel.

    ``data`` is the alert as values (the webhook payload without its version; empty for notices and
    digests); ``key`` names this delivery, the same on every attempt (Matrix's txnId, a webhook's
    X-Presswatch-Delivery): a receiver can drop a copy it already has.
    """

    subject: str
    text: str
    html: str
    telegram_html: str
    data: Mapping[str, Any] = field(default_factory=dict)
    key: str = ""
    # The one-click unsubscribe link of the subscriber this copy goes to (RFC 8058), or "": per copy, not per
    # rendering, so the dispatcher sets it on each email just before it is sent.
    list_unsubscribe: str = ""

    def with_data(self, data: Mapping[str, Any]) -> Message:
        return replace(self, data=data)

    def with_key(self, key: str) -> Message:
        return replace(self, key=key)


class NoticeKind(StrEnum):
    """Operator health alerts about presswatch itself."""

    X_AUTH = "x_auth"  # our app was refused (401/402/403)
    X_USAGE_CAP = "x_usage_cap"  # credits or monthly cap exhausted
    STALE = "stale"  # no successful poll for three intervals
    SUBSCRIBER_DISABLED = "subscriber_disabled"
    DELIVERY_FAILED = "delivery_failed"  # a message gave up after retrying
    RECOVERED = "recovered"  # a condition above has cleared
    CONFIG_REFUSED = "config_refused"  # a service refused our own configuration (bot token, SMTP login, From)
    TASK_RESTARTED = "task_restarted"  # a long-lived task died and was started again
    STORAGE = "storage"  # the database refused writes for a while (locked, disk full)
    CONFIG_NOT_APPLIED = "config_not_applied"  # an edit of the config file was invalid, or needs a restart


@dataclass(frozen=True, slots=True)
class Notice:
    """One operator alert: what is wrong, in words, and when it was noticed."""

    id: int
    kind: NoticeKind
    summary: str
    detail: str
    at: datetime


REDACTED = "[redacted]"
SECRET_MIN = 4  # shorter values reveal nothing and would mangle every message they occur in
# A Telegram bot token wherever it shows (httpx quotes request URLs: .../bot123456:AAE.../sendMessage),
# known to us or not: after "bot" any id, elsewhere an id of 5 digits or more.
_BOT_TOKEN = re.compile(r"(?:(?<=bot)\d+|\d{5,}):[A-Za-z0-9_-]{20,}")


@dataclass(frozen=True, slots=True)
class Secrets:
    """The secret values in use, and the one way to take them out of a text: each becomes ``[redacted]``.

    Values under 4 characters are left alone; a longer value is replaced before a shorter one (one may
    contain another); anything shaped like a Telegram bot token goes too, known or not.
    """

    values: tuple[str, ...] = field(default=(), repr=False)  # never printed, not even in a traceback

    def __post_init__(self) -> None:
        kept = {value for value in self.values if value and len(value) >= SECRET_MIN}
        object.__setattr__(self, "values", tuple(sorted(kept, key=lambda value: (-len(value), value))))

    @classmethod
    def of(cls, values: Iterable[str | None]) -> Secrets:
        """The values given, None and empty ones skipped (a section not configured has no secret)."""
        return cls(tuple(value for value in values if value))

    def __add__(self, other: Secrets) -> Secrets:
        return Secrets((*self.values, *other.values))

    def scrub(self, text: str) -> str:
        """``text`` with every secret, and every Telegram bot token, replaced by ``[redacted]``."""
        for value in self.values:
            text = text.replace(value, REDACTED)
        return _BOT_TOKEN.sub(REDACTED, text)
