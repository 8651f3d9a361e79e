"""The accounts repository (sqlite-utils): watched accounts and their state, the poll batches recorded into
them with their transitions, and the polls.

``Store`` is the one object the rest of bot/ holds for these tables; the transitions and polls tables have
their own modules (transitions, polls), which it reads and writes through.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.detect import Pending, Verdict
from bot.models import Account, Observation, Transition
from bot.storage.database import open_db as open_db  # its home is bot.storage.database; callers import it here too
from bot.storage.outbox import Outbox
from bot.storage.polls import Poll, PollLog
from bot.storage.rows import Watched, account_from_row, state_to_json, watched_from_row
from bot.storage.transitions import TransitionLog
from bot.text import parse_iso

__all__ = ["Outcome", "Store", "Watched", "open_db"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """One account's observation and what detection made of it, ready to be recorded."""

    watched: Watched
    observation: Observation
    verdict: Verdict


class Store:
    """Reads and writes of accounts, states and transitions. All writes are single transactions.

    ``outbox``: where ``record`` queues the alerts of the transitions it writes, in the same transaction.
    """

    def __init__(self, db: Database, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox
        self.log = TransitionLog(db)
        self.polls = PollLog(db)

    def watchlist_revision(self) -> int:
        """A number that moves whenever the watchlist changes, in this process or another (an import, a
        removal, a Telegram /add, the start-up sync); readers that cache watched accounts reload when it
        does. Recording polls does not move it. One indexed read of one row: cheap at every cycle.
        """
        rows = self._rows("SELECT revision FROM watchlist_revision WHERE id = 1")
        return int(rows[0]["revision"]) if rows else 0

    @property
    def watchlist_version(self) -> int:
        """``watchlist_revision()`` under the name readers of the in-process counter it replaced still use
        (issue 9's scheduler): they follow other processes' changes too, without an edit."""
        return self.watchlist_revision()

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return list(self.db.query(sql, params))

    def sync_watchlist(self, entries: Iterable[tuple[str, Sequence[str]] | tuple[str, Sequence[str], str]],
                       now: datetime, platform: str = "x") -> tuple[int, int]:
        """Make the config's watchlist of one platform the set of its config-sourced watched accounts:
        (added, dropped). An entry is (handle, tags) or (handle, tags, person): the name of the person the
        account belongs to, which groups their accounts on several platforms."""
        wanted = {entry[0].casefold(): (entry[0], sorted(set(entry[1])), entry[2] if len(entry) > 2 else "")
                  for entry in entries}
        rows = self._rows("SELECT pk, listed_handle, handle, source, watched FROM accounts WHERE platform = ?",
                          [platform])
        existing = {row["listed_handle"].casefold(): row for row in rows}
        # An operator who follows a rename lists the account under its new handle: same account.
        current = {row["handle"].casefold(): row for row in rows if row["source"] == "config"}
        new: list[dict[str, Any]] = []
        kept: list[tuple[str, str, str, int]] = []  # (tags, listed handle, person, pk)
        back = 0
        for key, (handle, tags, person) in wanted.items():
            row = existing.get(key) or current.get(key)
            if row is None:
                new.append(_account_row(handle, tags, "config", None, now, platform) | {"person": person})
                continue
            kept.append((json.dumps(tags), handle, person, row["pk"]))
            back += 0 if row["watched"] else 1
        kept_pks = {pk for *_, pk in kept}
        dropped = [(row["pk"],) for row in rows
                   if row["source"] == "config" and row["watched"] and row["pk"] not in kept_pks]
        with self.db.atomic():
            self.db.table("accounts").insert_all(new)
            # Multi-row updates, one statement each: a 100,000-account watchlist is synced at every start.
            self.db.conn.executemany(
                "UPDATE accounts SET tags = ?, watched = 1, source = 'config', listed_handle = ?, person = ?"
                " WHERE pk = ?", kept)
            self.db.conn.executemany("UPDATE accounts SET watched = 0 WHERE pk = ?", dropped)
        return len(new) + back, len(dropped)

    def add_account(
        self, handle: str, tags: Sequence[str], source: str, owner: int | None, now: datetime, platform: str = "x"
    ) -> Account:
        """Watch a handle of ``platform`` added at run time (Telegram); re-watches it if it was dropped.

        An account already watched keeps where it came from (an import keeps its reference); one that
        was dropped comes back from ``source``.
        """
        accounts = self.db.table("accounts")
        with self.db.atomic():
            existing = self.find_watched(handle, include_unwatched=True)
            if existing is None:
                pk = int(accounts.insert(_account_row(handle, tags, source, owner, now, platform)).last_rowid or 0)
            else:
                account, watched = existing.account, self.find_watched(handle) is not None
                pk = account.pk
                accounts.update(pk, {
                    "watched": 1, "tags": json.dumps(sorted(set(tags) | set(account.tags))),
                    "source": account.source if watched else source,
                    "source_ref": account.reference if watched else None,
                    "owner_telegram_id": account.owner_telegram_id if owner is None else owner,
                })
        found = self.account(pk)
        assert found is not None
        return found

    def set_owner(self, pk: int, owner: int | None) -> None:
        self.db.table("accounts").update(pk, {"owner_telegram_id": owner})

    def unwatch(self, pk: int) -> None:
        self.db.table("accounts").update(pk, {"watched": 0, "owner_telegram_id": None})

    def account(self, pk: int) -> Account | None:
        rows = self._rows("SELECT * FROM accounts WHERE pk = ?", [pk])
        return account_from_row(rows[0]) if rows else None

    def find_account(self, handle: str, *, include_unwatched: bool = False) -> Account | None:
        """The account listed as, or now named, ``handle`` (case-insensitive)."""
        watched = self.find_watched(handle, include_unwatched=include_unwatched)
        return watched.account if watched else None

    def find_watched(self, handle: str, *, include_unwatched: bool = False) -> Watched | None:
        rows = self._rows(
            "SELECT * FROM accounts WHERE (lower(handle) = lower(?) OR lower(listed_handle) = lower(?))"
            + ("" if include_unwatched else " AND watched = 1")
            + " ORDER BY watched DESC, lower(handle) = lower(?) DESC LIMIT 1",
            [handle, handle, handle],
        )
        return watched_from_row(rows[0]) if rows else None

    def watched(self, platform: str = "x", pks: Sequence[int] = (), instance: str | None = None) -> list[Watched]:
        """Every watched account of a platform (or those of ``pks``), in a stable order; ``instance``: only
        the Mastodon accounts whose home is that instance (``user@instance`` as listed)."""
        # Streamed row by row: 100,000 rows held as dicts at once would double the cycle's peak memory.
        if not pks and instance is not None:
            rows = self.db.query("SELECT * FROM accounts WHERE platform = ? AND watched = 1"
                                 " AND lower(listed_handle) LIKE ? ESCAPE '\\' ORDER BY pk",
                                 [platform, "%@" + _like(instance.lower())])
        elif not pks:
            rows = self.db.query("SELECT * FROM accounts WHERE platform = ? AND watched = 1 ORDER BY pk", [platform])
        else:
            rows = self.db.query("SELECT * FROM accounts WHERE pk IN (SELECT value FROM json_each(?))"
                                 " AND watched = 1 ORDER BY pk", [json.dumps(list(pks))])
        return [watched_from_row(row) for row in rows]

    def same_person(self, watched: Watched) -> list[Watched]:
        """The other watched accounts of the person ``watched`` belongs to (the watchlist entry's ``name``)."""
        person, pk = watched.account.person, watched.account.pk
        rows = self._rows("SELECT * FROM accounts WHERE person = ? AND person != '' AND watched = 1 AND pk != ?"
                          " ORDER BY pk", [person, pk]) if person else []
        return [watched_from_row(row) for row in rows]

    def owned_handles(self, owner: int) -> list[str]:
        """The handles of the watched accounts a Telegram user owns, alphabetically (without case)."""
        return [row["handle"] for row in self._rows(
            "SELECT handle FROM accounts WHERE owner_telegram_id = ? AND watched = 1 ORDER BY lower(handle)",
            [owner])]

    def account_ids(self, handles: Iterable[str]) -> dict[str, str]:
        """The platform ids already resolved for these handles (listed or current), by casefolded handle."""
        wanted = {handle.casefold() for handle in handles}
        found: dict[str, str] = {}
        for row in self.db.query("SELECT listed_handle, handle, account_id FROM accounts"
                                 " WHERE account_id IS NOT NULL ORDER BY pk"):
            for name in (row["listed_handle"], row["handle"]):
                if name.casefold() in wanted:
                    found[name.casefold()] = row["account_id"]
        return found

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
                self.outbox.fan_out(written, now)
        return written

    def _record_one(self, outcome: Outcome, now: datetime) -> list[int]:
        watched, observation, verdict = outcome.watched, outcome.observation, outcome.verdict
        pk = watched.account.pk
        # The updates of the record path stay SQL: by sqlite-utils' update() (a SELECT of the row and
        # a PRAGMA first) they cost 150 us instead of 3, and a first cycle writes two per account.
        if observation.account_id and observation.account_id != watched.account.account_id:
            self.db.execute("UPDATE accounts SET account_id = ? WHERE pk = ?", [observation.account_id, pk])
        written: list[int] = []
        if verdict.change is not None:
            first_seen = self._pending_first_seen(pk) or now
            for event in verdict.change.events:
                written.append(self.log.insert(pk, verdict.change, event.kind, event.countries,
                                               observation.evidence(), first_seen, now, watched.account.platform))
        if verdict.state is not None:
            state = verdict.state
            moved = verdict.change is not None or verdict.baseline
            self.db.execute(
                "UPDATE accounts SET availability = ?, protected = ?, withheld_in = ?, handle = ?, name = ?,"
                " limited = ?, state_since = CASE WHEN ? THEN ? ELSE state_since END WHERE pk = ?",
                [str(state.availability), int(state.protected), json.dumps(sorted(state.withheld_in)),
                 state.handle, state.name, int(state.limited), int(moved), now.isoformat(), pk],
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
        rows = self._rows("SELECT pending_first_seen FROM accounts WHERE pk = ?", [pk])
        value = rows[0]["pending_first_seen"] if rows else None
        return parse_iso(value) if value else None

    def transitions(self, *, handle: str | None = None, ids: Sequence[int] = (),
                    limit: int | None = None) -> list[Transition]:
        """Recorded transitions, newest first; filtered by a handle (current or listed) or by ids."""
        return self.log.read(handle=handle, ids=ids, limit=limit)

    def evidence(self, transition_id: int) -> str | None:
        return self.log.evidence(transition_id)

    def start_poll(self, now: datetime, lane: str = "x") -> int:
        return self.polls.start(now, lane)

    def finish_poll(self, poll_id: int, now: datetime, *, requests: int, ok: int, failed: int,
                    error: str | None, rate_remaining: int | None, rate_reset_at: datetime | None) -> None:
        self.polls.finish(poll_id, now, requests=requests, ok=ok, failed=failed, error=error,
                          rate_remaining=rate_remaining, rate_reset_at=rate_reset_at)

    def last_poll(self, *, successful: bool = False, lane: str = "x") -> Poll | None:
        """The newest poll cycle of a lane; with ``successful``, the newest that read at least one account."""
        return self.polls.last(successful=successful, lane=lane)

    def first_poll_at(self, lane: str = "x") -> datetime | None:
        """When the first recorded poll cycle of a lane started; None before any."""
        return self.polls.first_started(lane)


def _like(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern (escape character: backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _account_row(handle: str, tags: Sequence[str], source: str, owner: int | None, now: datetime,
                 platform: str = "x") -> dict[str, Any]:
    return {"platform": platform, "handle": handle, "listed_handle": handle, "tags": json.dumps(sorted(set(tags))),
            "source": source, "owner_telegram_id": owner, "added_at": now.isoformat()}
