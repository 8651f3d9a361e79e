"""The Mastodon watcher: one home instance's public REST API over httpx, read into Observations.

httpx rather than Mastodon.py: the watcher needs three public GETs, the status of each answer and its
``X-RateLimit-*`` headers, and to tell Rails' HTML 404 of a missing route (the batch before 4.3) from the
JSON 404 of a missing account; Mastodon.py raises the same ``MastodonNotFoundError`` for both, sleeps in
the call on 429 unless told not to, and is synchronous (a worker thread per call). httpx is already ours.

One watcher per instance (``instance``): accounts are ``user@instance`` and are asked of their home instance
only. Handles resolve with ``/api/v1/accounts/lookup``; ids are polled 40 at a time with
``/api/v1/accounts?id[]=`` (4.3+), by single ``/api/v1/accounts/:id`` where the batch route is missing and
for every id a batch omitted. ``suspended`` (or 410) -> suspended; 404 -> not found; ``limited`` is its own
restriction (``Observation.limited``); ``locked`` (follow requests approved) reads as protected.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx

from bot.models import Availability, Observation
from watchers.base import AppAuthError, BatchResult, RateInfo, RateLimited, TransientError, Watcher, header_int

BATCH = "/api/v1/accounts"


class MastodonWatcher(Watcher):
    """Reads the accounts of one Mastodon instance (``instance``: its domain) at ``base_url``."""

    platform = "mastodon"
    batch_size = 40

    def __init__(self, instance: str, client: httpx.AsyncClient, *, timeout: float = 60.0) -> None:
        self.domain = instance.lower()
        self.instance = self.domain  # the Watcher attribute the reader selects accounts by
        self._client = client
        self._timeout = timeout
        self.batch_supported: bool | None = None  # None until the instance has answered the batch route
        self._probing = asyncio.Lock()  # batches in flight together wait for one probe of the route

    @classmethod
    def connect(cls, instance: str, base_url: str | None = None, timeout: float = 30.0) -> MastodonWatcher:
        """A watcher on its own httpx client; ``base_url`` defaults to ``https://<instance>``."""
        client = httpx.AsyncClient(base_url=(base_url or f"https://{instance}").rstrip("/"), timeout=timeout,
                                   trust_env=False, headers={"Accept": "application/json"})
        return cls(instance, client, timeout=2 * timeout + 1)

    async def lookup_ids(self, ids: Sequence[str]) -> BatchResult:
        items = [str(i) for i in ids]
        if len(items) > self.batch_size:
            raise ValueError(f"at most {self.batch_size} ids per Mastodon batch, got {len(items)}")
        return await self._bounded(self._by_ids(items))

    async def lookup_handles(self, handles: Sequence[str]) -> BatchResult:
        return await self._bounded(self._by_handles(list(handles)))

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _bounded(self, work: Any) -> BatchResult:
        try:
            result: BatchResult = await asyncio.wait_for(work, self._timeout)
        except TimeoutError as exc:
            raise TransientError(f"{self.domain} took longer than {self._timeout:g}s") from exc
        return result

    async def _by_handles(self, handles: list[str]) -> BatchResult:
        found: list[Observation] = []
        missing: list[str] = []
        rate: RateInfo | None = None
        for index, handle in enumerate(dict.fromkeys(handles)):
            if index and self.pace is not None:
                await self.pace()
            user = handle.lstrip("@").partition("@")[0]
            response = await self._get("/api/v1/accounts/lookup", {"acct": user})
            rate = rate_info(response.headers) or rate
            observation = self._single(handle, response)
            found.extend([observation] if observation else [])
            missing.extend([] if observation else [handle])
        return BatchResult(tuple(found), tuple(missing), rate, len(dict.fromkeys(handles)))

    async def _by_ids(self, ids: list[str]) -> BatchResult:
        if not ids:
            return BatchResult((), requests=0)
        found: dict[str, Observation] = {}
        requests, rate = 0, None
        if self.batch_supported is None:
            async with self._probing:
                if self.batch_supported is None:
                    requests, rate = await self._batch(ids, found)
        if self.batch_supported and not requests:
            requests, rate = await self._batch(ids, found)
        missing: list[str] = []
        for ident in [i for i in dict.fromkeys(ids) if i not in found]:  # omitted: asked alone before "gone"
            if requests and self.pace is not None:
                await self.pace()
            response = await self._get(f"/api/v1/accounts/{ident}", None)
            requests, rate = requests + 1, rate_info(response.headers) or rate
            observation = self._single(ident, response, account_id=ident)
            if observation is None:
                missing.append(ident)
            else:
                found[ident] = observation
        return BatchResult(tuple(found[i] for i in dict.fromkeys(ids) if i in found), tuple(missing), rate, requests)

    async def _batch(self, ids: list[str], found: dict[str, Observation]) -> tuple[int, RateInfo | None]:
        """One batch request into ``found``; learns whether the instance has the route (4.3+)."""
        response = await self._get(BATCH, [("id[]", i) for i in ids])
        if response.status_code == 404 and not _is_json(response):
            self.batch_supported = False  # before 4.3: Rails' HTML 404 for a route it does not have
        else:
            for account in _accounts(_json(response, self.domain), self.domain):
                if account["id"] in ids:
                    found[account["id"]] = self._observe(account["id"], account)
            self.batch_supported = True
        return 1, rate_info(response.headers)

    def _single(self, requested: str, response: httpx.Response, account_id: str | None = None) -> Observation | None:
        """What one account's answer says: the account, or (404, 410) that it is gone; None: unreadable."""
        status = response.status_code
        if status in (404, 410):
            if status == 404 and not _is_json(response):
                return None  # a proxy's or a router's page, not the instance's word on this account
            availability = Availability.SUSPENDED if status == 410 else Availability.NOT_FOUND
            entry = {"requested": requested, "status": status, "body": response.text[:200]}
            return Observation("mastodon", requested, account_id, availability, entry=entry)
        accounts = _accounts([_json(response, self.domain)], self.domain)
        return self._observe(requested, accounts[0]) if accounts else None

    def _observe(self, requested: str, account: dict[str, Any]) -> Observation:
        handle = f"{account['username']}@{self.domain}"
        if account.get("suspended") is True:
            return Observation("mastodon", requested, account["id"], Availability.SUSPENDED, handle=handle,
                               entry=account, limited=account.get("limited") is True)
        name, note = account.get("display_name"), account.get("note")
        return Observation(
            "mastodon", requested, account["id"], Availability.ACTIVE, protected=account.get("locked") is True,
            withheld_in=frozenset(), handle=handle, name=name if isinstance(name, str) else "",
            description=note if isinstance(note, str) else "", entry=account,
            limited=account.get("limited") is True)

    async def _get(self, path: str, params: Any) -> httpx.Response:
        """One GET; failures that say nothing of an account become WatcherErrors."""
        try:
            response = await self._client.get(path, params=params)
        except httpx.TimeoutException as exc:
            raise TransientError(f"{self.domain} did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise TransientError(f"{self.domain} unreachable ({type(exc).__name__})") from exc
        status = response.status_code
        if status == 429:
            rate = rate_info(response.headers)
            raise RateLimited(f"{self.domain} answered HTTP 429", reset_at=rate.reset_at if rate else None)
        if status in (401, 403):
            raise AppAuthError(f"{self.domain} answered HTTP {status}: it requires an authenticated user",
                               status=status)
        if status >= 500 or (status >= 400 and status not in (404, 410)):
            raise TransientError(f"{self.domain} answered HTTP {status}")
        return response


def _is_json(response: httpx.Response) -> bool:
    return "json" in response.headers.get("content-type", "")


def _json(response: httpx.Response, instance: str) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise TransientError(f"{instance} sent a body that is not JSON") from exc


def _accounts(payload: object, instance: str) -> list[dict[str, Any]]:
    """The readable accounts of a body that must be a list of them."""
    if not isinstance(payload, list):
        raise TransientError(f"{instance} sent a body that is not a list of accounts")
    return [a for a in payload if isinstance(a, dict) and isinstance(a.get("id"), str)
            and isinstance(a.get("username"), str)]


def rate_info(headers: Mapping[str, str]) -> RateInfo | None:
    """``X-RateLimit-*`` (the reset in ISO 8601) of one response; None when it had none."""
    limit, remaining = header_int(headers, "x-ratelimit-limit"), header_int(headers, "x-ratelimit-remaining")
    reset: float | None = None
    try:
        reset = datetime.fromisoformat(headers["x-ratelimit-reset"].replace("Z", "+00:00")).timestamp()
    except (KeyError, ValueError):
        pass
    if limit is None and remaining is None and reset is None:
        return None
    return RateInfo(limit=limit, remaining=remaining, reset_at=reset)
