"""Poll batches: which accounts go in which request, and the rate budget as of the newest answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.storage.accounts import Outcome, Watched
from watchers.base import RateInfo


@dataclass(frozen=True, slots=True)
class Batch:
    by: str  # "ids" or "handles"
    keys: tuple[str, ...]
    pks: dict[str, int]  # the key an answer comes back under (id, or handle case-folded) -> account pk


def wrote(outcome: Outcome) -> bool:
    """Whether recording this outcome changed the account's row."""
    verdict, watched = outcome.verdict, outcome.watched
    return (verdict.state is not None or verdict.pending != watched.pending
            or outcome.observation.account_id not in (None, watched.account.account_id))


def latest_rate(known: RateInfo | None, new: RateInfo | None) -> RateInfo | None:
    """The budget as of the later of two answers: answers overlap, so the last to come back may be older."""
    if known is None or new is None:
        return new or known
    if (new.reset_at or 0) != (known.reset_at or 0):  # a later reset is a newer window
        return new if (new.reset_at or 0) > (known.reset_at or 0) else known
    if new.remaining is None or known.remaining is None:
        return new if new.remaining is not None else known
    return new if new.remaining < known.remaining else known


def plan_batches(watched: Sequence[Watched], size: int) -> list[Batch]:
    """Known ids are polled by id (they survive renames); the rest by handle, ``size`` a request."""
    by_id = [w.account for w in watched if w.account.account_id]
    by_handle = [w.account for w in watched if not w.account.account_id]
    batches = []
    for i in range(0, len(by_id), size):
        chunk = by_id[i : i + size]
        keys = tuple(a.account_id or "" for a in chunk)
        batches.append(Batch("ids", keys, {key: a.pk for key, a in zip(keys, chunk, strict=True)}))
    for i in range(0, len(by_handle), size):
        chunk = by_handle[i : i + size]
        batches.append(Batch("handles", tuple(a.handle for a in chunk), {a.handle.casefold(): a.pk for a in chunk}))
    return batches
