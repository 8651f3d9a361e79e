"""Subscribers, operator notices and the outbox: what must be delivered to whom, durably."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.models import Event, EventKind, Notice, NoticeKind, Subscriber
from bot.routing import matches
from bot.said import N_, Said, from_json, words_json
from bot.storage.rows import OutboxItem, SubscriberSpec, route_key, spec_columns, subscriber_from_row
from bot.storage.subscribers import SubscriberBook, _like
from bot.text import format_utc, parse_iso

__all__ = ["Outbox", "OutboxItem", "SubscriberSpec", "route_key", "subscriber_from_row"]

_REMOVED = "removed from the config"


class Outbox(SubscriberBook):
    """All writes of subscribers, notices and outbox rows, and the reads of notices and the outbox.

    The reads of subscribers are SubscriberBook's.
    """

    def upsert_subscriber(self, spec: SubscriberSpec, now: datetime) -> int:
        """Create or update a subscriber by key.

        A disabled one is enabled again when its address changed or it was only removed from the config;
        one disabled for a permanent error (bot blocked) stays disabled at the same address.
        """
        columns = spec_columns(spec)
        subscribers = self.db.table("subscribers")
        with self.db.atomic():
            existing = self._rows("SELECT id, address, enabled, disabled_reason FROM subscribers WHERE key = ?",
                                  [spec.key])
            if not existing:
                row = {**columns, "key": spec.key, "created_at": now.isoformat()}
                return int(subscribers.insert(row).last_rowid or 0)
            found = existing[0]
            subscribers.update(found["id"], columns)
            if not found["enabled"] and (found["address"] != spec.address or found["disabled_reason"] == _REMOVED):
                self.enable(found["id"])
            return int(found["id"])

    def sync_config(self, specs: Iterable[SubscriberSpec], now: datetime) -> None:
        """Make the config's subscribers and operators the enabled config-sourced rows."""
        keys = [self.upsert_subscriber(spec, now) for spec in specs]
        self.db.execute(
            "UPDATE subscribers SET enabled = 0, disabled_reason = ?"
            " WHERE source = 'config' AND enabled = 1 AND id NOT IN (SELECT value FROM json_each(?))",
            [_REMOVED, json.dumps(keys)],
        )

    def fan_out(self, transition_ids: Sequence[int], now: datetime) -> int:
        """One outbox row per (transition, matching address); joins the caller's transaction.

        A chat or mailbox that several routes lead to (the operator's config, its own /subscribe, an
        owner's subscription) gets one copy: the row goes to the first matching subscriber of that address.
        An account no longer watched (removed by another process while its poll was on the wire) has its
        transition recorded, as history, but alerts no one.
        """
        subscribers = self.subscribers(operator=False)
        placeholders = ", ".join("?" * len(transition_ids))
        rows = self._rows(
            "SELECT t.id, t.kind, t.countries, t.account_pk, t.platform, a.tags FROM transitions t"
            f" JOIN accounts a ON a.pk = t.account_pk WHERE t.id IN ({placeholders}) AND a.watched = 1",
            list(transition_ids),
        )
        pairs: list[tuple[int, int]] = []
        for row in rows:
            event = Event(EventKind(row["kind"]), tuple(json.loads(row["countries"])))
            tags = json.loads(row["tags"])
            reached: set[tuple[str, str]] = set()
            for sub in subscribers:
                if (where := route_key(sub)) not in reached and matches(sub, event, tags, row["account_pk"],
                                                                        row["platform"]):
                    reached.add(where)
                    pairs.append((row["id"], sub.id))
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO outbox (transition_id, subscriber_id, next_attempt_at, created_at)"
            " VALUES (?, ?, ?, ?)",
            [(tid, sid, now.isoformat(), now.isoformat()) for tid, sid in pairs],
        )
        return len(pairs)

    def notify_operators(self, kind: NoticeKind, summary: str, detail: str, now: datetime,
                         *, condition: str | None = None) -> int | None:
        """Record an operator notice and queue it to every operator.

        ``summary`` and ``detail`` are sentences presswatch wrote: a Said (bot/said.py) keeps its words, so
        that the notice is sent in ``i18n.default_language``; the English text is what the database shows.

        With a ``condition``, a notice is raised once while that condition stays unresolved.
        Returns the notice id, or None when it was already raised.
        """
        with self.db.atomic():
            if condition is not None and self._rows(
                "SELECT id FROM notices WHERE condition = ? AND resolved_at IS NULL", [condition]
            ):
                return None
            notice = {"kind": str(kind), "condition": condition, "summary": str(summary), "detail": str(detail),
                      "at": now.isoformat(), "words": words_json(summary, detail)}
            notice_id = int(self.db.table("notices").insert(notice).last_rowid or 0)
            self.db.conn.executemany(
                "INSERT INTO outbox (notice_id, subscriber_id, next_attempt_at, created_at) VALUES (?, ?, ?, ?)",
                [(notice_id, sub.id, now.isoformat(), now.isoformat())
                 for sub in self.subscribers(operator=True)],
            )
        return notice_id

    def resolve(self, condition: str, summary: str, now: datetime) -> int | None:
        """Clear an open condition and tell the operators it recovered (once); None if none was open."""
        open_rows = self._rows("SELECT summary, detail, words, at FROM notices WHERE condition = ? AND"
                               " resolved_at IS NULL ORDER BY id", [condition])
        if not open_rows:
            return None
        first = open_rows[0]
        with self.db.atomic():
            self.db.execute("UPDATE notices SET resolved_at = ? WHERE condition = ? AND resolved_at IS NULL",
                            [now.isoformat(), condition])
            cleared = from_json(first["words"], first["summary"], first["detail"])[0]
            detail = Said(N_("Cleared: {summary} (noticed {at})."), summary=cleared,
                          at=format_utc(parse_iso(first["at"])))
            return self.notify_operators(NoticeKind.RECOVERED, summary, detail, now)

    def open_conditions(self) -> list[str]:
        return [row["condition"] for row in self._rows(
            "SELECT condition FROM notices WHERE condition IS NOT NULL AND resolved_at IS NULL")]

    def notice(self, notice_id: int) -> Notice | None:
        rows = self._rows("SELECT * FROM notices WHERE id = ?", [notice_id])
        if not rows:
            return None
        row = rows[0]
        summary, detail = from_json(row.get("words"), row["summary"], row["detail"])
        return Notice(row["id"], NoticeKind(row["kind"]), summary, detail, parse_iso(row["at"]))

    def claim_due(self, now: datetime, limit: int, channel: str | None = None, *,
                  fresh: bool = False) -> list[OutboxItem]:
        """Mark up to ``limit`` due rows as in flight and return them, oldest first (``fresh``: in no batch)."""
        where, params = ("s.channel = ?", [channel]) if channel else ("1 = 1", [])
        return self._claim(where + (" AND o.batch IS NULL" if fresh else ""), params, "o.next_attempt_at, o.id",
                           now, limit)

    def claim_more(self, subscriber: Subscriber, now: datetime, limit: int, *,
                   fresh: bool = False) -> list[OutboxItem]:
        """Mark up to ``limit`` more due alerts (not notices) for the same chat as in flight: a digest."""
        if limit < 1:
            return []
        where = "s.channel = ? AND s.address = ? AND o.transition_id IS NOT NULL AND s.operator = ?"
        return self._claim(where + (" AND o.batch IS NULL" if fresh else ""),
                           [subscriber.channel, subscriber.address, int(subscriber.operator)],
                           "o.transition_id", now, limit)

    def claim_batch(self, channel: str, now: datetime) -> list[OutboxItem]:
        """The due rows of the oldest batch of ``channel`` (a message sent before, not known to have arrived),
        all of them, marked in flight: they go out again as the same message, under the same id."""
        rows = self._rows(
            "SELECT o.batch FROM outbox o JOIN subscribers s ON s.id = o.subscriber_id WHERE o.status = 'pending'"
            " AND o.batch IS NOT NULL AND o.next_attempt_at <= ? AND s.enabled = 1 AND s.channel = ?"
            " ORDER BY o.next_attempt_at, o.id LIMIT 1", [now.isoformat(), channel])
        if not rows:
            return []
        return self._claim("o.batch = ?", [rows[0]["batch"]], "o.transition_id, o.id", now, 1000)

    def mark_batch(self, outbox_ids: Sequence[int], batch: str) -> None:
        """Record that these rows go out together as the message ``batch``, before it is sent."""
        self.db.conn.executemany("UPDATE outbox SET batch = ? WHERE id = ?", [(batch, i) for i in outbox_ids])

    def _claim(self, where: str, params: list[Any], order: str, now: datetime, limit: int) -> list[OutboxItem]:
        """Due rows of enabled subscribers matching ``where``, marked 'sending' in the same transaction."""
        with self.db.atomic():
            rows = self._rows(
                "SELECT o.id AS outbox_id, o.transition_id, o.notice_id, o.attempts, o.created_at AS queued_at,"
                " o.batch AS outbox_batch,"
                " s.* FROM outbox o JOIN subscribers s ON s.id = o.subscriber_id"
                f" WHERE o.status = 'pending' AND o.next_attempt_at <= ? AND s.enabled = 1 AND {where}"
                f" ORDER BY {order} LIMIT ?",
                [now.isoformat(), *params, limit],
            )
            self.db.conn.executemany(
                "UPDATE outbox SET status = 'sending', attempts = attempts + 1 WHERE id = ? AND status = 'pending'",
                [(row["outbox_id"],) for row in rows],
            )
        return [self._item(row) for row in rows]

    @staticmethod
    def _item(row: dict[str, Any]) -> OutboxItem:
        return OutboxItem(row["outbox_id"], subscriber_from_row(row), row["transition_id"], row["notice_id"],
                          row["attempts"] + 1, parse_iso(row["queued_at"]), row["outbox_batch"])

    def mark_sent(self, outbox_id: int, now: datetime) -> None:
        self.db.execute("UPDATE outbox SET status = 'sent', sent_at = ?, last_error = NULL WHERE id = ?",
                        [now.isoformat(), outbox_id])

    def mark_retry(self, outbox_id: int, at: datetime, error: str, *, unsent: bool = False) -> None:
        """Due again at ``at``; ``unsent``: it never went out, so it leaves its batch (the next message is new)."""
        batch = ", batch = NULL" if unsent else ""
        self.db.execute(f"UPDATE outbox SET status = 'pending', next_attempt_at = ?, last_error = ?{batch}"
                        " WHERE id = ?", [at.isoformat(), error, outbox_id])

    def mark_failed(self, outbox_id: int, error: str) -> None:
        """Give up on one message (kept, with its error, for the operators to see)."""
        self.db.execute("UPDATE outbox SET status = 'failed', last_error = ? WHERE id = ?", [error, outbox_id])

    def disable(self, subscriber_id: int, reason: str, fingerprint: str | None = None) -> bool:
        """Disable a subscriber and hold its queued messages; False if it was already disabled.

        ``fingerprint``: the channel configuration a delivery failed under; the subscriber is tried again
        when it changes (``reenable_changed``). None for choices of people (unsubscribed) and the config.
        """
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE subscribers SET enabled = 0, disabled_reason = ?, disabled_fingerprint = ?"
                " WHERE id = ? AND enabled = 1", [reason, fingerprint, subscriber_id])
            if cursor.rowcount != 1:
                return False
            self.db.execute("UPDATE outbox SET status = 'held' WHERE subscriber_id = ? AND status IN"
                            " ('pending', 'sending')", [subscriber_id])
        return True

    def reenable_changed(self, fingerprints: dict[str, str]) -> list[Subscriber]:
        """Enable again the subscribers a delivery failure disabled under another channel configuration."""
        rows = self._rows("SELECT * FROM subscribers WHERE enabled = 0 AND disabled_fingerprint IS NOT NULL")
        back = [subscriber_from_row(row) for row in rows
                if row["channel"] in fingerprints and row["disabled_fingerprint"] != fingerprints[row["channel"]]]
        for sub in back:
            self.enable(sub.id)
        return back

    def enable(self, subscriber_id: int) -> None:
        """Re-enable a subscriber; the messages held for it are delivered."""
        with self.db.atomic():
            self.db.table("subscribers").update(
                subscriber_id, {"enabled": 1, "disabled_reason": None, "disabled_fingerprint": None})
            self.db.execute("UPDATE outbox SET status = 'pending' WHERE subscriber_id = ? AND status = 'held'",
                            [subscriber_id])

    def set_language(self, channel: str, address: str, keys: Sequence[str], language: str) -> bool:
        """Set the language of the subscribers at this address keyed one of ``keys`` (one ending in ':' is a
        prefix); False when there is none."""
        changed = 0
        with self.db.atomic():
            for key in keys:
                test, value = ("key LIKE ? ESCAPE '\\'", _like(key)) if key.endswith(":") else ("key = ?", key)
                changed += self.db.execute(f"UPDATE subscribers SET language = ? WHERE channel = ? AND address = ?"
                                           f" AND {test}", [language, channel, address, value]).rowcount
        return changed > 0

    def move_address(self, subscriber_id: int, address: str) -> None:
        """A Telegram group became a supergroup: its chat id changed."""
        self.db.table("subscribers").update(subscriber_id, {"address": address})

    def recover_in_flight(self) -> int:
        """After a crash: rows left 'sending' may or may not have gone out; send them again."""
        cursor = self.db.execute("UPDATE outbox SET status = 'pending' WHERE status = 'sending'")
        return cursor.rowcount

    def next_due(self, channel: str | None = None) -> datetime | None:
        """When the next pending message (of ``channel``, if given) falls due."""
        where, params = ("AND s.channel = ?", [channel]) if channel else ("", [])
        rows = self._rows(
            "SELECT min(o.next_attempt_at) AS due FROM outbox o JOIN subscribers s ON s.id = o.subscriber_id"
            f" WHERE o.status = 'pending' AND s.enabled = 1 {where}", params)
        return parse_iso(rows[0]["due"]) if rows and rows[0]["due"] else None

    def depth(self) -> dict[str, int]:
        """Outbox rows by status."""
        return {row["status"]: row["n"] for row in self._rows(
            "SELECT status, count(*) AS n FROM outbox GROUP BY status")}

