"""The Telegram bot end to end: the real App and PTB Application against the Bot API and X sandboxes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.daemon.app import App
from bot.sandbox.telegram_api import TelegramSandbox
from bot.sandbox.x_api import XSandbox
from bot.storage.claims import ClaimBook
from tests.helpers_telegram import ADMIN, Harness, launch

pytestmark = pytest.mark.timeout(60)

GROUP, GROUP_ADMIN, GROUP_MEMBER = -1001234, 20, 21
CHANNEL = -1009876
JOURNALIST, RIVAL, READER = 500, 501, 30
CODE = re.compile(r"presswatch-[A-Z2-7]{8}")


Start = Callable[..., Awaitable[Harness]]


@pytest.fixture
def sandboxes() -> Iterator[tuple[XSandbox, TelegramSandbox]]:
    # Per-chat pacing is the dispatcher's (set high in helpers_telegram.write_config): the sandbox adds none.
    with XSandbox() as x, TelegramSandbox(per_chat_per_second=None, group_per_minute=None) as tg:
        x.add_account("ConfigDesk")
        yield x, tg


@pytest.fixture
async def start(tmp_path: Path, sandboxes: tuple[XSandbox, TelegramSandbox]) -> AsyncIterator[Start]:
    """Start the App (once per test) with a config written for the sandboxes."""
    x, tg = sandboxes
    started: list[App] = []

    async def run(**options: Any) -> Harness:
        harness = await launch(tmp_path, x, tg, **options)
        started.append(harness.app)
        return harness

    yield run
    for app in started:
        await app.stop()


async def test_a_group_subscribes_to_a_country_and_gets_only_its_alerts(start: Start) -> None:
    h = await start()
    h.x.add_account("ReporterTR", name="A Reporter")
    h.tg.add_chat(GROUP, "supergroup", title="Press <Freedom> Desk", admins=[GROUP_ADMIN])
    assert "admins only" in await h.say(ADMIN + 1, "/add @ReporterTR")
    assert h.app.store.find_account("ReporterTR") is None
    assert "now watched" in await h.say(ADMIN, "/add @ReporterTR journalist")
    refused = await h.say(GROUP, "/subscribe TR", user=GROUP_MEMBER, chat_type="supergroup")
    assert "Only this group's admins" in refused
    assert h.app.outbox.subscriber_by_key(f"tg:{GROUP}") is None
    assert "Turkey (TR)" in await h.say(GROUP, "/subscribe TR", user=GROUP_ADMIN, chat_type="supergroup")
    assert (await h.say(READER, "/subscribe")).startswith("Subscribed.")
    h.tg.inject_channel_post(CHANNEL, "/subscribe IN", title="Alerts channel")
    assert "India (IN)" in (await h.wait_for(CHANNEL, 1))[0]
    await h.polled()
    assert "State: active" in await h.say(READER, "/status @ReporterTR")

    h.x.set_withheld("ReporterTR", ["IN"])
    india = (await h.wait_for(READER, 3))[2]
    assert "now withheld in India (IN)" in india and "ReporterTR" in india
    assert "India" in (await h.wait_for(CHANNEL, 2))[1]
    h.x.set_withheld("ReporterTR", ["IN", "TR"])
    turkey = (await h.wait_for(GROUP, 3))[2]
    assert "now withheld in Turkey (TR)" in turkey and "ReporterTR" in turkey
    assert "now withheld in Turkey (TR)" in (await h.wait_for(READER, 4))[3]
    assert len(h.texts(GROUP)) == 3  # the India alert, delivered to the reader before, never reached the group
    assert len(h.texts(CHANNEL)) == 2  # the channel's filter is India: the Turkey alert is not for it


async def test_a_journalist_claims_verifies_and_is_alerted_about_their_account(start: Start) -> None:
    h = await start()
    h.x.add_account("JaneDoe", name="Jane Doe", description="Investigative reporter")
    code = CODE.search(await h.say(JOURNALIST, "/watch @JaneDoe"))
    assert code is not None
    h.x.set_description("JaneDoe", "Investigative reporter presswatch-AAAAAAAA")
    assert "not in its bio or name yet" in await h.say(JOURNALIST, "/verify")
    assert h.app.store.find_watched("JaneDoe") is None

    h.x.set_description("JaneDoe", f"Investigative reporter {code.group(0)}")
    verified = await h.say(JOURNALIST, "/verify")
    assert "Verified: you own @JaneDoe" in verified and "remove the code" in verified
    account = h.app.store.find_account("JaneDoe")
    assert account is not None and (account.owner_telegram_id, account.source) == (JOURNALIST, "telegram")
    assert "already has an owner" in await h.say(RIVAL, "/watch @JaneDoe")
    assert ClaimBook(h.app.db).pending(user_id=RIVAL) == []
    assert "you own it" in await h.say(JOURNALIST, "/status @JaneDoe")

    await h.polled()
    h.x.set_withheld("JaneDoe", ["TR"])
    alert = (await h.wait_for(JOURNALIST, 5))[4]
    assert "JaneDoe" in alert and "Turkey" in alert


async def test_an_expired_code_is_refused_and_changes_nothing(start: Start) -> None:
    h = await start(poll="1h")
    h.x.add_account("JaneDoe")
    code = CODE.search(await h.say(JOURNALIST, "/watch @JaneDoe"))
    assert code is not None
    h.x.set_description("JaneDoe", code.group(0))
    h.clock.advance(24 * 3600 + 60)  # a day and a minute later
    assert "Your claim on @JaneDoe expired" in await h.say(JOURNALIST, "/verify")
    assert h.app.store.find_watched("JaneDoe") is None
    assert h.app.outbox.subscribers() == []


async def test_a_forged_deep_link_is_refused_and_a_signed_one_subscribes(start: Start) -> None:
    h = await start(poll="1h")
    made = await h.say(ADMIN, "/link TR restricted 2d")
    token = re.search(r"\?start=([A-Za-z0-9_-]+)", made)
    assert token is not None and "t.me/presswatch_bot" in made
    forged = token.group(1)[:-3] + ("xyz" if not token.group(1).endswith("xyz") else "abc")
    assert "not a valid presswatch link" in await h.say(READER, f"/start {forged}")
    assert h.app.outbox.subscriber_by_key(f"tg:{READER}") is None
    assert "Turkey (TR)" in await h.say(READER, f"/start {token.group(1)}")
    sub = h.app.outbox.subscriber_by_key(f"tg:{READER}")
    assert sub is not None and sub.countries == {"TR"}


async def test_a_flood_of_commands_gets_one_refusal_then_silence(start: Start) -> None:
    h = await start(poll="1h")
    flooder = 700
    for n in range(100):
        h.tg.inject_message(flooder, f"/watch @flood{n}")
    assert "commands" in await h.say(READER, "/help")  # updates are handled in order: the flood is done
    answers = h.texts(flooder)
    assert len(answers) == 21
    assert sum(bool(CODE.search(text)) for text in answers) == 5
    assert sum("already have 5 pending claims" in text for text in answers) == 15
    assert "too fast" in answers[20]
    assert len(ClaimBook(h.app.db).pending(user_id=flooder)) == 5
    h.clock.advance(61)  # the minute has passed: answered again
    assert "/subscribe" in await h.say(flooder, "/help")


async def test_telegram_down_at_start_does_not_stop_the_daemon(start: Start,
                                                              sandboxes: tuple[XSandbox, TelegramSandbox]) -> None:
    _x, tg = sandboxes
    tg.set_down(True)
    h = await start()
    await h.polled()  # the daemon polls X while Telegram is unreachable
    tg.set_down(False)
    assert "/subscribe" in await h.say(READER, "/help")
    status, body = tg.handle(f"/bot{tg.token}/getMyCommands", {})
    assert status == 200 and isinstance(body, dict)
    assert {"watch", "verify", "link", "health"} <= {command["command"] for command in body["result"]}


async def test_in_approve_mode_an_admin_decides_and_both_sides_are_told(start: Start) -> None:
    h = await start(mode="approve", poll="1h")
    assert "No claims are waiting" in await h.say(ADMIN, "/pending")
    assert "waits for an admin's approval" in await h.say(JOURNALIST, "/watch @JaneDoe")
    assert "New claim #1: @JaneDoe" in (await h.wait_for(ADMIN, 2))[1]
    assert "Approved claim #1" in await h.say(ADMIN, "/approve 1")
    assert "was approved" in (await h.wait_for(JOURNALIST, 2))[1]
    account = h.app.store.find_account("JaneDoe")
    assert account is not None and account.owner_telegram_id == JOURNALIST


async def test_unknown_commands_and_junk_get_a_short_usage_reply(start: Start) -> None:
    h = await start(poll="1h")
    assert "I do not know /frobnicate" in await h.say(READER, "/frobnicate now")
    assert "Usage: /status @handle" in await h.say(READER, "/status <b>nope</b>")
    assert "did you mean TR" in await h.say(READER, "/subscribe TUR")
    assert "answer commands only" in await h.say(READER, "hello?")
    assert h.app.outbox.subscriber_by_key(f"tg:{READER}") is None


async def test_settings_tells_the_configs_route_and_bad_numbers_get_usage(start: Start) -> None:
    h = await start(poll="1h", subscribers=[{"name": "Press desk", "telegram_chat": GROUP, "countries": ["TR"]}])
    h.tg.add_chat(GROUP, "supergroup", title="Desk", admins=[GROUP_ADMIN])
    settings = await h.say(GROUP, "/settings", user=GROUP_MEMBER, chat_type="supergroup")
    assert "The operator's config sends alerts here (Press desk)" in settings and "not subscribed" not in settings
    assert await h.say(ADMIN, "/approve 99999999999999999999999") == "There is no claim #99999999999999999999999."
    assert "Usage: /list" in await h.say(READER, "/list ²")
    watch = await h.say(READER, "/watch " + "a" * 4000)
    assert watch.endswith("Usage: /watch @handle (your own X, Bluesky or Mastodon account)") and "a" * 41 not in watch
