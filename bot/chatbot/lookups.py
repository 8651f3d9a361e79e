"""The claim lookups of every platform presswatch polls: each account is asked of its own platform's watcher
(Mastodon's of its home instance), inside that platform's request budget."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.chatbot.lookup import Lookup
from bot.i18n import ENGLISH, N_, Language
from bot.models import PLATFORM_NAMES, Observation
from bot.social_handles import instance_of, platform_of
from bot.text import esc

# Where a claimant puts the code, per platform (their bio is the description on Bluesky, the note on Mastodon).
PROFILE_FIELDS = {"x": N_("X bio or display name"), "bluesky": N_("Bluesky description or display name"),
                  "mastodon": N_("Mastodon bio or display name")}


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


def not_polled(handle: str, lang: Language = ENGLISH) -> str:
    """Why an account on a platform (or Mastodon instance) presswatch does not poll cannot be added."""
    return lang.gettext("presswatch does not poll {platform} accounts like @{handle} here. Ask the operators to add "
                        "it to the config's watchlist.").format(platform=esc(PLATFORM_NAMES[platform_of(handle)]),
                                                               handle=esc(handle))
