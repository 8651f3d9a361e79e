"""The web's parts without a server: the status page's figures and chart, feed filters, unsubscribe tokens,
the health verdict, the reader's cache, the public view's privacy, and the config of the server."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from helpers_core import NOT_FOUND, SUSPENDED, T0, observe, seen, until
from multidict import MultiDict
from sqlite_utils import Database
from test_render import transition

from bot.config import ConfigError, load_config
from bot.delivery.render import Renderer
from bot.models import EventKind, Message
from bot.storage.accounts import Store
from bot.storage.outbox import Outbox, SubscriberSpec
from bot.storage.public import PublicAccount, PublicView, Step, open_reader
from bot.storage.site import SiteKeys, set_private
from bot.web import chart, overview
from bot.web.feed import Filter, parse_filter
from bot.web.ops import PollStatus
from bot.web.reader import Reader
from bot.web.site import BadRequest
from bot.web.unsubscribe import Unsubscriber, sign
from notifiers.email import build_email


def account(pk: int, availability: str | None = "active", withheld: tuple[str, ...] = (), **changes: object
            ) -> PublicAccount:
    base = PublicAccount(pk, "x", str(pk), f"user{pk}", f"User {pk}", (), "config", True, T0, availability, False,
                         withheld, None)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def step(pk: int, kind: str, minutes: int, *, countries: tuple[str, ...] = (), availability: str = "active",
         withheld: tuple[str, ...] = ()) -> Step:
    return Step(pk, kind, countries, availability, withheld, T0 + timedelta(minutes=minutes))


def test_accounts_are_grouped_suspended_and_missing_before_withheld() -> None:
    assert overview.group_of(account(1, "suspended", ("TR",))) == "suspended"
    assert overview.group_of(account(2, "not_found")) == "not_found"
    assert overview.group_of(account(3, "active", ("TR",))) == "withheld"
    assert overview.group_of(account(4)) == "active"
    assert overview.group_of(account(5, None)) == "unchecked"


def test_countries_count_the_withholdings_in_force_with_their_oldest_known_start() -> None:
    accounts = [account(1, withheld=("TR",)), account(2, withheld=("TR", "IN")), account(3, withheld=("TR",)),
                account(4, "suspended", ("IN",))]
    steps = [step(1, "withheld", 10, countries=("TR",), withheld=("TR",)),
             step(2, "withheld", 5, countries=("IN",), withheld=("IN",)),
             step(2, "unwithheld", 6, countries=("IN",)),
             step(2, "withheld", 30, countries=("TR", "IN"), withheld=("TR", "IN"))]
    rows = {row.code: row for row in overview.country_rows(accounts, overview.withheld_since(steps))}
    assert set(rows) == {"TR", "IN"}  # the suspended account's IN does not show while it is suspended
    assert (rows["TR"].count, rows["TR"].since, rows["TR"].already) == (3, T0 + timedelta(minutes=10), 1)
    assert (rows["IN"].count, rows["IN"].since) == (1, T0 + timedelta(minutes=30))  # the re-withholding
    assert rows["TR"].name == "Turkey"


def test_the_series_counts_accounts_restricted_at_each_moment() -> None:
    accounts = [account(1, withheld=("TR",)), account(2), account(3, "active", ("IN",))]
    steps = [step(1, "withheld", 30, countries=("TR",), withheld=("TR",)),  # restricted from 30 min
             step(2, "suspended", 20, availability="suspended"), step(2, "unsuspended", 40)]  # 20 to 40 min
    # account 3 was withheld when first read: restricted from the start
    series = overview.restriction_series(accounts, steps, T0 + timedelta(minutes=60), points=6)
    assert [level for _, level in series] == [1, 1, 2, 3, 2, 2, 2]
    assert series[0][0] == T0 and series[-1][0] == T0 + timedelta(minutes=60)


def test_the_chart_draws_the_series_and_says_it_in_words() -> None:
    moments = [(T0 + timedelta(days=day), level) for day, level in enumerate([0, 3, 3, 7])]
    drawn = chart.build(moments)
    assert not drawn.empty and drawn.line.startswith("M") and drawn.area.endswith("Z")
    assert [tick.label for tick in drawn.y_ticks] == ["0", "2", "4", "6", "8", "10"]
    assert drawn.x_ticks[0].label == "2024-03-01" and "7 now, at most 7" in drawn.summary
    assert chart.build([]).empty


def test_feed_filters_mean_what_a_subscribers_filters_mean() -> None:
    india = parse_filter(MultiDict([("country", "in"), ("kind", "restricted,unwithheld")]))
    assert india == Filter(("IN",), ("restricted", "unwithheld"))
    assert india.passes(transition(EventKind.WITHHELD, countries=("IN",)))
    assert not india.passes(transition(EventKind.WITHHELD, countries=("TR",)))
    assert india.passes(transition(EventKind.WITHHELD, countries=("XX",)))  # everywhere passes any country
    assert india.passes(transition(EventKind.SUSPENDED, countries=()))  # suspensions pass a country filter
    assert not india.passes(transition(EventKind.RENAMED, countries=()))
    tagged = parse_filter(MultiDict([("tag", "Turkey"), ("tag", "press")]))
    assert tagged.passes(transition()) and not tagged.passes(transition(tags=("activist",)))
    assert tagged.query() == "tag=press,turkey"


@pytest.mark.parametrize(("query", "message"), [
    (("country", "TUR"), "country: 'TUR' is not an ISO 3166 alpha-2 code (did you mean TR?)"),
    (("kind", "banned"), "kind: 'banned' is not an event kind or group"),
    (("tag", "no spaces"), "tag: 'no spaces' is not a tag"),
])
def test_a_bad_filter_is_named_in_one_line(query: tuple[str, str], message: str) -> None:
    with pytest.raises(BadRequest, match="^" + message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        parse_filter(MultiDict([query]))


def test_alerts_link_the_page_and_the_evidence_only_when_the_site_may_show_them() -> None:
    linked = Renderer(public_url="https://watch.example.org").alert(transition())
    page = "https://watch.example.org/accounts/x/1234567890"
    assert page in linked.text and page in linked.telegram_html and page in linked.html
    assert "https://watch.example.org/api/v1/transitions/7/evidence" in linked.text
    assert "presswatch history" not in linked.text
    private = Renderer(public_url="https://watch.example.org").alert(transition(private=True))
    assert "watch.example.org" not in private.text + private.telegram_html + private.html
    assert "presswatch history" in Renderer().alert(transition()).text
    # The JSON webhook payload points at the same published evidence, and at none for a private account.
    assert linked.data["evidence"]["url"] == "https://watch.example.org/api/v1/transitions/7/evidence"
    assert private.data["evidence"]["url"] is None and Renderer().alert(transition()).data["evidence"]["url"] is None
    digest, count = Renderer(public_url="https://watch.example.org").digest([transition(id=1), transition(id=2)])
    assert count == 2 and page in digest.telegram_html and "presswatch history" not in digest.telegram_html


def test_an_email_with_an_unsubscribe_link_carries_the_rfc_8058_headers() -> None:
    message = Message("s", "text", "<p>html</p>", "tg", list_unsubscribe="https://w.example/unsubscribe/3.abc")
    mail = build_email("alerts@example.org", "desk@example.org", message)
    assert mail["List-Unsubscribe"] == "<https://w.example/unsubscribe/3.abc>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    plain = build_email("alerts@example.org", "desk@example.org", dataclasses.replace(message, list_unsubscribe=""))
    assert "List-Unsubscribe" not in plain


def test_an_unsubscribe_token_is_bound_to_its_subscriber_and_address(db: Database) -> None:
    outbox = Outbox(db)
    desk = outbox.upsert_subscriber(SubscriberSpec("config:desk", "Desk", "email", "desk@example.org"), T0)
    chat = outbox.upsert_subscriber(SubscriberSpec("config:chat", "Chat", "telegram", "-100"), T0)
    ops = outbox.upsert_subscriber(SubscriberSpec("op", "Ops", "email", "ops@example.org", operator=True), T0)
    unsubscriber = Unsubscriber(outbox, "https://w.example", lambda: T0)
    unsubscriber.key = SiteKeys(db).get("unsubscribe", T0)
    assert SiteKeys(db).get("unsubscribe", T0) == unsubscriber.key != SiteKeys(db).get("feed", T0)
    token = sign(unsubscriber.key, desk, "desk@example.org")
    assert unsubscriber.url(outbox.subscriber(desk)) == f"https://w.example/unsubscribe/{token}"  # type: ignore[arg-type]
    assert unsubscriber.verified(token) is not None
    assert unsubscriber.verified(token.upper()) is None
    assert unsubscriber.verified(sign(b"another key" * 3, desk, "desk@example.org")) is None
    assert unsubscriber.verified(sign(unsubscriber.key, chat, "-100")) is None  # email subscribers only
    assert unsubscriber.verified(sign(unsubscriber.key, ops, "ops@example.org")) is None  # never an operator
    outbox.upsert_subscriber(SubscriberSpec("config:desk", "Desk", "email", "new@example.org"), T0)
    assert unsubscriber.verified(token) is None  # the address changed: the old link is void


def test_health_fails_after_three_intervals_without_a_good_poll_or_at_once_when_x_refuses() -> None:
    status = PollStatus(60.0, T0)
    assert status.check(T0 + timedelta(seconds=179))[0]  # starting: three intervals to get a first poll
    assert not status.check(T0 + timedelta(seconds=180))[0]
    status.cycle(5, None, T0 + timedelta(seconds=200))
    healthy, body = status.check(T0 + timedelta(seconds=300))
    assert healthy and body["last_successful_poll"] == "2024-03-01T12:03:20Z" and body["problem"] is None
    status.cycle(0, "auth", T0 + timedelta(seconds=310))
    healthy, body = status.check(T0 + timedelta(seconds=311))
    assert not healthy and body["problem"] == "X refuses presswatch's credentials"
    status.cycle(0, None, T0 + timedelta(seconds=320))  # a timeout says nothing new of the refusal
    assert not status.check(T0 + timedelta(seconds=321))[0]
    status.cycle(5, None, T0 + timedelta(seconds=330))
    assert status.check(T0 + timedelta(seconds=331))[0]


async def test_the_reader_builds_once_per_change_of_the_database(file_db: Database, db_path: Path) -> None:
    reader = Reader(lambda shared: open_reader(db_path, shared=shared))
    builds: list[int] = []

    def build(view: PublicView) -> int:
        builds.append(len(view.accounts()))
        return builds[-1]

    store = Store(file_db, Outbox(file_db))
    try:
        assert await reader.cached("k", build) == 0
        assert await asyncio.gather(*(reader.cached("k", build) for _ in range(5))) == [0] * 5
        assert builds == [0]
        store.sync_watchlist([("alice", ())], T0)  # another connection commits
        assert await reader.cached("k", build) == 0  # the answer before, while the new one is built
        await until(lambda: builds == [0, 1], what="one rebuild")
        assert await asyncio.gather(*(reader.cached("k", build) for _ in range(5))) == [1] * 5
        assert builds == [0, 1]
    finally:
        reader.close()


def test_private_accounts_are_left_out_of_every_public_query(store: Store) -> None:
    store.sync_watchlist([("alice", ()), ("bob", ())], T0)
    assert set_private(store.db, ["BOB"]) == 1
    observe(store, "alice", seen(handle="alice", account_id="1"), T0)
    observe(store, "bob", seen(handle="bob", account_id="2"), T0)
    observe(store, "alice", seen(SUSPENDED, account_id="1"), T0)
    observe(store, "bob", seen(NOT_FOUND, account_id="2"), T0)
    view = PublicView(store.db)
    assert [a.handle for a in view.accounts()] == ["alice"] and view.account("x", "2") is None
    assert [t.handle for t in view.transitions()] == ["alice"] and {s.account_pk for s in view.steps()} == {1}
    assert view.kind_counts() == {"suspended": 1}
    bob = store.transitions(handle="bob")[0]
    assert bob.private and view.evidence(bob.id) is None and view.evidence(view.transitions()[0].id) is not None
    store.sync_watchlist([("alice", ())], T0)  # bob dropped from the config: its history stays private
    set_private(store.db, [])
    assert [a.handle for a in PublicView(store.db).accounts()] == ["alice"]
    assert [t.handle for t in PublicView(store.db).transitions()] == ["alice"]


def write(tmp_path: Path, server: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"version: 1\ndatabase: pw.db\nx: {{bearer_token: abcdef}}\nwatchlist:\n"
                    f"  - {{handle: alice, private: true}}\nserver: {server}\n")
    return path


@pytest.mark.parametrize(("server", "listen"), [
    ('{listen: "127.0.0.1:8080"}', ("127.0.0.1", 8080)),
    ('{listen: "[::1]:8080"}', ("::1", 8080)),
    ('{listen: "0.0.0.0:0", public_url: "https://watch.example.org/"}', ("0.0.0.0", 0)),
])
def test_the_server_section(tmp_path: Path, server: str, listen: tuple[str, int]) -> None:
    config = load_config(write(tmp_path, server))
    assert config.server is not None and config.server.listen == listen and config.server.title == "presswatch"
    assert config.watchlist[0].private is True
    assert config.server.public_url in (None, "https://watch.example.org")


@pytest.mark.parametrize(("server", "problem"), [
    ('{listen: "8080"}', "server.listen: '8080' is not host:port (like 127.0.0.1:8080) (line 6)"),
    ('{listen: "localhost:99999"}', "server.listen: 'localhost:99999' is not host:port (like 127.0.0.1:8080):"
                                    " the port is a number from 0 to 65535 (line 6)"),
    ('{public_url: "https://w.example"}', "server: public_url needs listen: the links it makes lead to this"
                                          " server (like listen: 127.0.0.1:8080 behind your https proxy) (line 6)"),
    ('{listen: "127.0.0.1:80", public_url: "ftp://w.example"}', "server.public_url: 'ftp://w.example' is not an"
                                                                " http:// or https:// URL (line 6)"),
    ('{listen: "127.0.0.1:80", port: 80}', "server.port: unknown key"),
])
def test_a_bad_server_section_is_named(tmp_path: Path, server: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, server))
    assert any(str(found).startswith(problem) for found in caught.value.problems), caught.value.problems
