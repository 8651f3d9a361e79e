"""Matrix: the real httpx client against the homeserver sandbox: the message and its HTML, the txnId that
makes a resend harmless, and what each error means."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from test_render import transition

from bot.delivery.render import Renderer
from bot.models import Message
from bot.sandbox.matrix_api import MatrixSandbox
from notifiers.base import ConfigRefused, NotifyError, Permanent, RetryLater, Unreached
from notifiers.matrix import MatrixNotifier

ROOM = "!AbCdEf:sandbox"


@pytest.fixture
def homeserver() -> Iterator[MatrixSandbox]:
    with MatrixSandbox() as server:
        server.add_room(ROOM)
        yield server


@pytest.fixture
async def notifier(homeserver: MatrixSandbox) -> AsyncIterator[MatrixNotifier]:
    async with MatrixNotifier(homeserver.base_url, homeserver.token, timeout=0.5) as built:
        yield built


def alert(key: str = "pw1", name: str = "Mahir Zeynalov") -> Message:
    return Renderer().alert(transition(name=name)).with_key(key)


async def test_a_message_has_a_body_and_an_escaped_html_body(
        notifier: MatrixNotifier, homeserver: MatrixSandbox) -> None:
    await notifier.send(ROOM, alert(name="<script>x</script> & Co"))
    [event] = homeserver.room(ROOM)
    content = event["content"]
    assert event["type"] == "m.room.message" and event["txn_id"] == "pw1"
    assert content["msgtype"] == "m.text" and content["format"] == "org.matrix.custom.html"
    assert content["body"].startswith("@MahirZeynalov is now withheld in India (IN)")
    assert "<script>" not in content["formatted_body"] and "&lt;script&gt;" in content["formatted_body"]
    assert "<b>@MahirZeynalov</b>" in content["formatted_body"] and "<br>" in content["formatted_body"]


async def test_a_resend_under_the_same_txnid_is_one_message(
        notifier: MatrixNotifier, homeserver: MatrixSandbox) -> None:
    await notifier.send(ROOM, alert("pw7"))
    await notifier.send(ROOM, alert("pw7"))
    await notifier.send(ROOM, alert("pw8"))
    assert [event["txn_id"] for event in homeserver.room(ROOM)] == ["pw7", "pw8"]
    assert homeserver.duplicates == 1


async def test_a_timed_out_send_retried_is_one_message(notifier: MatrixNotifier, homeserver: MatrixSandbox) -> None:
    homeserver.slow_seconds = 1.5
    homeserver.fail("timeout")
    with pytest.raises(NotifyError) as caught:
        await notifier.send(ROOM, alert("pw9"))
    assert type(caught.value) is NotifyError
    await notifier.send(ROOM, alert("pw9"))
    assert len(homeserver.room(ROOM)) == 1


@pytest.mark.parametrize(("fault", "after"), [("429", 1.0), ("429-ms", 0.8)])
async def test_limit_exceeded_honours_retry_after_and_retry_after_ms(
        notifier: MatrixNotifier, homeserver: MatrixSandbox, fault: str, after: float) -> None:
    homeserver.fail(fault)
    with pytest.raises(RetryLater) as caught:
        await notifier.send(ROOM, alert())
    assert caught.value.after == after
    assert homeserver.room(ROOM) == []


async def test_a_room_we_are_not_in_is_permanent(notifier: MatrixNotifier, homeserver: MatrixSandbox) -> None:
    homeserver.add_room("!left:sandbox", joined=False)
    with pytest.raises(Permanent, match="M_FORBIDDEN"):
        await notifier.send("!left:sandbox", alert())


async def test_a_room_id_without_a_server_part_works(notifier: MatrixNotifier, homeserver: MatrixSandbox) -> None:
    homeserver.add_room("!v12roomid")
    await notifier.send("!v12roomid", alert())
    assert len(homeserver.room("!v12roomid")) == 1


async def test_a_refused_token_is_our_configuration_and_never_shown(homeserver: MatrixSandbox) -> None:
    async with MatrixNotifier(homeserver.base_url, "syt_wrong_token_123") as wrong:
        with pytest.raises(ConfigRefused) as caught:
            await wrong.send(ROOM, alert())
    assert caught.value.condition == "matrix_token" and "syt_wrong" not in str(caught.value)


async def test_5xx_is_retried_later_and_down_was_never_reached(
        notifier: MatrixNotifier, homeserver: MatrixSandbox) -> None:
    homeserver.fail("502")
    with pytest.raises(NotifyError) as caught:
        await notifier.send(ROOM, alert())
    assert type(caught.value) is NotifyError
    homeserver.set_down(True)
    with pytest.raises(Unreached):
        await notifier.send(ROOM, alert())
