"""bot.detect: baseline, confirmation counting, and which events lead from one state to another."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from bot.detect import Pending, Verdict, detect, unchanged
from bot.models import AccountState, Availability, Event, EventKind, Observation
from tests.helpers_core import NOT_FOUND, SUSPENDED, seen, state

K = EventKind


def fold(previous: AccountState, observations: Sequence[Observation], confirmations: int) -> list[Verdict]:
    """Feed observations one by one, carrying state and pending as the store would."""
    verdicts = []
    current, pending = previous, None
    for observation in observations:
        verdict = detect(current, observation, pending, confirmations)
        verdicts.append(verdict)
        current = verdict.state or current
        pending = verdict.pending
    return verdicts


@pytest.mark.parametrize("observation, expected", [
    (seen(withheld=["TR"], protected=True, handle="Alice", name="A"),
     state(withheld=["TR"], protected=True, handle="Alice", name="A")),
    (seen(SUSPENDED, requested="alice"), state(SUSPENDED, handle="alice", name="")),
    (seen(NOT_FOUND, requested="ghost"), state(NOT_FOUND, handle="ghost", name="")),
])
def test_first_sight_is_a_baseline_without_events(observation: Observation, expected: AccountState) -> None:
    verdict = detect(None, observation, None, confirmations=2)
    assert verdict == Verdict(state=expected, pending=None, change=None, baseline=True)


@pytest.mark.parametrize("confirmations", [1, 2, 3])
def test_a_change_is_announced_after_exactly_n_agreeing_observations(confirmations: int) -> None:
    verdicts = fold(state(), [seen(SUSPENDED)] * (confirmations + 1), confirmations)
    for count, verdict in enumerate(verdicts[: confirmations - 1], start=1):
        assert verdict.change is None and verdict.state is None
        assert verdict.pending == Pending(state(SUSPENDED), count)
    confirmed = verdicts[confirmations - 1]
    assert confirmed.change is not None and confirmed.change.events == (Event(K.SUSPENDED),)
    assert confirmed.state == state(SUSPENDED) and confirmed.pending is None
    after = verdicts[confirmations]
    assert after.change is None and after.pending is None and after.state is None


def test_an_unchanged_observation_is_a_no_op() -> None:
    assert detect(state(), seen(), None, confirmations=2) == Verdict(state=None, pending=None)


def test_a_flicker_yields_nothing_and_clears_the_candidate() -> None:
    verdicts = fold(state(), [seen(SUSPENDED), seen(), seen(SUSPENDED)], confirmations=2)
    assert [v.change for v in verdicts] == [None, None, None]
    assert verdicts[0].pending == Pending(state(SUSPENDED), 1)
    assert verdicts[1].pending is None and verdicts[1].state is None
    assert verdicts[2].pending == Pending(state(SUSPENDED), 1)  # counting starts over


def test_a_different_candidate_restarts_the_count() -> None:
    obs = [seen(SUSPENDED), seen(SUSPENDED), seen(NOT_FOUND), seen(NOT_FOUND), seen(NOT_FOUND)]
    verdicts = fold(state(), obs, confirmations=3)
    assert verdicts[1].pending == Pending(state(SUSPENDED), 2)
    assert verdicts[2].pending == Pending(state(NOT_FOUND), 1)
    assert [v.change is not None for v in verdicts] == [False, False, False, False, True]
    change = verdicts[4].change
    assert change is not None and change.events == (Event(K.DEACTIVATED),)


def test_a_candidate_differing_only_in_display_name_still_counts() -> None:
    verdicts = fold(state(), [seen(withheld=["IN"], name="A1"), seen(withheld=["IN"], name="A2")], 2)
    change = verdicts[1].change
    assert change is not None and change.events == (Event(K.WITHHELD, ("IN",)),)
    assert change.current.name == "A2"


@pytest.mark.parametrize("previous, observation, events, withheld_after", [
    pytest.param(state(withheld=["TR"]), seen(withheld=["TR", "IN"]), [Event(K.WITHHELD, ("IN",))], {"TR", "IN"},
                 id="withheld-in-while-tr"),
    pytest.param(state(withheld=["TR", "IN"]), seen(withheld=["IN"]), [Event(K.UNWITHHELD, ("TR",))], {"IN"},
                 id="lift-one-of-two"),
    pytest.param(state(withheld=["IN", "TR"]), seen(), [Event(K.UNWITHHELD, ("IN", "TR"))], set(),
                 id="lift-both-sorted"),
    pytest.param(state(), seen(withheld=["XX"]), [Event(K.WITHHELD, ("XX",))], {"XX"}, id="everywhere"),
    pytest.param(state(withheld=["TR"]), seen(withheld=["RU", "TR", "XX", "IN"]),
                 [Event(K.WITHHELD, ("XX", "IN", "RU"))], {"XX", "TR", "IN", "RU"}, id="xx-first-then-sorted"),
    pytest.param(state(withheld=["TR"]), seen(withheld=["IN"]),
                 [Event(K.WITHHELD, ("IN",)), Event(K.UNWITHHELD, ("TR",))], {"IN"}, id="swap-countries"),
    pytest.param(state(), seen(SUSPENDED), [Event(K.SUSPENDED)], set(), id="suspended"),
    pytest.param(state(SUSPENDED), seen(), [Event(K.UNSUSPENDED)], set(), id="unsuspended"),
    pytest.param(state(), seen(NOT_FOUND), [Event(K.DEACTIVATED)], set(), id="deactivated"),
    pytest.param(state(NOT_FOUND), seen(), [Event(K.REACTIVATED)], set(), id="reactivated"),
    pytest.param(state(SUSPENDED), seen(NOT_FOUND), [Event(K.DEACTIVATED)], set(), id="suspended-then-gone"),
    pytest.param(state(NOT_FOUND), seen(SUSPENDED), [Event(K.SUSPENDED)], set(), id="gone-then-suspended"),
    pytest.param(state(), seen(handle="alice_new"), [Event(K.RENAMED)], set(), id="renamed"),
    pytest.param(state(), seen(protected=True), [Event(K.PROTECTED)], set(), id="protected"),
    pytest.param(state(protected=True), seen(), [Event(K.UNPROTECTED)], set(), id="unprotected"),
    pytest.param(state(withheld=["TR"]), seen(handle="bob", withheld=["TR", "IN"], protected=True),
                 [Event(K.RENAMED), Event(K.WITHHELD, ("IN",)), Event(K.PROTECTED)], {"TR", "IN"},
                 id="several-at-once"),
    pytest.param(state(SUSPENDED, withheld=["TR"]), seen(withheld=["TR", "IN"]),
                 [Event(K.UNSUSPENDED), Event(K.WITHHELD, ("IN",))], {"TR", "IN"}, id="restored-with-new-country"),
])
def test_events_between_states(previous: AccountState, observation: Observation, events: list[Event],
                               withheld_after: set[str]) -> None:
    verdict = detect(previous, observation, None, confirmations=1)
    assert verdict.change is not None
    assert list(verdict.change.events) == events
    assert verdict.change.previous == previous
    assert verdict.change.current.withheld_in == frozenset(withheld_after)
    assert verdict.state == verdict.change.current and verdict.pending is None


@pytest.mark.parametrize("observation, expected", [
    pytest.param(seen(handle="ALICE"), state(handle="ALICE"), id="handle-case-only"),
    pytest.param(seen(name="Alice Reporter"), state(name="Alice Reporter"), id="display-name-only"),
])
def test_cosmetic_changes_update_the_state_without_an_event(observation: Observation,
                                                             expected: AccountState) -> None:
    verdict = detect(state(), observation, Pending(state(SUSPENDED), 1), confirmations=2)
    assert verdict == Verdict(state=expected, pending=None, change=None)


@pytest.mark.parametrize("unavailable", [SUSPENDED, NOT_FOUND])
def test_an_unavailable_observation_keeps_the_last_known_profile(unavailable: Availability) -> None:
    before = state(withheld=["TR"], protected=True, handle="alice", name="Alice")
    verdict = detect(before, seen(unavailable), None, confirmations=1)
    assert verdict.state == state(unavailable, withheld=["TR"], protected=True,
                                  handle="alice", name="Alice")
    assert verdict.change is not None and len(verdict.change.events) == 1


@pytest.mark.parametrize("unavailable, restored", [(SUSPENDED, K.UNSUSPENDED), (NOT_FOUND, K.REACTIVATED)])
def test_a_restore_is_compared_with_the_state_before_the_loss(unavailable: Availability, restored: EventKind) -> None:
    before = state(withheld=["TR"], protected=True)
    back = seen(withheld=["TR"], protected=True)
    verdicts = fold(before, [seen(unavailable), seen(unavailable), back, back], confirmations=2)
    changes = [v.change for v in verdicts if v.change is not None]
    assert [c.events for c in changes] == [
        (Event(K.SUSPENDED if unavailable == SUSPENDED else K.DEACTIVATED),),
        (Event(restored),),
    ]
    assert changes[1].current == before


@pytest.mark.parametrize("observation", [
    seen(),
    seen(withheld=["TR"]),
    seen(protected=True),
    seen(handle="alice2"),
    seen(name="Alice B"),
    seen(SUSPENDED),
    seen(NOT_FOUND),
])
@pytest.mark.parametrize("known", [state(), state(withheld=("TR",)), state(availability=SUSPENDED), None])
def test_the_unchanged_shortcut_agrees_with_detect(observation: Observation, known: AccountState | None) -> None:
    """unchanged() may only say yes where detect() would record nothing at all."""
    verdict = detect(known, observation, None, 2)
    if unchanged(known, observation, None):
        assert verdict == Verdict(state=None, pending=None)
    assert not unchanged(known, observation, Pending(state(), 1))


def test_the_unchanged_shortcut_takes_a_poll_that_shows_the_known_state() -> None:
    assert unchanged(state(withheld=["TR"]), seen(withheld=["TR"]), None)
    assert unchanged(state(availability=SUSPENDED), seen(SUSPENDED), None)
    assert not unchanged(None, seen(), None)
