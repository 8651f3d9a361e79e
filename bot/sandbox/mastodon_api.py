"""Loopback emulator of one Mastodon instance's public account reads (PLATFORMS.md), with scripted faults.

Served: ``GET /api/v1/accounts/lookup?acct=``, ``GET /api/v1/accounts/:id`` and, from 4.3, the batch
``GET /api/v1/accounts?id[]=`` (at most 40: 422 beyond; suspended accounts included, blanked; unknown ids
silently omitted); before 4.3 that route is Rails' HTML 404. ``suspended`` (3.3+) and ``limited`` (3.5.3+)
appear only when true; before 3.3 a suspended account is 410. ``require_auth``: 401 on everything.
Rate limit: ``X-RateLimit-*`` headers (the reset in ISO 8601), 429. Faults: 500, 502, 503, timeout,
malformed, drop, 429.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from bot.sandbox.loopback import HTML, JSON, Loopback, Query, Reply, dumps

BATCH_MAX = 40
USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{1,30}$")
_NOT_FOUND: Reply = (404, dumps({"error": "Record not found"}), JSON, {})
_HTML_404 = b"<!DOCTYPE html><html><head><title>The page you were looking for doesn't exist (404)</title></head>" \
    b"<body><h1>The page you were looking for doesn't exist.</h1></body></html>"
_FAULT_BODIES = {"500": {"error": "Internal Server Error"}, "503": {"error": "Service Unavailable"},
                 "429": {"error": "Too many requests"}}
_HTML_502 = b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>" \
    b"<hr><center>nginx</center></body></html>"
CREATED = "2023-01-01T00:00:00.000Z"


class _Acct:
    __slots__ = ("deleted", "id", "limited", "locked", "name", "note", "suspended", "username")

    def __init__(self, ident: str, username: str, name: str) -> None:
        self.id, self.username, self.name = ident, username, name
        self.note = ""
        self.suspended = self.limited = self.locked = self.deleted = False


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


class MastodonSandbox(Loopback):
    """One Mastodon instance (``domain``, e.g. mastodon.social) of ``version`` on loopback."""

    faults = frozenset({"ok", "500", "502", "503", "timeout", "malformed", "drop", "429"})
    name = "mastodon-sandbox"

    def __init__(self, domain: str = "mastodon.social", *, version: str = "4.3.0", port: int = 0,
                 rate_limit: int = 300, window: float = 300.0, clock: Callable[[], float] = time.time) -> None:
        super().__init__(port=port, rate_limit=rate_limit, window=window, clock=clock)
        self.domain = domain
        self.version = _version(version)
        self.require_auth = False
        self._accounts: dict[str, _Acct] = {}
        self._next = 109_000_000_000_000_000

    def add_account(self, username: str, *, name: str | None = None, note: str = "") -> str:
        """A new local account; returns its id."""
        if not USERNAME_RE.match(username):
            raise ValueError(f"invalid Mastodon username: {username!r}")
        with self._cond:
            self._next += 1
            acct = _Acct(str(self._next), username, username if name is None else name)
            acct.note = note
            self._accounts[acct.id] = acct
            return acct.id

    def _get(self, who: str) -> _Acct:
        with self._cond:
            if who in self._accounts:
                return self._accounts[who]
            user = who.split("@")[0].lower()
            for acct in self._accounts.values():
                if acct.username.lower() == user:
                    return acct
        raise KeyError(f"no such account: {who}")

    def set(self, who: str, **values: Any) -> None:
        """Set ``suspended``, ``limited``, ``locked``, ``deleted``, ``name`` or ``note`` of an account."""
        with self._cond:
            acct = self._get(who)
            for key, value in values.items():
                if key not in _Acct.__slots__ or key in ("id", "username"):
                    raise ValueError(f"unknown account field {key!r}")
                setattr(acct, key, value)

    def rate_headers(self, limit: int, remaining: int, reset: float) -> dict[str, str]:
        at = datetime.fromtimestamp(math.ceil(reset), UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining), "X-RateLimit-Reset": at}

    def fault_reply(self, kind: str, headers: dict[str, str]) -> Reply:
        if kind == "502":
            return 502, _HTML_502, HTML, headers
        return int(kind), dumps(_FAULT_BODIES[kind]), JSON, headers

    def answer(self, method: str, path: str, query: Query, headers: Mapping[str, str]) -> Reply:
        if self.require_auth and "authorization" not in headers:
            return 401, dumps({"error": "This method requires an authenticated user"}), JSON, {}
        allowed, limits = self.take()
        if not allowed:
            return 429, dumps(_FAULT_BODIES["429"]), JSON, limits
        status, body, ctype, _ = self._route(method, path, query)
        return status, body, ctype, limits

    def _route(self, method: str, path: str, query: Query) -> Reply:
        if method != "GET":
            return 404, _HTML_404, HTML, {}
        with self._cond:
            if path == "/api/v1/accounts/lookup":
                acct = self._find((query.get("acct") or [""])[0])
                return self._one(acct)
            if path == "/api/v1/accounts" and self.version >= (4, 3):
                return self._batch(query.get("id[]", []))
            if path.startswith("/api/v1/accounts/") and path.count("/") == 4:
                return self._one(self._accounts.get(path.rsplit("/", 1)[1]))
        return 404, _HTML_404, HTML, {}

    def _find(self, acct: str) -> _Acct | None:
        user, _, domain = acct.lstrip("@").partition("@")
        if domain and domain.lower() != self.domain:
            return None
        try:
            return self._get(user)
        except KeyError:
            return None

    def _one(self, acct: _Acct | None) -> Reply:
        if acct is None or acct.deleted:
            return _NOT_FOUND
        if acct.suspended and self.version < (3, 3):
            return 410, dumps({"error": "Record not found"}), JSON, {}
        return 200, dumps(self._view(acct)), JSON, {}

    def _batch(self, ids: list[str]) -> Reply:
        if len(ids) > BATCH_MAX:
            return 422, dumps({"error": f"Validation failed: too many ids (at most {BATCH_MAX})"}), JSON, {}
        found = [self._accounts[i] for i in dict.fromkeys(ids) if i in self._accounts]
        return 200, dumps([self._view(a) for a in found if not a.deleted]), JSON, {}

    def _view(self, acct: _Acct) -> dict[str, Any]:
        blank = acct.suspended
        view: dict[str, Any] = {
            "id": acct.id, "username": acct.username, "acct": acct.username,
            "display_name": "" if blank else acct.name, "locked": acct.locked, "bot": False,
            "created_at": CREATED, "note": "" if blank else acct.note,
            "url": f"https://{self.domain}/@{acct.username}", "followers_count": 0 if blank else 12,
            "following_count": 0 if blank else 3, "statuses_count": 0 if blank else 40,
            "emojis": [], "fields": [],
        }
        if acct.suspended and self.version >= (3, 3):
            view["suspended"] = True
        if acct.limited and self.version >= (3, 5, 3):
            view["limited"] = True
        return view
