"""The poll schedule on APScheduler 3.x: one cycle at a time, every interval with jitter."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger("presswatch.scheduler")


class PollSchedule:
    """Runs ``cycle(now)`` now and then every ``interval`` seconds (+/- ``jitter``), never overlapping.

    A cycle that overruns its interval delays the next one (coalesced) instead of stacking runs.
    Must be started inside the running event loop (APScheduler 3.11).
    """

    def __init__(
        self,
        cycle: Callable[[datetime], Awaitable[object]],
        *,
        interval: float,
        jitter: float,
        clock: Callable[[], datetime],
        extra: tuple[tuple[Callable[[datetime], object], float], ...] = (),
    ) -> None:
        self.cycle = cycle
        self.interval = interval
        self.jitter = jitter
        self.clock = clock
        self.extra = extra
        self.scheduler = AsyncIOScheduler(timezone="UTC")

    async def _run(self) -> None:
        try:
            await self.cycle(self.clock())
        except asyncio.CancelledError:
            # Shutdown cuts a cycle short; each batch is recorded atomically, so nothing is lost.
            log.info("poll cycle stopped for shutdown")
        except Exception:  # a bug in one cycle must not stop the schedule
            log.exception("poll cycle failed")

    def start(self) -> None:
        self.scheduler.add_job(
            self._run,
            IntervalTrigger(seconds=self.interval, jitter=self.jitter or None),
            id="poll",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=self.clock(),
        )
        for index, (job, every) in enumerate(self.extra):
            self.scheduler.add_job(self._wrap(job), IntervalTrigger(seconds=every), id=f"extra-{index}",
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
