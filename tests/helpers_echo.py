"""A loopback HTTP server that answers every request as a function decides: the misbehaving proxy in front
of X or Telegram whose error pages quote our request (its path, its headers), secrets included."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# (path, request headers) -> (status, content type, body)
Answer = Callable[[str, Mapping[str, str]], tuple[int, str, bytes]]


class EchoServer:
    """``with EchoServer(answer) as server``: ``server.base_url`` answers GET and POST with ``answer``."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> EchoServer:
        answer = self.answer

        class Handler(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                status, kind, body = answer(self.path, dict(self.headers))
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _reply

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: the test reads what the client made of the answer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
