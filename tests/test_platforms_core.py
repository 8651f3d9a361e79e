"""One status model for X, Bluesky and Mastodon: limited/unlimited, platform on what is stored and routed,
the watchlist's new entry form, and the account forms people paste."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.detect import detect, events_between
from bot.models import AccountState, Availability, Event, EventKind, Observation, Subscriber, expand_events
from bot.routing import matches
from bot.social_handles import normalize_bluesky, normalize_mastodon, parse_account
from bot.storage.accounts import Outcome, Store
from bot.storage.outbox import SubscriberSpec
from tests.helpers_core import T0, rows, state

K = EventKind


def masto(limited: bool | None, *, ident: str = "109", suspended: bool = False) -> Observation:
    availability = Availability.SUSPENDED if suspended else Availability.ACTIVE
    return Observation("mastodon", ident, ident, availability, "{}", protected=False, withheld_in=frozenset(),
                       handle="mahir@mastodon.social", name="Mahir", limited=limited)


def test_limited_and_unlimited_are_their_own_kinds_in_the_groups() -> None:
    assert K.LIMITED in expand_events(["restricted"]) and K.UNLIMITED in expand_events(["restored"])
    before = state(handle="mahir@mastodon.social")
    after = AccountState(before.availability, False, frozenset(), before.handle, before.name, limited=True)
    assert events_between(before, after) == (Event(K.LIMITED),)
    assert events_between(after, before) == (Event(K.UNLIMITED),)


def test_a_limit_is_confirmed_like_any_change_and_an_unshown_flag_changes_nothing() -> None:
    base = detect(None, masto(False), None, 2).state
    first = detect(base, masto(True), None, 2)
    assert first.change is None and first.pending is not None
    second = detect(base, masto(True), first.pending, 2)
    assert second.change is not None and [e.kind for e in second.change.events] == [K.LIMITED]
    limited = second.state
    assert limited is not None and limited.limited
    # a suspended account shows no flag (None): the limit is carried over, not lifted
    assert detect(limited, masto(None, suspended=True), None, 1).state.limited  # type: ignore[union-attr]


def sub(**kwargs: object) -> Subscriber:
    return Subscriber(id=1, name="desk", channel="email", address="d@example.org", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("platforms, platform, expected", [
    ((), "bluesky", True),
    (("bluesky",), "bluesky", True),
    (("bluesky",), "x", False),
    (("x", "mastodon"), "mastodon", True),
])
def test_the_platforms_filter(platforms: tuple[str, ...], platform: str, expected: bool) -> None:
    assert matches(sub(platforms=frozenset(platforms)), Event(K.SUSPENDED), [], 1, platform) is expected


def test_an_eu_label_reaches_a_subscriber_of_a_member_state_only() -> None:
    eu = Event(K.WITHHELD, ("EU",))
    assert matches(sub(countries=frozenset({"DE"})), eu, [], 1, "bluesky")
    assert not matches(sub(countries=frozenset({"TR"})), eu, [], 1, "bluesky")


def test_transitions_and_routes_carry_the_platform(store: Store) -> None:
    store.sync_watchlist([("mahir@mastodon.social", ["journalist"], "Mahir Zeynalov")], T0, "mastodon")
    store.sync_watchlist([("MahirZeynalov", [], "Mahir Zeynalov")], T0)
    store.outbox.sync_config([
        SubscriberSpec(key="config:masto", name="masto", channel="email", address="m@example.org",
                       platforms=("mastodon",)),
        SubscriberSpec(key="config:x", name="x only", channel="email", address="x@example.org", platforms=("x",)),
    ], T0)
    (watched,) = store.watched("mastodon", instance="mastodon.social")
    assert watched.account.person == "Mahir Zeynalov" and store.watched("mastodon", instance="other.social") == []
    base = detect(None, masto(False), None, 1)
    store.record([Outcome(watched, masto(False), base)], T0)
    (watched,) = store.watched("mastodon")
    change = detect(watched.state, masto(True), None, 1)
    (tid,) = store.record([Outcome(watched, masto(True), change)], T0)
    (t,) = store.transitions(ids=[tid])
    assert (t.platform, t.kind) == ("mastodon", K.LIMITED)
    assert store.watched("mastodon")[0].state.limited  # type: ignore[union-attr]
    addresses = [r["address"] for r in rows(store.db, "SELECT s.address FROM outbox o JOIN subscribers s"
                                                      " ON s.id = o.subscriber_id")]
    assert addresses == ["m@example.org"]


def test_the_migration_marks_earlier_rows_as_x(store: Store) -> None:
    store.sync_watchlist([("alice", [])], T0)
    assert rows(store.db, "SELECT platform, limited, person FROM accounts") == [
        {"platform": "x", "limited": 0, "person": ""}]
    for table in ("transitions", "polls"):
        assert {c.name: c.default_value for c in store.db.table(table).columns}["platform"] == "'x'"
    assert {c.name: c.default_value for c in store.db.table("subscribers").columns}["platforms"] == "'[]'"


@pytest.mark.parametrize("text, expected", [
    ("bsky:Mahir.bsky.social", ("bluesky", "mahir.bsky.social")),
    ("@mahir.bsky.social", ("bluesky", "mahir.bsky.social")),
    ("https://bsky.app/profile/mahir.bsky.social", ("bluesky", "mahir.bsky.social")),
    ("https://bsky.app/profile/did:plc:cquoj7aozvmkud2gifeinkda", ("bluesky", "did:plc:cquoj7aozvmkud2gifeinkda")),
    ("did:web:example.com", ("bluesky", "did:web:example.com")),
    ("mahir@Mastodon.Social", ("mastodon", "mahir@mastodon.social")),
    ("@mahir@mastodon.social", ("mastodon", "mahir@mastodon.social")),
    ("https://mastodon.social/@mahir", ("mastodon", "mahir@mastodon.social")),
    ("https://chaos.social/@mahir@mastodon.social", ("mastodon", "mahir@mastodon.social")),
    ("@MahirZeynalov", ("x", "MahirZeynalov")),
    ("https://x.com/MahirZeynalov", ("x", "MahirZeynalov")),
])
def test_accounts_as_people_paste_them(text: str, expected: tuple[str, str]) -> None:
    assert parse_account(text) == expected


@pytest.mark.parametrize("bad", ["bsky:", "bsky:nodots", "x.invalid", "https://bsky.app/profile/a b"])
def test_bad_bluesky_accounts_are_refused_with_the_forms(bad: str) -> None:
    with pytest.raises(ValueError, match="not a Bluesky account"):
        normalize_bluesky(bad)


@pytest.mark.parametrize("bad", ["mahir@", "@mahir", "ma hir@mastodon.social", "mahir@localhost"])
def test_bad_mastodon_accounts_are_refused_with_the_forms(bad: str) -> None:
    with pytest.raises(ValueError, match="not a Mastodon account"):
        normalize_mastodon(bad)


BASE = "version: 1\ndatabase: pw.db\nx:\n  bearer_token: t0k3n-value\n"
PERSON = """\
watchlist:
  - handle: OldStyle
  - name: Mahir Zeynalov
    x: MahirZeynalov
    bluesky: mahir.bsky.social
    mastodon: mahir@mastodon.social
    tags: [journalist]
"""


def load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return load_config(path, {})


def test_the_new_entry_form_beside_the_old(tmp_path: Path) -> None:
    config = load(tmp_path, BASE + "bluesky: {}\nmastodon:\n  instance_urls: {mastodon.social: 'http://127.0.0.1:9'}\n"
                  + PERSON)
    old, person = config.watchlist
    assert old.accounts() == [("x", "OldStyle")]
    assert person.accounts() == [("x", "MahirZeynalov"), ("bluesky", "mahir.bsky.social"),
                                 ("mastodon", "mahir@mastodon.social")]
    assert config.bluesky is not None and config.bluesky.labelers["TR"] == "did:plc:cquoj7aozvmkud2gifeinkda"
    assert (config.bluesky.rate_limit.requests, config.bluesky.rate_limit.per) == (3000, 300.0)
    assert config.mastodon is not None and config.mastodon.url_of("mastodon.social") == "http://127.0.0.1:9"
    assert config.mastodon.url_of("chaos.social") == "https://chaos.social"


@pytest.mark.parametrize("entries, where, message", [
    ("  - name: Nobody\n    tags: [x]\n", "watchlist.0", "needs at least one platform"),
    ("  - handle: a\n    x: b\n", "watchlist.0", "handle or x, not both"),
    ("  - bluesky: 'not a handle'\n", "watchlist.0.bluesky", "not a Bluesky account"),
    ("  - mastodon: mahir\n", "watchlist.0.mastodon", "not a Mastodon account"),
    ("  - bluesky: a.bsky.social\n  - bluesky: A.bsky.social\n", "watchlist.1.bluesky", "duplicate"),
    ("  - handle: Mahir\n  - name: M\n    x: '@mahir'\n", "watchlist.1.x", "is already watchlist.0"),
])
def test_bad_entries_are_named(tmp_path: Path, entries: str, where: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, BASE + "bluesky: {}\nmastodon: {}\nwatchlist:\n" + entries)
    found = {p.path: p.message for p in caught.value.problems}
    assert where in found and message in found[where], found


def test_an_entry_on_a_platform_without_its_section_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, BASE + "watchlist:\n  - bluesky: a.bsky.social\n  - mastodon: a@mastodon.social\n")
    found = {p.path: p.message for p in caught.value.problems}
    assert "needs a bluesky section" in found["watchlist.0.bluesky"]
    assert "needs a mastodon section" in found["watchlist.1.mastodon"]


def test_a_subscriber_platforms_filter_is_checked(tmp_path: Path) -> None:
    subs = "subscribers:\n  - name: d\n    email: d@example.org\n    platforms: [bluesky, myspace]\n"
    text = BASE + "email:\n  host: smtp.example.org\n  from: a@example.org\nwatchlist: []\n" + subs
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    assert any(p.path == "subscribers.0.platforms.1" for p in caught.value.problems)


def test_two_mastodon_instances_may_number_accounts_alike(store: Store) -> None:
    store.sync_watchlist([("a@one.social", []), ("b@two.social", [])], T0, "mastodon")
    for watched in store.watched("mastodon"):
        obs = masto(False, ident="109")
        store.record([Outcome(watched, obs, detect(None, obs, None, 1))], T0)
    assert [w.account.account_id for w in store.watched("mastodon")] == ["109", "109"]


def test_an_empty_section_takes_its_defaults(tmp_path: Path) -> None:
    config = load(tmp_path, BASE + "bluesky:\nmastodon:\nwatchlist:\n  - bluesky: a.bsky.social\n")
    assert config.bluesky is not None and config.bluesky.api_base_url == "https://public.api.bsky.app"
    assert len(config.bluesky.labelers) == 11 and config.bluesky.labelers["EU"].startswith("did:plc:")
    assert config.mastodon is not None and config.mastodon.url_of("mastodon.social") == "https://mastodon.social"


async def test_check_of_a_platform_without_its_section_says_so(tmp_path: Path) -> None:
    from bot.tools.check import check_accounts

    config = load(tmp_path, BASE + "watchlist: []\n")
    (row,) = await check_accounts(config, ["mahir.bsky.social"])
    assert (row["platform"], row["error"]) == ("bluesky", "the config has no bluesky section")


@pytest.mark.parametrize("section, where, message", [
    ("bluesky:\n  labelers: {TR: 'not-a-did'}\n", "bluesky.labelers.TR", "is not a labeler DID"),
    ("bluesky:\n  labelers: {TUR: did:plc:cquoj7aozvmkud2gifeinkda}\n", "bluesky.labelers.TUR", "did you mean TR"),
    ("bluesky:\n  labelers: {}\n", "bluesky.labelers", "at least one country labeler"),
    ("mastodon:\n  instance_urls: {'not an instance': 'http://127.0.0.1:1'}\n", "mastodon.instance_urls",
     "not a Mastodon account"),
])
def test_bad_platform_sections_are_named(tmp_path: Path, section: str, where: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, BASE + section + "watchlist: []\n")
    found = {p.path: p.message for p in caught.value.problems}
    assert any(path.startswith(where) and message in text for path, text in found.items()), found
