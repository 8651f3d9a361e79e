"""The claim lookups of every platform presswatch polls: each account is asked of its own platform's watcher
(Mastodon's of its home instance), inside that platform's request budget."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.chatbot.ownership import Lookup
from bot.models import Observation
from bot.social_handles import instance_of, platform_of


def lane_of(handle: str) -> str:
    """The lane that reads an account: ``x``, ``bluesky`` or ``mastodon:<instance>``."""
    platform = platform_of(handle)
    return f"mastodon:{instance_of(handle)}" if platform == "mastodon" else platform


class PlatformLookups:
    """A Lookup over several lanes (lane key -> that lane's lookup); ``polls`` says whether a lane exists."""

    def __init__(self, lookups: Mapping[str, Lookup]) -> None:
        self._lookups = dict(lookups)

    def polls(self, handle: str) -> bool:
        return lane_of(handle) in self._lookups

    async def __call__(self, handles: Sequence[str]) -> dict[str, Observation]:
        """Each lane's accounts of ``handles`` looked up there; accounts of a lane not polled are left out.
        LookupFailed from a lane propagates (the claim is kept, the caller says so)."""
        found: dict[str, Observation] = {}
        for lane in dict.fromkeys(lane_of(h) for h in handles):
            lookup = self._lookups.get(lane)
            if lookup is not None:
                found |= await lookup([h for h in handles if lane_of(h) == lane])
        return found
