"""The claims table: Telegram users' requests to own a handle, and their decisions (time is an argument).

The codes, and how a profile proves a claim, are the bot's: bot.chatbot.claims.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from bot.text import parse_iso

CLAIM_TTL = timedelta(hours=24)
STATUSES = ("pending", "verified", "approved", "rejected", "expired")


@dataclass(frozen=True, slots=True)
class Claim:
    """A Telegram user's request to own a handle."""

    id: int
    telegram_user_id: int
    chat_id: int
    handle: str
    code: str
    created_at: datetime
    expires_at: datetime
    status: str
    decided_by: int | None = None
    language: str = ""  # the claimant's language, for telling them of the decision

    def expired(self, now: datetime) -> bool:
        """A pending claim past its expiry (the row may not say so yet)."""
        return self.status == "pending" and now >= self.expires_at

    def live(self, now: datetime) -> bool:
        return self.status == "pending" and now < self.expires_at


def _claim(row: dict[str, Any]) -> Claim:
    return Claim(
        id=row["id"], telegram_user_id=row["telegram_user_id"], chat_id=row["chat_id"], handle=row["handle"],
        code=row["code"], created_at=parse_iso(row["created_at"]), expires_at=parse_iso(row["expires_at"]),
        status=row["status"], decided_by=row["decided_by"], language=row.get("language") or "",
    )


class ClaimBook:
    """Reads and writes of the claims table. A decision is a conditional update: it happens once."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Claim]:
        return [_claim(row) for row in self.db.query(sql, params)]

    def create(self, user_id: int, chat_id: int, handle: str, code: str, now: datetime,
               ttl: timedelta = CLAIM_TTL, language: str = "") -> Claim:
        claim = {"telegram_user_id": user_id, "chat_id": chat_id, "handle": handle, "code": code,
                 "created_at": now.isoformat(), "expires_at": (now + ttl).isoformat(), "language": language or None}
        found = self.get(int(self.db.table("claims").insert(claim).last_rowid or 0))
        assert found is not None
        return found

    def get(self, claim_id: int) -> Claim | None:
        found = self._rows("SELECT * FROM claims WHERE id = ?", [claim_id])
        return found[0] if found else None

    def pending(self, *, user_id: int | None = None, handle: str | None = None) -> list[Claim]:
        """Claims whose row says pending (some may have expired since: check ``live``), oldest first."""
        where: list[str] = ["status = 'pending'"]
        params: list[Any] = []
        if user_id is not None:
            where.append("telegram_user_id = ?")
            params.append(user_id)
        if handle is not None:
            where.append("lower(handle) = lower(?)")
            params.append(handle)
        return self._rows(f"SELECT * FROM claims WHERE {' AND '.join(where)} ORDER BY id", params)

    def live(self, now: datetime, *, user_id: int | None = None, handle: str | None = None) -> list[Claim]:
        """Pending claims not yet expired; the expired ones are marked so on the way."""
        found = self.pending(user_id=user_id, handle=handle)
        for claim in found:
            if claim.expired(now):
                self.decide(claim.id, "expired", None, now)
        return [claim for claim in found if claim.live(now)]

    def latest(self, user_id: int, handle: str | None = None) -> Claim | None:
        """The user's most recent claim (on ``handle``, if given), whatever its status."""
        sql = "SELECT * FROM claims WHERE telegram_user_id = ?"
        params: list[Any] = [user_id]
        if handle is not None:
            sql += " AND lower(handle) = lower(?)"
            params.append(handle)
        found = self._rows(sql + " ORDER BY id DESC LIMIT 1", params)
        return found[0] if found else None

    def decide(self, claim_id: int, status: str, by: int | None, now: datetime,
               account_pk: int | None = None) -> bool:
        """Move a pending claim to ``status``; False when it was no longer pending."""
        if status not in STATUSES[1:]:
            raise ValueError(f"not a decision: {status!r}")
        cursor = self.db.execute(
            "UPDATE claims SET status = ?, decided_by = ?, decided_at = ?, account_pk = ?"
            " WHERE id = ? AND status = 'pending'",
            [status, by, now.isoformat(), account_pk, claim_id],
        )
        return cursor.rowcount == 1

    def close_others(self, handle: str, keep: int, now: datetime) -> list[Claim]:
        """Reject every other pending claim on ``handle`` (it has an owner now); the claims closed."""
        closed = [claim for claim in self.pending(handle=handle) if claim.id != keep]
        for claim in closed:
            self.decide(claim.id, "rejected", None, now)
        return closed
