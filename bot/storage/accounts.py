"""The SQLite store (sqlite-utils): watched accounts, their state, transitions with evidence, polls."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.detect import Pending, Verdict
from bot.models import Account, AccountState, Availability, EventKind, Observation, Transition
from bot.storage.database import open_db as open_db  # its home is bot.database; callers import it here too
from bot.storage.outbox import Outbox
from bot.text import parse_iso

# For a restoring event, the restricting event whose time tells "restored after ...".
_OPPOSITE = {
    EventKind.UNWITHHELD: EventKind.WITHHELD,
    EventKind.UNSUSPENDED: EventKind.SUSPENDED,
    EventKind.REACTIVATED: EventKind.DEACTIVATED,
    EventKind.UNPROTECTED: EventKind.PROTECTED,
}


@dataclass(frozen=True, slots=True)
class Watched:
    """A watched account with its current state (None before the baseline) and pending candidate."""

    account: Account
    state: AccountState | None
    pending: Pending | None
    state_since: datetime | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """One account's observation and what detection made of it, ready to be recorded."""

    watched: Watched
    observation: Observation
    verdict: Verdict


def state_to_json(state: AccountState) -> str:
    return json.dumps(
        {
            "availability": str(state.availability),
            "protected": state.protected,
            "withheld_in": sorted(state.withheld_in),
            "handle": state.handle,
            "name": state.name,
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
    )


def _account(row: dict[str, Any]) -> Account:
    return Account(
        pk=row["pk"],
        platform=row["platform"],
        handle=row["handle"],
        account_id=row["account_id"],
        tags=tuple(json.loads(row["tags"])),
        source=row["source"],
        owner_telegram_id=row["owner_telegram_id"],
    )


def _watched(row: dict[str, Any]) -> Watched:
    state = None
    if row["availability"] is not None:
        state = AccountState(
            availability=Availability(row["availability"]),
            protected=bool(row["protected"]),
            withheld_in=frozenset(json.loads(row["withheld_in"])),
            handle=row["handle"],
            name=row["name"],
        )
    pending = None
    if row["pending_state"]:
        pending = Pending(state_from_json(row["pending_state"]), row["pending_count"])
    since = parse_iso(row["state_since"]) if row["state_since"] else None
    return Watched(_account(row), state, pending, since)


class Store:
    """Reads and writes of accounts, states and transitions. All writes are single transactions."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # Bumped by every change to the watchlist made outside record(): readers that cache
        # watched accounts (the monitor) reload when it moves.
        self.watchlist_version = 0

    def rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        return list(self.db.query(sql, params))

    def sync_watchlist(self, entries: Iterable[tuple[str, Sequence[str]]], now: datetime) -> tuple[int, int]:
        """Make the config's watchlist the set of config-sourced watched accounts: (added, dropped)."""
        wanted = {handle.casefold(): (handle, sorted(set(tags))) for handle, tags in entries}
        rows = self.rows("SELECT pk, listed_handle, handle, source, watched FROM accounts WHERE platform = 'x'")
        existing = {row["listed_handle"].casefold(): row for row in rows}
        # An operator who follows a rename lists the account under its new handle: same account.
        current = {row["handle"].casefold(): row for row in rows if row["source"] == "config"}
        kept: set[int] = set()
        self.watchlist_version += 1
        added = dropped = 0
        with self.db.atomic():
            for key, (handle, tags) in wanted.items():
                row = existing.get(key) or current.get(key)
                if row is None:
                    kept.add(self._insert_account(handle, tags, "config", None, now))
                    added += 1
                    continue
                kept.add(row["pk"])
                added += 0 if row["watched"] else 1
                self.db.execute(
                    "UPDATE accounts SET tags = ?, watched = 1, source = 'config', listed_handle = ? WHERE pk = ?",
                    [json.dumps(tags), handle, row["pk"]],
                )
            for row in rows:
                if row["source"] == "config" and row["watched"] and row["pk"] not in kept:
                    self.db.execute("UPDATE accounts SET watched = 0 WHERE pk = ?", [row["pk"]])
                    dropped += 1
        return added, dropped

    def _insert_account(
        self, handle: str, tags: Sequence[str], source: str, owner: int | None, now: datetime
    ) -> int:
        cursor = self.db.execute(
            "INSERT INTO accounts (platform, handle, listed_handle, tags, source, owner_telegram_id, added_at)"
            " VALUES ('x', ?, ?, ?, ?, ?, ?)",
            [handle, handle, json.dumps(sorted(set(tags))), source, owner, now.isoformat()],
        )
        return int(cursor.lastrowid or 0)

    def add_account(
        self, handle: str, tags: Sequence[str], source: str, owner: int | None, now: datetime
    ) -> Account:
        """Watch a handle added at run time (Telegram); re-watches it if it was dropped."""
        self.watchlist_version += 1
        existing = self.find_account(handle, include_unwatched=True)
        with self.db.atomic():
            if existing is None:
                pk = self._insert_account(handle, tags, source, owner, now)
            else:
                pk = existing.pk
                self.db.execute(
                    "UPDATE accounts SET watched = 1, tags = ?, source = ?,"
                    " owner_telegram_id = coalesce(?, owner_telegram_id) WHERE pk = ?",
                    [json.dumps(sorted(set(tags) | set(existing.tags))), source, owner, pk],
                )
        found = self.account(pk)
        assert found is not None
        return found

    def set_owner(self, pk: int, owner: int | None) -> None:
        self.watchlist_version += 1
        self.db.execute("UPDATE accounts SET owner_telegram_id = ? WHERE pk = ?", [owner, pk])

    def unwatch(self, pk: int) -> None:
        self.watchlist_version += 1
        self.db.execute("UPDATE accounts SET watched = 0, owner_telegram_id = NULL WHERE pk = ?", [pk])

    def account(self, pk: int) -> Account | None:
        rows = self.rows("SELECT * FROM accounts WHERE pk = ?", [pk])
        return _account(rows[0]) if rows else None

    def find_account(self, handle: str, *, include_unwatched: bool = False) -> Account | None:
        """The account listed as, or now named, ``handle`` (case-insensitive)."""
        watched = self.find_watched(handle, include_unwatched=include_unwatched)
        return watched.account if watched else None

    def find_watched(self, handle: str, *, include_unwatched: bool = False) -> Watched | None:
        rows = self.rows(
            "SELECT * FROM accounts WHERE (lower(handle) = lower(?) OR lower(listed_handle) = lower(?))"
            + ("" if include_unwatched else " AND watched = 1")
            + " ORDER BY watched DESC, lower(handle) = lower(?) DESC LIMIT 1",
            [handle, handle, handle],
        )
        return _watched(rows[0]) if rows else None

    def watched(self, platform: str = "x", pks: Sequence[int] = ()) -> list[Watched]:
        """Every watched account of a platform (or those of ``pks``), in a stable order."""
        # Streamed row by row: 100,000 rows held as dicts at once would double the cycle's peak memory.
        if not pks:
            rows = self.db.query("SELECT * FROM accounts WHERE platform = ? AND watched = 1 ORDER BY pk", [platform])
        else:
            rows = self.db.query("SELECT * FROM accounts WHERE pk IN (SELECT value FROM json_each(?))"
                                 " AND watched = 1 ORDER BY pk", [json.dumps(list(pks))])
        return [_watched(row) for row in rows]

    def record(self, outcomes: Sequence[Outcome], now: datetime) -> list[int]:
        """Write one poll batch: states, pending candidates, transitions and their outbox rows.

        One transaction: a crash leaves the batch wholly recorded or not at all. Returns the ids
        of the transitions written.
        """
        if not outcomes:  # most batches of a steady poll: no transaction to open
            return []
        written: list[int] = []
        with self.db.atomic():
            for outcome in outcomes:
                written.extend(self._record_one(outcome, now))
            if written:
                Outbox(self.db).fan_out(written, now)
        return written

    def _record_one(self, outcome: Outcome, now: datetime) -> list[int]:
        watched, observation, verdict = outcome.watched, outcome.observation, outcome.verdict
        pk = watched.account.pk
        if observation.account_id and observation.account_id != watched.account.account_id:
            self.db.execute("UPDATE accounts SET account_id = ? WHERE pk = ?", [observation.account_id, pk])
        written: list[int] = []
        if verdict.change is not None:
            first_seen = self._pending_first_seen(pk) or now
            for event in verdict.change.events:
                written.append(self._insert_transition(pk, verdict, event.kind, event.countries,
                                                       observation.evidence(), first_seen, now))
        if verdict.state is not None:
            state = verdict.state
            moved = verdict.change is not None or verdict.baseline
            self.db.execute(
                "UPDATE accounts SET availability = ?, protected = ?, withheld_in = ?, handle = ?, name = ?,"
                " state_since = CASE WHEN ? THEN ? ELSE state_since END WHERE pk = ?",
                [str(state.availability), int(state.protected), json.dumps(sorted(state.withheld_in)),
                 state.handle, state.name, int(moved), now.isoformat(), pk],
            )
        self._write_pending(pk, watched.pending, verdict.pending, now)
        return written

    def _write_pending(self, pk: int, before: Pending | None, after: Pending | None, now: datetime) -> None:
        if after == before:
            return
        if after is None:
            self.db.execute(
                "UPDATE accounts SET pending_state = NULL, pending_count = 0, pending_first_seen = NULL"
                " WHERE pk = ?", [pk])
            return
        fresh = before is None or before.state.key() != after.state.key()
        self.db.execute(
            "UPDATE accounts SET pending_state = ?, pending_count = ?,"
            " pending_first_seen = CASE WHEN ? THEN ? ELSE pending_first_seen END WHERE pk = ?",
            [state_to_json(after.state), after.count, int(fresh), now.isoformat(), pk],
        )

    def _pending_first_seen(self, pk: int) -> datetime | None:
        rows = self.rows("SELECT pending_first_seen FROM accounts WHERE pk = ?", [pk])
        value = rows[0]["pending_first_seen"] if rows else None
        return parse_iso(value) if value else None

    def _insert_transition(
        self, pk: int, verdict: Verdict, kind: EventKind, countries: tuple[str, ...],
        raw: str, first_seen: datetime, now: datetime,
    ) -> int:
        change = verdict.change
        assert change is not None
        current = change.current
        cursor = self.db.execute(
            "INSERT INTO transitions (account_pk, kind, countries, withheld_in, availability, handle,"
            " previous_handle, name, first_seen_at, confirmed_at, previous_since, evidence, evidence_sha256)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [pk, str(kind), json.dumps(list(countries)), json.dumps(sorted(current.withheld_in)),
             str(current.availability), current.handle, change.previous.handle, current.name,
             first_seen.isoformat(), now.isoformat(), self._since(pk, kind, countries),
             raw, hashlib.sha256(raw.encode()).hexdigest()],
        )
        return int(cursor.lastrowid or 0)

    def _since(self, pk: int, kind: EventKind, countries: tuple[str, ...]) -> str | None:
        """When the restriction this event lifts was confirmed, if presswatch saw it happen."""
        opposite = _OPPOSITE.get(kind)
        if opposite is None:
            return None
        for row in self.rows(
            "SELECT countries, confirmed_at FROM transitions WHERE account_pk = ? AND kind = ? ORDER BY id DESC",
            [pk, str(opposite)],
        ):
            if not countries or set(countries) & set(json.loads(row["countries"])):
                return str(row["confirmed_at"])
        return None

    def transitions(self, *, handle: str | None = None, ids: Sequence[int] = (),
                    limit: int | None = None) -> list[Transition]:
        """Recorded transitions, newest first; filtered by a handle (current or listed) or by ids."""
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        if handle is not None:
            where.append("(lower(a.handle) = lower(?) OR lower(a.listed_handle) = lower(?)"
                         " OR lower(t.handle) = lower(?) OR lower(t.previous_handle) = lower(?))")
            params += [handle] * 4
        if ids:
            where.append(f"t.id IN ({', '.join('?' * len(ids))})")
            params += list(ids)
        sql = ("SELECT t.*, a.platform, a.account_id, a.tags FROM transitions t JOIN accounts a ON a.pk = t.account_pk"
               f" WHERE {' AND '.join(where)} ORDER BY t.id DESC" + (f" LIMIT {int(limit)}" if limit else ""))
        return [_transition(row) for row in self.rows(sql, params)]

    def evidence(self, transition_id: int) -> str | None:
        rows = self.rows("SELECT evidence FROM transitions WHERE id = ?", [transition_id])
        return str(rows[0]["evidence"]) if rows else None

    def start_poll(self, now: datetime) -> int:
        cursor = self.db.execute("INSERT INTO polls (started_at) VALUES (?)", [now.isoformat()])
        return int(cursor.lastrowid or 0)

    def finish_poll(self, poll_id: int, now: datetime, *, requests: int, ok: int, failed: int,
                    error: str | None, rate_remaining: int | None, rate_reset_at: datetime | None) -> None:
        self.db.execute(
            "UPDATE polls SET finished_at = ?, requests = ?, accounts_ok = ?, accounts_failed = ?, error = ?,"
            " rate_remaining = ?, rate_reset_at = ? WHERE id = ?",
            [now.isoformat(), requests, ok, failed, error, rate_remaining,
             rate_reset_at.isoformat() if rate_reset_at else None, poll_id],
        )

    def last_poll(self, *, successful: bool = False) -> dict[str, Any] | None:
        condition = " WHERE finished_at IS NOT NULL AND accounts_ok > 0" if successful else ""
        rows = self.rows(f"SELECT * FROM polls{condition} ORDER BY id DESC LIMIT 1")
        return rows[0] if rows else None


def _transition(row: dict[str, Any]) -> Transition:
    return Transition(
        id=row["id"],
        account_pk=row["account_pk"],
        platform=row["platform"],
        account_id=row["account_id"],
        handle=row["handle"],
        name=row["name"],
        kind=EventKind(row["kind"]),
        countries=tuple(json.loads(row["countries"])),
        withheld_in=tuple(json.loads(row["withheld_in"])),
        previous_handle=row["previous_handle"],
        first_seen_at=parse_iso(row["first_seen_at"]),
        confirmed_at=parse_iso(row["confirmed_at"]),
        evidence_sha256=row["evidence_sha256"],
        previous_since=parse_iso(row["previous_since"]) if row["previous_since"] else None,
        tags=tuple(json.loads(row["tags"])),
    )
