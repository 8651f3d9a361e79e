"""The polls table: one row per poll cycle, what it asked of X and what came back (for /health and the
"X cannot be read" condition)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.text import parse_iso


@dataclass(frozen=True, slots=True)
class Poll:
    """One poll cycle; ``finished_at`` is None while it runs (or when the process died in it)."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    requests: int
    accounts_ok: int
    accounts_failed: int
    error: str | None
    rate_remaining: int | None
    rate_reset_at: datetime | None


def _poll(row: dict[str, Any]) -> Poll:
    return Poll(
        id=row["id"], started_at=parse_iso(row["started_at"]),
        finished_at=parse_iso(row["finished_at"]) if row["finished_at"] else None,
        requests=row["requests"], accounts_ok=row["accounts_ok"], accounts_failed=row["accounts_failed"],
        error=row["error"], rate_remaining=row["rate_remaining"],
        rate_reset_at=parse_iso(row["rate_reset_at"]) if row["rate_reset_at"] else None,
    )


class PollLog:
    """Reads and writes of the polls table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def start(self, now: datetime, lane: str = "x") -> int:
        """Record a cycle of ``lane`` (x, bluesky, mastodon:<instance>) starting; its id."""
        return int(self.db.table("polls").insert({"started_at": now.isoformat(), "platform": lane}).last_rowid or 0)

    def finish(self, poll_id: int, now: datetime, *, requests: int, ok: int, failed: int, error: str | None,
               rate_remaining: int | None, rate_reset_at: datetime | None) -> None:
        self.db.table("polls").update(poll_id, {
            "finished_at": now.isoformat(), "requests": requests, "accounts_ok": ok, "accounts_failed": failed,
            "error": error, "rate_remaining": rate_remaining,
            "rate_reset_at": rate_reset_at.isoformat() if rate_reset_at else None,
        })

    def last(self, *, successful: bool = False, lane: str = "x") -> Poll | None:
        """The newest cycle of a lane; with ``successful``, the newest that finished having read an account."""
        condition = " AND finished_at IS NOT NULL AND accounts_ok > 0" if successful else ""
        rows = list(self.db.query(f"SELECT * FROM polls WHERE platform = ?{condition} ORDER BY id DESC LIMIT 1",
                                  [lane]))
        return _poll(rows[0]) if rows else None

    def first_started(self, lane: str = "x") -> datetime | None:
        """When the first recorded cycle of a lane started; None before any."""
        rows = list(self.db.query("SELECT min(started_at) AS at FROM polls WHERE platform = ?", [lane]))
        return parse_iso(rows[0]["at"]) if rows[0]["at"] else None
