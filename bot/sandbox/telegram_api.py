"""A loopback emulator of the Telegram Bot API that the real python-telegram-bot client talks to."""

from __future__ import annotations

import json
import math
import re
import socket
import socketserver
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

from bot.sandbox import telegram_objects as obj
from bot.sandbox.telegram_html import HtmlError, parse_html
from bot.sandbox.telegram_state import ApiError, SandboxState

JSON = dict[str, Any]
MAX_TEXT = 4096  # counted in code points; Telegram may count UTF-16 units (unverified)
_PATH = re.compile(r"/bot([^/]+)/([A-Za-z]+)/?")
# Form values are JSON-encoded unless they are strings; these parameters are always strings.
_STRING_PARAMS = frozenset(
    "text parse_mode language_code url secret_token caption title description short_description name "
    "custom_title action".split()
)
_BAD_GATEWAY = b"<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>"


def decode_form(body: str) -> JSON:
    """Decode a form as PTB encodes it: non-string values are JSON inside the form."""
    params: JSON = {}
    for key, raw in parse_qsl(body, keep_blank_values=True):
        if key in _STRING_PARAMS:
            params[key] = raw
            continue
        try:
            params[key] = json.loads(raw)
        except ValueError:
            params[key] = raw
    return params


class TelegramSandbox(SandboxState):
    """The Bot API on 127.0.0.1: chats, rate limits, faults, updates; records every message."""

    def __init__(
        self,
        token: str = "123456:sandbox",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        overall_per_second: int | None = 30,
        per_chat_per_second: int | None = 1,
        group_per_minute: int | None = 20,
        bot_username: str = "presswatch_bot",
    ) -> None:
        super().__init__(int(token.split(":", 1)[0]), bot_username)
        self.token = token
        self.host = host
        self.port = port
        self.overall_per_second = overall_per_second
        self.per_chat_per_second = per_chat_per_second
        self.group_per_minute = group_per_minute
        self.slow_seconds = 2.0
        self.rate_limited_count = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._windows: dict[tuple[str, int], deque[float]] = {}
        self._methods: dict[str, Callable[[JSON], Any]] = {
            "getme": lambda _p: self.me,
            "sendmessage": self._send_message,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": lambda _p: {
                "url": "",
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            },
            "getupdates": self._get_updates,
            "setmycommands": self._set_commands,
            "getmycommands": lambda p: self._commands.get(self._scope_key(p), []),
            "deletemycommands": lambda p: self._commands.pop(self._scope_key(p), None) is not None or True,
            "getchat": lambda p: obj.full_chat(self._chat(p.get("chat_id"))),
            "getchatmember": self._get_member,
            "getchatadministrators": self._get_admins,
            "getchatmembercount": lambda p: 1 + len(self._admins.get(self._chat(p.get("chat_id"))["id"], ())),
            "sendchataction": lambda p: bool(self._chat(p.get("chat_id"))),
            "close": lambda _p: True,
            "logout": lambda _p: True,
        }

    @property
    def base_url(self) -> str:
        """What PTB's ``base_url`` takes: it appends the token and the method."""
        return f"http://{self.host}:{self.port}/bot"

    def start(self) -> TelegramSandbox:
        """Listen (on ``port``, or a free one) and serve in a daemon thread."""
        handler = type("Handler", (_Handler,), {"sandbox": self})
        self._server = _Server((self.host, self.port), handler)
        self.port = self._server.server_address[1]
        self._stopping.clear()
        # A short poll interval keeps stop() and set_down() quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="telegram-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening; held and long-polling requests are released."""
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

    def __enter__(self) -> TelegramSandbox:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def handle(self, path: str, params: JSON) -> tuple[int, JSON | bytes]:
        """Answer one request: (HTTP status, envelope or raw body)."""
        match = _PATH.fullmatch(path)
        if match is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        if match.group(1) != self.token:
            with self._cond:
                self.refused[match.group(2)] += 1
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        method = match.group(2)
        with self._cond:
            self.calls[method] += 1
            fault = self._take_fault(method)
        if fault is not None:
            kind, retry_after = fault
            if kind == "timeout":
                # Like the real API, the request still takes effect; only the answer is late.
                self._stopping.wait(self.slow_seconds)
            elif kind == "502":
                return 502, _BAD_GATEWAY
            elif kind == "500":
                return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
            else:
                with self._cond:
                    self.rate_limited_count += 1
                return 429, ApiError.flood(retry_after).envelope()
        implementation = self._methods.get(method.lower())
        if implementation is None:
            # Never 404: PTB maps 404 to InvalidToken.
            return 400, ApiError(400, f"Bad Request: method {method} is not emulated").envelope()
        try:
            with self._cond:
                return 200, {"ok": True, "result": implementation(params)}
        except ApiError as error:
            return error.code, error.envelope()

    def _send_message(self, params: JSON) -> JSON:
        chat = self._chat(params.get("chat_id"))
        chat_id = chat["id"]
        if chat_id in self._chat_faults:
            raise self._chat_faults[chat_id]
        text = params.get("text")
        if not isinstance(text, str) or not text:
            raise ApiError(400, "Bad Request: message text is empty")
        parse_mode = params.get("parse_mode")
        plain = text
        if isinstance(parse_mode, str) and parse_mode.lower() == "html":
            try:
                plain = parse_html(text)
            except HtmlError as error:
                raise ApiError(400, f"Bad Request: can't parse entities: {error}") from None
        elif parse_mode:
            raise ApiError(400, "Bad Request: unsupported parse_mode")
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(plain) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        self._check_rate(chat)
        message_id = self._next_message_id(chat_id)
        now = time.time()
        self.messages.append(
            {
                "chat_id": chat_id,
                "text": text,
                "plain": plain,
                "parse_mode": parse_mode,
                "message_id": message_id,
                "time": now,
                "params": params,
            }
        )
        self._cond.notify_all()
        return obj.message(message_id, chat, plain, int(now), self.me)

    def _check_rate(self, chat: JSON) -> None:
        now = time.monotonic()
        limits = [(("all", 0), 1.0, self.overall_per_second), (("chat", chat["id"]), 1.0, self.per_chat_per_second)]
        if chat["type"] in ("group", "supergroup"):
            limits.append((("group", chat["id"]), 60.0, self.group_per_minute))
        windows = []
        for key, span, limit in limits:
            if not limit:
                continue
            window = self._windows.setdefault(key, deque())
            while window and window[0] <= now - span:
                window.popleft()
            if len(window) >= limit:
                self.rate_limited_count += 1
                raise ApiError.flood(max(1, math.ceil(window[0] + span - now)))
            windows.append(window)
        for window in windows:
            window.append(now)

    def _delete_webhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_updates(self, params: JSON) -> list[JSON]:
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        if offset > 0:
            self._updates[:] = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            del self._updates[:offset]
        # Long polls stay short so that clients and tests stop quickly.
        wait = min(float(params.get("timeout") or 0), 1.0)
        self._cond.wait_for(lambda: bool(self._updates) or self._stopping.is_set(), timeout=wait)
        return self._updates[:limit]

    def registered_commands(self, language_code: str = "") -> list[JSON]:
        """The commands setMyCommands registered for the default scope and ``language_code`` ('' for all)."""
        with self._cond:
            return list(self._commands.get(self._scope_key({"language_code": language_code}), []))

    def _set_commands(self, params: JSON) -> bool:
        self._commands[self._scope_key(params)] = list(params.get("commands") or [])
        return True

    def _get_member(self, params: JSON) -> JSON:
        chat = self._chat(params.get("chat_id"))
        user_id = int(params.get("user_id") or 0)
        if user_id == self.bot_id:
            return obj.member(self.me, "administrator" if chat["type"] == "channel" else "member")
        status = "administrator" if user_id in self._admins.get(chat["id"], ()) else "member"
        return obj.member(obj.user(user_id), status)

    def _get_admins(self, params: JSON) -> list[JSON]:
        chat = self._chat(params.get("chat_id"))
        return [obj.member(obj.user(admin), "administrator") for admin in self._admins.get(chat["id"], ())]

    @staticmethod
    def _scope_key(params: JSON) -> str:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps([scope, params.get("language_code") or ""], sort_keys=True)


class _Server(ThreadingHTTPServer):
    """Keep-alive connections are tracked so that going down really cuts every client off."""

    daemon_threads = True
    request_queue_size = 128  # a burst of 32 concurrent sends must not overflow the listen backlog

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
    sandbox: TelegramSandbox
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as PTB's httpx client expects

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

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        path, _, query = self.path.partition("?")
        params = decode_form(query)
        content_type = self.headers.get("Content-Type", "")
        if "json" in content_type and body:
            try:
                params.update(json.loads(body))
            except ValueError:
                self._reply(400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid JSON"})
                return
        elif body:
            params.update(decode_form(body))
        self._reply(*self.sandbox.handle(path, params))

    do_GET = do_POST

    def _reply(self, status: int, payload: JSON | bytes) -> None:
        is_json = not isinstance(payload, bytes)
        data = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if is_json else "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (a timeout fault): nothing to answer

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read the records, not the access log."""
