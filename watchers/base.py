"""The Watcher protocol and the errors that are never an account's status."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, Self

from bot.models import Observation


class WatcherError(Exception):
    """A batch could not be read. No account changes because of it."""


class TransientError(WatcherError):
    """Timeout, connection failure, 5xx, a malformed body: try again next time."""


class RateLimited(WatcherError):
    """429 from the platform: wait until ``reset_at`` (Unix seconds) before the next request."""

    def __init__(self, message: str, *, reset_at: float | None, usage_cap: bool = False) -> None:
        super().__init__(message)
        self.reset_at = reset_at
        self.usage_cap = usage_cap


class AppAuthError(WatcherError):
    """Our own app was refused (401, 402, 403): an operator problem, never an account's."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


def header_int(headers: Mapping[str, str], name: str) -> int | None:
    """A response header as an integer (rate-limit counts and resets); None when absent or not a number."""
    try:
        return int(headers[name])
    except (KeyError, TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class RateInfo:
    """The platform's rate-limit headers from the last response."""

    limit: int | None
    remaining: int | None
    reset_at: float | None


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one lookup request returned.

    ``missing`` lists what was requested but came back neither as data nor as an error entry
    (no observation for those). ``requests`` is how many HTTP requests the batch took.
    """

    observations: tuple[Observation, ...]
    missing: tuple[str, ...] = ()
    rate: RateInfo | None = None
    requests: int = 1


class Watcher(Protocol):
    """Reads accounts of one platform. Raises a WatcherError subclass when a batch fails as a whole.

    An async context manager: ``async with`` returns the watcher itself and closes it (``aclose``) on exit.
    A watcher that subclasses this protocol inherits both methods.
    """

    platform: str
    batch_size: int
    instance: str | None = None  # Mastodon: the home instance whose accounts this watcher reads
    # Awaited before each request a batch makes past its first (the single lookups of omitted accounts), so
    # that they too are paced by the lane's rate limiter; the daemon sets it, None paces nothing.
    pace: Callable[[], Awaitable[object]] | None = None

    async def lookup_ids(self, ids: Sequence[str]) -> BatchResult: ...

    async def lookup_handles(self, handles: Sequence[str]) -> BatchResult: ...

    async def aclose(self) -> None: ...

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
