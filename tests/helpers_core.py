"""Small shared helpers for the core tests: observations, states, database rows, clocks and a fake Notifier."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from bot.detect import detect
from bot.models import AccountState, Availability, Message, Observation
from bot.storage.accounts import Outcome, Store
from notifiers.base import NotifyError

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
ACTIVE, SUSPENDED, NOT_FOUND = Availability.ACTIVE, Availability.SUSPENDED, Availability.NOT_FOUND


def state(
    availability: Availability = ACTIVE,
    *,
    protected: bool = False,
    withheld: Sequence[str] = (),
    handle: str = "alice",
    name: str = "Alice",
) -> AccountState:
    return AccountState(availability, protected, frozenset(withheld), handle, name)


def rows(db: Database, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
    """The rows of a query, to assert on the database (production code asks its repositories instead)."""
    return list(db.query(sql, params))


def seen(
    availability: Availability = ACTIVE,
    *,
    protected: bool = False,
    withheld: Sequence[str] = (),
    handle: str = "alice",
    name: str = "Alice",
    account_id: str = "42",
    requested: str | None = None,
) -> Observation:
    """An observation as the X watcher makes it: unavailable accounts show no profile fields."""
    requested = requested or account_id
    if availability is not ACTIVE:
        raw = json.dumps({"value": requested, "title": str(availability)})
        return Observation("x", requested, account_id, availability, raw)
    raw = json.dumps({"id": account_id, "username": handle, "name": name, "protected": protected,
                      "withheld": {"country_codes": sorted(withheld)}}, sort_keys=True)
    return Observation("x", requested, account_id, availability, raw, protected=protected,
                       withheld_in=frozenset(withheld), handle=handle, name=name)


def observe(store: Store, listed: str, observation: Observation, now: datetime, confirmations: int = 1) -> list[int]:
    """Run one observation of a watched account through detect and record it, as the monitor does."""
    watched = store.find_watched(listed)
    assert watched is not None, listed
    verdict = detect(watched.state, observation, watched.pending, confirmations)
    return store.record([Outcome(watched, observation, verdict)], now)


class Clock:
    """A wall clock that moves only when told to."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now

    def unix(self) -> float:
        """The same moment as Unix seconds: for the X sandbox's resets and a window's ``unix`` clock."""
        return self.now.timestamp()


class FakeMonotonic:
    """A monotonic clock with an async sleep that advances it instantly, recording each wait."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


class VirtualTime:
    """Virtual time for concurrent tasks: the clock jumps to the next wake-up once every task is blocked."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._seq), future))
        await future

    async def run(self, coros: Sequence[Coroutine[Any, Any, Any]], settle: int = 200) -> list[Any]:
        tasks = [asyncio.ensure_future(c) for c in coros]
        while True:
            for _ in range(settle):
                await asyncio.sleep(0)
            if all(task.done() for task in tasks):
                return [task.result() for task in tasks]
            if not self._sleepers:
                raise RuntimeError("every task is blocked and none is sleeping")
            wake = self._sleepers[0][0]
            self.now = max(self.now, wake)
            while self._sleepers and self._sleepers[0][0] <= self.now:
                _, _, future = heapq.heappop(self._sleepers)
                if not future.done():
                    future.set_result(None)


class FakeNotifier:
    """A Notifier (notifiers.base) that records sends and raises the errors it is told to.

    ``always[address]``: raise this on every send to that address.
    """

    def __init__(self, channel: str = "email", fingerprint: str = "fake-config-1") -> None:
        self.channel = channel
        self.fingerprint = fingerprint
        self.sent: list[tuple[str, Message]] = []
        self.attempts: list[str] = []
        self.errors: deque[NotifyError] = deque()
        self.always: dict[str, NotifyError] = {}
        self.closed = 0
        self.gate: asyncio.Event | None = None  # when set to an Event, each send waits for it
        self.after_send: Callable[[], None] | None = None  # runs once a send succeeded (before it returns)

    def fail_next(self, *errors: NotifyError) -> None:
        """Raise these on the next sends, one each, whatever the address."""
        self.errors.extend(errors)

    async def send(self, address: str, message: Message) -> None:
        self.attempts.append(address)
        await asyncio.sleep(0)
        if self.gate is not None:
            await self.gate.wait()
        if address in self.always:
            raise self.always[address]
        if self.errors:
            raise self.errors.popleft()
        self.sent.append((address, message))
        if self.after_send is not None:
            self.after_send()

    async def aclose(self) -> None:
        self.closed += 1


async def until(predicate: Callable[[], object], timeout: float = 10.0, what: str = "the condition") -> None:
    """Wait, with a bound, until ``predicate()`` is true: looked at between the loop's other work."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.005)
