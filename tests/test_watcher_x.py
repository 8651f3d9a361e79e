"""XWatcher on the real tweepy.Client against the X sandbox, and the pure body mapping."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

import pytest
import requests
import tweepy

from bot.models import Availability, Observation
from bot.sandbox.x_api import XSandbox
from tests.helpers_echo import EchoServer
from watchers.base import AppAuthError, RateInfo, RateLimited, TransientError, WatcherError
from watchers.x import USER_FIELDS, XWatcher, parse_users

TOKEN = "s3cret-bearer-AAAAAAAAAAAAAAAAAAAAA"
NOW = 1_700_000_000.0


@pytest.fixture
def sb() -> Iterator[XSandbox]:
    with XSandbox(TOKEN, clock=lambda: NOW) as sandbox:
        yield sandbox


@pytest.fixture
async def watcher(sb: XSandbox) -> AsyncIterator[XWatcher]:
    w = XWatcher.connect(TOKEN, api_base_url=sb.base_url, timeout=0.5)
    yield w
    await w.aclose()


def only(result: Any) -> Observation:
    assert len(result.observations) == 1 and result.missing == ()
    obs: Observation = result.observations[0]
    return obs


async def test_active_account_is_observed_with_its_fields(sb: XSandbox, watcher: XWatcher) -> None:
    ident = sb.add_account("alice", name="Alice A", description="reporter")
    obs = only(await watcher.lookup_ids([ident]))
    assert obs == Observation(
        platform="x", requested=ident, account_id=ident, availability=Availability.ACTIVE, entry=obs.entry,
        protected=False, withheld_in=frozenset(), handle="alice", name="Alice A", description="reporter",
    )
    raw = json.loads(obs.evidence())
    assert raw["id"] == ident and obs.evidence() == json.dumps(raw, sort_keys=True, separators=(",", ":"))
    assert set(sb.requests[-1].query["user.fields"].split(",")) == set(USER_FIELDS)


@pytest.mark.parametrize("countries, expected", [
    (["TR"], {"TR"}),
    (["IN", "tr", "RU"], {"IN", "TR", "RU"}),
    (["XX"], {"XX"}),
])
async def test_withheld_countries(sb: XSandbox, watcher: XWatcher, countries: list[str],
                                  expected: set[str]) -> None:
    ident = sb.add_account("alice", withheld_in=countries)
    assert only(await watcher.lookup_ids([ident])).withheld_in == frozenset(expected)


async def test_protected_account_is_active_and_protected(sb: XSandbox, watcher: XWatcher) -> None:
    sb.add_account("alice", protected=True)
    obs = only(await watcher.lookup_handles(["alice"]))
    assert (obs.availability, obs.protected) == (Availability.ACTIVE, True)


@pytest.mark.parametrize("by", ["ids", "usernames"])
async def test_batch_with_suspended_deactivated_and_unknown(sb: XSandbox, watcher: XWatcher, by: str) -> None:
    ids = [sb.add_account(h) for h in ("alice", "sus", "gone")]
    sb.suspend("sus")
    sb.deactivate("gone")
    items = [*ids, "999"] if by == "ids" else ["alice", "sus", "gone", "nobody"]
    result = await (watcher.lookup_ids(items) if by == "ids" else watcher.lookup_handles(items))
    assert [(o.requested, o.availability) for o in result.observations] == [
        (items[0], Availability.ACTIVE), (items[1], Availability.SUSPENDED),
        (items[2], Availability.NOT_FOUND), (items[3], Availability.NOT_FOUND),
    ]
    suspended = result.observations[1]
    assert suspended.account_id == (ids[1] if by == "ids" else None)
    assert (suspended.protected, suspended.withheld_in, suspended.handle, suspended.name) == (None,) * 4
    assert json.loads(suspended.evidence())["title"] == "Forbidden"
    assert result.missing == ()


async def test_rename_shows_the_new_handle_by_id_and_the_old_one_is_not_found(
    sb: XSandbox, watcher: XWatcher
) -> None:
    ident = sb.add_account("OldName")
    sb.rename(ident, "NewName")
    assert only(await watcher.lookup_ids([ident])).handle == "NewName"
    old, new = (await watcher.lookup_handles(["OldName", "newname"])).observations
    assert (old.requested, old.availability) == ("OldName", Availability.NOT_FOUND)
    assert (new.requested, new.account_id, new.handle) == ("newname", ident, "NewName")


async def test_usernames_match_case_insensitively(sb: XSandbox, watcher: XWatcher) -> None:
    ident = sb.add_account("MahirZeynalov")
    sb.suspend(sb.add_account("SusPended"))
    result = await watcher.lookup_handles(["MAHIRZEYNALOV", "suspended"])
    assert [(o.requested, o.account_id, o.availability) for o in result.observations] == [
        ("MAHIRZEYNALOV", ident, Availability.ACTIVE), ("suspended", None, Availability.SUSPENDED),
    ]


async def test_rate_limit_headers_are_read(sb: XSandbox, watcher: XWatcher) -> None:
    result = await watcher.lookup_ids([sb.add_account("alice")])
    assert result.rate == RateInfo(limit=300, remaining=299, reset_at=NOW + 900)
    assert result.requests == 1


async def test_a_batch_of_a_hundred_in_one_request(sb: XSandbox, watcher: XWatcher) -> None:
    ids = sb.seed(100)
    result = await watcher.lookup_ids(ids)
    assert [o.account_id for o in result.observations] == ids
    assert sb.request_count == 1
    with pytest.raises(ValueError):
        await watcher.lookup_ids([*ids, "1"])
    assert (await watcher.lookup_ids([])).observations == ()


async def test_429_after_the_window_is_used_up(sb: XSandbox, watcher: XWatcher) -> None:
    sb.set_rate_limit(1, 900)
    await watcher.lookup_ids(["1"])
    with pytest.raises(RateLimited) as info:
        await watcher.lookup_ids(["1"])
    assert (info.value.reset_at, info.value.usage_cap) == (NOW + 900, False)


def _down(sb: XSandbox) -> None:
    sb.set_down(True)


def _bad_token(sb: XSandbox) -> None:
    sb.bearer_token = "another-token"


ERRORS: list[Any] = [
    ("500", TransientError, {}),
    ("502", TransientError, {}),
    ("503", TransientError, {}),
    ("html502", TransientError, {}),
    ("malformed", TransientError, {}),
    ("timeout", TransientError, {}),
    ("drop", TransientError, {}),
    ("400", TransientError, {}),
    ("401", AppAuthError, {"status": 401}),
    ("402", AppAuthError, {"status": 402}),
    ("403", AppAuthError, {"status": 403}),
    ("429", RateLimited, {"reset_at": NOW + 1, "usage_cap": False}),
    ("usage_cap", RateLimited, {"reset_at": NOW + 1, "usage_cap": True}),
    (_down, TransientError, {}),
    (_bad_token, AppAuthError, {"status": 401}),
]


@pytest.mark.parametrize("fault, error, attrs", ERRORS, ids=lambda v: getattr(v, "__name__", None))
async def test_error_matrix(sb: XSandbox, fault: Any, error: type[WatcherError], attrs: dict[str, Any]) -> None:
    ident = sb.add_account("alice")
    if callable(fault):
        fault(sb)
    else:
        sb.fail_next(fault)
    w = XWatcher.connect(TOKEN, api_base_url=sb.base_url, timeout=0.3)
    try:
        with pytest.raises(WatcherError) as info:
            await w.lookup_ids([ident])
    finally:
        await w.aclose()
    assert type(info.value) is error
    assert {k: getattr(info.value, k) for k in attrs} == attrs
    exc: BaseException | None = info.value
    while exc is not None:  # the token appears nowhere in the chain
        assert TOKEN not in str(exc) and TOKEN not in repr(exc.args)
        exc = exc.__cause__


async def test_our_own_bad_request_is_transient(sb: XSandbox, watcher: XWatcher) -> None:
    with pytest.raises(TransientError, match="400"):
        await watcher.lookup_ids(["not-an-id"])


class SingleLookup:
    """Our seam served through tweepy's single-user endpoints, to reach the 404 variant."""

    def __init__(self, client: tweepy.Client) -> None:
        self.client = client

    def get_users(self, *, ids: list[str] | None = None, usernames: list[str] | None = None,
                  user_fields: list[str] | None = None) -> requests.Response:
        if ids:
            return self.client.get_user(id=ids[0], user_fields=user_fields)  # type: ignore[no-any-return]
        assert usernames
        return self.client.get_user(username=usernames[0], user_fields=user_fields)  # type: ignore[no-any-return]


@pytest.mark.parametrize("status", [200, 404])
async def test_single_lookup_errors_parse_alike_with_200_or_404(
    sb: XSandbox, watcher: XWatcher, status: int
) -> None:
    sb.single_missing_status = status
    sb.suspend(sb.add_account("sus"))
    ident = sb.add_account("alice")
    single = XWatcher(SingleLookup(watcher.client), timeout=5)
    assert only(await single.lookup_handles(["SUS"])).availability == Availability.SUSPENDED
    assert only(await single.lookup_ids(["404"])).availability == Availability.NOT_FOUND
    assert only(await single.lookup_ids([ident])).handle == "alice"


@pytest.mark.parametrize("host", ["https://api.twitter.com", "https://api.x.com"])
async def test_both_hosts_are_rewritten_to_the_base_url(
    sb: XSandbox, watcher: XWatcher, host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):  # trust_env=False: these must not apply
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    sb.add_account("alice")
    session: requests.Session = watcher.client.session  # type: ignore[attr-defined]
    r = session.get(f"{host}/2/users/by/username/alice", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.json()["data"]["username"] == "alice"
    assert r.url.startswith(sb.base_url + "/2/users/by/username/alice")
    assert only(await watcher.lookup_handles(["alice"])).handle == "alice"


def test_connect_builds_a_client_that_never_waits_on_rate_limits() -> None:
    client: Any = XWatcher.connect(TOKEN).client
    assert isinstance(client, tweepy.Client)
    assert client.wait_on_rate_limit is False and client.return_type is requests.Response
    assert client.session.trust_env is False


def _err(value: str, title: str, detail: str, **extra: str) -> dict[str, str]:
    return {"value": value, "detail": detail, "title": title, "resource_type": "user", "parameter": "ids",
            "resource_id": value, "type": "https://api.x.com/2/problems/resource-not-found", **extra}


def test_parse_users_maps_data_and_errors_without_http() -> None:
    body = json.dumps({
        "data": [{"id": "1", "name": "A", "username": "a", "withheld": {"country_codes": ["tr", "XX"]}},
                 {"id": "2", "name": "B"}],
        "errors": [_err("3", "Forbidden", "User has been suspended: [3]."),
                   _err("4", "Not Found Error", "Could not find user with ids: [4]."),
                   _err("5", "Teapot", "Something new"),
                   {**_err("", "Not Found Error", "Could not find user with ids: [6]."), "resource_id": "6"}],
    })
    result = parse_users(body, ["1", "2", "3", "4", "5", "6", "7"], "ids", None)
    by = {o.requested: o for o in result.observations}
    assert by["1"].withheld_in == frozenset({"TR", "XX"}) and by["1"].protected is False
    assert (by["3"].availability, by["4"].availability) == (Availability.SUSPENDED, Availability.NOT_FOUND)
    assert by["6"].account_id == "6"
    assert result.missing == ("2", "5", "7")


def test_parse_users_matches_usernames_by_value_case_insensitively() -> None:
    body = {"errors": [{**_err("ALICE", "Not Found Error", "Could not find user with usernames: [ALICE]."),
                        "parameter": "usernames"}]}
    (obs,) = parse_users(json.dumps(body).encode(), ["alice"], "usernames").observations
    assert (obs.requested, obs.account_id, obs.handle) == ("alice", None, None)


@pytest.mark.parametrize("body", [b"{\"data\": [", b"<html>502</html>", b"{}", b"[]", b"{\"meta\": {}}"])
def test_parse_users_rejects_bodies_that_say_nothing(body: bytes) -> None:
    with pytest.raises(TransientError):
        parse_users(body, ["1"], "ids", None)


@pytest.mark.parametrize("fault, words", [("down", "X API unreachable (Connection refused)"),
                                          ("timeout", "X API did not answer in time")])
async def test_a_failed_request_keeps_its_cause_in_a_few_words(sb: XSandbox, watcher: XWatcher, fault: str,
                                                               words: str) -> None:
    """Once, the stored poll error was a request URL cut mid-word at 300 characters, without its cause."""
    if fault == "down":
        sb.set_down(True)
    else:
        sb.fail_next(fault)
    with pytest.raises(TransientError) as raised:
        await watcher.lookup_ids([str(n) for n in range(1, 101)])
    assert str(raised.value) == words


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``condition`` (the sandbox thread's state) every 5 ms until it holds; False after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.005)
    return True


async def test_async_with_gives_the_watcher_and_closes_its_connections_on_exit(sb: XSandbox) -> None:
    ident = sb.add_account("alice")
    watcher = XWatcher.connect(TOKEN, api_base_url=sb.base_url, timeout=0.5)
    async with watcher as entered:
        assert entered is watcher
        assert only(await entered.lookup_ids([ident])).handle == "alice"
        assert sb.open_connections == 1  # kept alive between polls
    assert await until(lambda: sb.open_connections == 0)


async def test_an_answer_that_quotes_our_credentials_has_them_redacted() -> None:
    """A proxy in front of X that names the Authorization header it refused: the title is kept, the token not."""
    def refuse(path: str, headers: Mapping[str, str]) -> tuple[int, str, bytes]:
        body = {"title": f"upstream refused {headers.get('Authorization')}", "status": 503}
        return 503, "application/problem+json", json.dumps(body).encode()

    with EchoServer(refuse) as proxy:
        w = XWatcher.connect(TOKEN, api_base_url=proxy.base_url, timeout=0.5)
        try:
            with pytest.raises(TransientError) as raised:
                await w.lookup_ids(["1"])
        finally:
            await w.aclose()
    assert str(raised.value) == "X API answered HTTP 503 (upstream refused Bearer [redacted])"
