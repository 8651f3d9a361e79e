"""The lookup /verify uses: a platform's watcher, inside the same request budget as that platform's polls."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence

from bot.i18n import Language
from bot.models import Observation
from bot.ratelimit import SlidingWindow
from watchers.base import Watcher, WatcherError

Lookup = Callable[[Sequence[str]], Awaitable[dict[str, Observation]]]


class LookupFailed(Exception):
    """The platform could not be asked right now; nothing about the claim changes (``minutes``: the budget's
    wait; ``name``: the platform, X or another)."""

    def __init__(self, message: str, minutes: int | None = None, name: str = "X") -> None:
        super().__init__(message)
        self.minutes = minutes
        self.name = name


def x_lookup(watcher: Watcher, limiter: SlidingWindow, *, max_wait: float = 5.0, name: str = "X") -> Lookup:
    """Look handles up through a lane's watcher, inside the same request budget as its polls (those of X, or
    of the platform ``name``)."""
    async def lookup(handles: Sequence[str]) -> dict[str, Observation]:
        wait = limiter.delay()
        if wait > max_wait:
            minutes = math.ceil(wait / 60)
            raise LookupFailed(f"presswatch's {name} request budget is spent for about {minutes} min", minutes, name)
        await limiter.acquire()
        try:
            result = await watcher.lookup_handles(list(handles))
        except WatcherError as exc:
            raise LookupFailed(f"{name} did not answer", name=name) from exc
        return {observation.requested.casefold(): observation for observation in result.observations}

    return lookup


def lookup_failure(exc: LookupFailed, lang: Language) -> str:
    """Why the platform could not be asked, in ``lang``."""
    if exc.minutes is not None:
        return lang.gettext("presswatch's {platform} request budget is spent for about {minutes} min").format(
            platform=exc.name, minutes=exc.minutes)
    return lang.gettext("{platform} did not answer").format(platform=exc.name)
