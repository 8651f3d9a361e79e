"""`presswatch plan`: what X's request budget allows for the config (and each other platform's budget, in
bot/tools/lanes_plan.py), computed, with nothing sent to X.

The accounts are the config's watchlist and those added on Telegram (counted from the database, read-only,
when there is one). The figures are bot.polling.budget's; this module words them (text and JSON).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config.model import Config
from bot.daemon.parts import config_warnings, own_intervals, plan_settings
from bot.polling.budget import COST_PER_READ, Latency, Plan, Settings, make_plan
from bot.storage.database import open_readonly
from bot.text import short_duration
from bot.tools.lanes_plan import LanePlan, lane_json, lane_lines, lane_plans


@dataclass(frozen=True, slots=True)
class ConfigPlan:
    """The plan for a config: its settings, the plan, the accounts added on Telegram, every warning."""

    settings: Settings
    plan: Plan
    telegram: int
    warnings: tuple[str, ...]
    lanes: tuple[LanePlan, ...] = ()  # Bluesky and each Mastodon instance, each on its own budget


def added_on_telegram(database: Path, listed: list[str]) -> int:
    """Watched accounts the config does not list (added with /add or /watch); 0 without a database.

    DatabaseError when the file is not one presswatch may read (see bot.storage.database.inspect).
    """
    db = open_readonly(database)
    if db is None:
        return 0
    from bot.storage.accounts import Store
    from bot.storage.outbox import Outbox

    in_config = {handle.casefold() for handle in listed}
    try:
        watched = Store(db, Outbox(db)).watched("x")
    except sqlite3.Error:
        return 0  # only a refinement: the plan is then the config's alone
    finally:
        db.close()
    return sum(1 for w in watched if w.account.source != "config" and w.account.handle.casefold() not in in_config)


def config_plan(config: Config, telegram: int = 0) -> ConfigPlan:
    """The plan for the config's watchlist and ``telegram`` more accounts on the shared period."""
    settings, own = plan_settings(config), own_intervals(config)
    on_x = sum(1 for entry in config.watchlist if entry.x_handle)
    plan = make_plan(settings, on_x - len(own) + telegram, own)
    return ConfigPlan(settings, plan, telegram, (*plan.warnings, *config_warnings(config)),
                      tuple(lane_plans(config)))


def _n(count: int, noun: str) -> str:
    """'1 account', '30,000 accounts'."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _latency(latency: Latency) -> dict[str, float]:
    return {"mean": round(latency.mean, 3), "max": round(latency.max, 3)}


def plan_json(found: ConfigPlan) -> dict[str, Any]:
    """`plan --json`: one object (the README lists its keys)."""
    plan, settings = found.plan, found.settings
    budget = settings.budget
    return {
        "accounts": plan.accounts,
        "accounts_added_on_telegram": found.telegram,
        "requests_per_pass": plan.requests_per_pass,
        "pass_seconds": round(plan.pass_seconds, 3),
        "poll_interval": "auto" if settings.interval is None else settings.interval,
        "poll_interval_seconds": round(plan.poll_interval_seconds, 3),
        "min_poll_interval_seconds": settings.floor,
        "rate_limit": {"requests": budget.requests, "per_seconds": budget.per},
        "reserve": budget.reserve,
        "confirmations": settings.confirmations,
        "recheck_after_seconds": settings.recheck_after,
        "latency_seconds": _latency(plan.latency),
        "cost_usd": {"day": round(plan.cost_day, 2), "month": round(plan.cost_month, 2)},
        "tiers": [{"interval_seconds": round(tier.interval_seconds, 3), "accounts": tier.accounts, "own": tier.own,
                   "latency_seconds": _latency(tier.latency)} for tier in plan.tiers],
        "warnings": list(found.warnings),
        "platforms": [lane_json(lane) for lane in found.lanes],
    }


def plan_lines(found: ConfigPlan) -> list[str]:
    """`plan` for people: one fact a line, then the warnings."""
    plan, settings = found.plan, found.settings
    budget, d = settings.budget, short_duration
    own = sum(tier.accounts for tier in plan.tiers if tier.own)
    telegram = f", {found.telegram:,} of them added on Telegram" if found.telegram else ""
    chosen = (f"auto: {d(plan.poll_interval_seconds)} (never below min_poll_interval {d(settings.floor)})"
              if settings.interval is None else f"{d(settings.interval)}, as configured")
    lines = [
        f"accounts            {plan.accounts:,} ({plan.shared:,} on the shared period, {own:,} with their own"
        f" interval{telegram})",
        f"budget              {budget.requests:,} requests every {d(budget.per)}, {budget.reserve * 100:g}% kept for "
        f"rechecks, check and /verify: one request every {d(1 / budget.regular_rate)} for the polls",
        f"a full pass         {_n(plan.requests_per_pass, 'request')} ({budget.batch} accounts each), "
        f"{d(plan.pass_seconds)} at the budget",
        f"poll interval       {chosen}",
    ]
    for n, tier in enumerate(plan.tiers):
        label = "periods in use      " if n == 0 else " " * 20
        whose = "their own" if tier.own else "shared"
        lines.append(f"{label}{d(tier.interval_seconds)}: {_n(tier.accounts, 'account')} ({whose}); latency mean "
                     f"{d(tier.latency.mean)}, max {d(tier.latency.max)}")
    lines += [
        f"detection latency   mean {d(plan.latency.mean)}, max {d(plan.latency.max)} from a change to its "
        f"confirmed alert ({settings.confirmations} agreeing reads, rechecked {d(settings.recheck_after)} apart)",
        f"pay-per-use cost    ${plan.cost_day:,.2f} a day, ${plan.cost_month:,.2f} a 30-day month "
        f"(${COST_PER_READ:.3f} per account read, billed once per UTC day)",
    ]
    lines += [line for lane in found.lanes for line in lane_lines(lane)]
    return lines + [f"warning: {warning}" for warning in found.warnings]
