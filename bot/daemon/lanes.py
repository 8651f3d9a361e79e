"""Bluesky and Mastodon beside X: a lane per platform (and per Mastodon instance), each with its own watcher,
request budget, monitor and deadline runner, all recording into the one store and outbox.

X's lane stays the App's own (``App.monitor``, ``App.runner``); these are the others. A Mastodon instance
has a lane when the config's watchlist names an account on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.config.model import Config
from bot.daemon import registry
from bot.polling.budget import Budget
from bot.polling.monitor import Monitor
from bot.polling.reader import CycleReport
from bot.polling.runner import Runner, Scheduling
from bot.ratelimit import SlidingWindow
from bot.social_handles import instance_of
from bot.storage.accounts import Store
from bot.storage.guard import StorageGuard
from bot.storage.outbox import Outbox
from watchers.base import Watcher


@dataclass(frozen=True, slots=True)
class Lane:
    """One platform's polling: ``key`` names its poll rows and operator condition, ``label`` says it in words."""

    key: str
    label: str
    watcher: Watcher
    limiter: SlidingWindow
    monitor: Monitor
    runner: Runner


@dataclass(frozen=True, slots=True)
class LaneParts:
    """What every lane shares with the App."""

    store: Store
    outbox: Outbox
    guard: StorageGuard
    clock: Callable[[], datetime]
    monotonic: Callable[[], float]
    on_recorded: Callable[[list[int]], None]
    on_round: Callable[[CycleReport], None]


def instances(config: Config) -> list[str]:
    """The Mastodon instances the watchlist names, in order of first mention."""
    return list(dict.fromkeys(instance_of(entry.mastodon) for entry in config.watchlist if entry.mastodon))


def wanted(config: Config) -> list[tuple[str, str, str]]:
    """(key, label, platform) of every lane besides X's that the config calls for."""
    lanes = []
    if config.bluesky is not None and any(entry.bluesky for entry in config.watchlist):
        lanes.append(("bluesky", "Bluesky", "bluesky"))
    if config.mastodon is not None:
        lanes += [(f"mastodon:{name}", f"Mastodon ({name})", "mastodon") for name in instances(config)]
    return lanes


def build_lanes(config: Config, parts: LaneParts) -> list[Lane]:
    """Every lane besides X's, built but not started."""
    built = []
    for key, label, platform in wanted(config):
        if platform == "bluesky":
            assert config.bluesky is not None
            section = config.bluesky
            watcher = registry.build_bluesky(config)
        else:
            assert config.mastodon is not None
            section = config.mastodon  # type: ignore[assignment]
            watcher = registry.build_mastodon(config, key.partition(":")[2])
        budget = Budget(section.rate_limit.requests, section.rate_limit.per, section.reserve, watcher.batch_size)
        rule = Scheduling(budget,
                          section.interval, section.min_poll_interval, config.detection.recheck_after)
        limiter = SlidingWindow(section.rate_limit.requests, section.rate_limit.per,
                                unix=lambda: parts.clock().timestamp())
        watcher.pace = limiter.acquire  # a batch's single lookups are within the budget too
        monitor = Monitor(parts.store, parts.outbox, watcher, limiter, confirmations=config.detection.confirmations,
                          poll_interval=rule.interval or rule.floor, clock=parts.clock,
                          max_rate_wait=max(section.rate_limit.per, rule.interval or rule.floor),
                          on_recorded=parts.on_recorded, guard=parts.guard, lane=key, label=label)
        runner = Runner(monitor, rule, monotonic=parts.monotonic, clock=parts.clock, on_round=parts.on_round)
        built.append(Lane(key, label, watcher, limiter, monitor, runner))
    return built


def sync_watchlists(config: Config, store: Store, now: datetime) -> tuple[int, int]:
    """The config's Bluesky and Mastodon accounts into the store (X's is the App's): (added, dropped)."""
    added = dropped = 0
    for platform in ("bluesky", "mastodon"):
        entries = [(account, entry.tags, entry.name or "") for entry in config.watchlist
                   for where, account in entry.accounts() if where == platform]
        new, gone = store.sync_watchlist(entries, now, platform)
        added, dropped = added + new, dropped + gone
    return added, dropped
