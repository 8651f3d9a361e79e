"""The small loopback HTTP server of the webhook, Matrix, Bluesky and Mastodon sandboxes: start, stop, go down
and come back on the same port, hold an answer or drop the connection; each request is handed to ``handle``
as a ``Request`` (bot/sandbox/loopback.py adds the scripted faults and the rate window on top)."""

from __future__ import annotations

import socket
import socketserver
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

DROPPED = 0  # an Answer's status for a connection closed without an answer


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can stall on a sandboxed resolver.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def close_connections(self) -> None:
        with self.connections_lock:
            for conn in list(self.connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.connections.clear()


class _Handler(BaseHTTPRequestHandler):
    owner: LoopbackHttp
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        answer = self.owner.handle(Request(self.command, self.path, headers, body))
        if answer is None:  # held until the server stops: the client is cut off without an answer
            return
        if answer.status == DROPPED:  # the connection closes without an answer
            self.close_connection = True
            return
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            for key, value in answer.headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
        except OSError:
            pass  # the client gave up

    do_GET = do_POST = do_PUT = _any

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read the records, not the access log."""


class LoopbackHttp:
    """Serves on 127.0.0.1 in a daemon thread; subclasses answer in ``handle`` (under their own lock)."""

    name = "sandbox"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self._stopping = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def handle(self, request: Request) -> Answer | None:
        raise NotImplementedError

    def start(self) -> LoopbackHttp:
        handler = type("Handler", (_Handler,), {"owner": self})
        self._server = _Server((self.host, self.port), handler)
        self.port = self._server.server_address[1]
        self._stopping.clear()
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening; held requests are released (their clients see the connection close)."""
        with self._cond:
            self._stopping.set()
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_connections()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def set_down(self, down: bool) -> None:
        """Refuse connections (True), or listen again on the same port (False)."""
        if down and self._server is not None:
            self.stop()
        elif not down and self._server is None:
            self.start()

    def wait(self, predicate: Any, timeout: float) -> bool:
        """Block until ``predicate()`` holds (checked under the lock at every change); False on timeout."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout=timeout)

    def _changed(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
