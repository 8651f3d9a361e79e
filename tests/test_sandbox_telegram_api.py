"""The Telegram sandbox, driven by the real python-telegram-bot client over HTTP."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from telegram import Bot, Update
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from bot.sandbox.telegram_api import TelegramSandbox


@pytest.fixture
def sandbox() -> Iterator[TelegramSandbox]:
    with TelegramSandbox() as sb:
        yield sb


@pytest.fixture
async def bot(sandbox: TelegramSandbox) -> AsyncIterator[Bot]:
    request = HTTPXRequest(read_timeout=0.5, connect_timeout=0.5)
    async with Bot(sandbox.token, base_url=sandbox.base_url, request=request) as client:
        yield client


async def test_get_me_is_the_sandbox_bot(bot: Bot, sandbox: TelegramSandbox) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "presswatch_bot", True)
    assert sandbox.calls["getMe"] >= 1


async def test_a_wrong_token_is_an_invalid_token(sandbox: TelegramSandbox) -> None:
    with pytest.raises(InvalidToken):
        await Bot("999:wrong", base_url=sandbox.base_url).get_me()


async def test_an_unknown_method_is_a_bad_request_not_a_404(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="not emulated"):
        await bot.do_api_request("sendHologram", api_kwargs={"chat_id": 1})


async def test_send_message_records_the_text_and_its_plain_form(bot: Bot, sandbox: TelegramSandbox) -> None:
    sandbox.add_chat(42)
    sent = await bot.send_message(42, "<b>Alert</b> &amp; <a href='https://x.com/a'>link</a>", parse_mode="HTML")
    assert sent.message_id == 1 and sent.chat.id == 42
    [record] = sandbox.sent_to(42)
    assert record["plain"] == "Alert & link"
    assert record["text"].startswith("<b>Alert</b>") and record["parse_mode"] == "HTML"


def test_json_and_form_bodies_get_the_same_envelope(sandbox: TelegramSandbox) -> None:
    sandbox.add_chat(1)
    sandbox.add_chat(2)
    url = f"{sandbox.base_url}{sandbox.token}/sendMessage"
    by_json = httpx.post(url, json={"chat_id": 1, "text": "hi"}).json()
    by_form = httpx.post(url, data={"chat_id": "2", "text": "123"}).json()
    assert by_json["ok"] and by_json["result"]["text"] == "hi"
    assert by_form["ok"] and by_form["result"]["text"] == "123"
    missing = httpx.post(url, json={"chat_id": 99, "text": "hi"})
    assert missing.status_code == 400
    assert missing.json() == {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}


@pytest.mark.parametrize(
    ("chat_type", "fault", "error", "text"),
    [
        ("private", "block", Forbidden, "Forbidden: bot was blocked by the user"),
        ("private", "deactivate_user", Forbidden, "Forbidden: user is deactivated"),
        ("group", "kick", Forbidden, "Forbidden: bot was kicked from the group chat"),
        ("supergroup", "kick", Forbidden, "Forbidden: bot was kicked from the supergroup chat"),
        ("channel", "kick", Forbidden, "Forbidden: bot was kicked from the supergroup chat"),
    ],
)
async def test_chat_faults_raise_the_ptb_exception(
    bot: Bot, sandbox: TelegramSandbox, chat_type: str, fault: str, error: type[Exception], text: str
) -> None:
    sandbox.add_chat(-5 if chat_type != "private" else 5, chat_type)
    chat_id = -5 if chat_type != "private" else 5
    getattr(sandbox, fault)(chat_id)
    with pytest.raises(error) as raised:
        await bot.send_message(chat_id, "hello")
    assert str(raised.value) == text
    sandbox.restore(chat_id)
    await bot.send_message(chat_id, "hello again")


async def test_an_unknown_chat_is_chat_not_found(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(404, "hello")


async def test_a_migrated_group_answers_chat_migrated_and_the_new_chat_works(
    bot: Bot, sandbox: TelegramSandbox
) -> None:
    sandbox.add_chat(-10, "group", title="Desk")
    sandbox.migrate(-10, -1001234567890)
    with pytest.raises(ChatMigrated) as raised:
        await bot.send_message(-10, "hello")
    assert raised.value.new_chat_id == -1001234567890
    await bot.send_message(-1001234567890, "hello")
    assert [m["plain"] for m in sandbox.sent_to(-1001234567890)] == ["hello"]


@pytest.mark.parametrize(("kind", "error"), [("500", NetworkError), ("502", NetworkError), ("429", RetryAfter)])
async def test_injected_server_faults(bot: Bot, sandbox: TelegramSandbox, kind: str, error: type[Exception]) -> None:
    sandbox.add_chat(7)
    sandbox.fail_next(kind, retry_after=4)
    with pytest.raises(error) as raised:
        await bot.send_message(7, "hello")
    assert not isinstance(raised.value, BadRequest)
    await bot.send_message(7, "delivered after the fault")
    assert len(sandbox.sent_to(7)) == 1


async def test_a_held_answer_is_a_timeout(bot: Bot, sandbox: TelegramSandbox) -> None:
    sandbox.add_chat(7)
    sandbox.slow_seconds = 1.0
    sandbox.fail_next("timeout")
    with pytest.raises(TimedOut):
        await bot.send_message(7, "hello")


async def test_a_down_sandbox_refuses_then_comes_back_on_the_same_port(bot: Bot, sandbox: TelegramSandbox) -> None:
    sandbox.add_chat(7)
    port = sandbox.port
    sandbox.set_down(True)
    with pytest.raises(NetworkError):
        await bot.send_message(7, "hello")
    sandbox.set_down(False)
    assert sandbox.port == port
    await bot.send_message(7, "hello")


async def test_a_burst_to_one_chat_is_refused_with_retry_after(bot: Bot, sandbox: TelegramSandbox) -> None:
    sandbox.add_chat(8)
    await bot.send_message(8, "first")
    with pytest.raises(RetryAfter, match="Flood control exceeded"):
        await bot.send_message(8, "second")
    assert sandbox.rate_limited_count == 1 and len(sandbox.sent_to(8)) == 1


async def test_the_overall_limit_spans_chats() -> None:
    with TelegramSandbox(overall_per_second=3) as sandbox:
        async with Bot(sandbox.token, base_url=sandbox.base_url) as bot:
            for chat_id in range(1, 5):
                sandbox.add_chat(chat_id)
            for chat_id in range(1, 4):
                await bot.send_message(chat_id, "ok")
            with pytest.raises(RetryAfter):
                await bot.send_message(4, "one too many")


def test_a_group_is_limited_per_minute() -> None:
    with TelegramSandbox(per_chat_per_second=None, group_per_minute=2) as sandbox:
        sandbox.add_chat(-3, "group")
        url = f"{sandbox.base_url}{sandbox.token}/sendMessage"
        for _ in range(2):
            assert httpx.post(url, json={"chat_id": -3, "text": "ok"}).status_code == 200
        refused = httpx.post(url, json={"chat_id": -3, "text": "no"})
        assert refused.status_code == 429
        body = refused.json()
        assert body["parameters"]["retry_after"] >= 59
        assert body["description"] == f"Too Many Requests: retry after {body['parameters']['retry_after']}"


@pytest.mark.parametrize(
    ("html", "plain"),
    [
        ("<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins>", "bsieun"),
        ("<s>a</s><strike>b</strike><del>c</del><code>d</code><pre>e</pre>", "abcde"),
        ('<blockquote>q</blockquote><tg-spoiler>x</tg-spoiler><span class="tg-spoiler">y</span>', "qxy"),
        ("&lt;b&gt; &amp; &quot; &#38; &#x1F600;", '<b> & " & 😀'),
        ("a > b", "a > b"),
    ],
)
async def test_valid_html_is_accepted(bot: Bot, sandbox: TelegramSandbox, html: str, plain: str) -> None:
    sandbox.add_chat(9)
    await bot.send_message(9, html, parse_mode="HTML")
    assert sandbox.sent_to(9)[0]["plain"] == plain


@pytest.mark.parametrize(
    "html", ["a < b", "<b>open", "<b>x</i>", "<div>x</div>", "&nbsp;", "a & b", "<span>x</span>", "<a>x</a>"]
)
async def test_invalid_html_is_refused(bot: Bot, sandbox: TelegramSandbox, html: str) -> None:
    sandbox.add_chat(9)
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_message(9, html, parse_mode="HTML")
    assert sandbox.messages == []


@pytest.mark.parametrize(
    ("text", "error"),
    [("a" * 4097, "Message is too long"), ("<b></b>", "Message text is empty"), ("<i> </i>", "Message text is empty")],
)
async def test_text_length_is_checked_after_entity_parsing(
    bot: Bot, sandbox: TelegramSandbox, text: str, error: str
) -> None:
    sandbox.add_chat(9)
    with pytest.raises(BadRequest, match=error):
        await bot.send_message(9, text, parse_mode="HTML")


async def test_4096_characters_after_parsing_fit(bot: Bot, sandbox: TelegramSandbox) -> None:
    sandbox.add_chat(9)
    await bot.send_message(9, "&amp;" * 4096, parse_mode="HTML")
    assert len(sandbox.sent_to(9)[0]["plain"]) == 4096


async def test_get_updates_offset_confirms_older_updates(bot: Bot, sandbox: TelegramSandbox) -> None:
    for text in ("/start", "/help", "hello"):
        sandbox.inject_message(11, text)
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [1, 2, 3]
    assert updates[0].message is not None and updates[0].message.text == "/start"
    assert [u.update_id for u in await bot.get_updates(offset=2, limit=1)] == [2]
    assert [u.update_id for u in await bot.get_updates(offset=3)] == [3]
    assert await bot.get_updates(offset=4) == ()
    assert sandbox.pending_updates == []


async def test_a_long_poll_is_cut_to_one_second(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=30, read_timeout=5) == ()
    assert time.monotonic() - started < 3


async def test_injected_updates_parse_as_ptb_objects(bot: Bot, sandbox: TelegramSandbox) -> None:
    command = Update.de_json(sandbox.inject_message(-20, "/watch@presswatch_bot jack", chat_type="group"), bot)
    assert command.message is not None and command.message.entities[0].length == len("/watch@presswatch_bot")
    added = Update.de_json(sandbox.inject_my_chat_member(-21, new_status="administrator"), bot)
    assert added.my_chat_member is not None and added.my_chat_member.new_chat_member.status == "administrator"
    post = Update.de_json(sandbox.inject_channel_post(-1003, "news", title="Wire"), bot)
    assert post.channel_post is not None and post.channel_post.chat.title == "Wire"


def test_waiting_for_messages_is_bounded(sandbox: TelegramSandbox) -> None:
    assert sandbox.wait_for_messages(1, timeout=0.05) is False


async def test_an_application_answers_an_injected_start_command(sandbox: TelegramSandbox) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Greet the user."""
        assert update.effective_message is not None
        await update.effective_message.reply_text("Welcome to presswatch")

    app: Application = ApplicationBuilder().token(sandbox.token).base_url(sandbox.base_url).build()
    app.add_handler(CommandHandler("start", start))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling()
    try:
        sandbox.inject_message(555, "/start", from_username="reporter")
        sandbox.inject_message(-30, "/start@presswatch_bot", chat_type="group", from_id=555)
        assert await sandbox.wait_for_replies_async(555, 1, timeout=5)
        assert await sandbox.wait_for_replies_async(-30, 1, timeout=5)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert sandbox.sent_to(555)[0]["plain"] == "Welcome to presswatch"
    assert sandbox.calls["deleteWebhook"] == 1
    assert sandbox.pending_updates == []


def unparseable_message(chat_id: int) -> dict[str, object]:
    """A message whose sender has no ``id`` and ``is_bot``: PTB's Update.de_json raises TypeError."""
    return {"message": {"message_id": 1, "date": 0, "chat": {"id": chat_id, "type": "private", "first_name": "A"},
                        "text": "/help", "from": {"first_name": "A"}}}


async def test_a_raw_update_is_served_as_is_even_one_ptb_cannot_parse(bot: Bot, sandbox: TelegramSandbox) -> None:
    bad = sandbox.inject_raw_update(unparseable_message(11))
    sandbox.inject_message(11, "/help")
    assert bad["update_id"] == 1 and bad["message"]["from"] == {"first_name": "A"}
    with pytest.raises(TypeError, match="is_bot"):
        await bot.get_updates()  # PTB parses a batch all or nothing
    status, body = sandbox.handle(f"/bot{sandbox.token}/getUpdates", {})
    assert status == 200 and isinstance(body, dict) and [u["update_id"] for u in body["result"]] == [1, 2]


def test_calls_with_a_wrong_token_are_refused_and_counted(sandbox: TelegramSandbox) -> None:
    status, body = sandbox.handle("/bot999:wrong/getMe", {})
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    assert sandbox.refused["getMe"] == 1 and sandbox.calls["getMe"] == 0
