"""Deadline scheduling through `presswatch run` against the X sandbox, on a compressed budget (20 requests
every 10 s, enforced by the sandbox too): no window over the limit and no 429, an own interval kept, a change
confirmed ``recheck_after`` after first sight, a burst's rechecks sharing requests, a flicker never recorded."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from e2e import Daemon, db_rows, history, wait_until, write_config

from bot.sandbox.x_api import RequestRecord, XSandbox

LIMIT, PER = 20, 10.0  # requests, seconds
SHARED = 500  # accounts on the shared period: 5 requests a pass, at capacity
RECHECK = 1.0
REGULAR_GAP = PER / (LIMIT * 0.9)  # 0.56 s: the budget less the 10% reserve
FULL_GAP = PER / LIMIT  # 0.5 s: rechecks may use the reserve
PERIOD = SHARED / (LIMIT * 0.9 / PER * 100 - 1)  # auto: what is left after @court's own 1 s, 2.8 s
SLACK = 0.5  # seconds of answer time and process scheduling on a loaded machine


@pytest.fixture
def x() -> Iterator[XSandbox]:
    with XSandbox(rate_limit=LIMIT, window=PER) as sandbox:
        yield sandbox


def most_in_window(records: list[RequestRecord]) -> int:
    times, most, start = sorted(r.time for r in records), 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= PER:
            start += 1
        most = max(most, end - start + 1)
    return most


def asked(record: RequestRecord) -> list[str]:
    return (record.query.get("ids") or record.query.get("usernames") or "").split(",")


def reads_of(x: XSandbox, ident: str, since: float = 0.0) -> list[RequestRecord]:
    return [r for r in x.requests if r.time >= since and ident in asked(r)]


def confirmed(config: Path) -> dict[str, tuple[float, float]]:
    """handle -> (first seen, confirmed), Unix times, of every transition."""
    rows = db_rows(config, "SELECT a.handle, t.first_seen_at, t.confirmed_at FROM transitions t "
                           "JOIN accounts a ON a.pk = t.account_pk")
    return {row["handle"]: (datetime.fromisoformat(row["first_seen_at"]).timestamp(),
                            datetime.fromisoformat(row["confirmed_at"]).timestamp()) for row in rows}


def test_polls_by_deadline_within_the_budget(x: XSandbox, tmp_path: Path) -> None:
    ids = dict(zip([f"acct{n}" for n in range(SHARED)], x.seed(SHARED), strict=True))
    x.add_account("court")
    court = x.account("court")["id"]
    config = write_config(tmp_path, x_url=x.base_url, poll_interval="auto",
                          watchlist=[*({"handle": h} for h in ids), {"handle": "court", "poll_interval": 1}],
                          extra={"x": {"rate_limit": {"requests": LIMIT, "per": PER}, "min_poll_interval": 0.1},
                                 "detection": {"confirmations": 2, "recheck_after": RECHECK}})
    with Daemon(config) as daemon:
        wait_until(lambda: len({i for r in x.requests if "ids" in r.query for i in asked(r)}) == SHARED + 1,
                   what="every account read by id")
        warm = x.requests[-1].time

        # An own interval: @court rides in the shared requests, read every second (a request late at most).
        wait_until(lambda: x.requests[-1].time > warm + 2 * PERIOD + 1, what="two passes")
        court_reads = [r.time for r in reads_of(x, court, since=warm)]
        assert max(b - a for a, b in itertools.pairwise(court_reads)) <= 1 + REGULAR_GAP + SLACK
        shared_reads = [r.time for r in reads_of(x, ids["acct42"], since=warm)]
        assert max(b - a for a, b in itertools.pairwise(shared_reads)) <= PERIOD + SLACK
        assert all(len(asked(r)) == 100 for r in x.requests if r.time > warm)  # no request of its own

        # One change: confirmed recheck_after after its first sight, not a pass later.
        changed_at = x.requests[-1].time
        x.set_withheld("acct7", ["IN"])
        wait_until(lambda: "acct7" in confirmed(config), what="acct7 withheld")
        first, done = confirmed(config)["acct7"]
        # due recheck_after after the answer; it rides in a request up to one full gap early rather than cost
        # one of its own (bot.polling.deadlines), or waits at most that long for the spacing
        assert RECHECK - FULL_GAP <= done - first <= RECHECK + FULL_GAP + SLACK
        assert done - changed_at <= PERIOD + RECHECK + FULL_GAP + 2 * SLACK

        # A burst: 150 accounts withheld at once; their rechecks share requests, 100 a request.
        burst = [f"acct{n}" for n in range(100, 250)]
        burst_at = x.requests[-1].time
        for handle in burst:
            x.set_withheld(handle, ["IN"])
        wait_until(lambda: set(burst) <= set(confirmed(config)), what="the burst confirmed")
        after = [r for r in x.requests if r.time > burst_at]
        sights, rechecks = set(), set()
        for handle in burst:
            seen = [n for n, r in enumerate(after) if ids[handle] in asked(r)]
            sights.add(seen[0])
            rechecks.add(seen[1])
        assert len(rechecks) <= len(sights) + 1 and len(rechecks) <= math.ceil(len(burst) / 100) + 2
        assert all(done - burst_at <= PERIOD + RECHECK + FULL_GAP + 2 * SLACK
                   for handle, (_, done) in confirmed(config).items() if handle in burst)

        # A flicker (one answer shows a withholding, the next not): never recorded.
        x.flicker_next("acct3", withheld_in=["IN"])
        flicker_at = x.requests[-1].time
        wait_until(lambda: len(reads_of(x, ids["acct3"], since=flicker_at)) >= 4, what="four reads of acct3")
        assert x.flickers_served == 1
        assert daemon.stop() == 0

    records = x.requests
    assert {r.status for r in records} == {200}  # no 429, no error of any kind
    assert most_in_window(records) <= LIMIT
    assert len(records) >= 0.8 * LIMIT / PER * (records[-1].time - warm)  # and the budget is used
    assert "acct3" not in confirmed(config)
    rows = history(config)
    assert len(rows) == 1 + len(burst)
    assert all(len(row["at"]) == len("2026-12-01T12:00:00.123Z") for row in rows)  # milliseconds
    plans = [line for line in daemon.output().splitlines() if "INFO presswatch.app: plan: " in line]
    assert len(plans) == 1 and f"{SHARED + 1} accounts (1 with their own interval)" in plans[0]


def test_a_429_and_its_reset_are_honoured(x: XSandbox, tmp_path: Path) -> None:
    x.add_account("calm")
    config = write_config(tmp_path, x_url=x.base_url, poll_interval="auto", watchlist=[{"handle": "calm"}],
                          extra={"x": {"rate_limit": {"requests": LIMIT, "per": PER}, "min_poll_interval": 0.1}})
    x.configure(reset_in=1.5)
    with Daemon(config) as daemon:
        wait_until(lambda: len(x.requests) >= 3, what="three polls")
        x.fail_next("429")
        wait_until(lambda: any(r.status == 429 for r in x.requests)
                   and x.requests[-1].status == 200 and len(x.requests) > 5, what="a poll after the 429")
        records = x.requests
        refused = next(r for r in records if r.status == 429)
        after = records[records.index(refused) + 1]
        assert after.time >= math.ceil(refused.time + 1.5) - 0.05  # not before x-rate-limit-reset (whole seconds)
        assert daemon.stop() == 0
    assert [r.status for r in records].count(429) == 1
