"""bot.routing.matches: which events reach which subscriber."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from bot.models import Event, EventKind, Subscriber, expand_events
from bot.routing import matches

K = EventKind


def sub(**kwargs: Any) -> Subscriber:
    if "events" in kwargs:
        kwargs["events"] = expand_events(kwargs["events"])
    for name in ("countries", "tags", "accounts"):
        if name in kwargs:
            kwargs[name] = frozenset(kwargs[name])
    return Subscriber(id=1, name="desk", channel="email", address="desk@example.org", **kwargs)


WITHHELD_IN = Event(K.WITHHELD, ("IN",))
WITHHELD_TR_RU = Event(K.WITHHELD, ("RU", "TR"))
WITHHELD_XX = Event(K.WITHHELD, ("XX",))
UNWITHHELD_IN = Event(K.UNWITHHELD, ("IN",))


@pytest.mark.parametrize("subscriber, event, tags, pk, expected", [
    pytest.param(sub(), Event(K.SUSPENDED), [], 1, True, id="default-restricted"),
    pytest.param(sub(), Event(K.UNSUSPENDED), [], 1, True, id="default-restored"),
    pytest.param(sub(), Event(K.RENAMED), [], 1, False, id="default-excludes-other"),
    pytest.param(sub(), Event(K.PROTECTED), [], 1, False, id="default-excludes-protected"),
    pytest.param(sub(events=["other"]), Event(K.RENAMED), [], 1, True, id="group-other"),
    pytest.param(sub(events=["other"]), Event(K.SUSPENDED), [], 1, False, id="group-other-not-suspended"),
    pytest.param(sub(events=["suspended"]), Event(K.SUSPENDED), [], 1, True, id="kind-listed"),
    pytest.param(sub(events=["suspended"]), Event(K.UNSUSPENDED), [], 1, False, id="kind-not-listed"),
    pytest.param(sub(events=["restricted", "unwithheld"]), UNWITHHELD_IN, [], 1, True, id="group-plus-kind"),
    pytest.param(sub(countries=["IN"]), WITHHELD_IN, [], 1, True, id="country-match"),
    pytest.param(sub(countries=["IN"]), WITHHELD_TR_RU, [], 1, False, id="country-mismatch"),
    pytest.param(sub(countries=["TR", "IN"]), WITHHELD_TR_RU, [], 1, True, id="one-of-several"),
    pytest.param(sub(countries=["IN"]), UNWITHHELD_IN, [], 1, True, id="lifted-country-match"),
    pytest.param(sub(countries=["TR"]), UNWITHHELD_IN, [], 1, False, id="lifted-country-mismatch"),
    pytest.param(sub(countries=["IN"]), WITHHELD_XX, [], 1, True, id="xx-passes-country-filter"),
    pytest.param(sub(countries=["IN"]), Event(K.UNWITHHELD, ("XX",)), [], 1, True, id="xx-lifted-passes"),
    pytest.param(sub(countries=["IN"]), Event(K.SUSPENDED), [], 1, True, id="countries-dont-limit-suspension"),
    pytest.param(sub(countries=["IN"]), Event(K.DEACTIVATED), [], 1, True, id="countries-dont-limit-deactivation"),
    pytest.param(sub(tags=["journalist"]), Event(K.SUSPENDED), ["journalist", "turkey"], 1, True, id="tag-match"),
    pytest.param(sub(tags=["journalist"]), Event(K.SUSPENDED), ["outlet"], 1, False, id="tag-mismatch"),
    pytest.param(sub(tags=["journalist"]), Event(K.SUSPENDED), [], 1, False, id="untagged-account"),
    pytest.param(sub(accounts=[1, 3]), Event(K.SUSPENDED), [], 3, True, id="account-listed"),
    pytest.param(sub(accounts=[1, 3]), Event(K.SUSPENDED), [], 2, False, id="account-not-listed"),
    pytest.param(sub(enabled=False), Event(K.SUSPENDED), [], 1, False, id="disabled"),
    pytest.param(sub(operator=True), Event(K.SUSPENDED), [], 1, False, id="operator"),
    pytest.param(sub(operator=True, events=["restricted", "restored", "other"]), WITHHELD_XX, [], 1, False,
                 id="operator-with-all-events"),
    pytest.param(sub(countries=["IN"], tags=["journalist"], accounts=[7]), WITHHELD_IN, ["journalist"], 7, True,
                 id="every-filter-passes"),
    pytest.param(sub(countries=["IN"], tags=["journalist"], accounts=[7]), WITHHELD_IN, ["outlet"], 7, False,
                 id="one-filter-fails"),
])
def test_matches(subscriber: Subscriber, event: Event, tags: Sequence[str], pk: int, expected: bool) -> None:
    assert matches(subscriber, event, tags, pk) is expected
