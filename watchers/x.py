"""The X watcher: tweepy.Client's users lookup, read into Observations."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Protocol

import requests
import tweepy
from requests.adapters import HTTPAdapter

from bot.models import Availability, Observation, Secrets
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

USER_FIELDS = ("withheld", "protected", "created_at", "description", "verified", "public_metrics")
TWEEPY_HOSTS = ("https://api.twitter.com", "https://api.x.com")
By = Literal["ids", "usernames"]


class UsersLookup(Protocol):
    """The part of tweepy.Client (built with return_type=requests.Response) that the watcher uses."""

    def get_users(self, *, ids: list[str] | None = None, usernames: list[str] | None = None,
                  user_fields: list[str] | None = None) -> requests.Response: ...


class RewriteAdapter(HTTPAdapter):
    """Sends tweepy's hard-coded API host to the configured base URL, always with a timeout."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: bool | str = True, cert: Any = None,
             proxies: dict[str, str] | None = None) -> requests.Response:
        url = request.url or ""
        for host in TWEEPY_HOSTS:
            if url.startswith(host + "/"):
                request.url = self.base_url + url.removeprefix(host)
                break
        return super().send(request, stream=stream, timeout=self.timeout, verify=verify, cert=cert,
                            proxies=proxies)


class XWatcher(Watcher):
    """Looks up X accounts in batches of up to 100, by id (the poll) or by username."""

    platform = "x"
    batch_size = 100

    def __init__(self, client: UsersLookup, *, timeout: float | None = 60.0) -> None:
        self._client = client
        # A bound on the whole call: requests' timeout applies per socket operation, not in total.
        self._timeout = timeout
        self._secrets = Secrets.of([getattr(client, "bearer_token", None)])

    @classmethod
    def connect(cls, bearer_token: str, api_base_url: str = "https://api.x.com",
                timeout: float = 30.0) -> XWatcher:
        """A watcher on a real tweepy.Client whose requests go to ``api_base_url``."""
        # wait_on_rate_limit would sleep inside the call (and loop on a 429 without a reset header).
        client = tweepy.Client(bearer_token=bearer_token, return_type=requests.Response,
                               wait_on_rate_limit=False)
        session: requests.Session = client.session
        session.trust_env = False  # proxies picked for api.twitter.com must not apply to the rewritten URL
        adapter = RewriteAdapter(api_base_url, timeout)
        for host in TWEEPY_HOSTS:
            session.mount(host + "/", adapter)
        return cls(client, timeout=2 * timeout + 1)  # connect and read each get ``timeout``

    @property
    def client(self) -> UsersLookup:
        return self._client

    async def lookup_ids(self, ids: Sequence[str]) -> BatchResult:
        return await self._lookup([str(i) for i in ids], "ids")

    async def lookup_handles(self, handles: Sequence[str]) -> BatchResult:
        return await self._lookup(list(handles), "usernames")

    async def aclose(self) -> None:
        session = getattr(self._client, "session", None)
        if isinstance(session, requests.Session):
            session.close()

    async def _lookup(self, items: list[str], by: By) -> BatchResult:
        if len(items) > self.batch_size:
            raise ValueError(f"at most {self.batch_size} {by} per X lookup, got {len(items)}")
        if not items:
            return BatchResult((), requests=0)
        # Submitted to the worker thread at once (not from a task's first step), so a caller that
        # starts the next batch before recording this one has it on the wire while it records.
        work = functools.partial(self._get_users, items, by)
        try:
            return await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(None, work), self._timeout)
        except (tweepy.HTTPException, requests.RequestException, TimeoutError) as exc:
            raise self._failure(exc) from exc

    def _get_users(self, items: list[str], by: By) -> BatchResult:
        """In the worker thread: the request and the parsing of its body, off the event loop."""
        try:
            # tweepy joins lists (not tuples) with commas.
            response = self._client.get_users(user_fields=list(USER_FIELDS), **{by: items})
        except tweepy.NotFound as exc:  # a 404 on single lookups is claimed by one docs page: same body
            response = exc.response
        return parse_users(response.content, items, by, rate_info(response.headers))

    def _failure(self, exc: Exception) -> WatcherError:
        if isinstance(exc, TimeoutError):
            return TransientError(f"X lookup took longer than {self._timeout:g}s")
        if isinstance(exc, requests.RequestException):
            return TransientError(self._secrets.scrub(_request_failure(exc)))
        assert isinstance(exc, tweepy.HTTPException)
        response: requests.Response = exc.response
        status, title = response.status_code, _problem_title(response)
        what = self._secrets.scrub(f"X API answered HTTP {status}" + (f" ({title})" if title else ""))
        if isinstance(exc, tweepy.TooManyRequests):
            reset = exc.reset_time if exc.reset_time is not None else \
                header_int(response.headers, "x-rate-limit-reset")
            return RateLimited(what, reset_at=None if reset is None else float(reset),
                               usage_cap=title == "UsageCapExceeded")
        if status in (401, 402, 403):
            return AppAuthError(what + ": our app was refused, no account is affected", status=status)
        return TransientError(what)  # 400 (our request was wrong), 5xx and anything else


def _request_failure(exc: requests.RequestException) -> str:
    """What went wrong on the way, in words: the cause, never the request URL (it is long and says nothing)."""
    if isinstance(exc, requests.ConnectTimeout):
        return "X API did not accept a connection in time"
    if isinstance(exc, requests.Timeout):
        return "X API did not answer in time"
    cause = _os_cause(exc)
    if isinstance(exc, requests.ConnectionError):
        return f"X API unreachable ({cause or type(exc).__name__})"
    return f"X API request failed ({cause or type(exc).__name__})"


def _os_cause(exc: BaseException) -> str | None:
    """The operating system's words for the innermost socket error (e.g. 'Connection refused'), if any."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        error = stack.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, OSError) and error.strerror:
            return error.strerror
        for inner in (getattr(error, "reason", None), error.__cause__, error.__context__, *error.args):
            if isinstance(inner, BaseException):
                stack.append(inner)
    return None


def _problem_title(response: requests.Response) -> str | None:
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    title = body.get("title") if isinstance(body, dict) else None
    return title[:100] if isinstance(title, str) else None


def rate_info(headers: Mapping[str, str]) -> RateInfo:
    """The x-rate-limit-* headers of one response (None where absent or unreadable)."""
    reset = header_int(headers, "x-rate-limit-reset")
    return RateInfo(limit=header_int(headers, "x-rate-limit-limit"),
                    remaining=header_int(headers, "x-rate-limit-remaining"),
                    reset_at=None if reset is None else float(reset))


def parse_users(body: bytes | str, requested: Sequence[str], by: By,
                rate: RateInfo | None = None) -> BatchResult:
    """Map a users-lookup body to one Observation per requested item that it answers."""
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise TransientError("X API sent a body that is not JSON") from exc
    if not isinstance(payload, dict) or (payload.get("data") is None and payload.get("errors") is None):
        raise TransientError("X API sent a body with neither data nor errors")
    data, errors = payload.get("data") or [], payload.get("errors") or []
    if isinstance(data, dict):  # single lookups answer one object
        data = [data]
    if not isinstance(data, list) or not isinstance(errors, list):
        raise TransientError("X API sent data or errors that are not lists")
    fold = _fold(by)
    wanted: dict[str, str] = {}
    for item in requested:
        wanted.setdefault(fold(item), item)
    found: dict[str, Observation] = {}
    for obs in [_from_user(e, wanted, by) for e in data] + [_from_error(e, wanted, by) for e in errors]:
        if obs is not None:
            found.setdefault(fold(obs.requested), obs)  # a user in data wins over an error entry
    return BatchResult(
        observations=tuple(found[key] for key in wanted if key in found),
        missing=tuple(item for key, item in wanted.items() if key not in found),
        rate=rate,
    )


def _fold(by: By) -> Callable[[str], str]:
    # Usernames are case-insensitive on X; ids are compared exactly.
    return str.casefold if by == "usernames" else str


def _from_user(entry: object, wanted: Mapping[str, str], by: By) -> Observation | None:
    # The hot path of a poll (once per account): keep it to plain lookups.
    if type(entry) is not dict:
        return None
    try:
        uid, name, username = entry["id"], entry["name"], entry["username"]
    except KeyError:
        return None
    if type(uid) is not str or type(name) is not str or type(username) is not str:
        return None
    requested = wanted.get(uid if by == "ids" else username.casefold())
    withheld = _withheld(entry.get("withheld"))
    if requested is None or withheld is None:
        return None
    description = entry.get("description")
    return Observation("x", requested, uid, Availability.ACTIVE, "", entry.get("protected") is True, withheld,
                       username, name, description if type(description) is str else "", entry)


_NOWHERE: frozenset[str] = frozenset()


def _withheld(value: object) -> frozenset[str] | None:
    """Country codes upper-cased ('XX' kept: everywhere); None when the object is unreadable."""
    if value is None:
        return _NOWHERE
    codes = value.get("country_codes", []) if isinstance(value, dict) else None
    if not isinstance(codes, list) or not all(isinstance(code, str) for code in codes):
        return None
    return frozenset(code.upper() for code in codes)


def _availability(entry: Mapping[str, Any]) -> Availability | None:
    """Suspended or not found, from title and detail (never from the host in ``type``)."""
    title, detail = entry.get("title"), entry.get("detail")
    detail = detail.casefold() if isinstance(detail, str) else ""
    if entry.get("resource_type", "user") != "user":
        return None
    if title == "Forbidden" and "suspended" in detail:
        return Availability.SUSPENDED
    if title == "Not Found Error":
        return Availability.NOT_FOUND
    return None


def _from_error(entry: object, wanted: Mapping[str, str], by: By) -> Observation | None:
    if not isinstance(entry, dict) or (availability := _availability(entry)) is None:
        return None
    fold = _fold(by)
    for candidate in (entry.get("value"), entry.get("resource_id")):
        if isinstance(candidate, str) and (requested := wanted.get(fold(candidate))) is not None:
            return Observation(
                platform="x", requested=requested, account_id=requested if by == "ids" else None,
                availability=availability, entry=entry,
            )
    return None
