"""A new config applied to a running App, while its polls and deliveries go on.

The store first (the watchlist and the subscribers and operators, as at start), then the parts in memory;
each takes the new values from its next read or its next alert:
- accounts added are due at once and their first read is a baseline (never an alert); accounts removed
  leave the runner's deadlines (their history stays, and a late answer for one alerts no one);
- subscribers' filters and operators route from the next transition recorded (fan-out reads them then);
- detection (confirmations, recheck_after), the request budget and the intervals: from the next request;
- delivery's retry schedule and the templates: from the next message rendered or retried.
What needs a restart is refused before this runs (bot.config.live.RESTART_ONLY, and ``new_lanes``: a Bluesky
or Mastodon instance the running daemon has no lane for).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bot.config.live import RESTART
from bot.config.model import Config
from bot.config.reader import LineMap, Problem, line_of
from bot.daemon.lanes import wanted
from bot.daemon.parts import scheduling
from bot.delivery.pacing import RetryPolicy
from bot.delivery.render import Renderer
from bot.i18n import language

if TYPE_CHECKING:
    from bot.daemon.app import App


def new_lanes(running: Iterable[str], config: Config, lines: LineMap | None) -> list[Problem]:
    """The watchlist's accounts on a platform or Mastodon instance the daemon polls no lane of (``running``:
    the keys of its lanes): a lane is built at start, so the first account there needs a restart."""
    have = set(running)
    added = [label for key, label, _ in wanted(config) if key not in have]
    if not added:
        return []
    return [Problem("watchlist", f"accounts on {', '.join(added)}, which this daemon has no lane for: {RESTART}",
                    line_of(lines or {}, ("watchlist",)))]


def apply_config(app: App, config: Config) -> None:
    """Make ``config`` the App's. A storage error from the store's part propagates with nothing in memory
    changed (the App keeps its config); the caller tries the same version again later."""
    running = app.config
    app.config = config
    try:
        app.sync()  # the watchlist, subscribers, operators, own periods; the runner syncs again from its next turn
    except BaseException:
        app.config = running
        raise
    reader = app.monitor.reader
    reader.confirmations = config.detection.confirmations
    if app.chatbot is not None:
        app.chatbot.service.confirmations = config.detection.confirmations  # what /status explains
    rule = scheduling(config)
    app.limiter.requests, app.limiter.per = config.x.rate_limit.requests, config.x.rate_limit.per
    reader.max_rate_wait = max(config.x.rate_limit.per, rule.interval or rule.floor)
    app.runner.scheduling = rule
    app.runner.deadlines.set_pace(rule.budget.pace(rule.recheck_after))
    delivery = config.delivery
    retry = RetryPolicy(delivery.retry_initial, delivery.retry_max, delivery.give_up_after)
    app.dispatcher.retry = app.dispatcher.outcomes.retry = retry
    public_url = config.server.public_url if config.server else None  # server is restart-only: the same
    app.dispatcher.renderer = Renderer(config.templates, language(config.i18n.default_language),
                                       public_url=public_url)
    app.runner.wake()
    app.dispatcher.wake()
