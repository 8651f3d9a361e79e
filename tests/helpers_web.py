"""The web tests' world: `presswatch run` with its web server, fed by the X sandbox, alerting a mail sink
and the Telegram sandbox; accounts in every state, one of them private."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from e2e import TG_TOKEN, WAIT, X_TOKEN, Daemon, cycles, db_rows, wait_until, write_config

from bot.sandbox.mail import MailSink, free_port
from bot.sandbox.telegram_api import TelegramSandbox
from bot.sandbox.x_api import XSandbox

HOSTILE = '<b>Ayşe</b> & "Co" <script>alert(1)</script> <img src=x onerror=alert(2)> \u200fעברית'
CHANNEL, OPS_CHAT = -1002222, 4444
# What must appear on no route: the private account and everything about subscribers and operators.
PRIVATE_HANDLE, PRIVATE_NAME = "secret_src", "Hidden Source Name"
SUBSCRIBER_DATA = ("desk@rights.test", "second@rights.test", "Press desk", "Second desk", "Alerts channel",
                   str(CHANNEL), "Night ops", "ops@rights.test", str(OPS_CHAT), X_TOKEN, TG_TOKEN, "smtp-secret")
WATCHLIST = [
    {"handle": "tr_journo", "tags": ["journalist", "turkey"]},
    {"handle": "in_journo", "tags": ["journalist"]},
    {"handle": "activist", "tags": ["activist"]},
    {"handle": "gone_one", "tags": ["journalist"]},
    {"handle": "calm_one"},
    {"handle": PRIVATE_HANDLE, "tags": ["journalist"], "private": True},
]


@dataclass
class World:
    x: XSandbox
    tg: TelegramSandbox
    mail: MailSink
    config: Path
    daemon: Daemon
    url: str
    private_id: str

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(self.url + path, params=params or None, timeout=WAIT, follow_redirects=True)

    def transitions(self) -> list[dict[str, Any]]:
        return db_rows(self.config, "SELECT t.*, a.handle AS listed FROM transitions t"
                                    " JOIN accounts a ON a.pk = t.account_pk ORDER BY t.id")


def web_url(daemon: Daemon) -> str:
    """Where the daemon's web server listens, as its log says once it does."""
    wait_until(lambda: "web server listening on" in daemon.output(), what="the web server to listen")
    found = re.search(r"web server listening on (\S+)", daemon.output())
    assert found is not None
    return found.group(1)


def world_config(folder: Path, x: XSandbox, tg: TelegramSandbox, mail: MailSink, port: int,
                 **extra: Any) -> Path:
    subscribers = [
        {"name": "Press desk", "email": "desk@rights.test"},
        {"name": "Second desk", "email": "second@rights.test"},
        {"name": "Alerts channel", "telegram_chat": CHANNEL, "events": ["restricted", "restored", "other"]},
    ]
    return write_config(
        folder, x_url=x.base_url, tg_url=tg.base_url, smtp_port=mail.port, watchlist=WATCHLIST,
        subscribers=subscribers, operators=[{"name": "Night ops", "email": "ops@rights.test"}],
        extra={"server": {"listen": f"127.0.0.1:{port}", "public_url": f"http://127.0.0.1:{port}",
                          "title": "Press accounts watch"}, **extra})


def seed(x: XSandbox) -> str:
    """The accounts, before the daemon's first poll; the private account's id."""
    x.add_account("tr_journo", name=HOSTILE)
    x.add_account("in_journo", name="Delhi Reporter")
    x.add_account("activist", name="Activist")
    x.add_account("gone_one", name="Gone Reporter")
    x.add_account("calm_one", name="Calm Reporter")
    return x.add_account(PRIVATE_HANDLE, name=PRIVATE_NAME)


def play(world: World) -> None:
    """Changes of every restricting kind and a lifting, confirmed (two polls each)."""
    x = world.x
    cycles(x, 2)
    x.set_withheld("tr_journo", ["TR"])
    x.set_withheld("in_journo", ["IN"])
    x.suspend("activist")
    x.deactivate("gone_one")
    x.set_withheld(PRIVATE_HANDLE, ["TR"])
    cycles(x, 3)
    x.set_withheld("in_journo", [])
    x.set_withheld("tr_journo", ["TR", "IN"])
    cycles(x, 3)
    wait_until(lambda: len(world.transitions()) == 7, what="7 transitions recorded")
    assert world.mail.wait_for(14, WAIT), "each desk's 7 alerts"  # the private account is alerted too
    wait_until(lambda: "@in_journo is no longer" in " ".join(m["plain"] for m in world.tg.sent_to(CHANNEL)),
               what="the channel's alerts")


@contextlib.contextmanager
def running_world(folder: Path, *, played: bool = True, **extra: Any) -> Iterator[World]:
    """The sandboxes, the daemon and its web server; with ``played``, the changes recorded."""
    with XSandbox() as x, TelegramSandbox(token=TG_TOKEN) as tg, MailSink() as mail:
        tg.add_chat(CHANNEL, "channel", title="Alerts channel")
        private_id = seed(x)
        config = world_config(folder, x, tg, mail, free_port(), **extra)
        with Daemon(config) as daemon:
            world = World(x, tg, mail, config, daemon, web_url(daemon), private_id)
            if played:
                play(world)
            yield world
            if daemon.proc is not None and daemon.proc.poll() is None:
                assert daemon.stop() == 0, daemon.output()[-3000:]
