"""Languages end to end through `presswatch run`: one transition reaches an English, a Turkish and a Hindi
subscriber, each in its language with its country names; the bot answers /help in Turkish."""

from __future__ import annotations

from pathlib import Path

from e2e import WAIT, Daemon, cycles, db_rows, write_config

from bot.sandbox.mail import MailSink
from bot.sandbox.matrix_api import MatrixSandbox
from bot.sandbox.telegram_api import TelegramSandbox
from bot.sandbox.x_api import XSandbox
from tests.helpers_telegram import write_config as bot_config

EN_CHAT, TR_CHAT, DEFAULT_CHAT, OPERATOR = -1003001, -1003002, -1003003, 3003
ROOM = "!safety:sandbox"


def test_one_transition_reaches_each_subscriber_in_its_language(
    x_sandbox: XSandbox, tg_sandbox: TelegramSandbox, mail_sink: MailSink, tmp_path: Path
) -> None:
    x, tg = x_sandbox, tg_sandbox
    x.add_account("MahirZeynalov", name="Mahir Zeynalov")
    for chat in (EN_CHAT, TR_CHAT, DEFAULT_CHAT, OPERATOR):
        tg.add_chat(chat, "supergroup" if chat < 0 else "private")
    with MatrixSandbox() as matrix:
        matrix.add_room(ROOM)
        matrix.add_room("!left:sandbox", joined=False)  # M_FORBIDDEN: an operator notice
        config = write_config(
            tmp_path, x_url=x.base_url, tg_url=tg.base_url, smtp_port=mail_sink.port,
            watchlist=[{"handle": "MahirZeynalov"}],
            subscribers=[{"name": "CPJ", "telegram_chat": EN_CHAT, "language": "en"},
                         {"name": "IPI Türkiye", "telegram_chat": TR_CHAT, "language": "tr"},
                         {"name": "Istanbul desk", "telegram_chat": DEFAULT_CHAT},
                         {"name": "Delhi desk", "email": "desk@rights.test", "language": "hi"},
                         {"name": "Safety room", "matrix_room": ROOM, "language": "hi-IN"},
                         {"name": "Old room", "matrix_room": "!left:sandbox", "language": "en"}],
            operators=[{"name": "ops", "telegram_chat": OPERATOR}],
            extra={"matrix": {"homeserver": matrix.base_url, "access_token": "${MATRIX_ACCESS_TOKEN}"},
                   "i18n": {"default_language": "tr"}})
        with Daemon(config) as daemon:
            cycles(x, 2)
            x.set_withheld("MahirZeynalov", ["TR", "IN"])
            cycles(x, 3)
            assert tg.wait_for_replies(EN_CHAT, 1, WAIT) and tg.wait_for_replies(TR_CHAT, 1, WAIT)
            assert tg.wait_for_replies(DEFAULT_CHAT, 1, WAIT) and tg.wait_for_replies(OPERATOR, 1, WAIT)
            assert mail_sink.wait_for(1, WAIT) and matrix.wait_for(ROOM, 1, WAIT)
            assert daemon.stop() == 0
        [hindi_room] = matrix.room(ROOM)
    [english] = tg.sent_to(EN_CHAT)
    [turkish] = tg.sent_to(TR_CHAT)
    [by_default] = tg.sent_to(DEFAULT_CHAT)
    [notice] = tg.sent_to(OPERATOR)
    [mail] = mail_sink.messages
    assert "@MahirZeynalov is now withheld in India (IN) and Turkey (TR)" in english["plain"]
    assert "@MahirZeynalov artık şu ülkelerde erişime engellendi: Hindistan (IN) ve Türkiye (TR)" in turkish["plain"]
    # No language of its own: the default language (tr); operator notices are in it too.
    assert by_default["plain"] == turkish["plain"]
    assert notice["plain"].startswith("⚠️ presswatch sağlık durumu: Bir abone devre dışı bırakıldı")
    assert "Old room abonesi devre dışı bırakıldı" in notice["plain"] and "bildirim #1" in notice["plain"]
    assert "Yeniden etkinleştirilene kadar uyarıları bekletiliyor." in notice["plain"]
    assert "İlk görülme:" in turkish["plain"]
    assert str(mail["Subject"]) == "[presswatch] @MahirZeynalov भारत (IN) और तुर्किये (TR) में रोका गया"
    body = mail.get_body(("plain",))
    assert body is not None and "@MahirZeynalov को अब भारत (IN) और तुर्किये (TR) में रोक दिया गया है" in body.get_content()
    assert "भारत (IN)" in hindi_room["content"]["body"] and "Turkey" not in hindi_room["content"]["body"]
    statuses = db_rows(config, "SELECT status, count(*) AS n FROM outbox GROUP BY status ORDER BY status")
    assert statuses == [{"status": "held", "n": 1}, {"status": "sent", "n": 6}]  # Old room's alert is held


def test_a_subscriber_without_a_language_reads_english_by_default(
    x_sandbox: XSandbox, tg_sandbox: TelegramSandbox, tmp_path: Path
) -> None:
    x, tg = x_sandbox, tg_sandbox
    x.add_account("someone")
    tg.add_chat(EN_CHAT, "supergroup")
    config = write_config(tmp_path, x_url=x.base_url, tg_url=tg.base_url, watchlist=[{"handle": "someone"}],
                          subscribers=[{"name": "CPJ", "telegram_chat": EN_CHAT}])
    with Daemon(config) as daemon:
        cycles(x, 2)
        x.suspend("someone")
        cycles(x, 3)
        assert tg.wait_for_replies(EN_CHAT, 1, WAIT)
        assert daemon.stop() == 0
    assert "@someone has been suspended" in tg.sent_to(EN_CHAT)[0]["plain"]


def test_the_bot_answers_help_in_turkish_to_a_turkish_client(
    x_sandbox: XSandbox, tg_sandbox: TelegramSandbox, tmp_path: Path
) -> None:
    x, tg = x_sandbox, tg_sandbox
    x.add_account("ConfigDesk")
    with Daemon(bot_config(tmp_path, x, tg)):
        tg.inject_message(801, "/help", from_id=801, language_code="tr")
        tg.inject_message(802, "/help", from_id=802, language_code="en")
        assert tg.wait_for_replies(801, 1, WAIT) and tg.wait_for_replies(802, 1, WAIT)
    [turkish] = tg.sent_to(801)
    [english] = tg.sent_to(802)
    assert turkish["plain"].startswith("presswatch, izlenen bir X hesabı bir ülkede erişime engellendiğinde")
    assert "/language: Bu sohbetteki uyarıların dili: /language tr" in turkish["plain"]
    assert english["plain"].startswith("presswatch tells press-freedom groups")
