"""The bot in each person's language: the real App and PTB against the sandboxes; replies follow Telegram's
language_code, /language sets the language of a chat's alerts, and command descriptions are registered in
every language presswatch has."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.sandbox.telegram_api import TelegramSandbox
from bot.sandbox.x_api import XSandbox
from tests.helpers_telegram import ADMIN, Harness, launch

pytestmark = pytest.mark.timeout(60)
READER, GROUP, GROUP_ADMIN = 700, -1004242, 701


@pytest.fixture
def sandboxes() -> Iterator[tuple[XSandbox, TelegramSandbox]]:
    with XSandbox() as x, TelegramSandbox(per_chat_per_second=None, group_per_minute=None) as tg:
        x.add_account("ConfigDesk")
        yield x, tg


@pytest.fixture
async def bot(tmp_path: Path, sandboxes: tuple[XSandbox, TelegramSandbox]) -> AsyncIterator[Harness]:
    harness = await launch(tmp_path, *sandboxes)
    yield harness
    await harness.app.stop()


@pytest.mark.parametrize(("code", "words"), [
    ("tr", "presswatch, izlenen bir X hesabı"), ("tr-TR", "Uyarıları burada alın"), ("hi", "प्रेस-स्वतंत्रता"),
    ("de", "presswatch tells press-freedom groups"), (None, "presswatch tells press-freedom groups"),
])
async def test_help_is_in_the_senders_telegram_language(bot: Harness, code: str | None, words: str) -> None:
    assert words in await bot.say(READER, "/help", language_code=code)


async def test_usage_and_refusals_are_translated_too(bot: Harness) -> None:
    assert "Kullanım: /status @kullanıcıadı" in await bot.say(READER, "/status", language_code="tr")
    assert "केवल एडमिन" in await bot.say(READER, "/add @x", language_code="hi")
    assert "'TUR' bir ISO 3166 alpha-2 kodu değil (TR mi demek istediniz?)" in await bot.say(
        READER, "/subscribe TUR", language_code="tr")


async def test_a_subscription_speaks_its_makers_language_and_language_changes_it(bot: Harness) -> None:
    answer = await bot.say(READER, "/subscribe TR", language_code="tr")
    assert "Abone olundu" in answer and "Türkiye (TR)" in answer
    bot.x.set_withheld("ConfigDesk", ["TR"])
    alert = (await bot.wait_for(READER, 2))[1]
    assert "@ConfigDesk artık şu ülkelerde erişime engellendi: Türkiye (TR)" in alert
    assert "हिन्दी" in await bot.say(READER, "/language hi", language_code="tr")  # said in the new language
    assert "इस चैट की चेतावनियाँ हिन्दी में हैं" in await bot.say(READER, "/language", language_code="hi")
    bot.x.set_withheld("ConfigDesk", [])
    texts = await bot.wait_for(READER, 5)
    assert "@ConfigDesk पर से अब तुर्किये (TR) में रोक हटा ली गई है" in texts[4]


async def test_language_refuses_a_language_it_does_not_have_and_needs_a_subscription(bot: Harness) -> None:
    assert "'de' is not a language presswatch speaks: en, hi, tr" in await bot.say(READER, "/language de")
    # The answer is in the language asked for: it shows what the alerts would read like.
    assert "önce /subscribe gönderin" in await bot.say(READER, "/language tr", language_code="en")
    bot.tg.add_chat(GROUP, "supergroup", title="Desk", admins=[GROUP_ADMIN])
    await bot.say(GROUP, "/subscribe", user=GROUP_ADMIN, chat_type="supergroup")
    refused = await bot.say(GROUP, "/language tr", user=READER, chat_type="supergroup", language_code="en")
    assert "Bu grubun aboneliğini yalnızca grubun yöneticileri değiştirebilir." in refused


async def test_command_descriptions_are_registered_in_each_language(bot: Harness) -> None:
    def described(code: str) -> dict[str, str]:
        return {c["command"]: c["description"] for c in bot.tg.registered_commands(code)}

    assert described("")["help"] == "What the bot does and its commands"
    assert described("tr")["help"] == "Botun ne yaptığı ve komutları"
    assert described("hi")["help"] == "बॉट क्या करता है और इसके कमांड"
    assert "language" in described("") and ADMIN
