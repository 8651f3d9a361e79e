"""The operators' view of polling: one condition for "X cannot be read", raised when it lasts, cleared once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.models import NoticeKind
from bot.said import N_, Said
from bot.storage.accounts import Store
from bot.storage.guard import StorageGuard
from bot.storage.outbox import Outbox

STALE_AFTER_INTERVALS = 3
STALE_FLOOR = 60.0  # seconds: with very short intervals, three missed polls is noise, not an outage
X_CONDITION = "x"  # one condition whatever the cause: a 401 outage is one notice and one recovery
_NOTICES = {
    "auth": (NoticeKind.X_AUTH, N_("{platform} keeps refusing presswatch's credentials")),
    "usage_cap": (NoticeKind.X_USAGE_CAP, N_("{platform} usage cap or credits exhausted")),
    None: (NoticeKind.STALE, N_("No successful poll of {platform} for three intervals")),
}


class PollHealth:
    """Remembers when X was last read and why the last cycle failed; raises and clears the X condition."""

    def __init__(self, store: Store, outbox: Outbox, guard: StorageGuard, poll_interval: float,
                 lane: str = X_CONDITION, label: str = "X") -> None:
        """``lane``: whose polls (x, bluesky, mastodon:<instance>), the condition's name; ``label`` in words."""
        self.lane, self.label = lane, label
        self.store = store
        self.outbox = outbox
        self.guard = guard
        self.poll_interval = poll_interval
        self._last_read: datetime | None = None  # X answered with accounts (recorded or not)
        self._untried: datetime | None = None  # a cycle could not even try: the database refused writes
        self._cause: str | None = None
        self._errors: list[str] = []

    def read(self, now: datetime) -> None:
        self._last_read = now

    def untried(self, now: datetime) -> None:
        self._untried = now

    def after_cycle(self, ok: int, aborted: str | None, errors: Sequence[str], now: datetime) -> None:
        """Clear the X condition after a good cycle; after a bad one, alert if the failure has persisted."""
        if aborted == "storage":
            return
        if ok:
            self._cause, self._errors = None, []
            self.outbox.resolve(self.lane, Said(N_("presswatch reads {platform} again"), platform=self.label), now)
            return
        self._cause, self._errors = aborted, list(errors)
        self.check_stale(now)

    def check_stale(self, now: datetime) -> None:
        """Alert the operators when no poll has succeeded for three intervals (at least a minute), with the cause.

        One failed poll alerts no one: X's API is flaky, and a false alarm teaches people to ignore alerts.
        A time when the database refused writes does not count against X (that outage has its own notice).
        """
        if self.guard.failing_since is not None:
            return
        since = self._since(now)
        if now - since < timedelta(seconds=max(STALE_FLOOR, STALE_AFTER_INTERVALS * self.poll_interval)):
            return
        detail = Said(N_("No successful poll since {since}."), since=since.isoformat())
        if self._errors:
            detail = Said(N_("No successful poll since {since}. Last errors: {errors}"), since=since.isoformat(),
                          errors="; ".join(self._errors))
        kind, summary = _NOTICES.get(self._cause, _NOTICES[None])
        self.outbox.notify_operators(kind, Said(summary, platform=self.label), detail, now, condition=self.lane)

    def _since(self, now: datetime) -> datetime:
        """The last time X was read, or could not be tried through no fault of X's."""
        known = [moment for moment in (self._last_read, self._untried) if moment is not None]
        last = self.store.last_poll(successful=True, lane=self.lane)
        if last and last.finished_at:
            known.append(last.finished_at)
        if known:
            return max(known)
        return self.store.first_poll_at(self.lane) or now
