"""The watchlist as operators manage it from the command line, beside a running daemon: accounts imported
from lists (with the reference they were listed in), removed, and listed with their state.

Writes take the database's write lock first (BEGIN IMMEDIATE, waiting out the busy timeout): what they
read inside the transaction is then what they write against, whatever the daemon commits meanwhile. Every
change moves the watchlist revision (see migrations.m007_imports), so a running daemon picks it up.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.models import Account
from bot.storage.rows import Watched, account_from_row, watched_from_row
from bot.text import parse_iso

IMPORT = "import"


@dataclass(frozen=True, slots=True)
class NewAccount:
    """An account a list names, to be watched: its handle as written, tags and note."""

    handle: str
    tags: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True, slots=True)
class Listed:
    """A watched account as `presswatch accounts` shows it."""

    watched: Watched
    listed_handle: str  # the handle it was listed as (its current one may differ after a rename)
    note: str
    added_at: datetime


def same_reference(a: str | None, b: str | None) -> bool:
    """References compare without case or extra spaces: 'court order  2016/1234' is 'Court order 2016/1234'."""
    return a is not None and b is not None and " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


class Roster:
    """Imports, removals and the listing of watched accounts (the daemon's own writes are Store's)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def watching(self, handles: Iterable[str]) -> dict[str, Account]:
        """The watched accounts listed as, or now named, these handles (any source), by casefolded handle."""
        wanted = json.dumps(sorted({handle.lower() for handle in handles}))
        found: dict[str, Account] = {}
        for row in self.db.query(
                "SELECT * FROM accounts WHERE watched = 1 AND (lower(listed_handle) IN (SELECT value FROM"
                " json_each(?)) OR lower(handle) IN (SELECT value FROM json_each(?))) ORDER BY pk",
                [wanted, wanted]):
            for name in (row["listed_handle"], row["handle"]):
                found.setdefault(name.casefold(), account_from_row(row))
        return found

    def add_imported(self, accounts: Sequence[NewAccount], reference: str | None, now: datetime) -> list[Account]:
        """Watch each account not watched yet, from ``import`` with ``reference``; the accounts added.

        One transaction. An account watched already, from any source (another process may have added it
        since the caller looked), is left as it is. One dropped earlier is watched again with its history
        and last state, as a config or Telegram account is; a new one's first poll is its baseline.
        """
        added: list[int] = []
        with self._writing():
            watched = self.watching(account.handle for account in accounts)
            dropped = self._dropped([a.handle for a in accounts if a.handle.casefold() not in watched])
            for account in accounts:
                if account.handle.casefold() in watched:
                    continue
                columns = {"watched": 1, "tags": json.dumps(sorted(set(account.tags))), "source": IMPORT,
                           "source_ref": reference, "note": account.note or None, "owner_telegram_id": None}
                pk = dropped.get(account.handle.casefold())
                if pk is None:
                    row = {**columns, "platform": "x", "handle": account.handle, "listed_handle": account.handle,
                           "added_at": now.isoformat()}
                    pk = int(self.db.table("accounts").insert(row).last_rowid or 0)
                else:
                    self.db.table("accounts").update(pk, columns)
                watched[account.handle.casefold()] = Account(pk, "x", account.handle, None)
                added.append(pk)
        return [self._account(pk) for pk in added]

    def _dropped(self, handles: Sequence[str]) -> dict[str, int]:
        """Accounts no longer watched, by casefolded handle (listed, else current): importing one again
        re-watches that row, which keeps its X id (a second row would claim the same id)."""
        wanted = json.dumps(sorted({handle.lower() for handle in handles}))
        rows = list(self.db.query(
            "SELECT pk, listed_handle, handle FROM accounts WHERE watched = 0 AND platform = 'x' AND"
            " (lower(listed_handle) IN (SELECT value FROM json_each(?)) OR lower(handle) IN (SELECT value FROM"
            " json_each(?))) ORDER BY pk", [wanted, wanted]))
        found: dict[str, int] = {}
        for column in ("listed_handle", "handle"):
            for row in rows:
                found.setdefault(row[column].casefold(), int(row["pk"]))
        return found

    def imported(self, reference: str) -> list[Account]:
        """The watched accounts imported with ``reference`` (compared as ``same_reference`` does)."""
        rows = self.db.query("SELECT * FROM accounts WHERE watched = 1 AND source_ref IS NOT NULL ORDER BY pk")
        return [account_from_row(row) for row in rows if same_reference(row["source_ref"], reference)]

    def references(self) -> list[str]:
        """The references of the watched imported accounts, each once, in the order first imported."""
        rows = self.db.query("SELECT source_ref FROM accounts WHERE watched = 1 AND source_ref IS NOT NULL"
                             " GROUP BY source_ref ORDER BY min(pk)")
        return [str(row["source_ref"]) for row in rows]

    def unwatch(self, pks: Sequence[int]) -> int:
        """Stop watching these accounts (their history and state stay); how many were watched."""
        with self._writing():
            cursor = self.db.execute(
                "UPDATE accounts SET watched = 0, owner_telegram_id = NULL"
                " WHERE watched = 1 AND pk IN (SELECT value FROM json_each(?))", [json.dumps(list(pks))])
        return int(cursor.rowcount)

    def listing(self) -> list[Listed]:
        """Every watched account with its state, note and when it was added, by handle (without case)."""
        rows = self.db.query("SELECT * FROM accounts WHERE watched = 1 ORDER BY lower(handle), pk")
        return [Listed(watched_from_row(row), row["listed_handle"], row["note"] or "", parse_iso(row["added_at"]))
                for row in rows]

    def _account(self, pk: int) -> Account:
        rows: list[dict[str, Any]] = list(self.db.query("SELECT * FROM accounts WHERE pk = ?", [pk]))
        return account_from_row(rows[0])

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A transaction holding the write lock from its start; rolled back on any error."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.conn.rollback()
            raise
        self.db.conn.commit()
