"""bot.polling.deadlines, the pure scheduling core: which accounts go in the next request, and when."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict

import pytest

from bot.polling.deadlines import Deadlines, Pace, Pick

# 20 requests every 10 s with a 10% reserve: requests 0.5 s apart at the whole rate, 0.555 s for polls alone.
PACE = Pace(regular_gap=1 / 1.8, full_gap=0.5, batch=100, recheck_after=2.0)
T = 1000.0  # the fake monotonic clock's start


def queue(accounts: int = 0, *, period: float = 10.0, group: str = "ids", pace: Pace = PACE) -> Deadlines[int]:
    deadlines: Deadlines[int] = Deadlines(pace)
    for key in range(accounts):
        deadlines.put(key, group=group, period=period, now=T)
    return deadlines


def take(deadlines: Deadlines[int], now: float) -> Pick[int]:
    pick = deadlines.take(now)
    assert pick is not None, f"nothing to take at {now}"
    return pick


def read_all(deadlines: Deadlines[int], pick: Pick[int], answered: float, rechecks: set[int] = frozenset()) -> None:
    deadlines.answered(pick, pick.keys, rechecks, answered)


def test_every_new_account_is_due_at_once_and_a_request_holds_at_most_a_batch() -> None:
    deadlines = queue(250)
    assert deadlines.next_at(T) == T
    first = take(deadlines, T)
    assert (len(first.keys), first.group, first.rechecks, first.sent_at) == (100, "ids", 0, T)
    assert deadlines.take(T) is None  # not sooner than the spacing after the last request
    assert deadlines.next_at(T) == pytest.approx(T + PACE.regular_gap)
    second = take(deadlines, T + PACE.regular_gap)
    third = take(deadlines, T + 2 * PACE.regular_gap)
    assert sorted(first.keys + second.keys + third.keys) == list(range(250)) and len(third.keys) == 50


def test_a_read_resets_the_due_time_to_the_send_plus_the_period() -> None:
    deadlines = queue(3, period=10.0)
    pick = take(deadlines, T)
    read_all(deadlines, pick, answered=T + 0.3)
    assert deadlines.due(0) == (T + 10.0, False)
    assert deadlines.next_at(T + 1) == T + 10.0
    assert deadlines.take(T + 9.9) is None
    assert take(deadlines, T + 10.0).keys == (0, 1, 2)


def test_a_read_that_shows_a_change_is_due_again_recheck_after_the_answer() -> None:
    deadlines = queue(3, period=10.0)
    pick = take(deadlines, T)
    read_all(deadlines, pick, answered=T + 0.3, rechecks={1})
    assert deadlines.due(1) == (T + 2.3, True) and deadlines.due(0) == (T + 10.0, False)
    assert deadlines.next_at(T + 1) == T + 2.3
    recheck = take(deadlines, T + 2.3)
    # The recheck first, then the others, due soonest (a request that goes anyway is filled).
    assert (recheck.keys, recheck.rechecks) == ((1, 0, 2), 1)


def test_a_recheck_is_never_later_than_the_accounts_own_period() -> None:
    deadlines = queue(1, period=1.0)
    pick = take(deadlines, T)
    read_all(deadlines, pick, answered=T + 0.1, rechecks={0})
    assert deadlines.due(0) == (T + 1.1, True)


def test_the_fill_takes_due_rechecks_then_the_most_overdue_then_those_due_soonest() -> None:
    deadlines = queue(pace=Pace(regular_gap=1.0, full_gap=0.5, batch=4, recheck_after=2.0))
    for key, due in [(0, T + 5), (1, T - 3), (2, T - 1), (3, T + 1), (4, T + 9)]:
        deadlines.put(key, group="ids", period=60.0, now=due)
    for key, due in [(10, T - 0.5), (11, T + 3)]:  # rechecks: one due, one not yet
        deadlines.put(key, group="ids", period=60.0, now=due, recheck=True)
    pick = take(deadlines, T)
    assert (pick.keys, pick.rechecks) == ((10, 1, 2, 3), 1)
    assert deadlines.due(11) == (T + 3, True)  # a recheck waits for its time: it never fills a request early


def test_a_recheck_due_before_the_next_request_could_go_rides_in_this_one() -> None:
    deadlines = queue(2, period=1.0)
    pick = take(deadlines, T)
    # The change was seen: the recheck is due min(2 s, 1 s) after the answer, the other 1 s after the send.
    read_all(deadlines, pick, answered=T + 0.05, rechecks={1})
    regular = take(deadlines, T + 1.0)
    assert (regular.keys, regular.rechecks) == ((1, 0), 1)  # no request of its own 50 ms later


def test_a_request_holds_one_group_the_most_urgent() -> None:
    deadlines = queue(pace=Pace(regular_gap=1.0, full_gap=0.5, batch=100, recheck_after=2.0))
    deadlines.put(1, group="ids", period=60.0, now=T - 1)
    deadlines.put(2, group="handles", period=60.0, now=T - 5)
    deadlines.put(3, group="ids", period=60.0, now=T)
    first = take(deadlines, T)
    assert (first.group, first.keys) == ("handles", (2,))
    second = take(deadlines, T + 1)
    assert (second.group, second.keys) == ("ids", (1, 3))


def test_a_due_recheck_goes_before_an_older_regular_poll_of_another_group() -> None:
    deadlines = queue(pace=Pace(regular_gap=1.0, full_gap=0.5, batch=100, recheck_after=2.0))
    deadlines.put(1, group="handles", period=60.0, now=T - 10)
    deadlines.put(2, group="ids", period=60.0, now=T - 1, recheck=True)
    assert take(deadlines, T).keys == (2,)


@pytest.mark.parametrize(("recheck", "after"), [(True, PACE.full_gap), (False, PACE.regular_gap)])
def test_rechecks_may_use_the_reserve_regular_polls_may_not(recheck: bool, after: float) -> None:
    deadlines = queue(1, period=60.0)
    assert take(deadlines, T).keys == (0,)
    deadlines.put(1, group="ids", period=60.0, now=T + 0.1, recheck=recheck)
    # A recheck may go after the whole budget's spacing (0.5 s); a regular poll waits 0.555 s.
    assert deadlines.next_at(T + 0.1) == pytest.approx(T + after)
    assert deadlines.take(T + after - 0.01) is None
    assert take(deadlines, T + after).keys == (1,)


def test_accounts_of_an_unanswered_request_keep_their_due_time_and_recheck() -> None:
    deadlines = queue(2, period=10.0)
    deadlines.put(2, group="ids", period=10.0, now=T - 2, recheck=True)
    pick = take(deadlines, T)
    assert set(pick.keys) == {0, 1, 2} and deadlines.next_at(T) is None  # all on the wire: nothing waits
    deadlines.failed(pick)
    assert deadlines.due(2) == (T - 2, True) and deadlines.due(0) == (T, False)
    again = take(deadlines, T + 1)
    assert (again.keys, again.rechecks) == ((2, 0, 1), 1)


def test_an_answer_that_misses_some_accounts_moves_only_the_ones_it_read() -> None:
    deadlines = queue(3, period=10.0)
    pick = take(deadlines, T)
    deadlines.answered(pick, [0, 2], set(), T + 0.2)
    assert [deadlines.due(key) for key in range(3)] == [(T + 10, False), (T, False), (T + 10, False)]


def test_accounts_on_the_wire_are_never_asked_for_twice() -> None:
    deadlines = queue(150, period=1.0)
    first = take(deadlines, T)
    second = take(deadlines, T + 1)  # the first is still unanswered: the 50 others, none of its 100
    assert set(first.keys).isdisjoint(second.keys) and len(second.keys) == 50


def test_a_hold_stops_requests_until_its_time() -> None:
    deadlines = queue(1)
    deadlines.hold(T + 30)
    assert deadlines.next_at(T) == T + 30 and deadlines.take(T + 29) is None
    assert take(deadlines, T + 30).keys == (0,)


def test_a_forgotten_account_is_never_asked_for_and_an_answer_for_it_is_ignored() -> None:
    deadlines = queue(2)
    pick = take(deadlines, T)
    deadlines.discard(0)
    read_all(deadlines, pick, answered=T + 0.1)
    assert 0 not in deadlines and len(deadlines) == 1
    deadlines.discard(1)
    assert deadlines.next_at(T + 100) is None


def test_a_new_period_applies_from_the_next_read_and_a_new_group_at_once() -> None:
    deadlines = queue(1, period=10.0)
    read_all(deadlines, take(deadlines, T), answered=T + 0.1)
    deadlines.put(0, group="ids", period=2.0, now=T + 1)
    assert deadlines.due(0) == (T + 10, False)  # the due time stays
    read_all(deadlines, take(deadlines, T + 10), answered=T + 10.1)
    assert deadlines.due(0) == (T + 12, False)
    deadlines.put(0, group="handles", period=2.0, now=T + 11)
    assert take(deadlines, T + 12).group == "handles"


def simulate(deadlines: Deadlines[int], seconds: float, *, latency: float = 0.05,
             rechecks: dict[int, float] | None = None) -> list[Pick[int]]:
    """Run the queue in fake time: each request answered ``latency`` later; ``rechecks[key]`` is when that
    account's one change happens (it is rechecked once, then confirmed)."""
    now, picks, pending = T, [], set()
    changes = dict(rechecks or {})
    while now < T + seconds:
        at = deadlines.next_at(now)
        assert at is not None
        now = max(now, at)
        pick = take(deadlines, now)
        picks.append(pick)
        seen = {key for key in pick.keys if key in changes and changes[key] <= now}
        confirming = {key for key in seen if key not in pending}
        pending = (pending | confirming) - (seen - confirming)
        for key in seen - confirming:
            del changes[key]
        deadlines.answered(pick, pick.keys, confirming, now + latency)
    return picks


def test_an_own_period_rides_in_shared_requests_and_holds() -> None:
    deadlines = queue(300, period=1.0 / 0.55 * 3)  # 300 on the shared period: 3 requests a pass
    deadlines.put(999, group="ids", period=1.0, now=T)  # a journalist named in a fresh court order
    picks = simulate(deadlines, 60)
    reads = [pick.sent_at for pick in picks if 999 in pick.keys]
    gaps = [b - a for a, b in itertools.pairwise(reads)]
    assert max(gaps) <= 1.0 + PACE.regular_gap  # at its period (a request or so late at most), every time
    assert all(len(pick.keys) == 100 for pick in picks)  # riding: no request of its own
    assert len(picks) <= 60 * 1.8 + 1  # the regular share of the budget, no more


def test_requests_are_spaced_evenly_and_never_exceed_the_budget_with_rechecks() -> None:
    deadlines = queue(3000, period=3000 / 180)  # at capacity: 180 account reads a second
    changes = {key: T + 1 + (key % 97) * 0.4 for key in range(0, 3000, 7)}  # 429 changes over 40 s
    picks = simulate(deadlines, 60, rechecks=changes)
    sent = [pick.sent_at for pick in picks]
    assert min(b - a for a, b in itertools.pairwise(sent)) >= PACE.full_gap - 1e-9
    for pick, before in zip(picks[1:], sent, strict=False):
        if not pick.rechecks:  # regular polls alone stay within the budget less the reserve
            assert pick.sent_at - before >= PACE.regular_gap - 1e-9
    windows = [sum(1 for s in sent if start <= s < start + 10) for start in sent]
    assert max(windows) <= 20  # 20 requests every 10 s, in any window


def test_a_burst_of_rechecks_shares_requests() -> None:
    deadlines = queue(250, period=30.0)
    first = [take(deadlines, T + n * PACE.regular_gap) for n in range(3)]
    for pick in first:  # every account shows a change: 250 rechecks due 2 s after their answers
        deadlines.answered(pick, pick.keys, set(pick.keys), pick.sent_at + 0.05)
    rechecks = simulate(deadlines, 4)[:3]
    assert [pick.rechecks for pick in rechecks] == [100, 100, 50]
    assert sum(pick.rechecks for pick in rechecks) == 250 and math.ceil(250 / 100) == len(rechecks)


def test_every_account_is_read_at_its_period_at_capacity() -> None:
    deadlines = queue(3000, period=3000 / 180)
    picks = simulate(deadlines, 120)
    reads: dict[int, list[float]] = defaultdict(list)
    for pick in picks:
        for key in pick.keys:
            reads[key].append(pick.sent_at)
    worst = max(b - a for times in reads.values() for a, b in itertools.pairwise(times))
    assert worst <= 3000 / 180 + PACE.regular_gap + 1e-6


def test_a_pace_must_make_sense() -> None:
    with pytest.raises(ValueError):
        Pace(regular_gap=0.4, full_gap=0.5, batch=100, recheck_after=1)
    with pytest.raises(ValueError):
        queue(1).put(5, group="ids", period=0, now=T)
