"""Delivery pacing and backoff: Telegram's flood limits, and the retry schedule of a failed message."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot import clock
from bot.ratelimit import SlidingWindow
from notifiers.base import Unreached

# Telegram counts at its end, after network jitter: keep a little under its limits.
_MARGIN = 1.05


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    initial: float = 5.0
    maximum: float = 900.0
    give_up_after: float = 86400.0

    def delay(self, attempts: int) -> float:
        """Exponential backoff: initial, 2x, 4x ... capped at maximum."""
        return float(min(self.maximum, self.initial * 2 ** max(0, min(attempts - 1, 40))))


class TelegramPacer:
    """Telegram's limits: overall per second, per chat per second, per group per minute.

    A message takes its overall, chat and group slots together, at the moment all are free, so a wait
    for one limit can never leave a slot of another stamped too early. Its chat and group slots are
    stamped again when Telegram has answered (see ``slot``); a send Telegram never received gives its
    slots back.
    """

    def __init__(
        self,
        overall: float = 30,
        per_chat: float = 1,
        group_per_minute: float = 20,
        *,
        monotonic: Callable[[], float] = clock.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._monotonic, self._sleep = monotonic, sleep
        # Evenly spaced, not 30 at once then a pause: a burst arrives spread by network jitter, and
        # its tail and the next burst's head would land in one of Telegram's one-second windows.
        self.overall = SlidingWindow(1, _MARGIN / overall, monotonic=monotonic, sleep=sleep)
        self.per_chat = per_chat
        self.group_per_minute = group_per_minute
        self._chats: dict[str, SlidingWindow] = {}
        self._groups: dict[str, SlidingWindow] = {}

    def _window(self, rate: float, per: float) -> SlidingWindow:
        """``rate`` per ``per`` seconds, fractional rates included (0.5/s: 1 per 2 s), with a margin."""
        if rate >= 1:
            return SlidingWindow(int(rate), per * _MARGIN, monotonic=self._monotonic, sleep=self._sleep)
        return SlidingWindow(1, per / rate * _MARGIN, monotonic=self._monotonic, sleep=self._sleep)

    def _windows(self, chat: str) -> list[SlidingWindow]:
        windows = [self.overall, self._chats.setdefault(chat, self._window(self.per_chat, 1.0))]
        if chat.startswith("-"):
            windows.append(self._groups.setdefault(chat, self._window(self.group_per_minute, 60.0)))
        return windows

    async def acquire(self, chat: str) -> list[tuple[SlidingWindow, float]]:
        """Wait until the overall, chat and group limits all allow a message; returns the slots taken."""
        windows = self._windows(chat)
        while (wait := max(window.delay() for window in windows)) > 0:
            await self._sleep(wait)
        return [(window, window.take()) for window in windows]  # no await since the check

    @asynccontextmanager
    async def slot(self, chat: str) -> AsyncIterator[None]:
        """Pace one send to ``chat``; its chat and group slots count from Telegram's answer.

        Two messages to one chat sent 1.05 s apart can still arrive under a second apart when the first
        was slowed on its way (a busy machine, a new connection). Counting from the answer makes that
        impossible. The overall slot keeps its send time: sends overlap, and evenly spaced sends have
        room for jitter in a one-second window of 30. When the send raises ``Unreached`` (connection
        refused: Telegram never saw it), every slot is given back: after an outage, the failed attempts
        must not use up a group's 20 a minute.
        """
        taken = await self.acquire(chat)
        try:
            yield
        except Unreached:
            for window, stamp in taken:
                window.release(stamp)
            raise
        except BaseException:
            for window, stamp in taken[1:]:
                window.restamp(stamp)
            raise
        for window, stamp in taken[1:]:
            window.restamp(stamp)

    def pause(self, seconds: float, chat: str) -> None:
        """A 429: hold this chat and, as Telegram may mean the whole bot, everything else too."""
        for window in self._windows(chat)[:2]:
            window.block_for(seconds)
