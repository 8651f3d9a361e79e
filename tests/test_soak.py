"""The soak bench's own logic: its timeline keeps its promises, and its figures count what they say."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from soak_parse import Deliveries, alert_items, notice_id, read
from soak_plan import Settings, advance_good, good_time, make_plan
from soak_report import table
from soak_run import Caused, Kill, Log
from soak_score import Inputs, _longest_stall, score
from soak_world import OPERATORS, SUBSCRIBERS, Sub

from bot.delivery.render import Renderer
from bot.models import EventKind, Notice, NoticeKind, Transition
from bot.sandbox.telegram_html import parse_html
from bot.storage.accounts import open_db

NOW = datetime(2026, 11, 22, 14, 5, tzinfo=UTC)


def transition(n: int, kind: EventKind, countries: tuple[str, ...] = ()) -> Transition:
    handle = f"pw{n}r" if kind is EventKind.RENAMED else f"pw{n}"
    return Transition(n, n, "x", str(n), handle, "Name", kind, countries, countries, f"pw{n}", NOW, NOW, "ab" * 32)


def test_every_rendered_kind_is_read_back_from_alerts_and_digests() -> None:
    renderer = Renderer()
    found = [transition(n, kind, ("TR",) if "withheld" in kind else ()) for n, kind in enumerate(EventKind)]
    wanted = [(f"pw{t.id}", str(t.kind)) for t in found]
    for t, item in zip(found, wanted, strict=True):
        message = renderer.alert(t)
        assert alert_items(parse_html(message.telegram_html)) == [item]
        assert alert_items(message.text) == [item]
    digest, count = renderer.digest(found)
    assert count == len(found)
    assert alert_items(parse_html(digest.telegram_html)) == wanted
    assert alert_items(digest.text) == wanted


def test_operator_notices_are_read_back_by_number() -> None:
    message = Renderer().operator(Notice(42, NoticeKind.STALE, "No poll", "since @pw1 is now protected", NOW))
    assert notice_id(parse_html(message.telegram_html)) == 42
    assert notice_id(message.text) == 42


def test_the_plan_changes_each_account_legally_once_per_kind_and_holds_each_state() -> None:
    settings = Settings(accounts=300, chaos=120, interval=2.0)
    plan = make_plan(3, settings)
    assert plan == make_plan(3, settings)
    assert len(plan.changes) > 100 and plan.flickers
    back = {"unsuspended": "suspended", "reactivated": "deactivated", "unprotected": "protected",
            "unwithheld": "withheld"}
    by_account: dict[int, list[str]] = {}
    last: dict[int, float] = {}
    for change in sorted(plan.changes, key=lambda c: c.at):
        kinds = by_account.setdefault(change.account, [])
        assert change.kind not in kinds
        assert change.kind not in back or back[change.kind] in kinds
        if change.account in last:
            assert good_time(last[change.account], change.at, plan.blackouts) >= settings.hold - 1e-9
        assert advance_good(change.at, settings.hold, plan.blackouts) <= settings.chaos
        assert change.account not in plan.flicker_accounts
        kinds.append(change.kind)
        last[change.account] = change.at


@pytest.mark.parametrize(("start", "end", "expected"), [(0, 10, 5), (3, 5, 0), (5, 20, 12), (12, 14, 2)])
def test_good_time_leaves_out_the_blackouts(start: float, end: float, expected: float) -> None:
    assert good_time(start, end, [(2, 6), (4, 7), (15, 16)]) == expected


def test_advance_good_skips_the_blackouts() -> None:
    assert advance_good(0, 5, [(2, 6), (4, 7)]) == 10
    assert advance_good(8, 5, [(2, 6)]) == 13


@pytest.mark.parametrize(("sub", "kind", "countries", "tags", "expected"), [
    (Sub("a", "1", countries=("TR",)), "withheld", ("IN",), (), False),
    (Sub("a", "1", countries=("TR",)), "withheld", ("XX",), (), True),
    (Sub("a", "1", countries=("TR",)), "suspended", (), (), True),
    (Sub("a", "1"), "renamed", (), (), False),
    (Sub("a", "1", events=("other",)), "renamed", (), (), True),
    (Sub("a", "1", tags=("india",)), "suspended", (), ("outlet",), False),
    (Sub("a", "1", operator=True), "suspended", (), (), False),
])
def test_the_bench_filters_follow_the_readme(sub: Sub, kind: str, countries: tuple[str, ...],
                                             tags: tuple[str, ...], expected: bool) -> None:
    assert sub.wants(kind, countries, tags) is expected


def _db(tmp_path: Path) -> Path:
    """A real presswatch database with two transitions and their outbox rows, as the daemon writes them."""
    path = tmp_path / "presswatch.db"
    db = open_db(path)
    at = NOW.isoformat()
    for pk, ident in ((1, "101"), (2, "102")):
        db.execute("INSERT INTO accounts (pk, platform, account_id, handle, listed_handle, source, added_at)"
                   " VALUES (?, 'x', ?, ?, ?, 'config', ?)", [pk, ident, f"pw{pk}", f"pw{pk}", at])
    for tid, pk, kind in ((1, 1, "suspended"), (2, 2, "protected"), (3, 2, "suspended")):
        db.execute("INSERT INTO transitions (id, account_pk, kind, availability, handle, previous_handle,"
                   " first_seen_at, confirmed_at, evidence, evidence_sha256) VALUES (?, ?, ?, 'active', 'h', 'h',"
                   " ?, ?, '{}', 'ab')", [tid, pk, kind, at, at])
    for n, sub in enumerate((*SUBSCRIBERS, *OPERATORS), start=1):
        db.execute("INSERT INTO subscribers (id, key, name, channel, address, source, created_at)"
                   " VALUES (?, ?, ?, ?, ?, 'config', ?)", [n, sub.name, sub.name, sub.channel, sub.address, at])
    desk = next(n for n, sub in enumerate(SUBSCRIBERS, start=1) if sub.address == "5001")
    db.execute("INSERT INTO outbox (subscriber_id, transition_id, status, next_attempt_at, created_at, sent_at)"
               " VALUES (?, 1, 'sent', ?, ?, ?)", [desk, at, at, at])
    db.execute("INSERT INTO notices (id, kind, condition, summary, at) VALUES (7, 'x_auth', 'x_auth', 's', ?)", [at])
    db.close()
    return path


def test_the_score_counts_matches_false_records_duplicates_and_losses(tmp_path: Path) -> None:
    db = _db(tmp_path)
    t0 = NOW.timestamp() - 60
    plan = make_plan(1, Settings(accounts=10, chaos=60, interval=2.0))
    log = Log(caused=[Caused(t0, "101", "suspended", (), "pw1", "pw1", ()),
                      Caused(t0, "102", "suspended", (), "pw2", "pw2", ())],
              kills=[Kill(t0 + 30, 1, (("5001", "101", "suspended"),), 2)])
    deliveries = Deliveries(alerts=[("5001", "101", "suspended")] * 3, notices=[("9001", 7), ("9001", 7)])
    figures = score(Inputs(plan, log, deliveries, db, [], 0, t0, NOW.timestamp()))
    t, a = figures["transitions"], figures["alerts"]
    assert (t["caused"], t["recorded"], t["matched"], t["false"]) == (2, 3, 2, 1)
    assert (t["precision"], t["recall"]) == (round(2 / 3, 4), 1.0)
    desk_and_others = sum(sub.wants("suspended", (), ()) for sub in SUBSCRIBERS)
    assert a["expected"] == 2 * desk_and_others
    assert a["delivered"] == 1 and a["lost"] == a["expected"] - 1
    assert (a["duplicates"], a["duplicates_in_flight_at_kill"]) == (2, 1)
    assert a["lost_by_outbox_status"]["no outbox row"] == a["lost"]
    assert figures["notices"]["duplicates"] == 1
    run = {"seed": 1, "accounts": 10, "interval": 2.0, "chaos_s": 60, "compression": 1440, "drain_s": 3,
           "wall_s": 70, "faults": {"kill": 1}, "kills": [{}], "unplanned_exits": [], "final_exit": 0,
           "error_lines": 1, "errors": {"presswatch.scheduler: poll cycle failed": 1}, "exceptions": {}}
    shown = table(figures | {"run": run})
    assert re.search(r"duplicates \(in flight at a kill\) +2 \(1\)$", shown, re.MULTILINE)
    assert "x_auth (x_auth)" in shown and "1 x presswatch.scheduler: poll cycle failed" in shown


def test_read_takes_telegram_and_email_deliveries_by_address() -> None:
    renderer = Renderer()
    alert = renderer.alert(transition(3, EventKind.SUSPENDED))
    tg = [{"chat_id": 5001, "plain": parse_html(alert.telegram_html)}, {"chat_id": 5001, "plain": "hello"}]

    class Mail:
        rcpt_tos = ("desk@presswatch.test",)

        def get_body(self, preferencelist: tuple[str, ...]) -> object:
            return type("Body", (), {"get_content": lambda _self: alert.text})()

    found = read(tg, [Mail()], {"pw3": "103"})
    assert found.alerts == [("5001", "103", "suspended"), ("desk@presswatch.test", "103", "suspended")]
    assert found.unparsed == ["hello"] and found.messages == 3
    assert json.dumps(sorted(found.unknown_handles)) == "[]"


def test_a_stall_is_time_with_messages_due_and_none_arriving() -> None:
    samples = [(0, 0, 5), (1, 3, 5), (2, 3, 5), (3, 3, 5), (4, 3, 6), (5, 0, 6), (6, 2, 6), (9, 2, 6)]
    assert _longest_stall(samples) == (3, 6)
    assert _longest_stall([(0, 0, 1), (1, 0, 1)]) == (0.0, None)
