"""What the web may show, as named read-only queries: never a private account, never a subscriber.

Every query here leaves out the accounts the config marks private (``watchlist[].private``) and their
transitions; none reads the subscribers, claims or notices tables. The web opens its own read-only
connection for these (``open_reader``), beside the daemon's writer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from sqlite_utils import Database

from bot.models import Transition
from bot.storage.database import connect_readonly
from bot.storage.polls import Poll, PollLog
from bot.storage.transitions import TRANSITION_COLUMNS, transition_from_row
from bot.text import parse_iso

_PUBLIC = "a.private = 0"
_ACCOUNT_COLUMNS = ("pk, platform, account_id, handle, name, tags, source, watched, added_at, availability,"
                    " protected, withheld_in, state_since")


@dataclass(frozen=True, slots=True)
class PublicAccount:
    """A watched account as the web shows it; ``availability`` is None before its first poll."""

    pk: int
    platform: str
    account_id: str | None
    handle: str
    name: str
    tags: tuple[str, ...]
    source: str  # config (the operator's list) or telegram (added by its owner or an admin)
    watched: bool
    added_at: datetime
    availability: str | None
    protected: bool
    withheld_in: tuple[str, ...]
    since: datetime | None


class Step(NamedTuple):  # a tuple, not a frozen dataclass: 100,000 are made for each status page, 4x faster
    """One transition as the chart replays it: the account's state right after it."""

    account_pk: int
    kind: str
    countries: tuple[str, ...]
    availability: str
    withheld_in: tuple[str, ...]
    at: datetime


def open_reader(path: Path, *, shared: bool = False) -> Database:
    """A read-only connection for a web worker thread (one each; ``shared``: one any thread may use, under a
    lock of the caller's): WAL lets it read beside the daemon."""
    conn = connect_readonly(path, check_same_thread=not shared)
    conn.execute("PRAGMA busy_timeout=5000")
    return Database(conn)


@lru_cache(maxsize=4096)  # a few distinct lists of countries (or tags) recur over 100,000 rows
def _codes(text: str) -> tuple[str, ...]:
    """A JSON list of codes or tags, as a tuple."""
    return tuple(json.loads(text))


def _moment(text: str) -> datetime:
    """A time as the storage writes it (``isoformat()`` of an aware UTC time)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else parse_iso(text)


def _account(row: tuple[Any, ...]) -> PublicAccount:
    """A row of ``_ACCOUNT_COLUMNS``, in their order."""
    pk, platform, account_id, handle, name, tags, source, watched, added_at, availability, protected, \
        withheld, since = row
    return PublicAccount(pk, platform, account_id, handle, name, _codes(tags), source, bool(watched),
                         _moment(added_at), availability, bool(protected), _codes(withheld),
                         _moment(since) if since else None)


class PublicView:
    """Reads for pages, feeds, the API, exports and metrics; private accounts are never among the results."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.polls = PollLog(db)

    def data_version(self) -> int:
        """SQLite's counter of commits by other connections: it moves whenever what the web shows may have."""
        return int(self.db.execute("PRAGMA data_version").fetchone()[0])

    def accounts(self, *, limit: int | None = None, before: int | None = None) -> list[PublicAccount]:
        """Watched public accounts, newest first (by when they were added); ``before``: a pk, for paging."""
        sql = (f"SELECT {_ACCOUNT_COLUMNS} FROM accounts a WHERE a.watched = 1 AND {_PUBLIC}"
               + (" AND a.pk < ?" if before is not None else "") + " ORDER BY a.pk DESC"
               + (" LIMIT ?" if limit is not None else ""))
        params = [value for value in (before, limit) if value is not None]
        return [_account(row) for row in self.db.execute(sql, params).fetchall()]

    def account(self, platform: str, account_id: str) -> PublicAccount | None:
        """A public account by its platform id, watched or no longer."""
        row = self.db.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts a WHERE a.platform = ? AND"
                              f" a.account_id = ? AND {_PUBLIC}", [platform, account_id]).fetchone()
        return _account(row) if row else None

    def transitions(self, *, limit: int | None = None, before: int | None = None,
                    account_pk: int | None = None, country: str | None = None) -> list[Transition]:
        """Transitions of public accounts, newest first; ``before`` an id (paging), ``country`` one it names."""
        return list(self.iter_transitions(limit=limit, before=before, account_pk=account_pk, country=country))

    def iter_transitions(self, *, limit: int | None = None, before: int | None = None,
                         account_pk: int | None = None, country: str | None = None) -> Iterator[Transition]:
        """``transitions`` streamed row by row (feeds filter them, exports write them as they come)."""
        where, params = [_PUBLIC], []
        for clause, value in (("t.id < ?", before), ("t.account_pk = ?", account_pk),
                              ("EXISTS (SELECT 1 FROM json_each(t.countries) WHERE value = ?)", country)):
            if value is not None:
                where.append(clause)
                params.append(value)
        sql = (f"SELECT {TRANSITION_COLUMNS} FROM transitions t JOIN accounts a ON a.pk = t.account_pk"
               f" WHERE {' AND '.join(where)} ORDER BY t.id DESC" + (" LIMIT ?" if limit is not None else ""))
        for row in self.db.query(sql, [*params, *([limit] if limit is not None else [])]):
            yield transition_from_row(row)

    def evidence(self, transition_id: int) -> tuple[str, str] | None:
        """The raw API entry a public transition was confirmed on, exactly as stored, and its sha256."""
        rows = list(self.db.query(
            "SELECT t.evidence, t.evidence_sha256 FROM transitions t JOIN accounts a ON a.pk = t.account_pk"
            f" WHERE t.id = ? AND {_PUBLIC}", [transition_id]))
        return (str(rows[0]["evidence"]), str(rows[0]["evidence_sha256"])) if rows else None

    def steps(self) -> list[Step]:
        """Every transition of the watched public accounts, by account then in order: the chart's input."""
        # Tuples, not sqlite-utils' dicts, and no JSON parsed for an empty list: 100,000 rows are read at
        # each rebuild of the status page.
        rows = self.db.execute(
            "SELECT t.account_pk, t.kind, t.countries, t.availability, t.withheld_in, t.confirmed_at"
            f" FROM transitions t JOIN accounts a ON a.pk = t.account_pk WHERE a.watched = 1 AND {_PUBLIC}"
            " ORDER BY t.account_pk, t.id").fetchall()
        return [Step(pk, kind, _codes(countries), availability, _codes(withheld), _moment(at))
                for pk, kind, countries, availability, withheld, at in rows]

    def kind_counts(self) -> dict[str, int]:
        """Transitions of public accounts, counted by kind."""
        return {row["kind"]: row["n"] for row in self.db.query(
            f"SELECT t.kind, count(*) AS n FROM transitions t JOIN accounts a ON a.pk = t.account_pk WHERE {_PUBLIC}"
            " GROUP BY t.kind")}

    def outbox_depth(self) -> dict[str, int]:
        """Outbox rows by status (counts only: no subscriber)."""
        return {row["status"]: row["n"] for row in self.db.query(
            "SELECT status, count(*) AS n FROM outbox GROUP BY status")}

    def last_poll(self, *, successful: bool = False) -> Poll | None:
        return self.polls.last(successful=successful)
