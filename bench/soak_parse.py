"""What reached the subscribers, read back from the Telegram sandbox and the mail sink.

Every alert names its account as ``@handle`` followed by the sentence of its kind (bot/render.py), one
per line in a digest; operator messages end with their notice number. The sentences are written out
again here on purpose: if the templates change, ``unparsed`` counts the messages this no longer reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

SENTENCES = {
    "is now withheld in": "withheld",
    "is no longer withheld in": "unwithheld",
    "has been suspended": "suspended",
    "is no longer suspended": "unsuspended",
    "can no longer be found": "deactivated",
    "is back (reactivated)": "reactivated",
    "is now protected": "protected",
    "is no longer protected": "unprotected",
    "renamed to @": "renamed",
    "has been limited by the moderators of its instance": "limited",
    "is no longer limited": "unlimited",
    "is now hidden in": "withheld",  # Bluesky's words for a country labeler's label
    "is no longer hidden in": "unwithheld",
}
_ITEM = re.compile(r"^(?:\S+\s+)?@([A-Za-z0-9_]{1,15}) (" + "|".join(re.escape(s) for s in SENTENCES) + ")")
_NOTICE = re.compile(r"[Nn]otice:? #(\d+)")

Key = tuple[str, str, str]  # (address, account id, kind)


def alert_items(text: str) -> list[tuple[str, str]]:
    """(handle, kind) of every alert in one message's visible text: one, or a digest's many."""
    found = []
    for line in text.splitlines():
        match = _ITEM.match(line.strip())
        if match:
            found.append((match.group(1), SENTENCES[match.group(2)]))
    return found


def notice_id(text: str) -> int | None:
    match = _NOTICE.search(text)
    return int(match.group(1)) if match else None


@dataclass(slots=True)
class Deliveries:
    """Every alert item and operator notice as it arrived, by address (a chat id or an email address)."""

    alerts: list[Key] = field(default_factory=list)  # one entry per arrival: repeats are duplicates
    notices: list[tuple[str, int]] = field(default_factory=list)  # (address, notice id) per arrival
    messages: int = 0
    unparsed: list[str] = field(default_factory=list)  # first lines of messages read as neither
    unknown_handles: set[str] = field(default_factory=set)


def read(tg_messages: Iterable[Mapping[str, object]], mails: Iterable[object],
         ids_by_handle: Mapping[str, str]) -> Deliveries:
    """Parse the Telegram sandbox's ``messages`` and the mail sink's messages."""
    out = Deliveries()
    for message in tg_messages:
        _one(out, str(message["chat_id"]), str(message["plain"]), ids_by_handle)
    for mail in mails:
        body = mail.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
        text = body.get_content() if body is not None else ""
        for address in mail.rcpt_tos:  # type: ignore[attr-defined]
            _one(out, address, text, ids_by_handle)
    return out


def _one(out: Deliveries, address: str, text: str, ids_by_handle: Mapping[str, str]) -> None:
    out.messages += 1
    items = alert_items(text)
    for handle, kind in items:
        ident = ids_by_handle.get(handle.casefold())
        if ident is None:
            out.unknown_handles.add(handle)
            continue
        out.alerts.append((address, ident, kind))
    if items:
        return
    notice = notice_id(text)
    if notice is not None:
        out.notices.append((address, notice))
    else:
        out.unparsed.append((text.strip().splitlines() or [""])[0][:100])
