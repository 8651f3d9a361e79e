"""The transitions table: one row per confirmed event of an account, with the raw API entry as evidence."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.models import EventKind, StatusChange, Transition
from bot.text import parse_iso

# For a restoring event, the restricting event whose time tells "restored after ...".
_OPPOSITE = {
    EventKind.UNWITHHELD: EventKind.WITHHELD,
    EventKind.UNSUSPENDED: EventKind.SUSPENDED,
    EventKind.REACTIVATED: EventKind.DEACTIVATED,
    EventKind.UNPROTECTED: EventKind.PROTECTED,
    EventKind.UNLIMITED: EventKind.LIMITED,
}


class TransitionLog:
    """Writes and reads of transitions. ``insert`` joins the caller's transaction (Store.record's)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def insert(self, pk: int, change: StatusChange, kind: EventKind, countries: tuple[str, ...],
               raw: str, first_seen: datetime, now: datetime, platform: str = "x") -> int:
        """Record one event of ``change`` for account ``pk``, confirmed ``now``; the transition's id."""
        current = change.current
        row = {
            "account_pk": pk, "platform": platform, "kind": str(kind), "countries": json.dumps(list(countries)),
            "withheld_in": json.dumps(sorted(current.withheld_in)), "availability": str(current.availability),
            "handle": current.handle, "previous_handle": change.previous.handle, "name": current.name,
            "first_seen_at": first_seen.isoformat(), "confirmed_at": now.isoformat(),
            "previous_since": self._since(pk, kind, countries),
            "evidence": raw, "evidence_sha256": hashlib.sha256(raw.encode()).hexdigest(),
        }
        # Named like sqlite-utils' insert({...}), executed directly: its insert() reads the schema on every
        # call (70 us a row, not 4), which made Store.record of a batch of changes 60% slower.
        sql = f"INSERT INTO transitions ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})"
        return int(self.db.execute(sql, list(row.values())).lastrowid or 0)

    def _since(self, pk: int, kind: EventKind, countries: tuple[str, ...]) -> str | None:
        """When the restriction this event lifts was confirmed, if presswatch saw it happen."""
        opposite = _OPPOSITE.get(kind)
        if opposite is None:
            return None
        for row in self.db.query(
            "SELECT countries, confirmed_at FROM transitions WHERE account_pk = ? AND kind = ? ORDER BY id DESC",
            [pk, str(opposite)],
        ):
            if not countries or set(countries) & set(json.loads(row["countries"])):
                return str(row["confirmed_at"])
        return None

    def read(self, *, handle: str | None = None, ids: Sequence[int] = (),
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
        sql = (f"SELECT {TRANSITION_COLUMNS} FROM transitions t JOIN accounts a ON a.pk = t.account_pk"
               f" WHERE {' AND '.join(where)} ORDER BY t.id DESC" + (f" LIMIT {int(limit)}" if limit else ""))
        return [transition_from_row(row) for row in self.db.query(sql, params)]

    def evidence(self, transition_id: int) -> str | None:
        """The raw API entry a transition was confirmed on."""
        rows = list(self.db.query("SELECT evidence FROM transitions WHERE id = ?", [transition_id]))
        return str(rows[0]["evidence"]) if rows else None


# What transition_from_row reads: the transition's columns (but its evidence) and its account's.
TRANSITION_COLUMNS = (
    "t.id, t.account_pk, t.kind, t.countries, t.withheld_in, t.availability, t.handle, t.previous_handle, t.name,"
    " t.first_seen_at, t.confirmed_at, t.previous_since, t.evidence_sha256,"
    " t.platform, a.account_id, a.tags, a.private, a.source_ref"
)


def transition_from_row(row: dict[str, Any]) -> Transition:
    """A row of ``TRANSITION_COLUMNS`` as a value."""
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
        private=bool(row["private"]),
        listed_in=row["source_ref"],
    )
