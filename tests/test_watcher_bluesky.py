"""BlueskyWatcher on the real atproto AsyncClient against the Bluesky sandbox (an AppView on loopback)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from bot.models import Availability
from bot.sandbox.bluesky_api import BLUESKY_MODERATION, BlueskySandbox
from watchers.base import RateLimited, TransientError
from watchers.bluesky import BlueskyWatcher

TR = "did:plc:cquoj7aozvmkud2gifeinkda"
IN = "did:plc:srr4rdvgzkbx6t7fxqtt6j5t"
LABELERS = {"TR": TR, "IN": IN}
NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
def sb() -> Iterator[BlueskySandbox]:
    with BlueskySandbox(clock=lambda: NOW.timestamp()) as sandbox:
        sandbox.slow_seconds = 1.5
        yield sandbox


@pytest.fixture
async def watcher(sb: BlueskySandbox) -> AsyncIterator[BlueskyWatcher]:
    async with BlueskyWatcher.connect(sb.base_url, LABELERS, clock=lambda: NOW, timeout=0.5) as w:
        yield w


async def test_an_active_actor_is_observed_by_did_with_its_fields(sb: BlueskySandbox, watcher: BlueskyWatcher) -> None:
    did = sb.add_account("mahir.bsky.social", name="Mahir Zeynalov", description="journalist")
    result = await watcher.lookup_ids([did])
    (obs,) = result.observations
    assert (obs.platform, obs.requested, obs.account_id, obs.availability) == ("bluesky", did, did, Availability.ACTIVE)
    assert (obs.handle, obs.name, obs.description, obs.withheld_in) == (
        "mahir.bsky.social", "Mahir Zeynalov", "journalist", frozenset())
    assert json.loads(obs.evidence())["did"] == did and result.requests == 1


async def test_handles_resolve_to_dids_in_one_batch(sb: BlueskySandbox, watcher: BlueskyWatcher) -> None:
    dids = [sb.add_account(f"user{i}.bsky.social") for i in range(25)]
    result = await watcher.lookup_handles([f"USER{i}.bsky.social" for i in range(25)])
    assert [o.account_id for o in result.observations] == dids
    assert result.requests == 1 and sb.request_count == 1
    assert sb.requests[0].query["actors"][0] == "USER0.bsky.social"


async def test_an_account_gone_by_handle_gets_its_did_to_be_polled_by(
        sb: BlueskySandbox, watcher: BlueskyWatcher) -> None:
    did = sb.add_account("gone.bsky.social")
    sb.set(did, taken_down=True)
    result = await watcher.lookup_handles(["gone.bsky.social"])
    (obs,) = result.observations
    assert (obs.availability, obs.account_id, result.requests) == (Availability.SUSPENDED, did, 3)
    assert sb.requests[-1].path == "/xrpc/com.atproto.identity.resolveHandle"


async def test_more_than_25_actors_is_refused_before_sending(sb: BlueskySandbox, watcher: BlueskyWatcher) -> None:
    with pytest.raises(ValueError):
        await watcher.lookup_ids([f"did:plc:x{i}" for i in range(26)])
    assert sb.request_count == 0


@pytest.mark.parametrize("field, error, availability", [
    ("taken_down", "AccountTakedown", Availability.SUSPENDED),
    ("deactivated", "AccountDeactivated", Availability.NOT_FOUND),
    ("deleted", "InvalidRequest", Availability.NOT_FOUND),
])
async def test_an_actor_getprofiles_omits_is_classified_by_getprofile(
        sb: BlueskySandbox, watcher: BlueskyWatcher, field: str, error: str, availability: Availability) -> None:
    ok, gone = sb.add_account("ok.bsky.social"), sb.add_account("gone.bsky.social")
    sb.set(gone, **{field: True})
    result = await watcher.lookup_ids([ok, gone])
    by_id = {o.requested: o for o in result.observations}
    assert by_id[ok].availability is Availability.ACTIVE
    assert by_id[gone].availability is availability and by_id[gone].account_id == gone
    assert json.loads(by_id[gone].evidence())["error"] == error
    assert [r.path.rsplit(".", 1)[1] for r in sb.requests] == ["getProfiles", "getProfile"]
    assert result.requests == 2


async def test_a_country_labeler_label_is_withheld_in_and_its_val_is_evidence(
        sb: BlueskySandbox, watcher: BlueskyWatcher) -> None:
    did = sb.add_account("mahir.bsky.social")
    sb.label(did, TR, "!hide")
    sb.label(did, IN, "!hide", on="record")  # on the profile record, not the account: not a restriction
    sb.label(did, "did:plc:someotherlabeler", "!hide")  # not a country labeler we asked for
    sb.label(did, IN, "spam", exp="2026-01-01T00:00:00Z")  # expired
    (obs,) = (await watcher.lookup_ids([did])).observations
    assert obs.withheld_in == frozenset({"TR"})
    labels = json.loads(obs.evidence())["labels"]
    assert {"src": TR, "val": "!hide"}.items() <= labels[0].items()


async def test_a_negated_label_lifts_the_restriction(sb: BlueskySandbox, watcher: BlueskyWatcher) -> None:
    did = sb.add_account("mahir.bsky.social")
    sb.label(did, TR)
    assert (await watcher.lookup_ids([did])).observations[0].withheld_in == {"TR"}
    sb.negate(did, TR)
    assert (await watcher.lookup_ids([did])).observations[0].withheld_in == frozenset()


async def test_every_request_names_our_labelers_without_redact(sb: BlueskySandbox, watcher: BlueskyWatcher) -> None:
    did = sb.add_account("mahir.bsky.social")
    sb.set(did, taken_down=True)
    await watcher.lookup_ids([did])
    headers = [r.headers["atproto-accept-labelers"] for r in sb.requests]
    assert headers == [f"{TR},{IN}"] * 2 and not any("redact" in h for h in headers)


async def test_a_handle_change_keeps_the_did(sb: BlueskySandbox, watcher: BlueskyWatcher) -> None:
    did = sb.add_account("old.bsky.social")
    sb.set(did, handle="new.bsky.social")
    (obs,) = (await watcher.lookup_ids([did])).observations
    assert (obs.account_id, obs.handle) == (did, "new.bsky.social")


async def test_handle_invalid_is_no_handle_at_all(sb: BlueskySandbox, watcher: BlueskyWatcher) -> None:
    did = sb.add_account("mahir.bsky.social")
    sb.set(did, handle="handle.invalid")  # the AppView could not verify the handle just now
    (obs,) = (await watcher.lookup_ids([did])).observations
    assert obs.handle is None and obs.availability is Availability.ACTIVE  # no rename to "handle.invalid"


@pytest.mark.parametrize("fault", ["500", "502", "503", "malformed", "drop", "timeout"])
async def test_faults_are_transient_never_an_observation(sb: BlueskySandbox, watcher: BlueskyWatcher,
                                                         fault: str) -> None:
    did = sb.add_account("mahir.bsky.social")
    sb.fail_next(fault)
    with pytest.raises(TransientError):
        await watcher.lookup_ids([did])


async def test_a_fault_on_the_single_lookup_fails_the_batch(sb: BlueskySandbox, watcher: BlueskyWatcher) -> None:
    ok, gone = sb.add_account("ok.bsky.social"), sb.add_account("gone.bsky.social")
    sb.set(gone, taken_down=True)
    sb.fail_next("ok")  # getProfiles is answered; the getProfile of the omitted actor fails
    sb.fail_next("500")
    with pytest.raises(TransientError):
        await watcher.lookup_ids([ok, gone])


async def test_429_is_rate_limited_with_the_reset(sb: BlueskySandbox, watcher: BlueskyWatcher) -> None:
    did = sb.add_account("mahir.bsky.social")
    sb.fail_next("429")
    with pytest.raises(RateLimited) as caught:
        await watcher.lookup_ids([did])
    assert caught.value.reset_at == NOW.timestamp() + 1


async def test_the_rate_headers_are_read(sb: BlueskySandbox, watcher: BlueskyWatcher) -> None:
    sb.set_rate_limit(2, 300)
    did = sb.add_account("mahir.bsky.social")
    result = await watcher.lookup_ids([did])
    assert result.rate is not None and (result.rate.limit, result.rate.remaining) == (2, 1)
    await watcher.lookup_ids([did])
    with pytest.raises(RateLimited):
        await watcher.lookup_ids([did])


def test_the_sandbox_without_the_header_redacts_with_its_own_labeler(sb: BlueskySandbox) -> None:
    import httpx

    did = sb.add_account("mahir.bsky.social")
    sb.label(did, BLUESKY_MODERATION, "!takedown")
    url = sb.base_url + "/xrpc/app.bsky.actor.getProfiles"
    bare = httpx.get(url, params={"actors": did}).json()
    asked = httpx.get(url, params={"actors": did}, headers={"atproto-accept-labelers": TR}).json()
    assert bare == {"profiles": []} and [p["did"] for p in asked["profiles"]] == [did]
    too_many = httpx.get(url, params=[("actors", f"a{i}.bsky.social") for i in range(26)])
    assert too_many.status_code == 400 and too_many.json()["error"] == "InvalidRequest"


async def test_the_single_lookups_of_omitted_actors_are_paced(sb: BlueskySandbox, watcher: BlueskyWatcher) -> None:
    paced: list[int] = []

    async def pace() -> None:
        paced.append(sb.request_count)

    watcher.pace = pace
    gone = [sb.add_account(f"gone{i}.bsky.social") for i in range(2)]
    for did in gone:
        sb.set(did, deactivated=True)
    await watcher.lookup_ids([sb.add_account("ok.bsky.social"), *gone])
    assert paced == [1, 2]
