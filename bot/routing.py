"""Pure subscriber filters: does this event, on this account, reach this subscriber?"""

from __future__ import annotations

from collections.abc import Iterable

from bot.models import EVERYWHERE, Event, EventKind, Subscriber

_COUNTRY_KINDS = frozenset({EventKind.WITHHELD, EventKind.UNWITHHELD})


def matches(
    subscriber: Subscriber,
    event: Event,
    account_tags: Iterable[str],
    account_pk: int,
) -> bool:
    """True when ``event`` passes every filter the subscriber set.

    Countries limit only withheld/unwithheld events (a suspension passes); XX (everywhere)
    passes any country filter; a subscriber's ``accounts``, when set, limits it to those accounts.
    """
    if not subscriber.enabled or subscriber.operator:
        return False
    if event.kind not in subscriber.events:
        return False
    if subscriber.accounts and account_pk not in subscriber.accounts:
        return False
    if subscriber.tags and not subscriber.tags.intersection(account_tags):
        return False
    if subscriber.countries and event.kind in _COUNTRY_KINDS:
        countries = set(event.countries)
        return EVERYWHERE in countries or bool(subscriber.countries & countries)
    return True
