"""Periodic checks on APScheduler 3.x, beside the deadline runner: the stale-poll check runs on its own
schedule, so that a poll loop stuck on a bug still leaves the operators told."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger("presswatch.scheduler")


class Periodic:
    """Runs each ``job(now)`` every ``seconds``, never two runs of one job at once (late runs coalesce).

    Must be started inside the running event loop (APScheduler 3.11).
    """

    def __init__(self, jobs: tuple[tuple[Callable[[datetime], object], float], ...], *,
                 clock: Callable[[], datetime]) -> None:
        self.jobs = jobs
        self.clock = clock
        self.scheduler = AsyncIOScheduler(timezone="UTC")

    def start(self) -> None:
        for index, (job, every) in enumerate(self.jobs):
            self.scheduler.add_job(self._wrap(job), IntervalTrigger(seconds=every), id=f"job-{index}",
                                   max_instances=1, coalesce=True)
        self.scheduler.start()

    def _wrap(self, job: Callable[[datetime], object]) -> Callable[[], Awaitable[None]]:
        # A coroutine, so APScheduler runs it on the loop, not in a worker thread (SQLite is per-thread).
        async def run() -> None:
            try:
                job(self.clock())
            except Exception:
                log.exception("scheduled job failed")

        return run

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
