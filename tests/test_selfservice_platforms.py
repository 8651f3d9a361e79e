"""The bot's core on Bluesky and Mastodon: /watch, /verify (the code in the Bluesky description or the Mastodon
note, read by the real watchers from the sandboxes), /add and /status of a person on several platforms."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from bot.chatbot.lookup import x_lookup
from bot.chatbot.lookups import PlatformLookups
from bot.ratelimit import SlidingWindow
from bot.sandbox.bluesky_api import BlueskySandbox
from bot.sandbox.mastodon_api import MastodonSandbox
from tests.helpers_bot import ADMIN, JOURNALIST, T0, Bot
from watchers.bluesky import BlueskyWatcher
from watchers.mastodon import MastodonWatcher


@pytest.fixture
def bsky() -> Iterator[BlueskySandbox]:
    with BlueskySandbox() as sandbox:
        yield sandbox


@pytest.fixture
def masto() -> Iterator[MastodonSandbox]:
    with MastodonSandbox("mastodon.social") as sandbox:
        yield sandbox


@pytest.fixture
async def bot(bsky: BlueskySandbox, masto: MastodonSandbox) -> AsyncIterator[Bot]:
    b = Bot()
    async with BlueskyWatcher.connect(bsky.base_url, {"TR": "did:plc:cquoj7aozvmkud2gifeinkda"},
                                      clock=lambda: datetime.now(UTC), timeout=2) as bw, \
            MastodonWatcher.connect("mastodon.social", masto.base_url, timeout=2) as mw:
        lookups = PlatformLookups({
            "x": b.x, "bluesky": x_lookup(bw, SlidingWindow(10, 1), name="Bluesky"),
            "mastodon:mastodon.social": x_lookup(mw, SlidingWindow(10, 1), name="Mastodon (mastodon.social)")})
        b.service.ownership.lookup = lookups
        b.service.ownership.polls = lookups.polls
        yield b


async def test_a_bluesky_claim_is_proved_by_the_code_in_its_description(bot: Bot, bsky: BlueskySandbox) -> None:
    did = bsky.add_account("mahir.bsky.social")
    me = bot.private(JOURNALIST)
    started = await bot.say(me, "/watch bsky:Mahir.bsky.social")
    assert "Bluesky description or display name" in bot.plain(started)
    missing = await bot.say(me, "/verify")
    assert "is not in its bio or name yet" in bot.plain(missing)
    bsky.set(did, description=f"journalist. {bot.code(started)}")
    verified = await bot.say(me, "/verify")
    assert "Verified: you own @mahir.bsky.social" in bot.plain(verified)
    account = bot.store.find_account("mahir.bsky.social")
    assert account is not None and (account.platform, account.owner_telegram_id) == ("bluesky", JOURNALIST)


async def test_a_mastodon_claim_is_proved_by_the_code_in_its_note(bot: Bot, masto: MastodonSandbox) -> None:
    ident = masto.add_account("mahir")
    me = bot.private(JOURNALIST)
    started = await bot.say(me, "/watch https://mastodon.social/@mahir")
    assert "@mahir@mastodon.social" in bot.plain(started) and "Mastodon bio" in bot.plain(started)
    masto.set(ident, note=f"<p>Reporter. {bot.code(started)}</p>")
    verified = await bot.say(me, "/verify @mahir@mastodon.social")
    assert "Verified: you own @mahir@mastodon.social" in bot.plain(verified)
    account = bot.store.find_account("mahir@mastodon.social")
    assert account is not None and account.platform == "mastodon"


async def test_a_suspended_bluesky_account_cannot_be_verified(bot: Bot, bsky: BlueskySandbox) -> None:
    did = bsky.add_account("gone.bsky.social")
    me = bot.private(JOURNALIST)
    await bot.say(me, "/watch bsky:gone.bsky.social")
    bsky.set(did, taken_down=True)
    reply = await bot.say(me, "/verify")
    assert "I could not read @gone.bsky.social on Bluesky" in bot.plain(reply)


async def test_add_takes_every_platform_it_polls_and_refuses_the_others(bot: Bot) -> None:
    admin = bot.private(ADMIN)
    added = await bot.say(admin, "/add https://bsky.app/profile/reporter.bsky.social tag:journalist")
    assert "@reporter.bsky.social is now watched" in bot.plain(added)
    mastodon = await bot.say(admin, "/add @reporter@mastodon.social")
    assert "is now watched" in bot.plain(mastodon)
    refused = await bot.say(admin, "/add reporter@chaos.social")
    assert "does not poll Mastodon accounts like @reporter@chaos.social" in bot.plain(refused)
    platforms = {w.account.handle: w.account.platform
                 for p in ("x", "bluesky", "mastodon") for w in bot.store.watched(p)}
    assert platforms == {"reporter.bsky.social": "bluesky", "reporter@mastodon.social": "mastodon"}


async def test_status_shows_every_platform_of_a_person(bot: Bot) -> None:
    person = "Mahir Zeynalov"
    bot.store.sync_watchlist([("MahirZeynalov", [], person)], T0)
    bot.store.sync_watchlist([("mahir.bsky.social", [], person)], T0, "bluesky")
    bot.store.sync_watchlist([("mahir@mastodon.social", [], person)], T0, "mastodon")
    text = bot.plain(await bot.say(bot.private(JOURNALIST), "/status bsky:mahir.bsky.social"))
    text = text.replace("<b>", "").replace("</b>", "")
    lines = text.splitlines()
    assert lines[0] == "Mahir Zeynalov on 3 platforms"
    assert lines[1] == "@mahir.bsky.social on Bluesky"
    assert "@MahirZeynalov" in text and "@mahir@mastodon.social on Mastodon" in text


async def test_subscribe_takes_platforms_and_a_link_refuses_them(bot: Bot) -> None:
    from tests.helpers_bot import GROUP

    admin_chat = bot.group(ADMIN, admin_of_group=True)
    reply = bot.plain(await bot.say(admin_chat, "/subscribe TR bluesky Mastodon"))
    assert "platforms: bluesky, mastodon" in reply
    sub = bot.outbox.subscriber_by_key(f"tg:{GROUP}")
    assert sub is not None and sub.platforms == frozenset({"bluesky", "mastodon"})
    link = bot.plain(await bot.say(bot.private(ADMIN), "/link bluesky 7d"))
    assert "a link carries no platform filter" in link
