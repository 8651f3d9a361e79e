"""`presswatch demo`: the whole pipeline against the bundled sandboxes, scripted on two real cases.

Compressed: a poll every fraction of a second instead of every ten minutes. Nothing leaves this
machine: X, Bluesky, a Mastodon instance, Telegram, the mail server and a newsroom's Slack webhook
are emulated on 127.0.0.1. One Telegram group reads its alerts in Turkish.
"""

from __future__ import annotations

import asyncio
import copy
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from bot import clock
from bot.cli import logs
from bot.config.model import load_config
from bot.countries import BLUESKY_LABELERS
from bot.models import Message
from bot.polling.monitor import CycleReport
from bot.sandbox.bluesky_api import BlueskySandbox
from bot.sandbox.configs import FAST_DELIVERY, FAST_X, sandbox_config, write_config
from bot.sandbox.mail import MailSink
from bot.sandbox.mastodon_api import MastodonSandbox
from bot.sandbox.telegram_api import TelegramSandbox
from bot.sandbox.webhook_sink import WebhookSink
from bot.sandbox.x_api import XSandbox
from bot.storage.outbox import OutboxItem

GROUP, CHANNEL, PRIVATE, OPERATOR = -1001000000001, -1002000000002, 7000002, 7000001
TURKISH_GROUP = -1003000000003
_ICONS = {"email": "📧", "telegram": "✈️ ", "webhook": "🔗", "matrix": "💬"}
INDIA = ["delhi_reporter", "kisan_voice", "farmers_desk", "ind_activist", "mp_opposition", "news_collective"]
MAHIR_BSKY, REPORTER_MASTO = "mahirzeynalov.bsky.social", "delhi_reporter@mastodon.social"


@dataclass(frozen=True, slots=True)
class World:
    """The emulated platforms the steps act on."""

    x: XSandbox
    bsky: BlueskySandbox
    masto: MastodonSandbox
    hooks: WebhookSink


def _config(w: World, tg: TelegramSandbox, mail: MailSink, interval: float) -> dict[str, Any]:
    """The demo's config: both cases' accounts (Mahir and a Delhi reporter on several platforms), six
    subscribers with different filters (one reads Turkish, one is a Slack webhook), one operator."""
    x, hooks = w.x, w.hooks

    def fast() -> dict[str, Any]:  # a deep copy each time: the config refuses YAML aliases
        return copy.deepcopy({"poll_interval": interval, **FAST_X})

    watchlist: list[dict[str, Any]] = [{"name": "Mahir Zeynalov", "x": "MahirZeynalov", "bluesky": MAHIR_BSKY,
                                        "tags": ["journalist", "turkey"]}]
    watchlist += [{"handle": handle, "tags": ["india"]} for handle in INDIA[1:]]
    watchlist.insert(1, {"name": "Delhi Reporter", "x": INDIA[0], "mastodon": REPORTER_MASTO, "tags": ["india"]})
    return sandbox_config(
        bluesky={"api_base_url": w.bsky.base_url, "labelers": {"TR": BLUESKY_LABELERS["TR"]}, **fast()},
        mastodon={"instance_urls": {"mastodon.social": w.masto.base_url}, **fast()},
        x_url=x.base_url, watchlist=watchlist, tg_url=tg.base_url, smtp_port=mail.port, poll_interval=interval,
        x=dict(FAST_X), telegram={"commands": False},
        email={"from": "presswatch demo <alerts@presswatch.test>"}, database="demo.db",
        detection={"confirmations": 2}, delivery=dict(FAST_DELIVERY),
        subscribers=[
            {"name": "Press desk (email)", "email": "desk@rights.test", "countries": ["TR", "IN"]},
            {"name": "Turkey group (Telegram)", "telegram_chat": GROUP, "countries": ["TR"]},
            {"name": "Alerts channel (Telegram)", "telegram_chat": CHANNEL,
             "events": ["restricted", "restored", "other"]},
            {"name": "Lawyer for journalists (Telegram private)", "telegram_chat": PRIVATE, "tags": ["journalist"]},
            {"name": "IPI Türkiye (Telegram, in Turkish)", "telegram_chat": TURKISH_GROUP, "countries": ["TR"],
             "language": "tr"},
            {"name": "Newsroom Slack (webhook)", "countries": ["TR"],
             "webhook": {"url": hooks.add_hook("newsroom", "slack"), "format": "slack"}},
        ],
        operators=[{"name": "On-call operator", "telegram_chat": OPERATOR}],
    )


@dataclass
class Step:
    title: str
    act: Callable[[World], None]
    expect: Counter[str]


def _steps() -> list[Step]:
    def withhold_india(w: World) -> None:
        for handle in INDIA:
            w.x.set_withheld(handle, ["IN"])

    def restore_most(w: World) -> None:
        for handle in INDIA[:5]:
            w.x.set_withheld(handle, [])

    def suspend_and_rename(w: World) -> None:
        w.x.suspend("mp_opposition")
        w.x.rename("news_collective", "newscollective")

    return [
        Step("Sep 2016 - a Turkish court order lists @MahirZeynalov; X withholds the account in Turkey",
             lambda w: w.x.set_withheld("MahirZeynalov", ["TR"]), Counter({"withheld": 1})),
        Step("2025 - his Bluesky account too: Bluesky's Turkey labeler hides it in Turkey",
             lambda w: w.bsky.label(MAHIR_BSKY, BLUESKY_LABELERS["TR"], "!hide"), Counter({"withheld": 1})),
        Step("Feb 2021 - Section 69A orders: six accounts withheld in India",
             withhold_india, Counter({"withheld": 6})),
        Step("Hours later, after a backlash, five are restored",
             restore_most, Counter({"unwithheld": 5})),
        Step("One account is suspended; another renames itself",
             suspend_and_rename, Counter({"suspended": 1, "renamed": 1})),
        Step("The Delhi reporter's Mastodon instance suspends @delhi_reporter@mastodon.social",
             lambda w: w.masto.set("delhi_reporter", suspended=True), Counter({"suspended": 1})),
        Step("@MahirZeynalov is visible in Turkey again",
             lambda w: w.x.set_withheld("MahirZeynalov", []), Counter({"unwithheld": 1})),
    ]


class Demo:
    """Runs the App in-process against the three sandboxes and narrates what happens."""

    def __init__(self, out: Console, interval: float, *, monotonic: Callable[[], float] = clock.monotonic) -> None:
        self.out = out
        self.interval = interval
        self._monotonic = monotonic  # the narration's stamps and the drain's bound
        self.started = monotonic()
        self.transitions: Counter[str] = Counter()
        self.delivered: Counter[str] = Counter()
        self.operator_alerts = 0
        self._delivered_event = asyncio.Event()

    def stamp(self) -> str:
        return f"[dim]{self._monotonic() - self.started:5.1f}s[/]"

    def on_cycle(self, report: CycleReport) -> None:
        if report.errors:
            self.out.print(f"{self.stamp()}   [yellow]poll failed, no observation:[/] {report.errors[0][:90]}",
                           highlight=False)

    def on_delivered(self, item: OutboxItem, message: Message) -> None:
        sub = item.subscriber
        icon = _ICONS.get(sub.channel, "•")
        who = f"{sub.name}"
        self.delivered[sub.channel] += 1
        if sub.operator:
            self.operator_alerts += 1
        self.out.print(f"{self.stamp()}   {icon} ", end="")
        self.out.print(f"{who}: {message.subject}", markup=False, highlight=False)
        self._delivered_event.set()

    async def play(self) -> int:
        with XSandbox() as x, BlueskySandbox() as bsky, MastodonSandbox("mastodon.social") as masto, \
                TelegramSandbox() as tg, MailSink() as mail, WebhookSink() as hooks, \
                tempfile.TemporaryDirectory() as tmp:
            chats = ((GROUP, "supergroup"), (CHANNEL, "channel"), (PRIVATE, "private"), (OPERATOR, "private"),
                     (TURKISH_GROUP, "supergroup"))
            for chat, kind in chats:
                tg.add_chat(chat, kind, title=f"chat {chat}")
            x.add_account("MahirZeynalov", name="Mahir Zeynalov")
            bsky.add_account(MAHIR_BSKY, name="Mahir Zeynalov")
            masto.add_account("delhi_reporter", name="Delhi Reporter")
            for handle in INDIA:
                x.add_account(handle, name=handle.replace("_", " ").title())
            return await self._run(World(x, bsky, masto, hooks), tg, mail, Path(tmp))

    async def _run(self, w: World, tg: TelegramSandbox, mail: MailSink, tmp: Path) -> int:
        from bot.daemon.app import App

        x = w.x
        path = write_config(tmp, _config(w, tg, mail, self.interval))
        config = load_config(path, {"X_BEARER_TOKEN": x.bearer_token, "TELEGRAM_BOT_TOKEN": tg.token})
        app = App(config, on_delivered=self.on_delivered, on_cycle=self.on_cycle)
        accounts = sum(len(entry.accounts()) for entry in config.watchlist)
        self.out.print(f"[bold]presswatch demo[/]: {accounts} accounts on X, Bluesky and Mastodon, polled every "
                       f"{self.interval}s (in production as often as X's budget allows, at least a minute apart), "
                       "2 agreeing polls confirm a change")
        await app.start()
        ok = True
        try:
            await app.wait_cycles(1, 30)
            self.out.print(f"{self.stamp()} baseline recorded: no alerts for what was already so")
            ok &= await self._faults(app, w)
            for step in _steps():
                ok &= await self._step(app, w, step)
            await self._drain(app)
        finally:
            await app.stop()
        return self._summary(ok, tg, mail, w.hooks)

    async def _faults(self, app: object, w: World) -> bool:
        self.out.print(f"\n{self.stamp()} [bold]Flaky APIs[/]: 5xx, a timeout, 429, malformed JSON, a 401; "
                       "and one poll that briefly shows @kisan_voice withheld")
        before = len(self._all_transitions(app))
        x = w.x
        x.configure(slow_seconds=1.5)  # past the demo's 1 s request timeout
        w.bsky.slow_seconds = w.masto.slow_seconds = 1.5
        for kind, other in (("500", "502"), ("timeout", "timeout"), ("html502", "429"), ("malformed", "malformed"),
                            ("401", "drop")):
            x.fail_next(kind)
            w.bsky.fail_next(other)
            w.masto.fail_next(other)
            await self._cycles(app, 2)
        x.flicker_next("kisan_voice", withheld_in=["IN"])  # the next answer only
        await self._cycles(app, 3)
        quiet = len(self._all_transitions(app)) == before
        self.out.print(f"{self.stamp()}   {'[green]no alert' if quiet else '[red]FALSE ALARM'}[/]: failed polls "
                       "are not observations, and one poll is not a confirmation")
        return quiet

    async def _step(self, app: object, w: World, step: Step) -> bool:
        self.out.print(f"\n{self.stamp()} [bold]{step.title}[/]")
        before = len(self._all_transitions(app))
        step.act(w)
        await self._recorded(app, before + sum(step.expect.values()))
        await self._cycles(app, 2)  # anything more than expected would show by now
        await self._drain(app)
        recorded = self._all_transitions(app)
        new = recorded[: len(recorded) - before]
        got = Counter(str(t.kind) for t in new)
        self.transitions.update(got)
        if got != step.expect:
            self.out.print(f"[red]expected {dict(step.expect)}, recorded {dict(got)}[/]")
            return False
        return True

    def _all_transitions(self, app: object) -> list:
        return app.store.transitions()  # type: ignore[attr-defined, no-any-return]

    async def _recorded(self, app: object, count: int, timeout: float = 30) -> None:
        """Wait, round by round, until ``count`` transitions are recorded in all (at most ``timeout`` s)."""
        deadline = self._monotonic() + timeout
        while len(self._all_transitions(app)) < count and self._monotonic() < deadline:
            await self._cycles(app, 1)

    async def _cycles(self, app: object, count: int) -> None:
        await app.wait_cycles(app.cycles + count, 30)  # type: ignore[attr-defined]

    async def _drain(self, app: object, timeout: float = 30) -> None:
        """Wait until nothing is queued or in flight in the outbox."""
        deadline = self._monotonic() + timeout
        while self._monotonic() < deadline:
            depth = app.outbox.depth()  # type: ignore[attr-defined]
            if not depth.get("pending") and not depth.get("sending"):
                return
            self._delivered_event.clear()
            try:
                await asyncio.wait_for(self._delivered_event.wait(), 1)
            except TimeoutError:
                pass

    def _summary(self, ok: bool, tg: TelegramSandbox, mail: MailSink, hooks: WebhookSink) -> int:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.transitions.items()))
        self.out.print(f"\n[bold]Recorded[/]: {kinds}")
        self.out.print(f"[bold]Delivered[/]: {self.delivered['telegram']} Telegram messages "
                       f"({len(tg.messages)} seen by the Bot API sandbox), {self.delivered['email']} emails "
                       f"({len(mail.messages)} seen by the mail sink), {self.delivered['webhook']} webhook posts "
                       f"({len(hooks.to('newsroom'))} seen by the webhook sink), {self.operator_alerts} operator "
                       "alerts", highlight=False)
        self.out.print("[green]demo finished: every change alerted once, no false alarm[/]" if ok
                       else "[red]demo finished with unexpected results[/]")
        return 0 if ok else 1


def run_demo(out: Console, *, fast: bool = False) -> int:
    """Play the scripted scenario; 0 when every expectation held."""
    logs.setup("ERROR")
    return asyncio.run(Demo(out, interval=0.2 if fast else 0.4).play())

