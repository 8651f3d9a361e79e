"""The loopback HTTP server the Bluesky and Mastodon sandboxes share: start/stop, down (port refusing),
pause (requests held), a queue of scripted faults, a record of every request, and a fixed rate window.

A sandbox subclasses ``Loopback`` and answers in ``answer(method, path, query, headers)``; faults are
applied around it exactly as the X sandbox applies them: ``drop`` (connection closed without an answer),
``timeout`` (held ``slow_seconds``), ``malformed`` (the real answer cut in half, as a 200), and the
status faults, whose bodies the subclass gives in ``fault_reply``; ``ok`` answers normally (to aim a
fault at a later request).
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sandbox: Loopback

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can stall on a sandboxed resolver.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.sandbox._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.sandbox._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and the demo print their own output."""

    def do_GET(self) -> None:
        self.server.sandbox._dispatch(self)

    def do_POST(self) -> None:
        self.server.sandbox._dispatch(self)

    def write(self, reply: Reply) -> None:
        status, body, ctype, headers = reply
        head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", f"Content-Type: {ctype}",
                f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]
        if self.close_connection:
            head.append("Connection: close")
        try:
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        except OSError:
            self.close_connection = True


class Loopback:
    """A threaded HTTP server on 127.0.0.1 with the fault machinery; subclasses answer the API."""

    faults: frozenset[str] = COMMON_FAULTS
    name = "sandbox"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, rate_limit: int = 3000, window: float = 300.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.host, self.port = host, port
        self.slow_seconds = 5.0
        self.reset_in = 1.0
        self._clock = clock
        self._cond = threading.Condition(threading.RLock())
        self._limit, self._window = rate_limit, window
        self._window_start: float | None = None
        self._used = 0
        self._faults: deque[str] = deque()
        self._records: list[RequestRecord] = []
        self._held = 0
        self._running = threading.Event()
        self._running.set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()

    def start(self) -> Any:
        self._stopping.clear()
        self._open()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._running.set()
        self._close()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def set_down(self, down: bool) -> None:
        """Down: the port refuses connections; up: reopened on the same port."""
        if down:
            self._close()
        elif self._server is None:
            self._open()

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

    def _open(self) -> None:
        server = _Server((self.host, self.port), _Handler)
        server.sandbox = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True,
                                        name=f"{self.name}-{self.port}")
        self._thread.start()

    def _close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._cond:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join()

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._cond:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def _dispatch(self, h: _Handler) -> None:
        split = urlsplit(h.path)
        query = parse_qs(split.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in h.headers.items()}
        self._hold()
        with self._cond:
            fault = self._faults.popleft() if self._faults else None
        if fault == "ok":  # a placeholder: this request is answered, the next fault is for the one after
            fault = None
        if fault == "drop":
            h.close_connection = True
            return self._record(split.path, query, 0, headers)
        if fault == "timeout":
            self._stopping.wait(self.slow_seconds)
        if fault is not None and fault not in ("timeout", "malformed"):
            limit_headers = self.rate_headers(self._limit, 0, self._clock() + self.reset_in) if fault == "429" else {}
            reply = self.fault_reply(fault, limit_headers)
        else:
            reply = self.answer(h.command, split.path, query, headers)
            if fault == "malformed":
                reply = (200, reply[1][: max(1, len(reply[1]) // 2)], JSON, reply[3])
        self._record(split.path, query, reply[0], headers)
        h.write(reply)

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
