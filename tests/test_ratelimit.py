"""bot.ratelimit.SlidingWindow on a fake monotonic clock whose sleep advances it: no real waiting."""

from __future__ import annotations

import pytest

from bot.ratelimit import SlidingWindow
from tests.helpers_core import FakeMonotonic, VirtualTime

UNIX = 1_700_000_000.0  # the window's Unix clock: a server's resets are read against it, not the real time


def window(fake: FakeMonotonic | VirtualTime, requests: int, per: float) -> SlidingWindow:
    return SlidingWindow(requests, per, monotonic=fake.monotonic, unix=lambda: UNIX, sleep=fake.sleep)


def most_in_any_window(times: list[float], per: float) -> int:
    """The largest number of acquisitions inside any half-open window [t, t + per)."""
    return max(sum(1 for u in times if t <= u < t + per) for t in times)


@pytest.mark.parametrize("requests, per, total", [(1, 1.0, 5), (3, 10.0, 20), (300, 900.0, 1000)])
async def test_never_more_than_n_in_any_window(requests: int, per: float, total: int) -> None:
    fake = FakeMonotonic()
    limiter = window(fake, requests, per)
    times = []
    for _ in range(total):
        await limiter.acquire()
        times.append(fake.now)
    assert most_in_any_window(times, per) == requests
    assert times[-1] - times[0] == pytest.approx(per * ((total - 1) // requests))


async def test_the_first_n_go_at_once_and_the_next_waits_for_the_oldest_to_age_out() -> None:
    fake = FakeMonotonic()
    limiter = window(fake, 3, 10.0)
    assert [await limiter.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.delay() == pytest.approx(10.0)
    fake.now += 4
    assert limiter.delay() == pytest.approx(6.0)
    assert await limiter.acquire() == pytest.approx(6.0)
    assert fake.now == pytest.approx(1010.0)


async def test_waits_are_spent_in_the_injected_sleep() -> None:
    fake = FakeMonotonic()
    limiter = window(fake, 2, 5.0)
    for _ in range(4):
        await limiter.acquire()
    assert sum(fake.sleeps) == pytest.approx(5.0)


async def test_block_until_is_honoured() -> None:
    fake = FakeMonotonic()
    limiter = window(fake, 100, 1.0)
    await limiter.acquire()
    limiter.block_until(UNIX + 30)
    assert limiter.blocked_for == 30
    assert await limiter.acquire() == 30
    assert limiter.blocked_for == 0.0
    assert await limiter.acquire() == 0.0


async def test_block_until_in_the_past_or_shorter_than_a_block_in_force_changes_nothing() -> None:
    fake = FakeMonotonic()
    limiter = window(fake, 100, 1.0)
    limiter.block_until(UNIX - 100)
    assert limiter.blocked_for == 0.0
    limiter.block_until(UNIX + 20)
    limiter.block_until(UNIX + 5)
    assert limiter.blocked_for == 20


async def test_concurrent_acquirers_share_the_budget() -> None:
    vt = VirtualTime()
    limiter = window(vt, 2, 1.0)
    times: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        times.append(vt.now)

    await vt.run([one() for _ in range(7)])
    assert len(times) == 7 and most_in_any_window(times, 1.0) == 2
    assert max(times) - min(times) == pytest.approx(3.0)


@pytest.mark.parametrize("requests, per", [(0, 1.0), (1, 0.0), (5, -1.0)])
def test_a_limit_that_allows_nothing_is_refused(requests: int, per: float) -> None:
    with pytest.raises(ValueError):
        SlidingWindow(requests, per)


async def test_restamp_moves_a_slot_to_now_and_keeps_the_others() -> None:
    fake = FakeMonotonic()
    limiter = window(fake, 2, 10.0)
    first = limiter.take()
    fake.now += 1
    limiter.take()
    fake.now += 3
    limiter.restamp(first)  # answered only now: the slot counts from here, the other keeps its time
    fake.now += 1
    assert limiter.delay() == pytest.approx(6.0)  # the older slot (taken 4 s ago) frees first
    fake.now += 6
    assert limiter.delay() == 0.0
    slow = limiter.take()
    fake.now += 20
    assert limiter.delay() == 0.0  # every slot aged out while that request was on its way
    limiter.restamp(slow)  # it still counts from its answer
    limiter.take()
    assert limiter.delay() == pytest.approx(10.0)
