"""The web server of a real `presswatch run`, over HTTP, fed by the daemon polling the X sandbox.

One daemon serves the module: accounts withheld (TR, then TR and IN), lifted (IN), suspended, deactivated,
one calm, one private; a display name full of HTML. Each test reads what a visitor, a feed reader, a script
or Prometheus would.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest
from e2e import presswatch
from helpers_web import HOSTILE, PRIVATE_HANDLE, PRIVATE_NAME, SUBSCRIBER_DATA, World, running_world
from markupsafe import escape
from prometheus_client.parser import text_string_to_metric_families
from sqlite_utils import Database

from bot.storage.claims import ClaimBook
from bot.text import parse_iso

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(tmp_path_factory.mktemp("web")) as built:
        yield built


CLAIMANT, CLAIM_CODE = 731_905_118, "PW-CLAIM-7Q2X"


def public_ids(world: World) -> dict[str, str]:
    rows = json.loads(world.get("/api/v1/accounts", limit=1000).text)["items"]
    return {row["handle"]: row["id"] for row in rows}


def every_route(world: World) -> dict[str, httpx.Response]:
    """The body of every route the site has, each account and country page and transition's evidence too."""
    paths = ["/", "/accounts", "/feed.atom", "/api/v1/accounts", "/api/v1/transitions", "/export/accounts.csv",
             "/export/transitions.csv", "/healthz", "/metrics", "/static/style.css", "/countries/XX",
             "/feed.atom?kind=restricted", "/feed.atom?country=TR", "/feed.atom?tag=journalist",
             "/api/v1/transitions?country=TR&tag=journalist", "/api/v1/accounts?limit=1",
             f"/accounts/x/{world.private_id}", "/no-such-page", "/unsubscribe/1.AAAAAAAAAAAAAAAAAAAAAA"]
    paths += [f"/accounts?state={state}" for state in ("withheld", "suspended", "not_found", "active", "unchecked")]
    paths += [f"/accounts/x/{ident}" for ident in public_ids(world).values()]
    paths += ["/countries/TR", "/countries/IN", "/countries/tr"]
    transitions = world.transitions()
    paths += [f"/api/v1/transitions/{row['id']}/evidence" for row in transitions]
    return {path: world.get(path) for path in paths}


def test_the_status_page_shows_the_accounts_their_states_and_countries(world: World) -> None:
    page = world.get("/").text
    for handle in ("tr_journo", "in_journo", "activist", "gone_one"):
        assert f"@{handle}" in page
    assert "Turkey" in page and "India" in page
    assert "Withheld in some countries" in page and "Suspended" in page and "Not found" in page
    assert "<svg" in page and "Accounts restricted over time" in page
    # TR: tr_journo; IN: tr_journo only (in_journo's was lifted). The private account is not counted.
    countries = page[page.index("Withheld by country"):page.index("Latest changes")]
    assert countries.count('href="/countries/') == 2
    assert "Press accounts watch" in page


def test_account_and_country_pages(world: World) -> None:
    ids = public_ids(world)
    account = world.get(f"/accounts/x/{ids['tr_journo']}").text
    evidence = [row["evidence_sha256"] for row in world.transitions() if row["listed"] == "tr_journo"]
    assert len(evidence) == 2 and all(sha[:16] in account for sha in evidence)
    assert "https://x.com/tr_journo" in account and "Listed by the operators" in account
    turkey = world.get("/countries/TR").text
    assert "@tr_journo" in turkey and "Turkey" in turkey
    india = world.get("/countries/IN").text
    assert "Withheld there before" in india and "@in_journo" in india
    assert world.get("/countries/tr").url.path == "/countries/TR"  # followed the redirect
    assert world.get("/countries/ZZ").status_code == 404


def test_a_display_name_full_of_html_is_escaped_everywhere(world: World) -> None:
    marked_up = {path: response.text for path, response in every_route(world).items()
                 if response.headers["Content-Type"].startswith(("text/html", "application/atom+xml"))}
    for path, text in marked_up.items():
        assert "<script>alert(1)</script>" not in text, path
        assert "<img src=x" not in text, path
    shown = {path for path, text in marked_up.items() if "Ayşe" in text}
    assert {"/", "/accounts", "/accounts?state=withheld", "/countries/TR", "/feed.atom"} <= shown
    assert str(escape(HOSTILE)) in world.get(f"/accounts/x/{public_ids(world)['tr_journo']}").text
    api = json.loads(world.get("/api/v1/accounts").text)["items"]
    assert HOSTILE in [item["name"] for item in api]  # JSON carries the name as it is, for scripts to escape


def test_private_accounts_and_subscriber_data_appear_on_no_route(world: World) -> None:
    db = Database(world.config.parent / "presswatch.db")  # a claim pending, as a Telegram user made it
    try:
        made = parse_iso(world.transitions()[0]["confirmed_at"])
        ClaimBook(db).create(CLAIMANT, CLAIMANT, "tr_journo", CLAIM_CODE, made)
    finally:
        db.close()
    unsubscribe = {str(m["List-Unsubscribe"]).strip("<> ").rsplit("/", 1)[1] for m in world.mail.messages
                   if m["List-Unsubscribe"]}  # each subscriber's own link
    assert len(unsubscribe) == 2
    forbidden = (PRIVATE_HANDLE, PRIVATE_NAME, world.private_id, *SUBSCRIBER_DATA, CLAIM_CODE, str(CLAIMANT),
                 *unsubscribe)
    private_sha = [row["evidence_sha256"] for row in world.transitions() if row["listed"] == PRIVATE_HANDLE]
    assert private_sha, "the private account's change was recorded (and alerted)"
    for path, response in every_route(world).items():
        text = response.text
        for value in (*forbidden, *private_sha):
            assert value not in text, f"{value!r} on {path}"
    private_row = next(row for row in world.transitions() if row["listed"] == PRIVATE_HANDLE)
    assert world.get(f"/api/v1/transitions/{private_row['id']}/evidence").status_code == 404
    assert world.get(f"/accounts/x/{world.private_id}").status_code == 404


def test_every_page_has_a_strict_content_security_policy_and_links_its_feed(world: World) -> None:
    for path in ("/", "/accounts", "/countries/TR", "/no-such-page"):
        response = world.get(path)
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert "script-src" not in response.headers["Content-Security-Policy"]
        assert '<link rel="alternate" type="application/atom+xml"' in response.text
        assert "<script" not in response.text


def test_the_feed_parses_as_atom_newest_first_and_its_filters_combine(world: World) -> None:
    feed = feedparser.parse(world.get("/feed.atom").content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    entries = feed.entries
    assert len(entries) == 6  # 7 transitions, one of them the private account's
    assert [e.published_parsed for e in entries] == sorted((e.published_parsed for e in entries), reverse=True)
    assert len({e.id for e in entries}) == 6 and all(e.id.startswith("urn:uuid:") for e in entries)
    assert feedparser.parse(world.get("/feed.atom").content).entries[0].id == entries[0].id  # stable
    assert all(e.link.startswith(world.url + "/accounts/x/") for e in entries)
    assert all({"term": "x", "scheme": "urn:presswatch:platform", "label": None} in e.tags for e in entries)
    assert "withheld in" in entries[0].summary
    titles = lambda **query: sorted(e.title for e in feedparser.parse(world.get("/feed.atom", **query).content).entries)  # noqa: E731
    # country=IN: withheld/unwithheld events naming IN, and suspensions/deactivations (they pass a country filter)
    assert titles(country="IN") == ["@activist suspended", "@gone_one deactivated or deleted",
                                    "@in_journo no longer withheld in India (IN)", "@in_journo withheld in India (IN)",
                                    "@tr_journo withheld in India (IN)"]
    assert titles(country="IN", kind="withheld") == ["@in_journo withheld in India (IN)",
                                                     "@tr_journo withheld in India (IN)"]
    assert titles(country="IN", kind="withheld", tag="turkey") == ["@tr_journo withheld in India (IN)"]
    assert titles(kind="restored") == ["@in_journo no longer withheld in India (IN)"]
    assert titles(tag="activist") == ["@activist suspended"]
    bad = world.get("/feed.atom", country="TUR")
    assert bad.status_code == 400 and "did you mean TR" in bad.text


def test_the_api_pages_newest_first_with_a_cursor(world: World) -> None:
    first = json.loads(world.get("/api/v1/transitions", limit=4).text)
    rest = json.loads(world.get("/api/v1/transitions", limit=4, before=first["next"]).text)
    ids = [item["transition_id"] for item in first["items"] + rest["items"]]
    assert len(ids) == 6 and ids == sorted(ids, reverse=True) and rest["next"] is None
    item = first["items"][0]
    history = next(row for row in json.loads(presswatch("history", "--json", config=world.config).stdout)
                   if row["transition_id"] == item["transition_id"])
    assert {key: item[key] for key in history} == history  # the fields of history --json, and transition_id
    assert item["platform"] == "x" and item["url"].startswith(world.url + "/accounts/x/")
    accounts = json.loads(world.get("/api/v1/accounts").text)
    assert {"handle", "id", "availability", "protected", "withheld_in", "name", "error", "platform", "url"} <= set(
        accounts["items"][0])
    assert world.get("/api/v1/transitions", limit=0).status_code == 400


def test_evidence_is_the_raw_entry_as_stored_and_hashes_to_its_sha256(world: World) -> None:
    for row in world.transitions():
        if row["listed"] == PRIVATE_HANDLE:
            continue
        response = world.get(f"/api/v1/transitions/{row['id']}/evidence")
        assert response.content == row["evidence"].encode()
        assert hashlib.sha256(response.content).hexdigest() == row["evidence_sha256"]
        assert response.headers["X-Evidence-SHA256"] == row["evidence_sha256"]


def test_csv_exports_parse_with_a_header_row(world: World) -> None:
    response = world.get("/export/transitions.csv")
    assert response.headers["Content-Type"].startswith("text/csv") and b"\r\n" in response.content
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"), newline="")))
    assert len(rows) == 6 and {"transition_id", "handle", "kind", "countries", "evidence"} <= set(rows[0])
    accounts = list(csv.DictReader(io.StringIO(world.get("/export/accounts.csv").text, newline="")))
    names = {row["handle"]: row["name"] for row in accounts}
    assert names["tr_journo"] == HOSTILE and PRIVATE_HANDLE not in names and len(names) == 5


def test_metrics_parse_and_no_label_names_an_account_or_subscriber(world: World) -> None:
    families = {f.name: f for f in text_string_to_metric_families(world.get("/metrics").text)}
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}
    assert samples[("presswatch_transitions_total", (("kind", "withheld"),))] == 3  # the private one not counted
    assert samples[("presswatch_reads_total", (("platform", "x"), ("result", "ok")))] > 0
    assert samples[("presswatch_outbox_rows", (("status", "sent"),))] > 0
    assert ("presswatch_rate_limit_remaining", (("platform", "x"),)) in samples
    assert samples[("presswatch_last_successful_poll_timestamp_seconds", ())] > 1e9
    assert families["presswatch_delivery_latency_seconds"].type == "histogram"
    assert samples[("presswatch_delivery_latency_seconds_count", ())] > 0
    labels = {value for (_, pairs) in samples for _, value in pairs}
    assert labels <= {"x", "ok", "failed", *(f"{b}" for b in _buckets(families)), "pending", "sending", "sent",
                      "held", "withheld", "unwithheld", "suspended", "unsuspended", "deactivated",
                      "reactivated", "protected", "unprotected", "renamed", "limited", "unlimited"}


def _buckets(families: dict[str, Any]) -> set[str]:
    return {s.labels["le"] for s in families["presswatch_delivery_latency_seconds"].samples if "le" in s.labels}


def test_alerts_link_the_account_page_and_the_evidence(world: World, tmp_path: Path) -> None:
    ids = public_ids(world)
    desk = [m for m in world.mail.messages if "desk@rights.test" in m.rcpt_tos]
    about = {m["Subject"]: m.get_body(("plain",)).get_content() for m in desk}
    tr = next(text for subject, text in about.items() if "@tr_journo withheld in Turkey" in subject)
    assert f"{world.url}/accounts/x/{ids['tr_journo']}" in tr and "/evidence" in tr
    assert "presswatch history" not in tr
    private = next(text for subject, text in about.items() if PRIVATE_HANDLE in subject)
    assert world.url not in private and "presswatch history" in private  # its page does not exist
    telegram = " ".join(m["text"] for m in world.tg.sent_to(-1002222))
    assert f"/accounts/x/{ids['activist']}" in telegram
