"""Pure subscriber filters: does this event, on this account, reach this subscriber?"""

from __future__ import annotations

from collections.abc import Iterable

from bot.countries import EU, EU_MEMBERS
from bot.models import EVERYWHERE, Event, EventKind, Subscriber

_COUNTRY_KINDS = frozenset({EventKind.WITHHELD, EventKind.UNWITHHELD})


def matches(
    subscriber: Subscriber,
    event: Event,
    account_tags: Iterable[str],
    account_pk: int,
    platform: str = "x",
) -> bool:
    """True when ``event`` passes every filter the subscriber set.

    Countries limit only withheld/unwithheld events (a suspension passes); XX (everywhere)
    passes any country filter, and EU (a Bluesky labeler's, for all its member states) passes a filter
    naming any member state; a subscriber's ``accounts``, when set, limits it to those accounts, its
    ``platforms`` to those platforms.
    """
    if not subscriber.enabled or subscriber.operator:
        return False
    if event.kind not in subscriber.events:
        return False
    if subscriber.platforms and platform not in subscriber.platforms:
        return False
    if subscriber.accounts and account_pk not in subscriber.accounts:
        return False
    if subscriber.tags and not subscriber.tags.intersection(account_tags):
        return False
    if subscriber.countries and event.kind in _COUNTRY_KINDS:
        countries = set(event.countries)
        if EU in countries:
            countries |= EU_MEMBERS
        return EVERYWHERE in countries or bool(subscriber.countries & countries)
    return True
