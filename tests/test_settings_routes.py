"""/settings tells every route that brings alerts to a chat: the config's, the chat's own, the owner's."""

from __future__ import annotations

import pytest

from bot.storage.outbox import SubscriberSpec
from tests.helpers_bot import ADMIN, GROUP, JOURNALIST, OTHER, T0, Bot


@pytest.fixture
def bot() -> Bot:
    return Bot()


def config_subscribes(bot: Bot, *specs: SubscriberSpec) -> None:
    """What ``App.sync`` does with the YAML's subscribers and operators."""
    bot.outbox.sync_config(specs, T0)


def desk(chat: int, name: str = "Press desk", countries: tuple[str, ...] = ("TR",)) -> SubscriberSpec:
    return SubscriberSpec(key=f"config:{name}", name=name, channel="telegram", address=str(chat),
                          countries=countries, events=("restricted",))


async def test_a_group_the_config_subscribes_is_told_so(bot: Bot) -> None:
    config_subscribes(bot, desk(GROUP))
    text = bot.plain(await bot.say(bot.group(OTHER, admin_of_group=False), "/settings"))
    assert "not subscribed" not in text
    assert "The operator's config sends alerts here (Press desk): events: restricted; countries: Turkey (TR)" in text
    assert "no subscription of its own: /subscribe adds one" in text


async def test_the_config_route_and_the_chats_own_subscription_are_both_shown(bot: Bot) -> None:
    config_subscribes(bot, desk(GROUP), desk(GROUP, "Night desk", ("IN",)), desk(-999, "Elsewhere", ("RU",)))
    await bot.say(bot.group(OTHER, admin_of_group=True), "/subscribe IN unwithheld")
    lines = bot.plain(await bot.say(bot.group(OTHER, admin_of_group=False), "/settings")).split("\n")
    assert lines[0] == "This chat is subscribed: events: unwithheld; countries: India (IN); tags: all accounts."
    assert lines[1].startswith("The operator's config sends alerts here (Press desk)")
    assert lines[2].startswith("The operator's config sends alerts here (Night desk)") and "India" in lines[2]
    assert not any("Elsewhere" in line or "own:" in line for line in lines)


async def test_a_config_row_removed_from_the_yaml_is_not_a_route(bot: Bot) -> None:
    config_subscribes(bot, desk(GROUP))
    config_subscribes(bot)  # the operator deleted it: disabled, kept for history
    text = bot.plain(await bot.say(bot.group(OTHER, admin_of_group=False), "/settings"))
    assert "This chat is not subscribed" in text and "Press desk" not in text


async def test_a_private_chat_sees_the_alerts_about_the_accounts_it_owns(bot: Bot) -> None:
    me = bot.private(JOURNALIST)
    code = bot.code(await bot.say(me, "/watch @JaneDoe"))
    bot.x.profiles["janedoe"] = (code, "Jane")
    await bot.say(me, "/verify")
    text = bot.plain(await bot.say(me, "/settings"))
    assert "Alerts about @JaneDoe, which you own: events: restricted, restored, other." in text
    assert "no subscription of its own" in text and "not subscribed" not in text
    assert "Alerts about" not in bot.plain(await bot.say(bot.private(OTHER), "/settings"))
    await bot.say(me, "/unwatch @JaneDoe")
    assert "This chat is not subscribed" in bot.plain(await bot.say(me, "/settings"))


async def test_an_unsubscribed_chat_no_longer_shows_its_own_route(bot: Bot) -> None:
    config_subscribes(bot, desk(OTHER))
    me = bot.private(OTHER)
    await bot.say(me, "/subscribe")
    await bot.say(me, "/unsubscribe")
    text = bot.plain(await bot.say(me, "/settings"))
    assert "This chat is subscribed" not in text and "(Press desk)" in text


async def test_an_operator_chat_is_told_it_gets_health_notices(bot: Bot) -> None:
    config_subscribes(bot, SubscriberSpec(key=f"operator:telegram:{ADMIN}", name="On call", channel="telegram",
                                          address=str(ADMIN), operator=True))
    text = bot.plain(await bot.say(bot.private(ADMIN), "/settings"))
    assert "health notices" in text and "This chat is not subscribed" in text
