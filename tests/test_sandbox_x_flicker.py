"""The X sandbox's flicker: a change shown to exactly one lookup answer, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from bot.sandbox.x_api import XSandbox

TOKEN = "sandbox-token"


@pytest.fixture
def sb() -> Iterator[XSandbox]:
    with XSandbox(TOKEN) as sandbox:
        yield sandbox


def lookup(sb: XSandbox, ids: str) -> Any:
    response = requests.get(f"{sb.base_url}/2/users", params={"ids": ids, "user.fields": "withheld,protected"},
                            headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert response.status_code == 200
    return response.json()


def test_a_flicker_shows_in_the_next_answer_only(sb: XSandbox) -> None:
    a, b = sb.add_account("alice"), sb.add_account("bob")
    sb.flicker_next(a, suspended=True)
    first = lookup(sb, f"{a},{b}")
    assert [u["id"] for u in first["data"]] == [b]
    assert first["errors"][0]["detail"] == f"User has been suspended: [{a}]."
    second = lookup(sb, f"{a},{b}")
    assert [u["id"] for u in second["data"]] == [a, b] and "errors" not in second
    assert sb.flickers_served == 1
    assert sb.account(a)["suspended"] is False


def test_a_flicker_of_withheld_and_protected_leaves_the_account_as_it_was(sb: XSandbox) -> None:
    a = sb.add_account("alice", withheld_in=["DE"])
    sb.flicker_next("alice", withheld_in=["tr"], protected=True)
    shown = lookup(sb, a)["data"][0]
    assert shown["withheld"]["country_codes"] == ["TR"] and shown["protected"] is True
    again = lookup(sb, a)["data"][0]
    assert again["withheld"]["country_codes"] == ["DE"] and again["protected"] is False


def test_a_second_flicker_before_any_answer_replaces_the_first(sb: XSandbox) -> None:
    a = sb.add_account("alice")
    sb.flicker_next(a, protected=True)
    sb.flicker_next(a, deactivated=True)
    assert lookup(sb, a)["errors"][0]["title"] == "Not Found Error"
    assert lookup(sb, a)["data"][0]["protected"] is False
    assert sb.flickers_served == 1


def test_a_flicker_needs_a_change_and_a_known_account(sb: XSandbox) -> None:
    sb.add_account("alice")
    with pytest.raises(ValueError, match="at least one change"):
        sb.flicker_next("alice")
    with pytest.raises(KeyError):
        sb.flicker_next("nobody", suspended=True)


def test_flicker_next_over_the_http_control_interface(sb: XSandbox) -> None:
    a = sb.add_account("alice")
    reply = requests.post(f"{sb.base_url}/_sandbox/flicker_next", json={"account": a, "protected": True}, timeout=5)
    assert reply.status_code == 200
    assert lookup(sb, a)["data"][0]["protected"] is True
