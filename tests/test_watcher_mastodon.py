"""MastodonWatcher on a real httpx client against Mastodon sandboxes of several versions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from bot.models import Availability
from bot.sandbox.mastodon_api import MastodonSandbox
from watchers.base import AppAuthError, RateLimited, TransientError
from watchers.mastodon import MastodonWatcher

NOW = 1_780_000_000.0


@pytest.fixture(params=["4.3.0"])
def sb(request: pytest.FixtureRequest) -> Iterator[MastodonSandbox]:
    with MastodonSandbox("mastodon.social", version=request.param, clock=lambda: NOW) as sandbox:
        sandbox.slow_seconds = 1.5
        yield sandbox


@pytest.fixture
async def watcher(sb: MastodonSandbox) -> AsyncIterator[MastodonWatcher]:
    async with MastodonWatcher.connect("mastodon.social", sb.base_url, timeout=0.5) as w:
        yield w


async def test_a_handle_resolves_on_its_home_instance(sb: MastodonSandbox, watcher: MastodonWatcher) -> None:
    ident = sb.add_account("mahir", name="Mahir Zeynalov", note="journalist")
    result = await watcher.lookup_handles(["mahir@mastodon.social"])
    (obs,) = result.observations
    assert (obs.platform, obs.requested, obs.account_id, obs.handle) == (
        "mastodon", "mahir@mastodon.social", ident, "mahir@mastodon.social")
    assert (obs.availability, obs.name, obs.limited, obs.withheld_in) == (
        Availability.ACTIVE, "Mahir Zeynalov", False, frozenset())
    assert sb.requests[0].path == "/api/v1/accounts/lookup" and sb.requests[0].query == {"acct": ["mahir"]}


async def test_ids_are_polled_40_a_request(sb: MastodonSandbox, watcher: MastodonWatcher) -> None:
    ids = [sb.add_account(f"user{i}") for i in range(40)]
    result = await watcher.lookup_ids(ids)
    assert [o.account_id for o in result.observations] == ids and result.requests == 1
    assert sb.requests[0].query["id[]"] == ids
    with pytest.raises(ValueError):
        await watcher.lookup_ids([*ids, "1"])


async def test_suspended_limited_and_gone(sb: MastodonSandbox, watcher: MastodonWatcher) -> None:
    sus, lim, gone = sb.add_account("sus"), sb.add_account("lim"), sb.add_account("gone")
    sb.set(sus, suspended=True)
    sb.set(lim, limited=True)
    sb.set(gone, deleted=True)
    result = await watcher.lookup_ids([sus, lim, gone])
    by_id = {o.requested: o for o in result.observations}
    assert by_id[sus].availability is Availability.SUSPENDED and json.loads(by_id[sus].evidence())["suspended"]
    assert by_id[lim].availability is Availability.ACTIVE and by_id[lim].limited is True
    assert by_id[gone].availability is Availability.NOT_FOUND
    # the batch omitted the gone id: it was asked alone before being called gone
    assert [r.path for r in sb.requests] == ["/api/v1/accounts", f"/api/v1/accounts/{gone}"]


@pytest.mark.parametrize("sb", ["4.2.0"], indirect=True)
async def test_an_instance_before_4_3_is_read_one_by_one(sb: MastodonSandbox, watcher: MastodonWatcher) -> None:
    ids = [sb.add_account(f"user{i}") for i in range(3)]
    first, other = await asyncio.gather(watcher.lookup_ids(ids[:2]), watcher.lookup_ids(ids[2:]))
    assert [o.account_id for o in first.observations + other.observations] == ids
    assert first.requests + other.requests == 4  # one probe of the batch route, though both were in flight
    assert watcher.batch_supported is False
    second = await watcher.lookup_ids(ids)
    assert second.requests == 3  # the missing batch route is not asked again


@pytest.mark.parametrize("sb", ["3.2.0"], indirect=True)
async def test_410_is_suspended_on_an_old_instance(sb: MastodonSandbox, watcher: MastodonWatcher) -> None:
    ident = sb.add_account("sus")
    sb.set(ident, suspended=True)
    (obs,) = (await watcher.lookup_ids([ident])).observations
    assert obs.availability is Availability.SUSPENDED and obs.account_id == ident


@pytest.mark.parametrize("sb", ["3.5.0"], indirect=True)
async def test_an_instance_without_the_limited_flag_reads_as_not_limited(
        sb: MastodonSandbox, watcher: MastodonWatcher) -> None:
    ident = sb.add_account("lim")
    sb.set(ident, limited=True)
    (obs,) = (await watcher.lookup_ids([ident])).observations
    assert obs.limited is False and "limited" not in json.loads(obs.evidence())


async def test_an_unknown_handle_is_not_found(sb: MastodonSandbox, watcher: MastodonWatcher) -> None:
    (obs,) = (await watcher.lookup_handles(["nobody@mastodon.social"])).observations
    assert obs.availability is Availability.NOT_FOUND and obs.account_id is None


@pytest.mark.parametrize("fault", ["500", "502", "503", "malformed", "drop", "timeout"])
async def test_faults_are_transient(sb: MastodonSandbox, watcher: MastodonWatcher, fault: str) -> None:
    ident = sb.add_account("mahir")
    sb.fail_next(fault)
    with pytest.raises(TransientError):
        await watcher.lookup_ids([ident])


async def test_a_502_html_page_on_a_single_lookup_is_not_a_missing_account(
        sb: MastodonSandbox, watcher: MastodonWatcher) -> None:
    ident = sb.add_account("mahir")
    sb.set(ident, deleted=True)
    sb.fail_next("ok")
    sb.fail_next("502")
    with pytest.raises(TransientError):
        await watcher.lookup_ids([ident])


async def test_429_is_rate_limited_with_the_iso_reset(sb: MastodonSandbox, watcher: MastodonWatcher) -> None:
    ident = sb.add_account("mahir")
    sb.fail_next("429")
    with pytest.raises(RateLimited) as caught:
        await watcher.lookup_ids([ident])
    assert caught.value.reset_at == NOW + 1


async def test_the_window_and_its_headers(sb: MastodonSandbox, watcher: MastodonWatcher) -> None:
    sb.set_rate_limit(1, 300)
    ident = sb.add_account("mahir")
    result = await watcher.lookup_ids([ident])
    assert result.rate is not None and (result.rate.limit, result.rate.remaining) == (1, 0)
    assert result.rate.reset_at == NOW + 300
    with pytest.raises(RateLimited):
        await watcher.lookup_ids([ident])


async def test_an_instance_that_requires_auth_is_our_problem(sb: MastodonSandbox, watcher: MastodonWatcher) -> None:
    sb.require_auth = True
    with pytest.raises(AppAuthError):
        await watcher.lookup_ids([sb.add_account("mahir")])


def test_the_sandbox_refuses_more_than_40_ids(sb: MastodonSandbox) -> None:
    answer = httpx.get(sb.base_url + "/api/v1/accounts", params=[("id[]", str(i)) for i in range(41)])
    assert answer.status_code == 422


@pytest.mark.parametrize("sb", ["4.2.0"], indirect=True)
async def test_every_request_past_a_batchs_first_is_paced(sb: MastodonSandbox, watcher: MastodonWatcher) -> None:
    paced: list[int] = []

    async def pace() -> None:
        paced.append(sb.request_count)

    watcher.pace = pace
    ids = [sb.add_account(f"user{i}") for i in range(3)]
    result = await watcher.lookup_ids(ids)
    assert result.requests == 4 and paced == [1, 2, 3]  # before each single lookup, none before the batch
    await watcher.lookup_handles(["user0@mastodon.social", "user1@mastodon.social"])
    assert paced[3:] == [5]
