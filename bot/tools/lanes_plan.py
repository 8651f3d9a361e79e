"""`presswatch plan` for Bluesky and each Mastodon instance: every lane is budgeted on its own, as the daemon
polls it (bot/daemon/lanes.py), from the config alone.

A request reads 25 Bluesky actors (getProfiles) or 40 Mastodon accounts (``accounts?id[]=``, Mastodon 4.3+;
an older instance answers one account a request, which the plan cannot know offline). Reading these
platforms costs nothing, so a lane has no cost line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.config.model import Config
from bot.daemon.lanes import wanted
from bot.polling.budget import Budget, Plan, Settings, make_plan
from bot.social_handles import instance_of
from bot.text import short_duration

BATCH = {"bluesky": 25, "mastodon": 40}  # as watchers/bluesky.py's and watchers/mastodon.py's batch_size


@dataclass(frozen=True, slots=True)
class LanePlan:
    """One lane's plan: ``key`` (bluesky, mastodon:<instance>) and ``label`` as the daemon names them."""

    key: str
    label: str
    settings: Settings
    plan: Plan


def _accounts(config: Config, key: str) -> int:
    if key == "bluesky":
        return sum(1 for entry in config.watchlist if entry.bluesky)
    instance = key.partition(":")[2]
    return sum(1 for entry in config.watchlist if entry.mastodon and instance_of(entry.mastodon) == instance)


def lane_plans(config: Config) -> list[LanePlan]:
    """The plan of every lane besides X's that the config calls for, in the daemon's order."""
    found = []
    for key, label, platform in wanted(config):
        section = config.bluesky if platform == "bluesky" else config.mastodon
        assert section is not None  # wanted() names a lane only when its section is there
        rate = section.rate_limit
        settings = Settings(Budget(rate.requests, rate.per, section.reserve, BATCH[platform]), section.interval,
                            section.min_poll_interval, config.detection.confirmations, config.detection.recheck_after)
        found.append(LanePlan(key, label, settings, make_plan(settings, _accounts(config, key), [])))
    return found


def lane_json(lane: LanePlan) -> dict[str, Any]:
    """One entry of `plan --json`'s ``platforms``."""
    plan, budget = lane.plan, lane.settings.budget
    return {
        "lane": lane.key, "platform": lane.key.partition(":")[0], "accounts": plan.accounts,
        "requests_per_pass": plan.requests_per_pass, "accounts_per_request": budget.batch,
        "pass_seconds": round(plan.pass_seconds, 3), "poll_interval_seconds": round(plan.poll_interval_seconds, 3),
        "rate_limit": {"requests": budget.requests, "per_seconds": budget.per}, "reserve": budget.reserve,
        "latency_seconds": {"mean": round(plan.latency.mean, 3), "max": round(plan.latency.max, 3)},
        "warnings": list(plan.warnings),
    }


def lane_lines(lane: LanePlan) -> list[str]:
    """`plan` for people: two lines a lane, then its warnings."""
    plan, budget, d = lane.plan, lane.settings.budget, short_duration
    return [
        f"{lane.label + ':':<20}{plan.accounts:,} accounts, {plan.requests_per_pass:,} requests a pass "
        f"({budget.batch} accounts each) on {budget.requests:,} requests every {d(budget.per)}",
        f"{'':<20}poll interval {d(plan.poll_interval_seconds)}; detection latency mean {d(plan.latency.mean)}, "
        f"max {d(plan.latency.max)}",
        *(f"warning: {lane.label}: {warning}" for warning in plan.warnings),
    ]
