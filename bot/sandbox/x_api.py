"""Loopback emulator of the X API v2 users lookup, with scripted faults, for tests and the demo."""

from __future__ import annotations

import argparse
import json
import math
import re
import signal
import socket
import socketserver
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

ID_RE = re.compile(r"^[0-9]{1,19}$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{1,15}$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
USER_FIELDS = frozenset(
    "affiliation connection_status created_at description entities id location most_recent_tweet_id name "
    "pinned_tweet_id profile_banner_url profile_image_url protected public_metrics receives_your_dm "
    "subscription_type url username verified verified_type withheld".split()
)
FAULTS = frozenset(
    {"500", "502", "503", "html502", "timeout", "malformed", "drop", "400", "401", "402", "403", "429", "usage_cap"}
)
PROBLEMS = "https://api.twitter.com/2/problems/"
JSON = "application/json; charset=utf-8"
PROBLEM_JSON = "application/problem+json"
_INVALID = {
    "title": "Invalid Request",
    "detail": "One or more parameters to your request was invalid.",
    "type": PROBLEMS + "invalid-request",
}
_BODIES: dict[str, dict[str, Any]] = {
    "400": {"errors": [{"parameters": {}, "message": "Invalid request"}], **_INVALID},
    "401": {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
    # 402's body is unverified: modelled on X's pay-per-use "credits depleted" problem.
    "402": {"title": "CreditsDepleted", "detail": "Your enrolled account does not have any credits.",
            "type": PROBLEMS + "credits", "status": 402},
    "403": {"title": "Client Forbidden", "reason": "client-not-enrolled", "type": PROBLEMS + "client-forbidden",
            "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys and "
            "tokens from a Twitter developer App that is attached to a Project."},
    "429": {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429},
    "usage_cap": {"title": "UsageCapExceeded", "detail": "Usage cap exceeded: Monthly product cap",
                  "type": PROBLEMS + "usage-capped", "period": "Monthly", "scope": "Product"},
    "500": {"title": "Internal Server Error", "detail": "Internal Server Error", "type": "about:blank",
            "status": 500},
    "502": {"title": "Bad Gateway", "detail": "Bad Gateway", "type": "about:blank", "status": 502},
    "503": {"title": "Service Unavailable", "detail": "Service Unavailable", "type": "about:blank",
            "status": 503},
}
_HTML_502 = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
_CONTROL = frozenset(
    "add_account seed set_withheld suspend unsuspend deactivate reactivate rename set_protected "
    "set_description set_name account fail_next set_rate_limit configure pause resume flicker_next".split()
)

Reply = tuple[int, bytes, str, dict[str, str]]


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One API request as the sandbox answered it (status 0: dropped without an answer)."""

    path: str
    query: dict[str, str]
    status: int
    time: float


class _Account:
    __slots__ = ("created_at", "deactivated", "description", "handle", "id", "name", "protected",
                 "suspended", "withheld")

    def __init__(self, ident: str, handle: str, name: str, created_at: str) -> None:
        self.id, self.handle, self.name, self.created_at = ident, handle, name, created_at
        self.protected = self.suspended = self.deactivated = False
        self.withheld: tuple[str, ...] = ()
        self.description = ""


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _created_at(ident: int) -> str:
    # Deterministic per id, always with the fractional seconds tweepy insists on.
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(1_230_000_000 + ident % 500_000_000))


def _countries(codes: Iterable[str]) -> tuple[str, ...]:
    out = tuple(dict.fromkeys(code.upper() for code in codes))
    if not all(COUNTRY_RE.match(code) for code in out):
        raise ValueError(f"not ISO 3166-1 alpha-2 codes: {out}")
    return out


def _invalid(param: str, value: str, message: str) -> Reply:
    body = {"errors": [{"parameters": {param: [value]}, "message": message}], **_INVALID}
    return 400, _dumps(body), PROBLEM_JSON, {}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sandbox: XSandbox

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can stall on a sandboxed resolver.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real client session expects
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
        try:  # one write: headers and body in a single segment
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        except OSError:  # the client gave up (e.g. after its timeout)
            self.close_connection = True


class XSandbox:
    """An X API v2 users-lookup server on loopback, driven from Python or over HTTP."""

    def __init__(self, bearer_token: str = "sandbox-token", *, host: str = "127.0.0.1", port: int = 0,
                 rate_limit: int = 300, window: float = 900.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.bearer_token = bearer_token
        self.host, self.port = host, port
        self.slow_seconds = 5.0
        self.reset_in = 1.0
        self.single_missing_status = 200  # 404 reproduces the unverified docs claim for single lookups
        self._clock = clock
        self._cond = threading.Condition(threading.RLock())
        self._accounts: dict[str, _Account] = {}
        self._by_handle: dict[str, _Account] = {}
        self._next_id = 1_500_000_000_000_000_000
        self._seeded: dict[str, int] = {}
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
        self._flickers: dict[str, dict[str, Any]] = {}
        self.flickers_served = 0


    def start(self) -> XSandbox:
        self._stopping.clear()
        self._open()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._running.set()
        self._close()

    def __enter__(self) -> XSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def set_down(self, down: bool) -> None:
        """Down: the port refuses connections (listening socket closed); up: reopened on the same port."""
        if down:
            self._close()
        elif self._server is None:
            self._open()

    def pause(self) -> None:
        """Accept API requests but hold them until resume()."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def _open(self) -> None:
        server = _Server((self.host, self.port), _Handler)
        server.sandbox = self
        self.port = server.server_address[1]
        self._server = server
        # A short poll keeps shutdown() (set_down, stop) quick.
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True,
                                        name=f"x-sandbox-{self.port}")
        self._thread.start()

    def _close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._cond:
            conns = list(self._conns)
        for conn in conns:  # keep-alive connections would otherwise keep answering while "down"
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


    def add_account(self, handle: str, *, id: str | None = None, name: str | None = None,
                    protected: bool = False, withheld_in: Iterable[str] = (), description: str = "") -> str:
        if not USERNAME_RE.match(handle):
            raise ValueError(f"invalid X username: {handle!r}")
        with self._cond:
            if handle.lower() in self._by_handle:
                raise ValueError(f"username taken: {handle!r}")
            ident = self._new_id() if id is None else str(id)
            if not ID_RE.match(ident) or ident in self._accounts:
                raise ValueError(f"invalid or taken id: {ident!r}")
            acct = _Account(ident, handle, name if name is not None else handle, _created_at(int(ident)))
            acct.protected, acct.description = protected, description
            acct.withheld = _countries(withheld_in)
            self._accounts[ident] = self._by_handle[handle.lower()] = acct
            return ident

    def seed(self, count: int, prefix: str = "acct") -> list[str]:
        """Create ``count`` plain accounts named prefix0, prefix1, ... quickly; their ids in order."""
        ids: list[str] = []
        with self._cond:
            n = self._seeded.get(prefix, 0)
            for _ in range(count):
                while (handle := f"{prefix}{n}").lower() in self._by_handle:
                    n += 1
                if not USERNAME_RE.match(handle):
                    raise ValueError(f"seeded username {handle!r} is not valid: shorten the prefix")
                ident = self._new_id()
                acct = _Account(ident, handle, handle, _created_at(n))
                self._accounts[ident] = self._by_handle[handle.lower()] = acct
                ids.append(ident)
                n += 1
            self._seeded[prefix] = n
        return ids

    def _new_id(self) -> str:
        while (ident := str(self._next_id)) in self._accounts:
            self._next_id += 1
        self._next_id += 1
        return ident

    def _get(self, x: str) -> _Account:
        acct = self._accounts.get(str(x)) or self._by_handle.get(str(x).lower())
        if acct is None:
            raise KeyError(f"no such account: {x!r}")
        return acct

    def _set(self, x: str, **values: Any) -> None:
        with self._cond:
            acct = self._get(x)
            for key, value in values.items():
                setattr(acct, key, value)

    def set_withheld(self, x: str, countries: Iterable[str]) -> None:
        self._set(x, withheld=_countries(countries))

    def suspend(self, x: str) -> None:
        self._set(x, suspended=True)

    def unsuspend(self, x: str) -> None:
        self._set(x, suspended=False)

    def deactivate(self, x: str) -> None:
        self._set(x, deactivated=True)

    def reactivate(self, x: str) -> None:
        self._set(x, deactivated=False)

    def set_protected(self, x: str, flag: bool) -> None:
        self._set(x, protected=bool(flag))

    def set_description(self, x: str, text: str) -> None:
        self._set(x, description=text)

    def set_name(self, x: str, name: str) -> None:
        self._set(x, name=name)

    def rename(self, x: str, new_handle: str) -> None:
        """The old username stops resolving at once; the id keeps resolving."""
        if not USERNAME_RE.match(new_handle):
            raise ValueError(f"invalid X username: {new_handle!r}")
        with self._cond:
            acct = self._get(x)
            other = self._by_handle.get(new_handle.lower())
            if other is not None and other is not acct:
                raise ValueError(f"username taken: {new_handle!r}")
            del self._by_handle[acct.handle.lower()]
            acct.handle = new_handle
            self._by_handle[new_handle.lower()] = acct

    def flicker_next(self, x: str, *, suspended: bool | None = None, deactivated: bool | None = None,
                     protected: bool | None = None, withheld_in: Iterable[str] | None = None) -> None:
        """The next lookup answer that includes this account shows it changed, later ones as it is.

        A change that lasts exactly one poll (a flicker): detection must never record it. A second call
        before that answer replaces the first. ``flickers_served`` counts the answers that showed one.
        """
        changes: dict[str, Any] = {key: bool(value) for key, value in
                                   (("suspended", suspended), ("deactivated", deactivated), ("protected", protected))
                                   if value is not None}
        if withheld_in is not None:
            changes["withheld"] = _countries(withheld_in)
        if not changes:
            raise ValueError("a flicker needs at least one change")
        with self._cond:
            self._flickers[self._get(x).id] = changes

    def _flickered(self, acct: _Account) -> _Account:
        """The account as this answer shows it: with its queued flicker, which the answer consumes."""
        changes = self._flickers.pop(acct.id, None)
        if changes is None:
            return acct
        shown = _Account(acct.id, acct.handle, acct.name, acct.created_at)
        for slot in _Account.__slots__:
            setattr(shown, slot, getattr(acct, slot))
        for key, value in changes.items():
            setattr(shown, key, value)
        self.flickers_served += 1
        return shown

    def account(self, x: str) -> dict[str, Any]:
        with self._cond:
            a = self._get(x)
            return {"id": a.id, "handle": a.handle, "name": a.name, "protected": a.protected,
                    "withheld_in": list(a.withheld), "description": a.description, "created_at": a.created_at,
                    "suspended": a.suspended, "deactivated": a.deactivated}


    def fail_next(self, kind: str, count: int = 1) -> None:
        """Queue ``count`` faults of ``kind``; each API request consumes one."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of {sorted(FAULTS)}")
        with self._cond:
            self._faults.extend([kind] * count)

    def set_rate_limit(self, limit: int, window: float) -> None:
        with self._cond:
            self._limit, self._window = int(limit), float(window)
            self._window_start, self._used = None, 0

    def configure(self, *, slow_seconds: float | None = None, reset_in: float | None = None,
                  single_missing_status: int | None = None) -> None:
        """Set the fault parameters (for the HTTP control interface)."""
        if slow_seconds is not None:
            self.slow_seconds = float(slow_seconds)
        if reset_in is not None:
            self.reset_in = float(reset_in)
        if single_missing_status is not None:
            self.single_missing_status = int(single_missing_status)

    @property
    def requests(self) -> list[RequestRecord]:
        with self._cond:
            return list(self._records)

    @property
    def request_count(self) -> int:
        with self._cond:
            return len(self._records)

    @property
    def held(self) -> int:
        """API requests currently held by pause()."""
        with self._cond:
            return self._held

    @property
    def open_connections(self) -> int:
        """Client connections the sandbox holds open (keep-alive included)."""
        with self._cond:
            return len(self._conns)

    def wait_for_requests(self, n: int, timeout: float) -> bool:
        """Block until at least ``n`` API requests have been answered (or dropped); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._records) >= n, timeout)

    def wait_for_held(self, n: int = 1, timeout: float = 5.0) -> bool:
        """Block until at least ``n`` API requests are held by pause()."""
        with self._cond:
            return self._cond.wait_for(lambda: self._held >= n, timeout)


    def _dispatch(self, h: _Handler) -> None:
        split = urlsplit(h.path)
        if split.path.startswith("/_sandbox/"):
            h.write(self._control(h, split.path.removeprefix("/_sandbox/")))
            return
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        self._hold()
        with self._cond:
            fault = self._faults.popleft() if self._faults else None
        if fault == "drop":
            h.close_connection = True
            return self._record(split.path, query, 0)
        if fault == "timeout":
            self._stopping.wait(self.slow_seconds)
        if fault in _BODIES or fault == "html502":
            reply = self._fault(fault)
        else:
            reply = self._answer(h.command, split.path, query, h.headers.get("Authorization"))
            if fault == "malformed":
                reply = (200, reply[1][: max(1, len(reply[1]) // 2)], JSON, reply[3])
        self._record(split.path, query, reply[0])  # before the answer: a client that has it sees the record
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

    def _record(self, path: str, query: dict[str, str], status: int) -> None:
        with self._cond:
            self._records.append(RequestRecord(path, query, status, self._clock()))
            self._cond.notify_all()

    def _rate(self, now: float, *, consume: bool) -> tuple[bool, dict[str, str]]:
        """Fixed window per app, opened by its first request."""
        with self._cond:
            if self._window_start is None or now >= self._window_start + self._window:
                if not consume:
                    return True, self._rate_headers(self._limit, now + self._window)
                self._window_start, self._used = now, 0
            allowed = self._used < self._limit
            if consume and allowed:
                self._used += 1
            return allowed, self._rate_headers(self._limit - self._used, self._window_start + self._window)

    def _rate_headers(self, remaining: int, reset: float) -> dict[str, str]:
        return {"x-rate-limit-limit": str(self._limit), "x-rate-limit-remaining": str(max(0, remaining)),
                "x-rate-limit-reset": str(math.ceil(reset))}

    def _fault(self, kind: str) -> Reply:
        now = self._clock()
        headers = self._rate(now, consume=False)[1]
        if kind in ("429", "usage_cap"):
            headers = self._rate_headers(0, now + self.reset_in)
        if kind == "html502":
            return 502, _HTML_502, "text/html; charset=utf-8", headers
        return (429 if kind == "usage_cap" else int(kind)), _dumps(_BODIES[kind]), PROBLEM_JSON, headers

    def _answer(self, method: str, path: str, query: dict[str, str], auth: str | None) -> Reply:
        now = self._clock()
        if auth != f"Bearer {self.bearer_token}":
            return 401, _dumps(_BODIES["401"]), PROBLEM_JSON, self._rate(now, consume=False)[1]
        allowed, headers = self._rate(now, consume=True)
        if not allowed:
            return 429, _dumps(_BODIES["429"]), PROBLEM_JSON, headers
        reply = self._route(method, path, query)
        return reply[0], reply[1], reply[2], headers

    def _route(self, method: str, path: str, query: dict[str, str]) -> Reply:
        if method != "GET":
            return 405, _dumps({"title": "Method Not Allowed", "status": 405}), PROBLEM_JSON, {}
        if path == "/2/users":
            return self._lookup(query, "ids", None)
        if path == "/2/users/by":
            return self._lookup(query, "usernames", None)
        if path.startswith("/2/users/by/username/"):
            return self._lookup(query, "username", unquote(path.removeprefix("/2/users/by/username/")))
        if path.startswith("/2/users/") and path.count("/") == 3:
            return self._lookup(query, "id", unquote(path.removeprefix("/2/users/")))
        body = {"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}
        return 404, _dumps(body), JSON, {}

    def _lookup(self, query: dict[str, str], param: str, single: str | None) -> Reply:
        allowed = {"user.fields", "expansions", "tweet.fields"} | ({param} if single is None else set())
        for key in query:
            if key not in allowed:
                return _invalid(key, query[key], f"The query parameter [{key}] is not one of {sorted(allowed)}")
        fields = set(filter(None, query.get("user.fields", "").split(",")))
        if bad := sorted(fields - USER_FIELDS):
            return _invalid("user.fields", bad[0], f"The `user.fields` query parameter value [{bad[0]}] is "
                            f"not one of {sorted(USER_FIELDS)}")
        raw = single if single is not None else query.get(param)
        if raw is None:
            return _invalid(param, "", f"The `{param}` query parameter can not be empty")
        items = raw.split(",") if single is None else [raw]
        if not 1 <= len(items) <= 100:
            return _invalid(param, str(len(items)), f"The number of values in the `{param}` query parameter "
                            f"list [{len(items)}] is not between 1 and 100")
        pattern = ID_RE if param in ("ids", "id") else USERNAME_RE
        for item in items:
            if not pattern.match(item):
                return _invalid(param, item, f"The `{param}` query parameter value [{item}] is not valid")
        data, errors = self._users(items, param, fields)
        body: dict[str, Any] = {}
        if data:
            body["data"] = data[0] if single is not None else data
        if errors:
            body["errors"] = errors
        status = self.single_missing_status if single is not None and not data else 200
        return status, _dumps(body), JSON, {}

    def _users(self, items: list[str], param: str, fields: set[str]) -> tuple[list[Any], list[Any]]:
        by_id = param in ("ids", "id")
        data: list[dict[str, Any]] = []
        errors: list[dict[str, str]] = []
        with self._cond:
            for item in items:
                acct = self._accounts.get(item) if by_id else self._by_handle.get(item.lower())
                if acct is not None and self._flickers:
                    acct = self._flickered(acct)
                if acct is None or acct.deactivated:
                    errors.append(self._missing(item, param, "Not Found Error",
                                                f"Could not find user with {param}: [{item}]."))
                elif acct.suspended:
                    errors.append(self._missing(item, param, "Forbidden", f"User has been suspended: [{item}]."))
                else:
                    data.append(self._user(acct, fields))
        return data, errors

    @staticmethod
    def _missing(value: str, param: str, title: str, detail: str) -> dict[str, str]:
        return {"value": value, "detail": detail, "title": title, "resource_type": "user", "parameter": param,
                "resource_id": value, "type": PROBLEMS + "resource-not-found"}

    @staticmethod
    def _user(a: _Account, fields: set[str]) -> dict[str, Any]:
        user: dict[str, Any] = {"id": a.id, "name": a.name, "username": a.handle}
        if "created_at" in fields:
            user["created_at"] = a.created_at
        if "description" in fields:
            user["description"] = a.description
        if "protected" in fields:
            user["protected"] = a.protected
        if "verified" in fields:
            user["verified"] = False
        if "public_metrics" in fields:
            user["public_metrics"] = {"followers_count": 1000, "following_count": 100, "tweet_count": 5000,
                                      "listed_count": 10, "like_count": 2000, "media_count": 50}
        if "withheld" in fields and a.withheld:
            user["withheld"] = {"country_codes": list(a.withheld), "scope": "user"}
        return user

    def _control(self, h: _Handler, action: str) -> Reply:
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))  # always, to keep the stream in step
        if h.command == "GET" and action == "stats":
            with self._cond:
                return 200, _dumps({"requests": len(self._records), "held": self._held}), JSON, {}
        if h.command != "POST" or action not in _CONTROL:
            return 404, _dumps({"error": f"no such control action: {action}"}), JSON, {}
        try:
            payload = json.loads(body or b"{}")
            if not isinstance(payload, dict):
                raise TypeError("the body must be a JSON object")
            if "account" in payload and "x" not in payload:
                payload["x"] = payload.pop("account")
            result = getattr(self, action)(**payload)
        except KeyError as exc:
            return 404, _dumps({"error": str(exc.args[0]) if exc.args else "not found"}), JSON, {}
        except (TypeError, ValueError) as exc:
            return 400, _dumps({"error": str(exc)}), JSON, {}
        return 200, _dumps({"result": result}), JSON, {}


def main(argv: list[str] | None = None) -> int:
    """Run the sandbox in the foreground until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m bot.sandbox.x_api", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0, help="create this many accounts acct0, acct1, ...")
    parser.add_argument("--rate-limit", type=int, default=300)
    parser.add_argument("--window", type=float, default=900.0)
    parser.add_argument("--bearer-token", default="sandbox-token")
    args = parser.parse_args(argv)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with XSandbox(args.bearer_token, host=args.host, port=args.port, rate_limit=args.rate_limit,
                  window=args.window) as sandbox:
        if args.seed:
            sandbox.seed(args.seed)
        print(sandbox.base_url, flush=True)
        try:
            done.wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
