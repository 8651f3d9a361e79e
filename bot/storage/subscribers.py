"""Reads of the subscribers table, as values: who gets what, where, and who is disabled.

Every write to the table goes through the Outbox (which builds on this class), because enabling or
disabling a subscriber releases or holds its queued messages in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlite_utils import Database

from bot.models import Subscriber
from bot.storage.rows import DisabledSubscriber, OwnerRoute, SubscriberSpec, spec_from_row, subscriber_from_row


class SubscriberBook:
    """Named queries of the subscribers table. Keys (``config:``, ``tg:``, ``owner:``) are the callers'."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return list(self.db.query(sql, params))

    def subscriber(self, subscriber_id: int) -> Subscriber | None:
        rows = self._rows("SELECT * FROM subscribers WHERE id = ?", [subscriber_id])
        return subscriber_from_row(rows[0]) if rows else None

    def subscriber_by_key(self, key: str) -> Subscriber | None:
        rows = self._rows("SELECT * FROM subscribers WHERE key = ?", [key])
        return subscriber_from_row(rows[0]) if rows else None

    def subscribers(self, *, operator: bool | None = None, enabled_only: bool = True) -> list[Subscriber]:
        where = ["1 = 1"]
        if operator is not None:
            where.append(f"operator = {int(operator)}")
        if enabled_only:
            where.append("enabled = 1")
        rows = self._rows(f"SELECT * FROM subscribers WHERE {' AND '.join(where)} ORDER BY id")
        return [subscriber_from_row(row) for row in rows]

    def disabled(self, *, except_reasons: Sequence[str] = ()) -> list[DisabledSubscriber]:
        """Disabled subscribers (not operators), oldest first, but for those disabled for ``except_reasons``."""
        rows = self._rows(
            "SELECT id, name, disabled_reason FROM subscribers WHERE enabled = 0 AND operator = 0"
            " AND coalesce(disabled_reason, '') NOT IN (SELECT value FROM json_each(?)) ORDER BY id",
            [json.dumps(list(except_reasons))])
        return [DisabledSubscriber(row["id"], row["name"], row["disabled_reason"]) for row in rows]

    def key_at(self, channel: str, address: str, *, prefix: str, prefer: str) -> str | None:
        """The key of a subscriber keyed ``prefix...`` that sends to this address: ``prefer`` if it does,
        else the oldest; None when there is none (a chat's row keeps its key when the chat moves)."""
        rows = self._rows(
            "SELECT key FROM subscribers WHERE channel = ? AND address = ? AND key LIKE ? ESCAPE '\\'"
            " ORDER BY key = ? DESC, id LIMIT 1", [channel, address, _like(prefix), prefer])
        return str(rows[0]["key"]) if rows else None

    def enabled_spec(self, key: str) -> SubscriberSpec | None:
        """The subscriber of ``key`` as it was declared, if it is enabled."""
        rows = self._rows("SELECT * FROM subscribers WHERE key = ? AND enabled = 1", [key])
        return spec_from_row(rows[0]) if rows else None

    def enabled_at(self, channel: str, address: str, *, operator: bool, prefix: str = "") -> list[SubscriberSpec]:
        """Enabled subscribers (or operators) sending to this address, keyed ``prefix...``, oldest first."""
        rows = self._rows(
            "SELECT * FROM subscribers WHERE key LIKE ? ESCAPE '\\' AND channel = ? AND address = ? AND enabled = 1"
            " AND operator = ? ORDER BY id", [_like(prefix), channel, address, int(operator)])
        return [spec_from_row(row) for row in rows]

    def owner_routes(self, prefix: str) -> list[OwnerRoute]:
        """Enabled subscribers keyed ``prefix`` + a watched account's pk, with that account's handle,
        alphabetically (scanning the subscribers, not every account)."""
        rows = self._rows(
            "SELECT s.events, a.handle FROM subscribers s JOIN accounts a ON a.pk = CAST(substr(s.key, ?) AS INTEGER)"
            " WHERE s.key LIKE ? ESCAPE '\\' AND s.enabled = 1 AND a.watched = 1 ORDER BY lower(a.handle)",
            [len(prefix) + 1, _like(prefix)])
        return [OwnerRoute(row["handle"], tuple(json.loads(row["events"]))) for row in rows]

    def enabled_keyed(self, prefix: str, suffix: str) -> list[Subscriber]:
        """Enabled subscribers whose key starts with ``prefix`` and ends with ``suffix``, oldest first."""
        rows = self._rows("SELECT * FROM subscribers WHERE key LIKE ? ESCAPE '\\' AND enabled = 1 ORDER BY id",
                          [_like(prefix, suffix)])
        return [subscriber_from_row(row) for row in rows]


def _like(prefix: str, suffix: str = "") -> str:
    """A LIKE pattern (for ESCAPE '\\') matching keys that start with ``prefix`` and end with ``suffix``."""
    return f"{_escape_like(prefix)}%{_escape_like(suffix)}"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
