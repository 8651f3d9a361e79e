"""Deadline scheduling, pure: which accounts go in the next request, and when that request may go.

Platform-neutral. An account is a key with a due time and a period; a *group* is a kind of request (on X:
by id or by handle), and one request holds accounts of one group only, at most ``batch`` of them. Time is
seconds on one monotonic clock, always passed in: nothing here reads a clock, sleeps or does I/O.

The rules (the README's operator contract):
- a request goes out when an account is due, but never sooner after the previous request than the even
  spacing of the budget allows: ``regular_gap`` for regular polls, ``full_gap`` (the whole budget, reserve
  included) when a recheck is due;
- it is filled up to ``batch``: first the rechecks that are due, then the regular accounts by due time
  (the most overdue first, then those due soonest); a recheck waits for its time, but one due before the
  next request could go (within ``full_gap``) rides in this one rather than cost a request of its own
  (a recheck is due after the answer, a regular poll after the send: the two drift apart by that much);
- a read resets the due time: ``sent + period`` after a regular read, ``answered + min(recheck_after,
  period)`` after a read that showed a change not yet confirmed (a recheck);
- an account in a request that was not answered keeps its due time (and its recheck), and goes in the
  next one.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
NEVER = float("-inf")


@dataclass(frozen=True, slots=True)
class Pace:
    """The budget's even spacing, in seconds between requests, and the size of a request."""

    regular_gap: float  # polls alone: the rate left after the reserve
    full_gap: float  # when a recheck is due: the whole rate, reserve included
    batch: int
    recheck_after: float

    def __post_init__(self) -> None:
        if not 0 < self.full_gap <= self.regular_gap or self.batch < 1 or self.recheck_after <= 0:
            raise ValueError("a pace needs 0 < full_gap <= regular_gap, batch >= 1 and recheck_after > 0")


@dataclass(frozen=True, slots=True)
class Pick(Generic[K]):
    """The accounts of one request: one group, due rechecks first; ``sent_at`` is when it was taken."""

    group: str
    keys: tuple[K, ...]
    rechecks: int
    sent_at: float


@dataclass(slots=True)
class _Slot:
    group: str
    period: float
    due: float
    recheck: bool = False
    busy: bool = False  # in a request not answered yet
    stamp: int = 0  # which heap entry is this slot's live one; older entries are skipped


@dataclass(slots=True)
class _Heaps(Generic[K]):
    """One group's waiting accounts: rechecks and regular polls, each by due time (lazily pruned)."""

    rechecks: list[tuple[float, int, K]] = field(default_factory=list)
    regular: list[tuple[float, int, K]] = field(default_factory=list)


class Deadlines(Generic[K]):
    """Every account's due time, and the picking of requests by the rules in this module's docstring."""

    def __init__(self, pace: Pace) -> None:
        self.pace = pace
        self._slots: dict[K, _Slot] = {}
        self._groups: dict[str, _Heaps[K]] = {}
        self._stamps = 0
        self._last_sent = NEVER
        self._not_before = NEVER

    def __len__(self) -> int:
        return len(self._slots)

    def __contains__(self, key: object) -> bool:
        return key in self._slots

    def set_pace(self, pace: Pace) -> None:
        self.pace = pace

    def put(self, key: K, *, group: str, period: float, now: float, recheck: bool = False) -> None:
        """Add an account, due ``now`` (a recheck when a change is already being confirmed), or update one.

        An account already known keeps its due time; a new group or period applies from now on.
        """
        if period <= 0:
            raise ValueError("a period must be above zero")
        slot = self._slots.get(key)
        if slot is None:
            self._slots[key] = slot = _Slot(group, period, now, recheck)
        elif (slot.group, slot.period) == (group, period):
            return
        else:
            slot.group, slot.period = group, period
        if not slot.busy:
            self._push(key, slot)

    def discard(self, key: K) -> None:
        """Forget an account (no longer watched); its heap entries are skipped from now on."""
        self._slots.pop(key, None)

    def keys(self) -> list[K]:
        return list(self._slots)

    def due(self, key: K) -> tuple[float, bool] | None:
        """An account's due time and whether it is a recheck; None when unknown."""
        slot = self._slots.get(key)
        return None if slot is None else (slot.due, slot.recheck)

    def hold(self, until: float) -> None:
        """No request before ``until`` (the platform refused our app, or told us to slow down)."""
        self._not_before = max(self._not_before, until)

    def next_at(self, now: float) -> float | None:
        """When the next request should go (at or after ``now`` means: wait until then); None: nothing waits."""
        recheck = self._earliest("rechecks")
        regular = self._earliest("regular")
        times = []
        if recheck is not None:
            times.append(max(recheck, self._last_sent + self.pace.full_gap))
        if regular is not None:
            times.append(max(regular, self._last_sent + self.pace.regular_gap))
        if not times:
            return None
        return max(min(times), self._not_before)

    def take(self, now: float) -> Pick[K] | None:
        """The accounts of a request sent ``now``; None when none may go yet (see ``next_at``)."""
        at = self.next_at(now)
        if at is None or at > now:
            return None
        group = self._urgent_group(now)
        if group is None:
            return None
        heaps = self._groups[group]
        keys: list[K] = []
        soon = now + self.pace.full_gap
        while len(keys) < self.pace.batch and (key := self._pop(heaps.rechecks, before=soon)) is not None:
            keys.append(key)
        rechecks = len(keys)
        while len(keys) < self.pace.batch and (key := self._pop(heaps.regular)) is not None:
            keys.append(key)
        for key in keys:
            self._slots[key].busy = True
        self._last_sent = now
        return Pick(group, tuple(keys), rechecks, now)

    def answered(self, pick: Pick[K], read: Iterable[K], rechecks: Collection[K], answered_at: float) -> None:
        """The answer to ``pick``: ``read`` were observed, ``rechecks`` of them show a change being confirmed.

        The accounts of the pick that were not read keep their due time and go in the next request.
        """
        done = set(read)
        for key in pick.keys:
            slot = self._slots.get(key)
            if slot is None:
                continue
            slot.busy = False
            if key in done:
                slot.recheck = key in rechecks
                if slot.recheck:
                    slot.due = answered_at + min(self.pace.recheck_after, slot.period)
                else:
                    slot.due = pick.sent_at + slot.period
            self._push(key, slot)

    def failed(self, pick: Pick[K]) -> None:
        """No answer to ``pick``: its accounts keep their due times (and rechecks) for the next request."""
        self.answered(pick, (), (), pick.sent_at)

    def _push(self, key: K, slot: _Slot) -> None:
        self._stamps += 1
        slot.stamp = self._stamps
        heaps = self._groups.setdefault(slot.group, _Heaps())
        heapq.heappush(heaps.rechecks if slot.recheck else heaps.regular, (slot.due, slot.stamp, key))

    def _live(self, heap: list[tuple[float, int, K]]) -> tuple[float, int, K] | None:
        """The heap's first entry that is still an account's live one, pruning the others."""
        while heap:
            _due, stamp, key = heap[0]
            slot = self._slots.get(key)
            if slot is not None and slot.stamp == stamp and not slot.busy:
                return heap[0]
            heapq.heappop(heap)
        return None

    def _pop(self, heap: list[tuple[float, int, K]], before: float | None = None) -> K | None:
        top = self._live(heap)
        if top is None or (before is not None and top[0] > before):
            return None
        heapq.heappop(heap)
        return top[2]

    def _earliest(self, kind: str) -> float | None:
        tops = [top[0] for heaps in self._groups.values() if (top := self._live(getattr(heaps, kind)))]
        return min(tops) if tops else None

    def _urgent_group(self, now: float) -> str | None:
        """The group of the most urgent account that may go now: a due recheck first, then the most overdue."""
        best: tuple[int, float, str] | None = None
        rechecks_may = now >= self._last_sent + self.pace.full_gap
        regular_may = now >= self._last_sent + self.pace.regular_gap
        for group, heaps in self._groups.items():
            recheck, regular = self._live(heaps.rechecks), self._live(heaps.regular)
            if rechecks_may and recheck is not None and recheck[0] <= now:
                candidate = (0, recheck[0], group)
            elif regular_may and regular is not None and regular[0] <= now:
                candidate = (1, regular[0], group)
            else:
                continue
            best = candidate if best is None or candidate < best else best
        return None if best is None else best[2]
