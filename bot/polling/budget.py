"""The request budget and what it allows, pure: the pace of requests, the shared period ``auto`` resolves to,
and the plan (`presswatch plan`): passes, periods, detection latency, cost and warnings.

Platform-neutral: a budget is requests per window, a reserve and accounts per request; the periods are
seconds. Everything here is arithmetic on values passed in.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.polling.deadlines import Pace
from bot.text import short_duration

COST_PER_READ = 0.010  # US$ per user read under X's pay-per-use pricing, billed once per user per UTC day
MONTH_DAYS = 30
BURST = 500  # accounts changed at once that the reserve should absorb (India, February 2021)


@dataclass(frozen=True, slots=True)
class Budget:
    """``requests`` every ``per`` seconds, ``reserve`` of them (a fraction) kept from the regular polls."""

    requests: int
    per: float
    reserve: float
    batch: int = 100

    @property
    def rate(self) -> float:
        """Requests a second, the whole budget."""
        return self.requests / self.per

    @property
    def regular_rate(self) -> float:
        """Requests a second the regular polls may use: the rate less the reserve."""
        return self.rate * (1.0 - self.reserve)

    @property
    def reads(self) -> float:
        """Account reads a second the regular polls may make (``batch`` accounts a request)."""
        return self.regular_rate * self.batch

    def pace(self, recheck_after: float) -> Pace:
        return Pace(regular_gap=1.0 / self.regular_rate, full_gap=1.0 / self.rate, batch=self.batch,
                    recheck_after=recheck_after)

    def load(self, period: float) -> float:
        """Reads a second one account with this period takes: at most one a request."""
        return min(1.0 / period, self.regular_rate)


def shared_period(budget: Budget, shared: int, own: Sequence[float], interval: float | None, floor: float) -> float:
    """The period of the accounts without their own: ``interval``, or for ``auto`` (None) the shortest the
    budget allows after the accounts with their own periods, never below ``floor``.

    When the own periods alone take the whole budget, every account gets its fair share of what there is.
    """
    if interval is not None:
        return interval
    if shared == 0:
        return floor
    spare = budget.reads - sum(budget.load(period) for period in own)
    if spare <= 0:
        return max(floor, (shared + len(own)) / budget.reads)
    return max(floor, shared / spare)


@dataclass(frozen=True, slots=True)
class Latency:
    """Seconds from a change to its confirmed alert: on average, and at most."""

    mean: float
    max: float


@dataclass(frozen=True, slots=True)
class Tier:
    """A period in use, how many accounts have it (``own``: their own interval), and their latency."""

    interval_seconds: float
    accounts: int
    latency: Latency
    own: bool


@dataclass(frozen=True, slots=True)
class OwnInterval:
    """A watchlist entry's own period, with the config path its warnings name."""

    path: str
    handle: str
    seconds: float


@dataclass(frozen=True, slots=True)
class Settings:
    """What the plan is made of: the config's scheduling keys, as numbers."""

    budget: Budget
    interval: float | None  # None: auto
    floor: float  # min_poll_interval
    confirmations: int
    recheck_after: float


@dataclass(frozen=True, slots=True)
class Plan:
    """What the budget allows for a watchlist; ``stretch`` > 1 when the periods asked cannot all be met."""

    accounts: int
    shared: int
    requests_per_pass: int
    pass_seconds: float
    poll_interval_seconds: float
    latency: Latency
    cost_day: float
    tiers: tuple[Tier, ...]
    warnings: tuple[str, ...]
    stretch: float

    @property
    def cost_month(self) -> float:
        return self.cost_day * MONTH_DAYS


def latency(period: float, confirmations: int, recheck_after: float) -> Latency:
    """First sight within a period (half of one on average), then a recheck per further confirmation."""
    confirming = (confirmations - 1) * min(recheck_after, period)
    return Latency(period / 2 + confirming, period + confirming)


def make_plan(settings: Settings, shared: int, own: Sequence[OwnInterval]) -> Plan:
    """The plan for ``shared`` accounts on the shared period and ``own`` with their own intervals."""
    budget = settings.budget
    accounts = shared + len(own)
    period = shared_period(budget, shared, [o.seconds for o in own], settings.interval, settings.floor)
    load = sum(budget.load(o.seconds) for o in own) + (shared / period if shared else 0.0)
    stretch = max(1.0, load / budget.reads)
    requests = math.ceil(accounts / budget.batch)

    def effective(seconds: float) -> float:
        return max(seconds * stretch, 1.0 / budget.regular_rate)

    tiers = []
    if shared:
        tiers.append(Tier(period, shared, latency(effective(period), settings.confirmations,
                                                  settings.recheck_after), own=False))
    for seconds, count in sorted(Counter(o.seconds for o in own).items()):
        tiers.append(Tier(seconds, count, latency(effective(seconds), settings.confirmations,
                                                 settings.recheck_after), own=True))
    # The shared period's latency; without shared accounts, the slowest own period's.
    headline = tiers[0].latency if shared else max((t.latency for t in tiers), key=lambda lat: lat.max,
                                                    default=Latency(0.0, 0.0))
    plan = Plan(accounts, shared, requests, requests / budget.regular_rate, period, headline,
                accounts * COST_PER_READ, tuple(tiers), (), stretch)
    return replace(plan, warnings=tuple(_warnings(settings, plan, own, load)))


def _warnings(settings: Settings, plan: Plan, own: Sequence[OwnInterval], load: float) -> list[str]:
    """Periods the budget cannot meet, and a reserve too small for a burst of rechecks."""
    budget, found = settings.budget, []
    gap = 1.0 / budget.regular_rate
    for entry in own:
        if entry.seconds < gap:
            found.append(f"{entry.path}: {short_duration(entry.seconds)} for @{entry.handle} is shorter than the "
                         f"{short_duration(gap)} between two requests the budget allows: it will be read every "
                         f"{short_duration(gap * plan.stretch)}")
    if plan.stretch > 1.0:
        found.append(_overload(settings, plan, own, load))
    found += _reserve_warnings(settings, plan, load)
    return found


def _overload(settings: Settings, plan: Plan, own: Sequence[OwnInterval], load: float) -> str:
    """The periods asked for (a fixed x.poll_interval, the own intervals) need more reads than there are."""
    budget = settings.budget
    asked = []
    if settings.interval is not None and plan.shared:
        asked.append(f"x.poll_interval {short_duration(settings.interval)} for {plan.shared:,} accounts")
    if own:
        asked.append(f"{len(own):,} own intervals (watchlist[].poll_interval)")
    return (f"{' and '.join(asked) or 'the periods'}: need {load:,.1f} account reads a second, more than the "
            f"{budget.reads:,.1f} the budget allows after the reserve ({budget.requests} requests every "
            f"{short_duration(budget.per)}, {budget.batch} accounts a request): every account will be read about "
            f"{plan.stretch:.1f} times less often than asked; a full pass takes {short_duration(plan.pass_seconds)}")


def _reserve_warnings(settings: Settings, plan: Plan, load: float) -> list[str]:
    """Rechecks of a burst (500 changes, or the whole watchlist) should fit in what the polls leave over a period."""
    budget = settings.budget
    if settings.confirmations < 2 or not plan.accounts:
        return []
    burst = min(BURST, plan.accounts)
    needed = burst * (settings.confirmations - 1)  # recheck reads
    # The regular polls never take more than their share, even when the periods asked want more.
    seconds = plan.poll_interval_seconds * plan.stretch
    spare = max(0.0, budget.rate * budget.batch - min(load, budget.reads)) * seconds
    if spare >= needed:
        return []
    reserve = f"{budget.reserve * 100:g}%"
    period = short_duration(seconds)
    return [f"x.reserve: {reserve} leaves about {spare:,.0f} reads a period ({period}) for rechecks, fewer than "
            f"the {needed:,} a burst of {burst:,} changes needs: such a burst will delay the regular polls "
            "(raise x.reserve, or lengthen the periods)"]


def describe(plan: Plan, settings: Settings) -> str:
    """The plan in one line, for the daemon's log at start."""
    chosen = "auto" if settings.interval is None else "as configured"
    own = sum(tier.accounts for tier in plan.tiers if tier.own)
    return (f"{plan.accounts:,} accounts ({own:,} with their own interval), {plan.requests_per_pass:,} requests a "
            f"full pass ({short_duration(plan.pass_seconds)} at the budget); shared period "
            f"{short_duration(plan.poll_interval_seconds)} ({chosen}); detection latency mean "
            f"{short_duration(plan.latency.mean)}, max {short_duration(plan.latency.max)}; "
            f"pay-per-use about ${plan.cost_day:,.2f} a day")
