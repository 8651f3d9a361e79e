"""Operations: the health check's verdict and the Prometheus metrics (prometheus-client).

Live figures (reads per cycle, delivery latency) are counted as the daemon works; the rest is read from the
database when Prometheus scrapes, in a web worker thread. No label carries a handle or a subscriber.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.models import EventKind
from bot.storage.public import PublicView
from bot.text import iso

STALE_PERIODS = 3  # no successful poll for this many poll intervals: unhealthy
REFUSED = {"auth": "X refuses presswatch's credentials", "usage_cap": "X usage cap or credits exhausted"}
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "held")
# Seconds from a transition's confirmation to its delivery: a Telegram alert goes out within seconds, a
# retried one within the backoff (up to 15 minutes a try), a given-up one after a day.
LATENCY_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600, 4 * 3600, 86400)


class PollStatus:
    """Whether presswatch reads X: polls succeeding, and X not refusing the app (for ``/healthz``)."""

    def __init__(self, interval: float, started_at: datetime, last_success: datetime | None = None) -> None:
        self.interval = interval
        self.started_at = started_at
        self.last_success = last_success
        self.refused: str | None = None  # "auth" or "usage_cap" while X refuses the app

    def cycle(self, ok: int, aborted: str | None, finished: datetime) -> None:
        """After each poll cycle: how many accounts it read, why it stopped (if it did), when it ended."""
        if ok:
            self.last_success, self.refused = finished, None
        elif aborted in REFUSED:
            self.refused = aborted

    def check(self, now: datetime) -> tuple[bool, dict[str, Any]]:
        """(healthy, the JSON body): unhealthy when X refuses the app, or no poll succeeded for three
        intervals (counted from the start when none has yet)."""
        since = self.last_success or self.started_at
        stale = now - since >= timedelta(seconds=STALE_PERIODS * self.interval)
        problem = REFUSED[self.refused] if self.refused else (
            f"no successful poll of X for {STALE_PERIODS} poll intervals" if stale else None)
        return problem is None, {
            "status": "ok" if problem is None else "failing",
            "problem": problem,
            "last_successful_poll": iso(self.last_success) if self.last_success else None,
            "poll_interval_seconds": self.interval,
        }


class _StoreCollector(Collector):
    """The figures kept in the database, read at each scrape through the calling worker's view."""

    def __init__(self, view: Callable[[], PublicView]) -> None:
        self._view = view

    def collect(self) -> Iterable[Metric]:
        view = self._view()
        kinds = CounterMetricFamily("presswatch_transitions", "Transitions recorded, by kind (public accounts).",
                                    labels=["kind"])
        counts = view.kind_counts()
        for kind in EventKind:
            kinds.add_metric([kind.value], counts.get(kind.value, 0))
        yield kinds
        outbox = GaugeMetricFamily("presswatch_outbox_rows", "Outbox rows (alerts and notices), by status.",
                                   labels=["status"])
        depth = view.outbox_depth()
        for status in (*OUTBOX_STATUSES, *sorted(set(depth) - set(OUTBOX_STATUSES))):
            outbox.add_metric([status], depth.get(status, 0))
        yield outbox
        last = view.last_poll()
        remaining = GaugeMetricFamily("presswatch_rate_limit_remaining",
                                      "Requests left in the platform's rate-limit window, as it last said.",
                                      labels=["platform"])
        if last is not None and last.rate_remaining is not None:
            remaining.add_metric(["x"], last.rate_remaining)
        yield remaining
        success = view.last_poll(successful=True)
        yield GaugeMetricFamily("presswatch_last_successful_poll_timestamp_seconds",
                                "When the last poll that read accounts finished (Unix time; 0: never).",
                                value=success.finished_at.timestamp() if success and success.finished_at else 0)


class Metrics:
    """presswatch's metrics in a registry of its own (each daemon its own, tests build several)."""

    def __init__(self, view: Callable[[], PublicView]) -> None:
        self.registry = CollectorRegistry()
        self.reads = Counter("presswatch_reads", "Account reads by poll cycles, by platform and result"
                             " (ok: read; failed: not read this cycle).", ["platform", "result"],
                             registry=self.registry)
        self.latency = Histogram("presswatch_delivery_latency_seconds",
                                 "Seconds from a transition's confirmation to the delivery of its alert.",
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.registry.register(_StoreCollector(view))

    def cycle(self, platform: str, ok: int, failed: int) -> None:
        self.reads.labels(platform, "ok").inc(ok)
        self.reads.labels(platform, "failed").inc(failed)

    def delivered(self, confirmed: Sequence[datetime], now: datetime) -> None:
        """Alerts delivered ``now`` about transitions confirmed at ``confirmed``."""
        for moment in confirmed:
            self.latency.observe(max(0.0, (now - moment).total_seconds()))

    def text(self) -> bytes:
        """The exposition in Prometheus' text format (call it in a worker thread: it reads the database)."""
        return generate_latest(self.registry)
