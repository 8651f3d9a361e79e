"""The Telegram bot's core without PTB: filters, links, codes, limits, claims and the command rules."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.chatbot.caller import Caller
from bot.chatbot.claims import CODE_PREFIX, code_in_profile, new_code
from bot.chatbot.links import (
    Filters,
    LinkError,
    UsageError,
    link_secret,
    parse_filters,
    parse_link_args,
    read_link,
    sign_link,
)
from bot.chatbot.replies import fit
from bot.chatbot.service import COMMANDS, FloodGate, Gate, SelfService
from bot.storage.claims import ClaimBook
from tests.helpers_bot import ADMIN, GROUP, JOURNALIST, OTHER, SECRET, T0, Bot


@pytest.fixture
def bot() -> Bot:
    return Bot()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], Filters()),
        (["TR", "IN"], Filters(countries=("TR", "IN"))),
        (["tr,in"], Filters(countries=("TR", "IN"))),
        (["restricted"], Filters(events=("restricted",))),
        (["TR", "withheld", "unwithheld", "tag:journalist"],
         Filters(("TR",), ("withheld", "unwithheld"), ("journalist",))),
        (["#Journalist", "XX"], Filters(countries=("XX",), tags=("journalist",))),
        (["TR", "TR", "Restricted"], Filters(countries=("TR",), events=("restricted",))),
    ],
)
def test_subscribe_arguments_become_filters(args: list[str], expected: Filters) -> None:
    assert parse_filters(args) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["TUR"], "did you mean TR"),
        (["QQ"], "not an ISO 3166 alpha-2 code"),
        (["everything"], "is not a country code, event kind or group"),
        (["tag:bad!"], "is not a tag"),
        (["tag:"], "is not a tag"),
        (["<b>"], "is not a country code"),
    ],
)
def test_junk_subscribe_arguments_are_usage_errors(args: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_filters(args)


def test_link_arguments_take_an_expiry_anywhere() -> None:
    filters, lasts = parse_link_args(["TR", "7d", "restricted"])
    assert (filters, lasts) == (Filters(("TR",), ("restricted",)), timedelta(days=7))
    assert parse_link_args([])[1] == timedelta(days=30)
    with pytest.raises(UsageError, match="between 1 minute and 366 days"):
        parse_link_args(["400d"])


def test_a_signed_link_round_trips_in_64_safe_characters() -> None:
    filters = Filters(("TR", "IN", "RU", "BY"), ("restricted", "unwithheld"), ("journalist", "media"))
    token = sign_link(filters, T0 + timedelta(days=7), SECRET)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", token)
    assert read_link(token, SECRET, T0) == filters


def test_a_forged_or_damaged_link_is_refused() -> None:
    token = sign_link(Filters(("TR",)), T0 + timedelta(days=1), SECRET)
    flipped = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    for bad in (flipped, token[:-1], token + "x", "hello", "a" * 65, "bad token!"):
        with pytest.raises(LinkError) as caught:
            read_link(bad, SECRET, T0)
        assert not caught.value.expired
    with pytest.raises(LinkError):
        read_link(token, link_secret("999:another-bot"), T0)


def test_an_expired_link_is_refused_as_expired() -> None:
    token = sign_link(Filters(), T0 + timedelta(hours=1), SECRET)
    assert read_link(token, SECRET, T0 + timedelta(minutes=59)) == Filters()
    with pytest.raises(LinkError) as caught:
        read_link(token, SECRET, T0 + timedelta(hours=1))
    assert caught.value.expired


def test_filters_too_long_for_a_link_are_a_usage_error() -> None:
    many = Filters(tuple("TR IN RU BY CN IR EG SA AE PK BD VN TH MY ID PH".split()), ("restricted",))
    with pytest.raises(UsageError, match="64 characters"):
        sign_link(many, T0, SECRET)


def test_codes_are_random_base32_and_found_in_bio_or_name_in_any_case() -> None:
    code = new_code(lambda n: b"\x00" * n)
    assert code == "presswatch-AAAAAAAA"
    assert re.fullmatch(r"presswatch-[A-Z2-7]{8}", new_code()) and new_code() != new_code()
    assert code_in_profile(code, "Reporter. PRESSWATCH-aaaaaaaa", "Jane")
    assert code_in_profile(code, "", f"Jane {code}")
    assert not code_in_profile(code, "presswatch-AAAAAAAB", None)


def test_the_flood_gate_refuses_once_then_stays_silent_until_the_minute_passes() -> None:
    gate = FloodGate(limit=20)
    verdicts = [gate.check(7, T0 + timedelta(seconds=i * 0.1)) for i in range(100)]
    assert verdicts[:20] == [Gate.OK] * 20
    assert verdicts[20] == Gate.REFUSE and set(verdicts[21:]) == {Gate.SILENT}
    assert gate.check(8, T0) == Gate.OK  # another sender has their own count
    assert gate.check(7, T0 + timedelta(seconds=60)) == Gate.OK


def test_every_command_has_a_short_description() -> None:
    assert all(3 <= len(command.description) <= 256 and command.name.islower() for command in COMMANDS)


async def test_a_journalist_proves_a_handle_with_the_code_in_the_bio(bot: Bot) -> None:
    reply = await bot.say(bot.private(JOURNALIST), "/watch @JaneDoe")
    code = bot.code(reply)
    assert "expires 2025-03-02 12:00 UTC" in reply.text
    bot.x.profiles["janedoe"] = (f"Reporter. {code}", "Jane")
    verified = await bot.say(bot.private(JOURNALIST), "/verify")
    assert "Verified: you own @JaneDoe" in verified.text and "remove the code" in verified.text
    account = bot.store.find_account("JaneDoe")
    assert account is not None and (account.source, account.owner_telegram_id) == ("telegram", JOURNALIST)
    sub = bot.outbox.subscriber_by_key(f"owner:{JOURNALIST}:{account.pk}")
    assert sub is not None and sub.address == str(JOURNALIST) and sub.accounts == {account.pk}
    assert ClaimBook(bot.db).latest(JOURNALIST).status == "verified"  # type: ignore[union-attr]


async def test_a_wrong_code_changes_nothing(bot: Bot) -> None:
    await bot.say(bot.private(JOURNALIST), "/watch JaneDoe")
    bot.x.profiles["janedoe"] = ("presswatch-AAAAAAAA", "Jane")
    reply = await bot.say(bot.private(JOURNALIST), "/verify")
    assert "not in its bio or name yet" in reply.text
    assert bot.store.find_account("JaneDoe") is None
    assert len(ClaimBook(bot.db).pending(user_id=JOURNALIST)) == 1


async def test_an_expired_code_is_refused_even_when_it_is_in_the_bio(bot: Bot) -> None:
    code = bot.code(await bot.say(bot.private(JOURNALIST), "/watch @JaneDoe"))
    bot.x.profiles["janedoe"] = (code, "Jane")
    bot.clock.now = T0 + timedelta(hours=24)
    reply = await bot.say(bot.private(JOURNALIST), "/verify")
    assert "expired" in reply.text and "/watch @JaneDoe" in reply.text
    assert bot.store.find_account("JaneDoe") is None and bot.x.asked == []


async def test_x_being_down_keeps_the_claim(bot: Bot) -> None:
    await bot.say(bot.private(JOURNALIST), "/watch @JaneDoe")
    bot.x.down = True
    assert "try /verify later" in (await bot.say(bot.private(JOURNALIST), "/verify")).text
    assert len(ClaimBook(bot.db).pending(user_id=JOURNALIST)) == 1


async def test_verify_asks_x_at_most_three_times_in_ten_minutes(bot: Bot) -> None:
    me = bot.private(JOURNALIST)
    await bot.say(me, "/watch @JaneDoe")
    for _ in range(3):
        assert "could not read @JaneDoe" in (await bot.say(me, "/verify")).text
    assert "Try /verify again in 10 min" in (await bot.say(me, "/verify")).text
    assert len(bot.x.asked) == 3
    bot.clock.now = T0 + timedelta(minutes=10)
    await bot.say(me, "/verify")
    assert len(bot.x.asked) == 4


async def test_at_most_five_claims_wait_per_user_and_a_repeat_gives_the_same_code(bot: Bot) -> None:
    me = bot.private(JOURNALIST)
    first = bot.code(await bot.say(me, "/watch @acct0"))
    for n in range(1, 5):
        await bot.say(me, f"/watch @acct{n}")
    assert bot.code(await bot.say(me, "/watch @ACCT0")) == first
    assert "already have 5 pending claims" in (await bot.say(me, "/watch @acct5")).text
    assert len(ClaimBook(bot.db).pending(user_id=JOURNALIST)) == 5
    bot.clock.now = T0 + timedelta(days=1, seconds=1)
    assert CODE_PREFIX in (await bot.say(me, "/watch @acct5")).text  # the old ones expired


async def test_a_handle_has_one_owner(bot: Bot) -> None:
    code = bot.code(await bot.say(bot.private(JOURNALIST), "/watch @JaneDoe"))
    rival = bot.code(await bot.say(bot.private(OTHER), "/watch @JaneDoe"))
    bot.x.profiles["janedoe"] = (f"{code} {rival}", "Jane")
    verified = await bot.say(bot.private(JOURNALIST), "/verify")
    assert verified.notify == ((OTHER, "Your claim on @JaneDoe was closed: it has an owner now."),)
    assert "already has an owner" in (await bot.say(bot.private(OTHER), "/watch @janedoe")).text
    assert "no pending claim" in (await bot.say(bot.private(OTHER), "/verify")).text
    assert bot.store.find_account("JaneDoe").owner_telegram_id == JOURNALIST  # type: ignore[union-attr]


async def test_a_config_handle_gets_an_owner_but_stays_the_configs(bot: Bot) -> None:
    bot.store.sync_watchlist([("MahirZeynalov", ["journalist"])], T0)
    code = bot.code(await bot.say(bot.private(JOURNALIST), "/watch @mahirzeynalov"))
    bot.x.profiles["mahirzeynalov"] = ("", f"Mahir {code}")
    assert "stays in the operator's config" in (await bot.say(bot.private(JOURNALIST), "/verify")).text
    account = bot.store.find_account("MahirZeynalov")
    assert account is not None and (account.source, account.owner_telegram_id) == ("config", JOURNALIST)
    removed = await bot.say(bot.private(ADMIN), "/remove @MahirZeynalov")
    assert "this handle is in the operator's config" in removed.text
    left = await bot.say(bot.private(JOURNALIST), "/unwatch @MahirZeynalov")
    assert "this handle is in the operator's config" in left.text
    account = bot.store.find_account("MahirZeynalov")
    assert account is not None and account.owner_telegram_id is None and account.source == "config"
    assert not bot.outbox.subscriber_by_key(f"owner:{JOURNALIST}:{account.pk}").enabled  # type: ignore[union-attr]


async def test_unwatch_is_for_the_owner_or_an_admin(bot: Bot) -> None:
    code = bot.code(await bot.say(bot.private(JOURNALIST), "/watch @JaneDoe"))
    bot.x.profiles["janedoe"] = (code, "Jane")
    await bot.say(bot.private(JOURNALIST), "/verify")
    assert "Only the owner" in (await bot.say(bot.private(OTHER), "/unwatch @JaneDoe")).text
    assert bot.store.find_account("JaneDoe") is not None
    assert "no longer watched" in (await bot.say(bot.private(JOURNALIST), "/unwatch @JaneDoe")).text
    assert bot.store.find_account("JaneDoe") is None
    assert bot.outbox.subscribers() == []


async def test_approve_mode_needs_no_code_and_tells_both_sides(bot: Bot) -> None:
    bot = Bot(mode="approve")
    started = await bot.say(bot.private(JOURNALIST), "/watch @JaneDoe")
    assert "waits for an admin's approval" in started.text and started.notify[0][0] == ADMIN
    assert "no code is needed" in (await bot.say(bot.private(JOURNALIST), "/verify")).text
    listed = await bot.say(bot.group(ADMIN, admin_of_group=True), "/pending")
    assert "@JaneDoe" in listed.text and str(JOURNALIST) not in listed.text
    approved = await bot.say(bot.private(ADMIN), "/approve @JaneDoe")
    assert "Approved claim #1" in approved.text
    assert approved.notify[0][0] == JOURNALIST and "was approved" in approved.notify[0][1]
    assert bot.store.find_account("JaneDoe").owner_telegram_id == JOURNALIST  # type: ignore[union-attr]
    assert "already decided" in (await bot.say(bot.private(ADMIN), "/reject 1")).text


async def test_off_mode_refuses_watch_politely() -> None:
    bot = Bot(mode="off")
    assert "turned off" in (await bot.say(bot.private(JOURNALIST), "/watch @JaneDoe")).text
    assert ClaimBook(bot.db).pending() == []


@pytest.mark.parametrize("command", ["/add @Someone", "/remove @Someone", "/pending", "/approve 1", "/reject 1",
                                     "/subscribers", "/health", "/link TR"])
async def test_non_admins_never_reach_admin_commands(bot: Bot, command: str) -> None:
    assert (await bot.say(bot.private(OTHER), command)).text == "Sorry, admins only."
    assert bot.store.find_account("Someone") is None


async def test_admins_add_with_tags_and_remove(bot: Bot) -> None:
    reply = await bot.say(bot.private(ADMIN), "/add @Someone journalist tag:turkey")
    assert "@Someone is now watched. Tags: journalist, turkey." in reply.text
    assert "is not a tag" in (await bot.say(bot.private(ADMIN), "/add @x Bad!")).text
    assert "no longer watched" in (await bot.say(bot.private(ADMIN), "/remove @Someone")).text


async def test_only_group_admins_change_the_groups_subscription(bot: Bot) -> None:
    member = bot.group(OTHER, admin_of_group=False)
    assert "Only this group's admins" in (await bot.say(member, "/subscribe TR")).text
    assert bot.outbox.subscriber_by_key(f"tg:{GROUP}") is None
    reply = await bot.say(bot.group(OTHER, admin_of_group=True), "/subscribe TR restricted")
    assert reply.text.startswith("Subscribed.") and "Turkey (TR)" in reply.text
    sub = bot.outbox.subscriber_by_key(f"tg:{GROUP}")
    assert sub is not None and sub.countries == {"TR"} and sub.address == str(GROUP)
    assert "Only this group's admins" in (await bot.say(member, "/unsubscribe")).text
    assert "events: restricted" in (await bot.say(member, "/settings")).text


async def test_a_group_that_became_a_supergroup_keeps_its_one_subscription(bot: Bot) -> None:
    await bot.say(Caller(OTHER, -300, "group", "Desk", False, True), "/subscribe TR")
    sub = bot.outbox.subscriber_by_key("tg:-300")
    assert sub is not None
    bot.outbox.move_address(sub.id, str(GROUP))  # what the dispatcher does on ChatMigrated
    reply = await bot.say(bot.group(OTHER, admin_of_group=True), "/subscribe IN")
    assert reply.text.startswith("Subscription updated")
    assert [s.countries for s in bot.outbox.subscribers()] == [frozenset({"IN"})]


async def test_unsubscribe_and_subscribe_again(bot: Bot) -> None:
    me = bot.private(OTHER)
    await bot.say(me, "/subscribe")
    assert "Unsubscribed" in (await bot.say(me, "/unsubscribe")).text
    assert "not subscribed" in (await bot.say(me, "/unsubscribe")).text
    assert "not subscribed" in (await bot.say(me, "/settings")).text
    assert (await bot.say(me, "/subscribe IN")).text.startswith("Subscribed.")
    assert bot.outbox.subscriber_by_key(f"tg:{OTHER}").enabled  # type: ignore[union-attr]


async def test_a_deep_link_subscribes_with_its_filters_and_a_forged_one_changes_nothing(bot: Bot) -> None:
    made = await bot.say(bot.private(ADMIN), "/link TR tag:journalist 2d")
    token = re.search(r"\?start=([A-Za-z0-9_-]+)", made.text).group(1)  # type: ignore[union-attr]
    assert "?startgroup=" in made.text
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    refused = await bot.say(bot.private(OTHER), f"/start {forged}")
    assert "not a valid presswatch link" in refused.text and bot.outbox.subscribers() == []
    assert (await bot.say(bot.private(OTHER), f"/start {token}")).text.startswith("Subscribed.")
    sub = bot.outbox.subscriber_by_key(f"tg:{OTHER}")
    assert sub is not None and sub.countries == {"TR"} and sub.tags == {"journalist"}
    bot.clock.now = T0 + timedelta(days=2)
    assert "has expired" in (await bot.say(bot.private(JOURNALIST), f"/start {token}")).text


@pytest.mark.parametrize(
    ("command", "usage"),
    [("/status", "Usage: /status @handle"), ("/status not a handle", "Usage: /status @handle"),
     ("/history @a @b", "Usage: /history"), ("/list x", "Usage: /list"), ("/watch", "Usage: /watch"),
     ("/unsubscribe now", "Usage: /unsubscribe"), ("/subscribe TR bogus", "Usage: /subscribe"),
     ("/frobnicate", "I do not know /frobnicate")],
)
async def test_junk_gets_a_short_usage_reply(bot: Bot, command: str, usage: str) -> None:
    assert usage in (await bot.say(bot.private(OTHER), command)).text


async def test_replies_escape_outside_values(bot: Bot) -> None:
    reply = await bot.say(bot.private(OTHER), "/subscribe <b>&")
    assert "<b>" not in reply.text and "&lt;b&gt;&amp;" in reply.text
    await bot.say(bot.group(ADMIN, admin_of_group=True), "/subscribe")
    assert "<Freedom>" not in (await bot.say(bot.private(ADMIN), "/subscribers")).text


async def test_subscribers_and_health_show_no_ids_in_groups(bot: Bot) -> None:
    await bot.say(bot.private(OTHER), "/subscribe")
    in_group = await bot.say(bot.group(ADMIN, admin_of_group=True), "/subscribers")
    assert "Enabled: 1 (telegram 1)" in in_group.text and str(OTHER) not in in_group.text
    assert str(OTHER) in (await bot.say(bot.private(ADMIN), "/subscribers")).text
    bot.outbox.disable(bot.outbox.subscriber_by_key(f"tg:{OTHER}").id, "chat 501 blocked")  # type: ignore[union-attr]
    health = await bot.say(bot.group(ADMIN, admin_of_group=True), "/health")
    assert "Disabled subscribers: 1" in health.text and "501" not in health.text
    assert "Last poll: none yet" in health.text


async def test_status_list_and_history_read_the_store(bot: Bot) -> None:
    bot.store.sync_watchlist([(f"acct{n}", []) for n in range(45)], T0)
    assert "not read yet" in (await bot.say(bot.private(OTHER), "/status @acct3")).text
    assert "not on the watchlist" in (await bot.say(bot.private(OTHER), "/status @nobody")).text
    page = await bot.say(bot.private(OTHER), "/list 3")
    assert "page 3 of 3" in page.text and page.text.count("@acct") == 5
    assert "No changes recorded for @acct3" in (await bot.say(bot.private(OTHER), "/history @acct3")).text


def test_fit_keeps_whole_lines_under_the_limit() -> None:
    text = fit([f"<b>line {n}</b> " + "x" * 90 for n in range(200)])
    assert len(text) < 4096 and text.endswith("(more not shown)") and text.count("<b>") == text.count("</b>")
    assert len(fit(["<b>" + "y" * 5000 + "</b>"])) < 4096


async def test_health_names_each_platforms_last_poll_beside_xs() -> None:
    bot = Bot()
    lanes = [("bluesky", "Bluesky"), ("mastodon:mastodon.social", "Mastodon (mastodon.social)")]
    bot.service = SelfService(bot.store, bot.outbox, ClaimBook(bot.db), admins=[ADMIN], mode="verify",
                              secret=SECRET, lookup=bot.x, clock=bot.clock, lanes=lanes)
    poll = bot.store.start_poll(T0, "bluesky")
    bot.store.finish_poll(poll, T0 + timedelta(seconds=2), requests=2, ok=40, failed=1, error=None,
                          rate_remaining=None, rate_reset_at=None)
    health = (await bot.say(bot.private(ADMIN), "/health")).text
    assert "Last poll: none yet" in health  # X's: a Bluesky poll is not X's
    assert f"Bluesky: last poll {T0.isoformat()}: 40 read, 1 not read, 2 requests" in health
    assert "Mastodon (mastodon.social): no poll yet" in health
