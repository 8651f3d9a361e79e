"""Request pacing: a sliding window that never exceeds the configured budget, plus the platform's own word."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from bot import clock


class SlidingWindow:
    """At most ``requests`` acquisitions in any ``per`` seconds.

    A fixed-window server limit (X's 15-minute windows) can never be exceeded by a client that
    keeps every sliding window under the same budget. ``block_until`` honours a server's reset.
    Time comes from the clocks given: ``monotonic`` paces, ``unix`` reads a server's Unix reset times.
    """

    def __init__(
        self,
        requests: int,
        per: float,
        *,
        monotonic: Callable[[], float] = clock.monotonic,
        unix: Callable[[], float] = clock.unix,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if requests < 1 or per <= 0:
            raise ValueError("a rate limit needs requests >= 1 and per > 0")
        self.requests = requests
        self.per = per
        self._monotonic = monotonic
        self._unix = unix
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._blocked_until = 0.0
        self._lock = asyncio.Lock()

    def delay(self) -> float:
        """Seconds until the next acquisition is allowed (0 when it is allowed now)."""
        now = self._monotonic()
        while self._sent and self._sent[0] <= now - self.per:
            self._sent.popleft()
        wait = max(0.0, self._blocked_until - now)
        if len(self._sent) >= self.requests:
            wait = max(wait, self._sent[0] + self.per - now)
        return wait

    def take(self) -> float:
        """Take a slot now (the caller checked ``delay()`` is 0 with no await since); returns its stamp."""
        stamp = self._monotonic()
        self._sent.append(stamp)
        return stamp

    def restamp(self, stamp: float) -> None:
        """Move the slot taken at ``stamp`` to now: the request it paced has only now been answered.

        A server counts a request when it arrives, somewhere between our send and its answer; counting
        from the answer keeps the next one a full window after it, whatever the network's delay.
        """
        try:
            self._sent.remove(stamp)
        except ValueError:
            pass  # aged out already: the request took longer than the window
        self._sent.append(self._monotonic())  # every stamp left is older: the deque stays in order

    def release(self, stamp: float) -> None:
        """Give back the slot taken at ``stamp``: the request it paced never reached the server."""
        try:
            self._sent.remove(stamp)
        except ValueError:
            pass  # aged out already

    async def acquire(self) -> float:
        """Wait for a slot and take it; returns the seconds waited."""
        waited = 0.0
        async with self._lock:
            while (wait := self.delay()) > 0:
                await self._sleep(wait)
                waited += wait
            self.take()
        return waited

    def block_until(self, unix_time: float) -> None:
        """Take no slot before ``unix_time`` (a server's x-rate-limit-reset)."""
        deadline = self._monotonic() + max(0.0, unix_time - self._unix())
        self._blocked_until = max(self._blocked_until, deadline)

    def block_for(self, seconds: float) -> None:
        """Take no slot for ``seconds`` from now (a server's retry_after)."""
        self._blocked_until = max(self._blocked_until, self._monotonic() + max(0.0, seconds))

    @property
    def blocked_for(self) -> float:
        return max(0.0, self._blocked_until - self._monotonic())
