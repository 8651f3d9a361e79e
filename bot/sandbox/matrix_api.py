"""A loopback emulator of a Matrix homeserver's send endpoint (Client-Server API v3), as presswatch uses it.

``PUT /_matrix/client/v3/rooms/{roomId}/send/m.room.message/{txnId}`` with a Bearer token: a txnId seen
before for the same token returns the same event_id and stores nothing new (the spec's idempotency);
M_UNKNOWN_TOKEN for another token, M_FORBIDDEN for a room the account is not in, M_LIMIT_EXCEEDED over the
rate limit (Retry-After and the older retry_after_ms); faults on demand: 5xx, slow answers, an answer held
until the server stops (a send in flight when the client dies), being down.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote

from bot.sandbox.http import Answer, LoopbackHttp, Request

JSON = dict[str, Any]
_SEND = re.compile(r"^/_matrix/client/v3/rooms/([^/]+)/send/([^/]+)/([^/?]+)$")
# The HTML tags the spec suggests clients allow in formatted_body.
ALLOWED_TAGS = frozenset(
    "font del h1 h2 h3 h4 h5 h6 blockquote p a ul ol sup sub li b i u strong em s code hr br div table thead "
    "tbody tr th td caption pre span img details summary".split())


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.bad: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.bad.append(tag)


def _error(status: int, code: str, error: str, *headers: tuple[str, str], **extra: Any) -> Answer:
    return Answer(status, json.dumps({"errcode": code, "error": error, **extra}).encode(), tuple(headers))


class MatrixSandbox(LoopbackHttp):
    """One account (``token``) on a homeserver at 127.0.0.1; ``events`` keeps what each room received."""

    name = "matrix-sandbox"

    def __init__(self, token: str = "syt_sandbox_token", *, per_second: int | None = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.token = token
        self.per_second = per_second
        self.events: dict[str, list[JSON]] = {}
        self.requests = 0
        self.duplicates = 0  # requests answered from the txnId memory
        self.slow_seconds = 2.0
        self._joined: set[str] = set()
        self._txns: dict[tuple[str, str, str], str] = {}  # (token, room, txnId): the spec scopes a txnId to its path
        self._faults: list[str] = []
        self._sent: deque[float] = deque()
        self._release = threading.Event()
        self.held = 0

    def add_room(self, room_id: str, *, joined: bool = True) -> str:
        with self._cond:
            self.events.setdefault(room_id, [])
            if joined:
                self._joined.add(room_id)
            else:
                self._joined.discard(room_id)
        return room_id

    def fail(self, *faults: str) -> None:
        """The next sends get these, in order: "500", "502", "429" (Retry-After and retry_after_ms),
        "429-ms" (retry_after_ms only), "timeout" (stored, answered late), "hold" (stored, never answered
        until ``release`` or the server stops)."""
        with self._cond:
            self._faults.extend(faults)

    def release(self) -> None:
        self._release.set()

    def room(self, room_id: str) -> list[JSON]:
        with self._cond:
            return list(self.events.get(room_id, []))

    def wait_for(self, room_id: str, count: int, timeout: float) -> bool:
        return self.wait(lambda: len(self.events.get(room_id, [])) >= count, timeout)

    def handle(self, request: Request) -> Answer | None:
        match = _SEND.match(request.path)
        if request.method != "PUT" or match is None:
            return _error(404, "M_UNRECOGNIZED", "Unrecognized request")
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, "M_UNKNOWN_TOKEN", "Invalid access token passed.", soft_logout=False)
        room, kind, txn = (unquote(part) for part in match.groups())
        with self._cond:
            self.requests += 1
            fault = self._faults.pop(0) if self._faults else None
            if fault in ("500", "502"):
                return _error(int(fault), "M_UNKNOWN", "Internal server error")
            if fault == "429-ms":
                return _error(429, "M_LIMIT_EXCEEDED", "Too many requests", retry_after_ms=800)
            if fault == "429" or self._over_limit():
                return _error(429, "M_LIMIT_EXCEEDED", "Too many requests", ("Retry-After", "1"),
                              retry_after_ms=1000)
            answer = self._send(room, kind, txn, request.body)
        if fault == "timeout":
            self._stopping.wait(self.slow_seconds)
        elif fault == "hold":
            with self._cond:
                self.held += 1
                self._cond.notify_all()
            while not (self._release.is_set() or self._stopping.is_set()):
                self._release.wait(0.05)
            if self._stopping.is_set():
                return None
        return answer

    def _over_limit(self) -> bool:
        if self.per_second is None:
            return False
        now = time.monotonic()
        while self._sent and now - self._sent[0] >= 1.0:
            self._sent.popleft()
        if len(self._sent) >= self.per_second:
            return True
        self._sent.append(now)
        return False

    def _send(self, room: str, kind: str, txn: str, raw: bytes) -> Answer:
        """Store the event once per (token, room, txnId); called under the lock."""
        known = self._txns.get((self.token, room, txn))
        if known is not None:
            self.duplicates += 1
            return Answer(200, json.dumps({"event_id": known}).encode())
        if room not in self._joined:
            return _error(403, "M_FORBIDDEN", f"User @presswatch:sandbox not in room {room}")
        try:
            content = json.loads(raw)
        except ValueError:
            return _error(400, "M_NOT_JSON", "Content not JSON.")
        if not isinstance(content, dict) or not isinstance(content.get("body"), str) or not content["body"]:
            return _error(400, "M_BAD_JSON", "body is required")
        tags = _Tags()
        tags.feed(str(content.get("formatted_body", "")))
        if tags.bad:
            return _error(400, "M_BAD_JSON", f"tags not in the suggested subset: {sorted(set(tags.bad))}")
        event_id = f"${len(self._txns) + 1}:sandbox"
        self._txns[(self.token, room, txn)] = event_id
        self.events.setdefault(room, []).append({"event_id": event_id, "type": kind, "txn_id": txn,
                                                 "content": content})
        self._cond.notify_all()
        return Answer(200, json.dumps({"event_id": event_id}).encode())
