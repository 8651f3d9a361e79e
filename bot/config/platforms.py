"""The bluesky and mastodon sections: where to reach each, its request budget and poll periods.

Each platform (and each Mastodon instance) has its own budget, scheduled as X's is (see bot.polling.budget).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, Field, field_validator

from bot.config.fields import AutoInterval, Country, PollInterval, RequestTimeout, Reserve, Url
from bot.config.sections import RateLimitConfig, _Model
from bot.config.written import text
from bot.countries import BLUESKY_LABELERS
from bot.social_handles import normalize_mastodon

_DID = re.compile(r"^did:(plc:[a-z2-7]{24}|web:[a-z0-9.:%-]{1,253})$")
MAX_LABELERS = 20  # the AppView reads at most 20 from atproto-accept-labelers


def _did(value: object) -> str:
    did = text(value).strip()
    if not _DID.match(did):
        raise ValueError(f"{did!r} is not a labeler DID (did:plc:... or did:web:...)")
    return did


def _instance(value: object) -> str:
    """A Mastodon instance's domain, lower-cased (mastodon.social)."""
    written = text(value).strip()
    return normalize_mastodon(f"u@{written}").partition("@")[2]


Did = Annotated[str, BeforeValidator(_did)]
Instance = Annotated[str, BeforeValidator(_instance)]


class BlueskyConfig(_Model):
    """A public Bluesky AppView, the country labelers read with every request, and the polls' budget."""

    api_base_url: Url = "https://public.api.bsky.app"
    labelers: dict[Country, Did] = Field(default_factory=lambda: dict(BLUESKY_LABELERS))
    rate_limit: RateLimitConfig = RateLimitConfig(requests=3000, per=300.0)
    poll_interval: AutoInterval = "auto"
    min_poll_interval: PollInterval = 60.0
    reserve: Reserve = 0.1
    timeout: RequestTimeout = 30.0

    @field_validator("labelers")
    @classmethod
    def _check_labelers(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("name at least one country labeler (leave the key out for the known ones)")
        if len(set(value.values())) > MAX_LABELERS:
            raise ValueError(f"at most {MAX_LABELERS} labelers: the AppView reads no more")
        return value

    @property
    def interval(self) -> float | None:
        return None if self.poll_interval == "auto" else float(self.poll_interval)


class MastodonConfig(_Model):
    """Where to reach Mastodon instances (default: https://<instance>) and each instance's budget."""

    instance_urls: dict[Instance, Url] = Field(default_factory=dict)
    rate_limit: RateLimitConfig = RateLimitConfig(requests=300, per=300.0)
    poll_interval: AutoInterval = "auto"
    min_poll_interval: PollInterval = 60.0
    reserve: Reserve = 0.1
    timeout: RequestTimeout = 30.0

    @property
    def interval(self) -> float | None:
        return None if self.poll_interval == "auto" else float(self.poll_interval)

    def url_of(self, instance: str) -> str:
        return self.instance_urls.get(instance, f"https://{instance}")
