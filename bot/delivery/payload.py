"""The JSON webhook payload (version 1) of an alert, described by bot/schemas/webhook-v1.json (pure).

Codes, not words: countries as ISO 3166-1 alpha-2, times as ISO 8601 UTC, the kind as presswatch names it;
``text`` is the alert in the subscriber's language, for receivers that only show it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bot.models import Transition
from bot.text import iso

VERSION = 1


def alert_data(t: Transition, text: str, evidence_url: str | None = None) -> dict[str, Any]:
    """The payload of one alert, without its ``version`` (the webhook notifier adds it); ``evidence_url``
    is the raw entry on presswatch's own site (``server.public_url``), when it publishes it."""
    return {
        "event": {
            "kind": str(t.kind),
            "countries": sorted(t.countries),
            "withheld_in": sorted(t.withheld_in),
            "at": iso(t.confirmed_at),
            "first_seen": iso(t.first_seen_at),
            "transition_id": t.id,
            "previous_handle": t.previous_handle or None,
        },
        "account": {
            "platform": t.platform,
            "id": t.account_id,
            "handle": t.handle,
            "name": t.name,
            "tags": list(t.tags),
            "url": "https://x.com/" + quote(t.handle, safe=""),
        },
        # The raw API entry is in the database (`presswatch history --evidence`), and on the web when served.
        "evidence": {"sha256": t.evidence_sha256, "url": evidence_url},
        "text": text.strip(),
    }
