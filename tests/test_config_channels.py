"""The config of issue 13: i18n, the matrix section, and subscribers with a webhook, a matrix_room or a language."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_config import BASE, load, problems

from bot.daemon.parts import subscriber_specs

SLACK = "https://hooks.slack.com/services/T000/B000/XXXXtokenXXXX"
ENV = {"X_BEARER_TOKEN": "x-token-1234", "SLACK_WEBHOOK_URL": SLACK, "HOOK_SECRET": "hook-secret-99",
       "MATRIX_ACCESS_TOKEN": "syt_matrix_token_77", "TELEGRAM_BOT_TOKEN": "123456:abcdefghijklmnopqrstuvwxyz"}
CONTRACT = BASE + """\
i18n:
  default_language: tr
matrix:
  homeserver: https://matrix.example.org
  access_token: ${MATRIX_ACCESS_TOKEN}
telegram:
  bot_token: ${TELEGRAM_BOT_TOKEN}
subscribers:
  - name: IPI Türkiye
    telegram_chat: -100123
    language: tr
  - name: Newsroom Slack
    webhook: {url: "${SLACK_WEBHOOK_URL}", format: slack}
  - name: Partner system
    webhook: {url: https://partner.example/hooks/presswatch, format: json, secret: "${HOOK_SECRET}"}
  - name: Safety room
    matrix_room: "!AbCdEf:example.org"
    language: hi-IN
"""


def test_the_issues_contract_loads_and_becomes_subscriber_rows(tmp_path: Path) -> None:
    config = load(tmp_path, CONTRACT, ENV)
    assert config.i18n.default_language == "tr"
    rows = {spec.name: (spec.channel, spec.address, spec.language) for spec in subscriber_specs(config)}
    assert rows == {
        "IPI Türkiye": ("telegram", "-100123", "tr"),
        "Newsroom Slack": ("webhook", SLACK, ""),
        "Partner system": ("webhook", "https://partner.example/hooks/presswatch", ""),
        "Safety room": ("matrix", "!AbCdEf:example.org", "hi"),
    }
    assert {SLACK, "hook-secret-99", "syt_matrix_token_77"} <= set(config.secrets())


def found(tmp_path: Path, text: str) -> dict[str, str]:
    return {problem.path: str(problem) for problem in problems(tmp_path, text, ENV)}


def test_an_unknown_language_is_a_validate_error_naming_it(tmp_path: Path) -> None:
    text = CONTRACT.replace("default_language: tr", "default_language: xx-q").replace("language: tr", "language: de")
    got = found(tmp_path, text)
    assert "presswatch has no German catalog ('de'); it speaks en, hi, tr (line 17)" in got["subscribers.0.language"]
    assert "'xx-q' is not a language code" in got["i18n.default_language"]


def test_a_bad_webhook_url_is_refused_without_showing_it(tmp_path: Path) -> None:
    got = found(tmp_path, CONTRACT.replace("https://partner.example/hooks/presswatch", "ftp://partner/tok-3141"))
    assert "is not an http:// or https:// URL" in got["subscribers.2.webhook.url"]
    assert "tok-3141" not in "\n".join(got.values())


def test_a_repeated_webhook_url_is_named_by_the_first_never_by_its_value(tmp_path: Path) -> None:
    text = CONTRACT + '  - name: Again\n    webhook: {url: "${SLACK_WEBHOOK_URL}", format: slack}\n'
    got = found(tmp_path, text)
    assert "duplicate: the same webhook URL as subscribers.1" in got["subscribers.4.webhook.url"]
    assert "XXXXtokenXXXX" not in "\n".join(got.values())


@pytest.mark.parametrize(("change", "path", "message"), [
    (("format: slack}", "format: teams}"), "subscribers.1.webhook.format", "Input should be 'json', 'slack'"),
    (("format: slack}", 'format: slack, secret: "${HOOK_SECRET}"}'), "subscribers.1.webhook",
     "secret signs json webhooks only"),
    (('matrix_room: "!AbCdEf:example.org"', 'matrix_room: "#alerts:example.org"'), "subscribers.3.matrix_room",
     "is not a Matrix room id"),
    (("    telegram_chat: -100123\n", "    telegram_chat: -100123\n    matrix_room: '!x'\n"), "subscribers.0",
     "exactly one of email, telegram_chat, webhook or matrix_room"),
])
def test_channel_mistakes_are_named(tmp_path: Path, change: tuple[str, str], path: str, message: str) -> None:
    got = found(tmp_path, CONTRACT.replace(*change))
    assert message in got[path], got
    assert "XXXXtokenXXXX" not in "\n".join(got.values()) and "hook-secret-99" not in "\n".join(got.values())


def test_a_matrix_room_needs_the_matrix_section(tmp_path: Path) -> None:
    section = "matrix:\n  homeserver: https://matrix.example.org\n  access_token: ${MATRIX_ACCESS_TOKEN}\n"
    text = CONTRACT.replace(section, "")
    assert "needs a matrix section at the top level" in found(tmp_path, text)["subscribers.3.matrix_room"]


def test_a_room_id_of_room_version_12_has_no_server_part(tmp_path: Path) -> None:
    config = load(tmp_path, CONTRACT.replace("!AbCdEf:example.org", "!31hneApxJ_1o-63DmFrpeqnkFfWppnzWso1JvH3ogLM"),
                  ENV)
    assert config.subscribers[3].matrix_room == "!31hneApxJ_1o-63DmFrpeqnkFfWppnzWso1JvH3ogLM"
