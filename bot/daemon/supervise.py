"""Long-lived tasks restarted when they die of an error, with the operators told."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType

log = logging.getLogger("presswatch.daemon")


async def supervise(
    name: str,
    run: Callable[[], Awaitable[None]],
    stop: asyncio.Event,
    *,
    on_restart: Callable[[str, BaseException], None],
    initial: float = 1.0,
    maximum: float = 60.0,
) -> None:
    """Run ``run()`` until ``stop``; when it dies of an exception, log it, tell ``on_restart``, start it again.

    The delay before a restart doubles from ``initial`` to ``maximum`` while it keeps dying.
    """
    delay = initial
    while not stop.is_set():
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("the %s stopped on an error; starting it again in %.0f s", name, delay)
            try:
                on_restart(name, exc)
            except Exception:
                log.exception("could not tell the operators that the %s was restarted", name)
        try:
            await asyncio.wait_for(stop.wait(), delay)
        except TimeoutError:
            pass
        delay = min(maximum, delay * 2)


Exit = Callable[[type[BaseException] | None, BaseException | None, TracebackType | None], Awaitable[bool]]


def logged_exit(name: str) -> Exit:
    """An exit for an AsyncExitStack, pushed just below a step: that step's failure is logged, the
    shutdown goes on."""
    async def exit_(_type: type[BaseException] | None, exc: BaseException | None,
                    _tb: TracebackType | None) -> bool:
        if isinstance(exc, Exception):
            log.error("stopping %s failed; going on with the shutdown", name, exc_info=exc)
            return True
        return False

    return exit_
