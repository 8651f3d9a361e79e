"""The Bluesky watcher: the atproto SDK's AsyncClient against a public AppView, read into Observations.

Profiles are read 25 at a time with ``app.bsky.actor.getProfiles``, which silently omits actors that are
taken down, deactivated or gone: each omitted one is classified by a single ``getProfile`` (400
``AccountTakedown`` -> suspended; ``AccountDeactivated`` and ``Profile not found`` -> not found, as X's
deactivated accounts are). Every request carries ``atproto-accept-labelers`` with the configured country
labelers, never ``;redact``; a label from one of them on the account (``uri`` == its DID, not expired)
puts the account's country in ``withheld_in``. The labels, with their ``val``, stay in the evidence.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from atproto import AsyncClient
from atproto_client import models
from atproto_client.exceptions import (
    BadRequestError,
    ModelError,
    RateLimitExceededError,
    RequestErrorBase,
    UnauthorizedError,
)
from atproto_client.request import AsyncRequest, Response

from bot.models import Availability, Observation
from watchers.base import (
    AppAuthError,
    BatchResult,
    RateInfo,
    RateLimited,
    TransientError,
    Watcher,
    WatcherError,
    header_int,
)

GET_PROFILES = "app.bsky.actor.getProfiles"
GET_PROFILE = "app.bsky.actor.getProfile"
RESOLVE_HANDLE = "com.atproto.identity.resolveHandle"
_GONE = {"AccountTakedown": Availability.SUSPENDED, "AccountDeactivated": Availability.NOT_FOUND}
INVALID_HANDLE = "handle.invalid"  # the AppView's word for a handle it could not verify just now: not a rename


class BlueskyWatcher(Watcher):
    """Looks Bluesky actors up by DID (the poll) or by handle (first sight; a DID is accepted too)."""

    platform = "bluesky"
    batch_size = 25

    def __init__(self, client: AsyncClient, labelers: Mapping[str, str], *,
                 clock: Callable[[], datetime], timeout: float = 60.0) -> None:
        """``labelers``: country code -> labeler DID; ``clock`` tells which labels have expired."""
        self._client = client
        self._countries = {did: code.upper() for code, did in labelers.items()}
        self._headers = {"atproto-accept-labelers": ",".join(dict.fromkeys(labelers.values()))}
        self._clock = clock
        self._timeout = timeout

    @classmethod
    def connect(cls, api_base_url: str, labelers: Mapping[str, str], *, clock: Callable[[], datetime],
                timeout: float = 30.0) -> BlueskyWatcher:
        """A watcher on a real AsyncClient whose requests go to ``api_base_url`` (it appends /xrpc)."""
        request = AsyncRequest(timeout=timeout, trust_env=False)
        client = AsyncClient(base_url=api_base_url.rstrip("/"), request=request)
        return cls(client, labelers, clock=clock, timeout=2 * timeout + 1)

    async def lookup_ids(self, ids: Sequence[str]) -> BatchResult:
        return await self._lookup(list(ids), by_did=True)

    async def lookup_handles(self, handles: Sequence[str]) -> BatchResult:
        return await self._lookup(list(handles), by_did=False)

    async def aclose(self) -> None:
        await self._client.request.close()

    async def _lookup(self, actors: list[str], *, by_did: bool) -> BatchResult:
        if len(actors) > self.batch_size:
            raise ValueError(f"at most {self.batch_size} actors per getProfiles, got {len(actors)}")
        if not actors:
            return BatchResult((), requests=0)
        try:
            return await asyncio.wait_for(self._read(actors, by_did), self._timeout)
        except TimeoutError as exc:
            raise TransientError(f"Bluesky lookup took longer than {self._timeout:g}s") from exc

    async def _read(self, actors: list[str], by_did: bool) -> BatchResult:
        response = await self._call(GET_PROFILES, models.AppBskyActorGetProfiles.Params(actors=actors))
        found = self._match(_profiles(response.content), actors)
        rate, requests = rate_info(response.headers), 1
        missing: list[str] = []
        for actor in [a for a in actors if _key(a) not in found]:
            single, single_rate, asked = await self._single(actor)
            requests += asked
            rate = single_rate or rate
            if single is None:
                missing.append(actor)
            else:
                found[_key(actor)] = single
        observations = tuple(found[_key(a)] for a in dict.fromkeys(actors) if _key(a) in found)
        return BatchResult(observations, tuple(missing), rate, requests)

    def _match(self, profiles: list[dict[str, Any]], actors: list[str]) -> dict[str, Observation]:
        """Each returned profile under the key of the actor asked for (by DID, or by handle)."""
        wanted = {_key(actor): actor for actor in actors}
        found: dict[str, Observation] = {}
        for profile in profiles:
            for key in (profile["did"], profile["handle"].casefold()):
                if key in wanted and key not in found:
                    found[key] = self._observe(wanted[key], profile)
                    break
        return found

    async def _single(self, actor: str) -> tuple[Observation | None, RateInfo | None, int]:
        """An actor getProfiles left out: its profile after all, or what its error says it is; and the
        requests it took (an account gone by handle has its DID resolved, so it is polled by DID after)."""
        if self.pace is not None:
            await self.pace()
        try:
            response = await self._call(GET_PROFILE, models.AppBskyActorGetProfile.Params(actor=actor))
        except _Refused as refused:
            availability = _GONE.get(refused.name) or (
                Availability.NOT_FOUND if refused.message == "Profile not found" else None)
            if availability is None:
                return None, refused.rate, 1
            entry = {"actor": actor, "error": refused.name, "message": refused.message}
            did, asked = (actor, 1) if actor.startswith("did:") else (await self._resolve(actor), 2)
            return Observation("bluesky", actor, did, availability, entry=entry), refused.rate, asked
        profiles = _profiles({"profiles": [response.content]})
        return (self._observe(actor, profiles[0]) if profiles else None), rate_info(response.headers), 1

    async def _resolve(self, handle: str) -> str | None:
        """The DID a handle resolves to, or None (a deleted account's handle resolves no more)."""
        if self.pace is not None:
            await self.pace()
        try:
            response = await self._call(RESOLVE_HANDLE, models.ComAtprotoIdentityResolveHandle.Params(handle=handle))
        except _Refused:
            return None
        did = response.content.get("did") if isinstance(response.content, dict) else None
        return did if isinstance(did, str) and did.startswith("did:") else None

    def _observe(self, requested: str, profile: dict[str, Any]) -> Observation:
        name, description = profile.get("displayName"), profile.get("description")
        handle = None if profile["handle"] == INVALID_HANDLE else profile["handle"]  # None: the last known stays
        return Observation(
            "bluesky", requested, profile["did"], Availability.ACTIVE, protected=False,
            withheld_in=self.countries(profile), handle=handle,
            name=name if isinstance(name, str) else "",
            description=description if isinstance(description, str) else "", entry=profile)

    def countries(self, profile: Mapping[str, Any]) -> frozenset[str]:
        """The countries whose labeler labels the account itself (not its record, not expired)."""
        now = self._clock()
        codes = set()
        for label in profile.get("labels") or ():
            if not isinstance(label, dict) or label.get("uri") != profile["did"] or label.get("neg"):
                continue
            code = self._countries.get(label.get("src", ""))
            if code is not None and not _expired(label.get("exp"), now):
                codes.add(code)
        return frozenset(codes)

    async def _call(self, nsid: str, params: Any) -> Response:
        """One XRPC query with our labelers header; failures as WatcherErrors (a 400 as _Refused)."""
        try:
            return await self._client.invoke_query(nsid, params=params, headers=dict(self._headers))
        except RateLimitExceededError as exc:
            rate = rate_info(exc.response.headers) if exc.response else None
            reset = rate.reset_at if rate else None
            raise RateLimited("Bluesky answered HTTP 429 (RateLimitExceeded)", reset_at=reset) from exc
        except UnauthorizedError as exc:
            status = exc.response.status_code if exc.response else 401
            raise AppAuthError(f"Bluesky answered HTTP {status}: the AppView refused us", status=status) from exc
        except BadRequestError as exc:
            raise _Refused(exc) from exc
        except RequestErrorBase as exc:
            raise TransientError(_describe(exc)) from exc
        except (httpx.HTTPError, ValueError, ModelError) as exc:  # dropped connections, truncated JSON
            raise TransientError(f"Bluesky request failed ({type(exc).__name__})") from exc


class _Refused(WatcherError):
    """A 400 with an XRPC error name: for getProfile it says what the account is."""

    def __init__(self, exc: BadRequestError) -> None:
        content = exc.response.content if exc.response else None
        self.name = str(getattr(content, "error", "") or "")
        self.message = str(getattr(content, "message", "") or "")
        self.rate = rate_info(exc.response.headers) if exc.response else None
        super().__init__(f"Bluesky answered HTTP 400 ({self.name or 'no error name'})")


def _describe(exc: RequestErrorBase) -> str:
    if exc.response is None:
        return f"Bluesky unreachable ({type(exc).__name__})"
    return f"Bluesky answered HTTP {exc.response.status_code}"


def _key(actor: str) -> str:
    return actor if actor.startswith("did:") else actor.casefold()


def _profiles(content: object) -> list[dict[str, Any]]:
    """The readable profiles of a getProfiles body; a body that is not one is a TransientError."""
    profiles = content.get("profiles") if isinstance(content, dict) else None
    if not isinstance(profiles, list):
        raise TransientError("Bluesky sent a body without a profiles list")
    return [p for p in profiles if isinstance(p, dict) and isinstance(p.get("did"), str)
            and isinstance(p.get("handle"), str) and isinstance(p.get("labels", []), list)]


def _expired(exp: object, now: datetime) -> bool:
    if not isinstance(exp, str):
        return False
    try:
        at = datetime.fromisoformat(exp.replace("Z", "+00:00"))
    except ValueError:
        return False  # an unreadable expiry: keep the restriction rather than miss one
    return (at if at.tzinfo else at.replace(tzinfo=UTC)) <= now


def rate_info(headers: Mapping[str, str]) -> RateInfo | None:
    """The ``ratelimit-*`` headers of one response (None when it had none)."""
    limit, remaining, reset = (header_int(headers, f"ratelimit-{name}") for name in ("limit", "remaining", "reset"))
    if limit is None and remaining is None and reset is None:
        return None
    return RateInfo(limit=limit, remaining=remaining, reset_at=None if reset is None else float(reset))
