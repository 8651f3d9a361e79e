"""The operations side of a real `presswatch run`'s web server: /healthz through an X outage and a refusal,
one-click unsubscribe from alert emails (RFC 8058), and a listen address already taken."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from e2e import WAIT, db_rows, presswatch, wait_until
from helpers_web import World, running_world, world_config

from bot.sandbox.mail import MailSink
from bot.sandbox.telegram_api import TelegramSandbox
from bot.sandbox.x_api import XSandbox

pytestmark = pytest.mark.timeout(180)


def health(world: World) -> tuple[int, dict[str, object]]:
    response = world.get("/healthz")
    return response.status_code, response.json()


def test_healthz_flips_to_503_while_x_is_down_and_back_after(tmp_path: Path) -> None:
    with running_world(tmp_path, played=False) as world:
        wait_until(lambda: health(world)[0] == 200 and health(world)[1]["last_successful_poll"], what="a good poll")
        world.x.set_down(True)
        wait_until(lambda: health(world)[0] == 503, what="/healthz to fail while X is down")
        _status, body = health(world)
        assert body["status"] == "failing" and "no successful poll" in str(body["problem"])
        world.x.set_down(False)
        wait_until(lambda: health(world)[0] == 200, what="/healthz to recover")
        _status, body = health(world)
        assert body["status"] == "ok" and body["problem"] is None


def test_healthz_fails_at_once_when_x_refuses_the_app(tmp_path: Path) -> None:
    with running_world(tmp_path, played=False) as world:
        wait_until(lambda: health(world)[0] == 200 and health(world)[1]["last_successful_poll"], what="a good poll")
        world.x.fail_next("401", 20)
        wait_until(lambda: health(world)[0] == 503, what="/healthz to fail on a 401")
        assert "credentials" in str(health(world)[1]["problem"])
        wait_until(lambda: health(world)[0] == 200, what="/healthz to recover once X takes the token again")


def enabled(world: World) -> dict[str, bool]:
    return {row["name"]: bool(row["enabled"]) for row in db_rows(world.config, "SELECT name, enabled FROM subscribers")}


def mails(world: World, to: str, about: str = "") -> list[object]:
    return [m for m in world.mail.messages if to in m.rcpt_tos and about in str(m["Subject"])]


def test_one_click_unsubscribe_disables_exactly_that_subscriber_and_a_forged_link_changes_nothing(
        tmp_path: Path) -> None:
    with running_world(tmp_path) as world:
        desk = mails(world, "desk@rights.test")[0]
        link = str(desk["List-Unsubscribe"]).strip().strip("<>")
        assert link.startswith(world.url + "/unsubscribe/")
        assert desk["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        second = str(mails(world, "second@rights.test")[0]["List-Unsubscribe"]).strip().strip("<>")
        assert second != link
        before = enabled(world)
        assert httpx.get(link).status_code == 200 and "Unsubscribe</button>" in httpx.get(link).text
        token = link.rsplit("/", 1)[1]
        ident, mac = token.split(".")
        other_id = second.rsplit("/", 1)[1].split(".")[0]
        forged = [f"{ident}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}", f"{other_id}.{mac}", f"{ident}.", "x.y"]
        for fake in forged:
            response = httpx.post(f"{world.url}/unsubscribe/{fake}", data={"List-Unsubscribe": "One-Click"})
            assert response.status_code in (403, 404), fake
        assert enabled(world) == before, "a GET or a forged link changed nothing"

        response = httpx.post(link, data={"List-Unsubscribe": "One-Click"})  # what a mail client sends
        assert response.status_code == 200 and "You are unsubscribed" in response.text
        assert enabled(world) == before | {"Press desk": False}
        wait_until(lambda: mails(world, "ops@rights.test", "Press desk unsubscribed"), what="the operators told")
        assert "List-Unsubscribe" not in mails(world, "ops@rights.test")[0]

        world.x.suspend("calm_one")
        wait_until(lambda: mails(world, "second@rights.test", "@calm_one"), what="the next alert")
        assert not mails(world, "desk@rights.test", "@calm_one")
        assert "You are unsubscribed" in httpx.get(link).text


def test_a_listen_address_in_use_stops_run_with_one_line(tmp_path: Path) -> None:
    with XSandbox() as x, TelegramSandbox() as tg, MailSink() as mail, socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = world_config(tmp_path, x, tg, mail, port)
        result = presswatch("run", config=config, timeout=WAIT)
    assert result.returncode == 2, result.stderr
    assert f"server.listen: cannot listen on 127.0.0.1:{port}: " in result.stderr
    assert "Traceback" not in result.stderr
