"""bot.polling.budget: the shared period ``auto`` resolves to, and the plan (passes, latency, cost, warnings)."""

from __future__ import annotations

import pytest

from bot.polling.budget import Budget, OwnInterval, Settings, make_plan, shared_period

X = Budget(300, 900.0, 0.10)  # X's users lookup per app, less the default reserve
MINUTE = 60.0


def settings(budget: Budget = X, *, interval: float | None = None, floor: float = MINUTE,
             confirmations: int = 2, recheck_after: float = 15.0) -> Settings:
    return Settings(budget, interval, floor, confirmations, recheck_after)


def own(*seconds: float) -> list[OwnInterval]:
    return [OwnInterval(f"watchlist.{n}.poll_interval", f"reporter{n}", s) for n, s in enumerate(seconds)]


def test_the_budget_counts_requests_and_reads_less_the_reserve() -> None:
    assert (X.rate, X.regular_rate, X.reads) == pytest.approx((1 / 3, 0.3, 30.0))
    pace = X.pace(15.0)
    assert (pace.full_gap, pace.regular_gap, pace.batch) == pytest.approx((3.0, 10 / 3, 100))


@pytest.mark.parametrize(("shared", "periods", "expected"), [
    (200, [], MINUTE),  # 200 accounts could be read every 6.7 s: never more often than a minute
    (30_000, [], 1000.0),  # 300 requests at 0.3 a second: 16m40s
    (29_990, [MINUTE] * 10, 29_990 / (30 - 10 / MINUTE)),  # own intervals take their share first
    (0, [MINUTE], MINUTE),
])
def test_auto_is_the_shortest_period_the_budget_allows_never_below_the_floor(
        shared: int, periods: list[float], expected: float) -> None:
    assert shared_period(X, shared, periods, None, MINUTE) == pytest.approx(expected)


def test_a_fixed_interval_is_taken_as_given() -> None:
    assert shared_period(X, 30_000, [], 600.0, MINUTE) == 600.0


def test_own_periods_that_take_the_whole_budget_leave_everyone_a_fair_share() -> None:
    # 40 accounts read every second would need 40 reads a second; each can take at most one a request.
    assert shared_period(X, 1000, [1.0] * 100, None, 1.0) == pytest.approx(1100 / 30)  # an equal share for all
    assert shared_period(X, 1000, [1.0] * 100, None, MINUTE) == MINUTE  # but never below the floor


def test_the_plan_for_30000_accounts_on_the_default_budget() -> None:
    plan = make_plan(settings(), 30_000, [])
    assert (plan.accounts, plan.requests_per_pass) == (30_000, 300)
    assert (plan.pass_seconds, plan.poll_interval_seconds) == pytest.approx((1000.0, 1000.0))
    assert (plan.latency.mean, plan.latency.max) == pytest.approx((515.0, 1015.0))
    assert (plan.cost_day, plan.cost_month) == pytest.approx((300.0, 9000.0))
    assert [(t.interval_seconds, t.accounts, t.own) for t in plan.tiers] == [(pytest.approx(1000.0), 30_000, False)]
    assert plan.warnings == ()


def test_the_plan_for_200_accounts_polls_every_minute_and_confirms_15s_later() -> None:
    plan = make_plan(settings(), 200, [])
    assert (plan.requests_per_pass, plan.poll_interval_seconds) == (2, MINUTE)
    assert plan.pass_seconds == pytest.approx(20 / 3)
    assert (plan.latency.mean, plan.latency.max) == (45.0, 75.0)
    assert plan.cost_day == pytest.approx(2.0) and plan.warnings == ()


def test_each_period_in_use_is_a_tier_with_its_latency() -> None:
    plan = make_plan(settings(), 1000, own(MINUTE, MINUTE, 300.0))
    assert [(t.interval_seconds, t.accounts, t.own) for t in plan.tiers] == [
        (MINUTE, 1000, False), (MINUTE, 2, True), (300.0, 1, True)]
    assert plan.tiers[2].latency.mean == pytest.approx(150 + 15)
    assert plan.accounts == 1003 and plan.requests_per_pass == 11


def test_confirmations_and_rechecks_make_the_latency() -> None:
    plan = make_plan(settings(confirmations=3, recheck_after=10.0), 200, [])
    assert (plan.latency.mean, plan.latency.max) == (30 + 20, 60 + 20)
    single = make_plan(settings(confirmations=1), 200, [])
    assert (single.latency.mean, single.latency.max) == (30.0, 60.0)


def test_an_own_interval_shorter_than_the_request_spacing_is_a_warning() -> None:
    plan = make_plan(settings(), 100, own(1.0))
    [warning] = plan.warnings
    assert warning.startswith("watchlist.0.poll_interval: 1s for @reporter0 is shorter than the 3.3s between two")
    assert plan.tiers[1].latency.max == pytest.approx(10 / 3 + 10 / 3)  # read every request, rechecked next


def test_a_fixed_interval_the_budget_cannot_meet_is_a_warning() -> None:
    plan = make_plan(settings(interval=MINUTE), 30_000, [])
    assert plan.stretch == pytest.approx(500 / 30)
    [warning] = plan.warnings
    assert warning.startswith("x.poll_interval 1m for 30,000 accounts: need 500.0 account reads a second, more "
                              "than the 30.0 the budget allows after the reserve (300 requests every 15m")
    assert "a full pass takes 16m40s" in warning
    assert plan.latency.max == pytest.approx(1000 + 15)  # the pass it really takes, not the minute asked


def test_own_intervals_the_budget_cannot_meet_are_a_warning() -> None:
    plan = make_plan(settings(), 100, own(*[5.0] * 200))
    assert any(w.startswith("200 own intervals (watchlist[].poll_interval): need") for w in plan.warnings)


def test_a_reserve_too_small_for_a_burst_of_rechecks_is_a_warning() -> None:
    plan = make_plan(settings(Budget(300, 900.0, 0.0)), 30_000, [])
    [warning] = plan.warnings
    assert warning.startswith("x.reserve: 0% leaves about 0 reads a period (15m) for rechecks, fewer than the "
                              "500 a burst of 500 changes needs")
    assert make_plan(settings(Budget(300, 900.0, 0.05)), 30_000, []).warnings == ()
    assert make_plan(settings(Budget(300, 900.0, 0.0), confirmations=1), 30_000, []).warnings == ()


def test_an_empty_watchlist_plans_nothing() -> None:
    plan = make_plan(settings(), 0, [])
    assert (plan.accounts, plan.requests_per_pass, plan.pass_seconds, plan.cost_day, plan.tiers) == (0, 0, 0, 0, ())
    assert plan.warnings == ()
