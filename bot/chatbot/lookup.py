"""The X lookup /verify uses: the monitor's watcher, inside the same X request budget as the polls."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence

from bot.i18n import Language
from bot.models import Observation
from bot.ratelimit import SlidingWindow
from watchers.base import Watcher, WatcherError

Lookup = Callable[[Sequence[str]], Awaitable[dict[str, Observation]]]


class LookupFailed(Exception):
    """X could not be asked right now; nothing about the claim changes (``minutes``: the budget's wait)."""

    def __init__(self, message: str, minutes: int | None = None) -> None:
        super().__init__(message)
        self.minutes = minutes


def x_lookup(watcher: Watcher, limiter: SlidingWindow, *, max_wait: float = 5.0) -> Lookup:
    """Look handles up through the monitor's watcher, inside the same X request budget as the polls."""
    async def lookup(handles: Sequence[str]) -> dict[str, Observation]:
        wait = limiter.delay()
        if wait > max_wait:
            minutes = math.ceil(wait / 60)
            raise LookupFailed(f"presswatch's X request budget is spent for about {minutes} min", minutes)
        await limiter.acquire()
        try:
            result = await watcher.lookup_handles(list(handles))
        except WatcherError as exc:
            raise LookupFailed("X did not answer") from exc
        return {observation.requested.casefold(): observation for observation in result.observations}

    return lookup


def lookup_failure(exc: LookupFailed, lang: Language) -> str:
    """Why X could not be asked, in ``lang``."""
    if exc.minutes is not None:
        return lang.gettext("presswatch's X request budget is spent for about {minutes} min").format(
            minutes=exc.minutes)
    return lang.gettext("X did not answer")
