"""Loopback emulator of the Bluesky AppView's profile reads (PLATFORMS.md), with scripted faults.

Served: ``app.bsky.actor.getProfiles`` (at most 25 ``actors``, silently omitting taken-down, deactivated and
unknown actors), ``app.bsky.actor.getProfile`` (400 ``AccountTakedown`` / ``AccountDeactivated`` /
``InvalidRequest``), ``com.atproto.identity.resolveHandle``. Labels are served from the labelers named in
``atproto-accept-labelers`` only (without the header: Bluesky's own, redacting); a negated label is simply
gone; ``atproto-content-labelers`` says which were applied. Rate limit: ``ratelimit-*`` headers (reset in
Unix seconds), 429 ``RateLimitExceeded``. Faults: 500, 502 (an HTML proxy page), 503, timeout, malformed,
drop, 429.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from bot.sandbox.loopback import HTML, JSON, Loopback, Query, Reply, dumps

GETPROFILES_MAX = 25
BLUESKY_MODERATION = "did:plc:ar7c4by46qjdydhdevvrndac"
HANDLE_RE = re.compile(r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$")
_REDACTING_VALS = frozenset({"!takedown", "!suspend"})
_ERRORS = {
    "AccountTakedown": "Account has been suspended",
    "AccountDeactivated": "Account is deactivated",
}
_FAULT_BODIES = {
    "500": {"error": "InternalServerError", "message": "Internal Server Error"},
    "503": {"error": "ServiceUnavailable", "message": "Service Unavailable"},
    "429": {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
}
_HTML_502 = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
CTS = "2026-01-01T00:00:00.000Z"


class _Actor:
    __slots__ = ("deactivated", "deleted", "description", "did", "handle", "labels", "name", "taken_down")

    def __init__(self, did: str, handle: str, name: str) -> None:
        self.did, self.handle, self.name = did, handle, name
        self.description = ""
        self.taken_down = self.deactivated = self.deleted = False
        # (src, val, on) -> exp (None: never expires); ``on`` is "account" or "record" (the profile record)
        self.labels: dict[tuple[str, str, str], str | None] = {}


def _error(name: str, message: str) -> Reply:
    return 400, dumps({"error": name, "message": message}), JSON, {}


def parse_labelers(header: str | None) -> dict[str, bool] | None:
    """``did1;redact, did2`` -> {did1: True, did2: False}; None when there is no header."""
    if header is None:
        return None
    found: dict[str, bool] = {}
    for part in header.split(",")[:20]:
        did, *params = [piece.strip() for piece in part.split(";")]
        if did.startswith("did:"):
            found[did] = "redact" in params
    return found


class BlueskySandbox(Loopback):
    """A Bluesky AppView (profile reads) on loopback, driven from Python."""

    faults = frozenset({"ok", "500", "502", "503", "timeout", "malformed", "drop", "429"})
    name = "bluesky-sandbox"

    def __init__(self, *, port: int = 0, rate_limit: int = 3000, window: float = 300.0,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(port=port, rate_limit=rate_limit, window=window, clock=clock)
        self._actors: dict[str, _Actor] = {}
        self._next = 1

    def add_account(self, handle: str, *, did: str | None = None, name: str | None = None,
                    description: str = "") -> str:
        """A new actor; returns its DID."""
        if not HANDLE_RE.match(handle):
            raise ValueError(f"invalid Bluesky handle: {handle!r}")
        with self._cond:
            if did is None:
                did = f"did:plc:sandbox{self._next:017d}"
                self._next += 1
            actor = _Actor(did, handle.lower(), handle.split(".")[0] if name is None else name)
            actor.description = description
            self._actors[did] = actor
            return did

    def _get(self, who: str) -> _Actor:
        with self._cond:
            if who in self._actors:
                return self._actors[who]
            for actor in self._actors.values():
                if actor.handle == who.lower():
                    return actor
        raise KeyError(f"no such actor: {who}")

    def label(self, who: str, src: str, val: str = "!hide", *, on: str = "account", exp: str | None = None) -> None:
        """The labeler ``src`` labels the account (``on="record"``: its profile record instead)."""
        with self._cond:
            self._get(who).labels[(src, val, on)] = exp

    def negate(self, who: str, src: str, val: str = "!hide", *, on: str = "account") -> None:
        """The labeler negates its label: the AppView stops serving it."""
        with self._cond:
            self._get(who).labels.pop((src, val, on), None)

    def set(self, who: str, **values: Any) -> None:
        """Set ``taken_down``, ``deactivated``, ``deleted``, ``name``, ``description`` or ``handle``."""
        with self._cond:
            actor = self._get(who)
            for key, value in values.items():
                if key not in _Actor.__slots__ or key in ("did", "labels"):
                    raise ValueError(f"unknown actor field {key!r}")
                setattr(actor, key, value.lower() if key == "handle" else value)

    def rate_headers(self, limit: int, remaining: int, reset: float) -> dict[str, str]:
        window = round(self._window)
        return {"ratelimit-limit": str(limit), "ratelimit-remaining": str(remaining),
                "ratelimit-reset": str(math.ceil(reset)), "ratelimit-policy": f"{limit};w={window}"}

    def fault_reply(self, kind: str, headers: dict[str, str]) -> Reply:
        if kind == "502":
            return 502, _HTML_502, HTML, headers
        return int(kind), dumps(_FAULT_BODIES[kind]), JSON, headers

    def answer(self, method: str, path: str, query: Query, headers: Mapping[str, str]) -> Reply:
        allowed, limits = self.take()
        if not allowed:
            return 429, dumps(_FAULT_BODIES["429"]), JSON, limits
        labelers = parse_labelers(headers.get("atproto-accept-labelers"))
        if labelers is None:  # the AppView's default: its own labeler, redacting
            labelers = {BLUESKY_MODERATION: True}
        status, body, ctype, extra = self._route(method, path, query, labelers)
        return status, body, ctype, {**limits, **extra}

    def _route(self, method: str, path: str, query: Query, labelers: dict[str, bool]) -> Reply:
        applied = {"atproto-content-labelers": ",".join(
            f"{did};redact" if redact else did for did, redact in labelers.items())}
        if method != "GET":
            return 405, dumps({"error": "InvalidRequest", "message": "Method not allowed"}), JSON, {}
        if path == "/xrpc/app.bsky.actor.getProfiles":
            status, body, ctype, _ = self._profiles(query.get("actors", []), labelers)
            return status, body, ctype, applied
        if path == "/xrpc/app.bsky.actor.getProfile":
            status, body, ctype, _ = self._profile((query.get("actor") or [""])[0], labelers)
            return status, body, ctype, applied
        if path == "/xrpc/com.atproto.identity.resolveHandle":
            return self._resolve((query.get("handle") or [""])[0])
        return 404, dumps({"error": "MethodNotImplemented", "message": "Method Not Implemented"}), JSON, {}

    def _find(self, actor: str) -> _Actor | None:
        try:
            return self._get(actor)
        except KeyError:
            return None

    def _profiles(self, actors: list[str], labelers: dict[str, bool]) -> Reply:
        if not actors:
            return _error("InvalidRequest", 'Error: Params must have the property "actors"')
        if len(actors) > GETPROFILES_MAX:
            return _error("InvalidRequest", f"Error: actors must not have more than {GETPROFILES_MAX} elements")
        profiles: list[dict[str, Any]] = []
        seen: set[str] = set()
        with self._cond:
            for name in actors:
                actor = self._find(name)
                if actor is None or actor.did in seen or not self._visible(actor, labelers):
                    continue  # silently omitted, as the AppView does
                seen.add(actor.did)
                profiles.append(self._view(actor, labelers))
        return 200, dumps({"profiles": profiles}), JSON, {}

    def _profile(self, name: str, labelers: dict[str, bool]) -> Reply:
        if not name:
            return _error("InvalidRequest", 'Error: Params must have the property "actor"')
        with self._cond:
            actor = self._find(name)
            if actor is None or actor.deleted or self._redacted(actor, labelers):
                return _error("InvalidRequest", "Profile not found")
            if actor.taken_down:
                return _error("AccountTakedown", _ERRORS["AccountTakedown"])
            if actor.deactivated:
                return _error("AccountDeactivated", _ERRORS["AccountDeactivated"])
            return 200, dumps(self._view(actor, labelers)), JSON, {}

    def _resolve(self, handle: str) -> Reply:
        with self._cond:
            for actor in self._actors.values():
                if actor.handle == handle.lower() and not actor.deleted:
                    return 200, dumps({"did": actor.did}), JSON, {}
        return _error("InvalidRequest", "Unable to resolve handle")

    def _visible(self, actor: _Actor, labelers: dict[str, bool]) -> bool:
        return not (actor.taken_down or actor.deactivated or actor.deleted or self._redacted(actor, labelers))

    @staticmethod
    def _redacted(actor: _Actor, labelers: dict[str, bool]) -> bool:
        return any(labelers.get(src) and val in _REDACTING_VALS for src, val, _on in actor.labels)

    @staticmethod
    def _view(actor: _Actor, labelers: dict[str, bool]) -> dict[str, Any]:
        labels = []
        for (src, val, on), exp in sorted(actor.labels.items(), key=lambda item: item[0]):
            if src not in labelers:
                continue
            uri = actor.did if on == "account" else f"at://{actor.did}/app.bsky.actor.profile/self"
            label: dict[str, Any] = {"ver": 1, "src": src, "uri": uri, "val": val, "cts": CTS}
            if exp is not None:
                label["exp"] = exp
            labels.append(label)
        return {"did": actor.did, "handle": actor.handle, "displayName": actor.name,
                "description": actor.description, "followersCount": 10, "followsCount": 5, "postsCount": 3,
                "indexedAt": CTS, "createdAt": CTS, "labels": labels}
