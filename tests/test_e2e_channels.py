"""Webhooks and Matrix end to end through `presswatch run`: each body's shape, the signed JSON payload against
its schema, 429/5xx/410 of a webhook and M_LIMIT_EXCEEDED/M_FORBIDDEN of Matrix, and kill -9 in the middle
of a Matrix send leaving exactly one message in the room."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from e2e import HOOK_SECRET, WAIT, Daemon, cycles, db_rows, wait_until, write_config

from bot.sandbox.matrix_api import MatrixSandbox
from bot.sandbox.telegram_api import TelegramSandbox
from bot.sandbox.webhook_sink import WebhookSink
from bot.sandbox.x_api import XSandbox
from notifiers.webhook import sign

SCHEMA = json.loads((Path(__file__).parents[1] / "bot" / "schemas" / "webhook-v1.json").read_text())
OPERATOR = 4004
ROOM = "!safety:sandbox"


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    with WebhookSink() as server:
        yield server


@pytest.fixture
def matrix() -> Iterator[MatrixSandbox]:
    with MatrixSandbox() as server:
        server.add_room(ROOM)
        yield server


def config_for(tmp_path: Path, x: XSandbox, tg: TelegramSandbox, subscribers: list[dict[str, object]],
               matrix: MatrixSandbox | None = None) -> Path:
    x.add_account("watched", name="Watched <b>Reporter</b>")
    tg.add_chat(OPERATOR, "private")
    extra = {"matrix": {"homeserver": matrix.base_url, "access_token": "${MATRIX_ACCESS_TOKEN}"}} if matrix else {}
    return write_config(tmp_path, x_url=x.base_url, tg_url=tg.base_url, watchlist=[{"handle": "watched"}],
                        subscribers=subscribers, operators=[{"name": "ops", "telegram_chat": OPERATOR}], extra=extra)


def hooks(sink: WebhookSink) -> list[dict[str, object]]:
    return [
        {"name": "Partner", "webhook": {"url": sink.add_hook("partner", "json", HOOK_SECRET), "format": "json",
                                        "secret": "${HOOK_SECRET}"}},
        {"name": "Slack", "webhook": {"url": sink.add_hook("slack", "slack"), "format": "slack"}},
        {"name": "Mattermost", "webhook": {"url": sink.add_hook("mattermost", "mattermost"), "format": "mattermost"}},
        {"name": "Discord", "webhook": {"url": sink.add_hook("discord", "discord"), "format": "discord"},
         "language": "tr"},
    ]


def test_each_webhook_gets_its_services_body_and_the_json_one_is_signed(
    x_sandbox: XSandbox, tg_sandbox: TelegramSandbox, sink: WebhookSink, tmp_path: Path
) -> None:
    x = x_sandbox
    config = config_for(tmp_path, x, tg_sandbox, hooks(sink))
    with Daemon(config) as daemon:
        cycles(x, 2)
        x.set_withheld("watched", ["TR"])
        cycles(x, 3)
        for name in ("partner", "slack", "mattermost", "discord"):
            assert sink.wait_for(name, 1, WAIT), name
        assert daemon.stop() == 0
    [partner] = sink.to("partner")
    jsonschema.validate(partner.body, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert partner.verified is True
    stamp = int(partner.headers["x-presswatch-timestamp"])
    assert partner.headers["x-presswatch-signature"] == sign(HOOK_SECRET, stamp, partner.raw)
    assert partner.body["event"]["kind"] == "withheld" and partner.body["event"]["countries"] == ["TR"]
    assert partner.body["account"]["name"] == "Watched <b>Reporter</b>"
    [slack] = sink.to("slack")
    assert "@watched is now withheld in Turkey (TR)" in slack.body["blocks"][0]["text"]["text"]
    assert "&lt;b&gt;Reporter&lt;/b&gt;" in slack.body["blocks"][0]["text"]["text"]
    assert "@watched is now withheld in Turkey (TR)" in sink.to("mattermost")[0].body["text"]
    [discord] = sink.to("discord")
    assert "Türkiye (TR)" in discord.body["content"] and len(discord.body["content"]) < 2000
    assert all(len(sink.to(name, accepted=False)) == 0 for name in ("partner", "slack", "mattermost", "discord"))
    assert db_rows(config, "SELECT count(*) AS n FROM outbox WHERE status != 'sent'")[0]["n"] == 0


def test_webhook_429_and_5xx_are_retried_and_410_disables_and_tells_the_operators(
    x_sandbox: XSandbox, tg_sandbox: TelegramSandbox, sink: WebhookSink, tmp_path: Path
) -> None:
    x, tg = x_sandbox, tg_sandbox
    config = config_for(tmp_path, x, tg, hooks(sink)[:3])
    sink.fail("partner", "429")
    sink.fail("slack", "500", "500")
    sink.fail("mattermost", "410")
    with Daemon(config) as daemon:
        cycles(x, 2)
        x.set_withheld("watched", ["IN"])
        cycles(x, 3)
        assert sink.wait_for("partner", 1, WAIT) and sink.wait_for("slack", 1, WAIT)
        assert tg.wait_for_replies(OPERATOR, 1, WAIT)
        x.set_withheld("watched", [])
        cycles(x, 3)
        assert sink.wait_for("partner", 2, WAIT) and sink.wait_for("slack", 2, WAIT)
        assert daemon.stop() == 0
    refused, accepted = sink.to("partner", accepted=False), sink.to("partner")
    assert [r.status for r in refused] == [429] and len(accepted) == 2
    assert [r.status for r in sink.to("slack", accepted=False)] == [500, 500] and len(sink.to("slack")) == 2
    assert [r.status for r in sink.received if r.path.endswith("mattermost")] == [410]  # nothing after the 410
    [notice] = tg.sent_to(OPERATOR)
    assert "Mattermost" in notice["plain"] and "disabled" in notice["plain"]
    assert "/hooks/mattermost" not in notice["plain"], "a webhook URL is a secret: only its host is shown"
    subs = {r["name"]: r["enabled"] for r in db_rows(config, "SELECT name, enabled FROM subscribers")}
    assert subs == {"Partner": 1, "Slack": 1, "Mattermost": 0, "ops": 1}
    assert "/hooks/" not in daemon.output()


def test_matrix_limit_exceeded_waits_and_forbidden_disables(
    x_sandbox: XSandbox, tg_sandbox: TelegramSandbox, matrix: MatrixSandbox, tmp_path: Path
) -> None:
    x, tg = x_sandbox, tg_sandbox
    matrix.add_room("!left:sandbox", joined=False)
    config = config_for(tmp_path, x, tg, [{"name": "Safety room", "matrix_room": ROOM},
                                          {"name": "Old room", "matrix_room": "!left:sandbox"}], matrix)
    matrix.fail("429")
    with Daemon(config) as daemon:
        cycles(x, 2)
        x.set_withheld("watched", ["TR"])
        cycles(x, 3)
        assert matrix.wait_for(ROOM, 1, WAIT) and tg.wait_for_replies(OPERATOR, 1, WAIT)
        assert daemon.stop() == 0
    assert len(matrix.room(ROOM)) == 1 and matrix.room("!left:sandbox") == []
    [notice] = tg.sent_to(OPERATOR)
    assert "Old room" in notice["plain"] and "M_FORBIDDEN" in notice["plain"]
    assert db_rows(config, "SELECT count(*) AS n FROM outbox WHERE status = 'sent'")[0]["n"] == 2  # + the notice


def test_kill_9_in_the_middle_of_a_matrix_send_leaves_one_message_in_the_room(
    x_sandbox: XSandbox, tg_sandbox: TelegramSandbox, matrix: MatrixSandbox, tmp_path: Path
) -> None:
    x = x_sandbox
    config = config_for(tmp_path, x, tg_sandbox, [{"name": "Safety room", "matrix_room": ROOM}], matrix)
    matrix.fail("hold")  # the homeserver stores the event, and the answer never comes
    with Daemon(config) as first:
        cycles(x, 2)
        x.set_withheld("watched", ["TR"])
        cycles(x, 2)
        wait_until(lambda: matrix.held == 1, what="the send to be held")
        assert len(matrix.room(ROOM)) == 1
        first.kill()
    assert db_rows(config, "SELECT status FROM outbox")[0]["status"] == "sending"
    with Daemon(config) as second:
        wait_until(lambda: db_rows(config, "SELECT status FROM outbox")[0]["status"] == "sent",
                   what="the resend after the restart")
        assert second.stop() == 0
    assert len(matrix.room(ROOM)) == 1, "the homeserver dropped the resend by its txnId"
    assert matrix.duplicates == 1
