"""What the Bluesky and Mastodon sandboxes add to bot.sandbox.http's loopback server (start/stop, down with
the port refusing): pause (requests held), a queue of scripted faults, a record of every request, and a
fixed rate window.

A sandbox subclasses ``Loopback`` and answers in ``answer(method, path, query, headers)``; faults are
applied around it exactly as the X sandbox applies them: ``drop`` (connection closed without an answer),
``timeout`` (held ``slow_seconds``), ``malformed`` (the real answer cut in half, as a 200), and the
status faults, whose bodies the subclass gives in ``fault_reply``; ``ok`` answers normally (to aim a
fault at a later request).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from bot.sandbox.http import DROPPED, Answer, LoopbackHttp, Request

Reply = tuple[int, bytes, str, dict[str, str]]
Query = dict[str, list[str]]
JSON = "application/json; charset=utf-8"
HTML = "text/html; charset=utf-8"
COMMON_FAULTS = frozenset({"ok", "500", "502", "503", "timeout", "malformed", "drop", "429"})


def dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One API request as the sandbox answered it (status 0: dropped without an answer)."""

    path: str
    query: Query
    status: int
    time: float
    headers: Mapping[str, str]


class Loopback(LoopbackHttp):
    """bot.sandbox.http's loopback server with the fault machinery; subclasses answer the API."""

    faults: frozenset[str] = COMMON_FAULTS
    name = "sandbox"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, rate_limit: int = 3000, window: float = 300.0,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(host=host, port=port)
        self.slow_seconds = 5.0
        self.reset_in = 1.0
        self._clock = clock
        self._cond = threading.Condition(threading.RLock())  # answers take it again inside a request
        self._limit, self._window = rate_limit, window
        self._window_start: float | None = None
        self._used = 0
        self._faults: deque[str] = deque()
        self._records: list[RequestRecord] = []
        self._held = 0
        self._running = threading.Event()
        self._running.set()

    def stop(self) -> None:
        self._running.set()  # paused requests are let go, and see the connection close
        super().stop()

    def pause(self) -> None:
        """Accept API requests but hold them until resume()."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def fail_next(self, kind: str, count: int = 1) -> None:
        """Queue ``count`` faults of ``kind``; each API request consumes one."""
        if kind not in self.faults:
            raise ValueError(f"unknown fault {kind!r}; one of {sorted(self.faults)}")
        with self._cond:
            self._faults.extend([kind] * count)

    def set_rate_limit(self, limit: int, window: float) -> None:
        with self._cond:
            self._limit, self._window = int(limit), float(window)
            self._window_start, self._used = None, 0

    @property
    def requests(self) -> list[RequestRecord]:
        with self._cond:
            return list(self._records)

    @property
    def request_count(self) -> int:
        with self._cond:
            return len(self._records)

    def wait_for_requests(self, n: int, timeout: float) -> bool:
        """Block until at least ``n`` API requests have been answered (or dropped); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._records) >= n, timeout)

    def answer(self, method: str, path: str, query: Query, headers: Mapping[str, str]) -> Reply:
        raise NotImplementedError

    def fault_reply(self, kind: str, headers: dict[str, str]) -> Reply:
        raise NotImplementedError

    def rate_headers(self, limit: int, remaining: int, reset: float) -> dict[str, str]:
        raise NotImplementedError

    def take(self) -> tuple[bool, dict[str, str]]:
        """Consume one request of the fixed window opened by the first request: (allowed, headers)."""
        now = self._clock()
        with self._cond:
            if self._window_start is None or now >= self._window_start + self._window:
                self._window_start, self._used = now, 0
            allowed = self._used < self._limit
            if allowed:
                self._used += 1
            return allowed, self.rate_headers(self._limit, max(0, self._limit - self._used),
                                              self._window_start + self._window)

    def handle(self, request: Request) -> Answer:
        split = urlsplit(request.path)
        query = parse_qs(split.query, keep_blank_values=True)
        self._hold()
        with self._cond:
            fault = self._faults.popleft() if self._faults else None
        if fault == "ok":  # a placeholder: this request is answered, the next fault is for the one after
            fault = None
        if fault == "drop":
            self._record(split.path, query, DROPPED, request.headers)
            return Answer(DROPPED)
        if fault == "timeout":
            self._stopping.wait(self.slow_seconds)
        if fault is not None and fault not in ("timeout", "malformed"):
            limit_headers = self.rate_headers(self._limit, 0, self._clock() + self.reset_in) if fault == "429" else {}
            reply = self.fault_reply(fault, limit_headers)
        else:
            reply = self.answer(request.method, split.path, query, request.headers)
            if fault == "malformed":
                reply = (200, reply[1][: max(1, len(reply[1]) // 2)], JSON, reply[3])
        self._record(split.path, query, reply[0], request.headers)
        status, body, ctype, headers = reply
        return Answer(status, body, tuple(headers.items()), ctype)

    def _hold(self) -> None:
        if self._running.is_set():
            return
        with self._cond:
            self._held += 1
            self._cond.notify_all()
        self._running.wait()
        with self._cond:
            self._held -= 1

    def _record(self, path: str, query: Query, status: int, headers: Mapping[str, str]) -> None:
        with self._cond:
            self._records.append(RequestRecord(path, query, status, self._clock(), headers))
            self._cond.notify_all()
