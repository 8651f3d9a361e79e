"""Benchmark: one transition fanned out to N Telegram subscribers, M email subscribers, W webhooks and R
Matrix rooms.

    python bench/fanout.py [--subscribers 10000] [--rate 30] [--emails 10000] [--webhooks 2000] [--rooms 1000]
                           [--quick] [--together]

Everything is real except the far ends: a Store on a temporary file, the transition recorded through
Store.record (baseline, then two agreeing polls, so the outbox rows are written in the transition's own
transaction by Outbox.fan_out), the Dispatcher with its TelegramPacer, the TelegramNotifier on
python-telegram-bot's Bot (notifiers.telegram.build_bot) talking HTTP to the Telegram sandbox that
enforces RATE/s overall, 1/s per chat and 20/min per group (the chats are private, so the group limit
does not apply), the EmailNotifier (aiosmtplib) talking SMTP to the mail sink, the WebhookNotifier (httpx)
posting signed JSON to W webhooks of the webhook sink (which verifies every signature), and the
MatrixNotifier (httpx) sending to R rooms of the homeserver sandbox, each paced as `presswatch run` paces
them (bot.daemon.parts.channel_pacers: Matrix 10/s for the account, 1/s a room).

The Telegram sandbox runs in a child process by default (``--sandbox-thread``: in this process, where its
HTTP threads share the GIL with the client and slow it down). By default the Telegram lane is drained
first, then the email lane, each by its own Dispatcher, so each channel's figures are its own;
``--together`` drains both through one Dispatcher, as ``presswatch run`` wires it. ``--quick`` is a
CI-sized run: 1,000 chats at 200/s, 1,000 emails, 300 webhooks and 200 rooms. The webhook sink and the
homeserver run in threads of this process.

It prints figures; it does not assert rates. It exits non-zero only when the run is broken: a message lost
or doubled, or an outbox row not sent.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TARGET_RATIO = 0.9
CHAT_BASE = 500_000_000  # private chat ids (positive: the per-group limit does not apply)
SENDER = "presswatch <alerts@example.org>"


class FailureLog(logging.Handler):
    """Counts the Dispatcher's "delivery failed; retrying" lines by cause (digits folded)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.causes: collections.Counter[str] = collections.Counter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("delivery to") and len(record.args or ()) >= 2:
            cause = str(record.args[1])  # type: ignore[index]
            self.causes[re.sub(r"\d+", "N", cause)[:90]] += 1
        elif record.levelno >= logging.WARNING:
            self.causes[f"{record.levelname}: {record.getMessage()[:80]}"] += 1


def _sandbox_child(conn: Any, rate: int) -> None:
    """Hosts the TelegramSandbox in its own process (its HTTP threads then do not share our GIL)."""
    from bot.sandbox.telegram_api import TelegramSandbox

    sandbox = TelegramSandbox(overall_per_second=rate, per_chat_per_second=1, group_per_minute=20).start()
    conn.send((sandbox.token, sandbox.base_url))
    while True:
        command, arg = conn.recv()
        if command == "add_chats":
            for chat_id in arg:
                sandbox.add_chat(chat_id, "private")
            conn.send(None)
        elif command == "results":
            with sandbox._cond:
                conn.send(([(m["chat_id"], m["time"]) for m in sandbox.messages], sandbox.rate_limited_count))
        else:
            sandbox.stop()
            conn.send(None)
            return


class TelegramSide:
    """The Telegram sandbox, in a child process (default) or in a thread of this process."""

    def __init__(self, rate: int, in_process: bool) -> None:
        self.in_process = in_process
        if in_process:
            from bot.sandbox.telegram_api import TelegramSandbox

            self.sandbox = TelegramSandbox(overall_per_second=rate, per_chat_per_second=1,
                                           group_per_minute=20).start()
            self.token, self.base_url = self.sandbox.token, self.sandbox.base_url
        else:
            import multiprocessing

            self.conn, child = multiprocessing.Pipe()
            self.proc = multiprocessing.get_context("spawn").Process(target=_sandbox_child, args=(child, rate),
                                                                    daemon=True)
            self.proc.start()
            self.token, self.base_url = self.conn.recv()

    def add_chats(self, chat_ids: list[int]) -> None:
        if self.in_process:
            for chat_id in chat_ids:
                self.sandbox.add_chat(chat_id, "private")
        else:
            self.conn.send(("add_chats", chat_ids))
            self.conn.recv()

    def results(self) -> tuple[list[tuple[int, float]], int]:
        """(chat id, arrival time) of every accepted message, and the number of 429s answered."""
        if self.in_process:
            with self.sandbox._cond:
                return [(m["chat_id"], m["time"]) for m in self.sandbox.messages], self.sandbox.rate_limited_count
        self.conn.send(("results", None))
        return self.conn.recv()  # type: ignore[no-any-return]

    def stop(self) -> None:
        if self.in_process:
            self.sandbox.stop()
            return
        self.conn.send(("stop", None))
        self.conn.recv()
        self.proc.join(10)


@dataclass
class Lane:
    channel: str
    expected: int
    started: float = 0.0
    finished: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def record_transition(store: Any, now_fn: Any) -> tuple[int, float]:
    """Baseline, then the account withheld in TR on two polls: the second records it (and fans it out)."""
    from bot.detect import detect
    from bot.models import Availability, Observation
    from bot.storage.accounts import Outcome

    store.sync_watchlist([("bench_journo", ["journalist"])], now_fn())

    def observe(withheld: frozenset[str]) -> Observation:
        raw = '{"id":"4242","name":"Bench <Journalist> & Co","username":"bench_journo"}'
        return Observation(platform="x", requested="bench_journo", account_id="4242",
                           availability=Availability.ACTIVE, raw=raw, protected=False, withheld_in=withheld,
                           handle="bench_journo", name="Bench <Journalist> & Co")

    written: list[int] = []
    elapsed = 0.0
    for withheld in (frozenset(), frozenset({"TR"}), frozenset({"TR"})):
        watched = store.watched("x")[0]
        observation = observe(withheld)
        verdict = detect(watched.state, observation, watched.pending, 2)
        started = time.perf_counter()
        written = store.record([Outcome(watched, observation, verdict)], now_fn())
        elapsed = time.perf_counter() - started
    if len(written) != 1:
        raise SystemExit(f"expected one transition, got {written}")
    return written[0], elapsed


class OtherChannels:
    """W webhooks (signed JSON) on the webhook sink and R rooms on the Matrix homeserver sandbox."""

    def __init__(self, webhooks: int, rooms: int) -> None:
        from bot.sandbox.matrix_api import MatrixSandbox
        from bot.sandbox.webhook_sink import WebhookSink

        self.sink = WebhookSink().start()
        self.homeserver = MatrixSandbox().start()
        self.urls = [self.sink.add_hook(f"w{i}", "json", f"secret-{i}") for i in range(webhooks)]
        self.rooms = [self.homeserver.add_room(f"!room{i}:bench") for i in range(rooms)]
        self.lanes = [Lane("webhook", webhooks), Lane("matrix", rooms)]

    def subscribe(self, outbox: Any, now: Any) -> None:
        from bot.storage.outbox import SubscriberSpec

        for i, url in enumerate(self.urls):
            outbox.upsert_subscriber(SubscriberSpec(key=f"hook:{i}", name=f"hook {i}", channel="webhook",
                                                    address=url), now)
        for i, room in enumerate(self.rooms):
            outbox.upsert_subscriber(SubscriberSpec(key=f"room:{i}", name=f"room {i}", channel="matrix",
                                                    address=room, language="tr" if i % 2 else "hi"), now)

    async def drain(self, store: Any, rate: int, timeout: float, progress: Any) -> None:
        from bot import clock
        from notifiers.matrix import MatrixNotifier
        from notifiers.webhook import Hook, WebhookNotifier

        hooks = {url: Hook(url, "json", f"secret-{i}") for i, url in enumerate(self.urls)}
        async with WebhookNotifier(hooks, unix=clock.unix) as webhook, \
                MatrixNotifier(self.homeserver.base_url, self.homeserver.token) as matrix:
            for lane, notifier in zip(self.lanes, (webhook, matrix), strict=True):
                if lane.expected:
                    await drain(store, {lane.channel: notifier}, [lane], rate, timeout, progress)

    def rows(self, table: Any, mark: Any) -> list[str]:
        """Add this side's figures to ``table``; returns what broke."""
        hooks_lane, rooms_lane = self.lanes
        accepted = [r for r in self.sink.received if r.status < 300]
        per_hook = collections.Counter(r.path for r in accepted)
        hook_dupes = sum(n - 1 for n in per_hook.values())
        hook_lost = len(self.urls) - len(per_hook)
        unsigned = sum(1 for r in accepted if not r.verified)
        per_room = collections.Counter(room for room in self.rooms for _ in self.homeserver.room(room))
        room_dupes = sum(n - 1 for n in per_room.values())
        room_lost = len(self.rooms) - len(per_room)
        table.add_section()
        for lane, got, dupes, lost in ((hooks_lane, len(accepted), hook_dupes, hook_lost),
                                       (rooms_lane, sum(per_room.values()), room_dupes, room_lost)):
            seconds = lane.finished - lane.started
            per_second = got / seconds if seconds > 0 else float("nan")
            table.add_row(f"{lane.channel} messages received / subscribers", f"{got:,} / {lane.expected:,}", "")
            table.add_row(f"{lane.channel} messages per second", f"{per_second:.1f}/s over {seconds:.1f} s",
                          "Matrix paced at 10/s" if lane.channel == "matrix" else "")
            table.add_row(f"{lane.channel} duplicates / lost", f"{dupes} / {lost}",
                          f"0 / 0 {mark(dupes == 0 and lost == 0)}")
        table.add_row("webhook posts whose signature did not verify", f"{unsigned}", f"0 {mark(unsigned == 0)}")
        broken = [f"{lane.channel} lane did not finish" for lane in self.lanes if lane.extra.get("timed_out")]
        if hook_dupes or hook_lost or room_dupes or room_lost or unsigned:
            broken.append(f"webhook lost {hook_lost} dup {hook_dupes} unsigned {unsigned}; "
                          f"matrix lost {room_lost} dup {room_dupes}")
        return broken

    def stop(self) -> None:
        self.sink.stop()
        self.homeserver.stop()


async def drain(store: Any, notifiers: dict[str, Any], lanes: list[Lane], rate: int, timeout: float,
                progress: Any) -> None:
    """Run a Dispatcher until every row of these lanes is sent (or the timeout)."""
    from bot import clock
    from bot.daemon.parts import channel_pacers
    from bot.delivery.dispatch import Dispatcher, TelegramPacer
    from bot.delivery.render import Renderer
    from bot.storage.outbox import Outbox

    dispatcher = Dispatcher(store, Outbox(store.db), Renderer(), notifiers, clock=clock.now,
                            pacer=TelegramPacer(overall=rate, per_chat=1, group_per_minute=20),
                            pacers=channel_pacers())
    stop = asyncio.Event()
    started = time.perf_counter()
    for lane in lanes:
        lane.started = started
    task = asyncio.create_task(dispatcher.run(stop))
    deadline = started + timeout
    last_report = started
    pending = {lane.channel: lane for lane in lanes}
    while pending and time.perf_counter() < deadline and not task.done():
        await asyncio.sleep(0.05)
        for channel, lane in list(pending.items()):
            sent = store.db.execute(
                "SELECT count(*) FROM outbox o JOIN subscribers s ON s.id = o.subscriber_id"
                " WHERE s.channel = ? AND o.status = 'sent'", [channel]).fetchone()[0]
            lane.extra["sent_rows"] = sent
            if sent >= lane.expected:
                lane.finished = time.perf_counter()
                del pending[channel]
        if time.perf_counter() - last_report >= 30:
            last_report = time.perf_counter()
            progress(", ".join(f"{lane.channel}: {lane.extra.get('sent_rows', 0):,}/{lane.expected:,}"
                               for lane in lanes) + f" after {last_report - started:.0f} s")
    stop.set()
    await asyncio.wait_for(task, 30)
    for lane in pending.values():
        lane.finished = time.perf_counter()
        lane.extra["timed_out"] = True


async def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from bot import clock
    from bot.sandbox.mail import MailSink
    from bot.storage.accounts import Store, open_db
    from bot.storage.outbox import Outbox, SubscriberSpec
    from notifiers.email import EmailNotifier
    from notifiers.telegram import TelegramNotifier, build_bot

    console = Console(width=max(Console().width, 120))
    failures = FailureLog()
    dispatch_log = logging.getLogger("presswatch.dispatch")
    dispatch_log.addHandler(failures)
    dispatch_log.setLevel(logging.INFO)
    n_tg, n_mail, rate = args.subscribers, args.emails, args.rate
    tmp = tempfile.TemporaryDirectory(prefix="presswatch-fanout-")
    telegram = TelegramSide(rate, args.sandbox_thread)
    sink = MailSink(security="none").start()
    others = OtherChannels(args.webhooks, args.rooms)
    broken: list[str] = []
    try:
        db = open_db(Path(tmp.name) / "fanout.db")
        outbox = Outbox(db)
        store = Store(db, outbox)
        now = clock.now()
        chats = [CHAT_BASE + i for i in range(n_tg)]
        telegram.add_chats(chats)
        for i, chat_id in enumerate(chats):
            outbox.upsert_subscriber(SubscriberSpec(key=f"tg:{i}", name=f"chat {i}", channel="telegram",
                                                    address=str(chat_id)), now)
        emails = [f"reader{i}@example.org" for i in range(n_mail)]
        for i, address in enumerate(emails):
            outbox.upsert_subscriber(SubscriberSpec(key=f"mail:{i}", name=f"reader {i}", channel="email",
                                                    address=address), now)
        others.subscribe(outbox, now)
        total = n_tg + n_mail + args.webhooks + args.rooms
        transition_id, record_s = record_transition(store, clock.now)
        rows = db.execute("SELECT count(*) FROM outbox WHERE transition_id = ?", [transition_id]).fetchone()[0]
        console.print(f"transition {transition_id} recorded with {rows:,} outbox rows in one transaction "
                      f"({record_s:.2f} s); draining ...")
        if rows != total:
            broken.append(f"{rows} outbox rows written, expected {total}")

        bot = build_bot(telegram.token, telegram.base_url)
        pool = getattr(getattr(bot.request, "_client", None), "_transport", None)
        pool_size = getattr(getattr(pool, "_pool", None), "_max_connections", None)
        email = EmailNotifier(host=sink.host, port=sink.port, security="none", sender=SENDER)
        tg_lane, mail_lane = Lane("telegram", n_tg), Lane("email", n_mail)
        timeout = args.timeout or (n_tg / rate * 2 + n_mail / 50 + args.webhooks / 20 + args.rooms / 5 + 120)
        progress = lambda text: console.print(f"  ... {text}")  # noqa: E731
        async with bot:  # initialize (getMe) and shut the HTTP client down afterwards
            if args.together:
                await drain(store, {"telegram": TelegramNotifier(bot), "email": email},
                            [tg_lane, mail_lane], rate, timeout, progress)
            else:
                await drain(store, {"telegram": TelegramNotifier(bot)}, [tg_lane], rate, timeout, progress)
                await drain(store, {"email": email}, [mail_lane], rate, timeout, progress)
        await others.drain(store, rate, timeout, progress)
        await email.aclose()

        # Telegram figures, from what the sandbox received.
        got, rate_limited = telegram.results()
        received = [(chat_id, at) for chat_id, at in got if chat_id >= CHAT_BASE]
        per_chat = collections.Counter(chat_id for chat_id, _ in received)
        tg_dupes = sum(count - 1 for count in per_chat.values() if count > 1)
        tg_lost = sum(1 for chat_id in chats if chat_id not in per_chat)
        times = sorted(at for _, at in received)
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        achieved = (len(times) - 1) / span if span > 0 else float("nan")
        end_to_end = len(received) / (tg_lane.finished - tg_lane.started) if received else 0.0
        peak_second = 0
        lo = 0
        for hi, at in enumerate(times):
            while at - times[lo] >= 1.0:
                lo += 1
            peak_second = max(peak_second, hi - lo + 1)
        # Email figures, from what the sink accepted.
        per_rcpt = collections.Counter(r for msg in sink.messages for r in msg.rcpt_tos)
        mail_dupes = sum(count - 1 for count in per_rcpt.values() if count > 1)
        mail_lost = sum(1 for address in emails if address not in per_rcpt)
        mail_s = mail_lane.finished - mail_lane.started
        mail_rate = len(sink.messages) / mail_s if mail_s > 0 else float("nan")
        status = dict(db.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())
        retries = db.execute("SELECT count(*) FROM outbox WHERE attempts > 1").fetchone()[0]

        ratio = achieved / rate if received else 0.0
        where = "in a thread of this process" if args.sandbox_thread else "in its own process"
        table = Table(caption=f"Telegram sandbox {where}; mail sink, webhook sink and homeserver in threads of "
                              "this process",
                      title=f"presswatch fan-out: 1 transition -> {n_tg:,} Telegram chats at {rate}/s allowed, "
                            f"{n_mail:,} emails, {args.webhooks:,} webhooks, {args.rooms:,} Matrix rooms"
                            + (" (one Dispatcher for Telegram and email)" if args.together else ""))
        table.add_column("figure")
        table.add_column("value", justify="right")
        table.add_column("target")
        mark = lambda good: "[green]ok[/green]" if good else "[red]MISSED[/red]"  # noqa: E731
        table.add_row("Telegram messages received / subscribers", f"{len(received):,} / {n_tg:,}", "")
        table.add_row("achieved rate (first to last message)", f"{achieved:.2f}/s", "")
        table.add_row("achieved / allowed rate", f"{ratio:.3f}", f">= {TARGET_RATIO} {mark(ratio >= TARGET_RATIO)}")
        table.add_row("end to end (dispatcher start to last sent row)",
                      f"{end_to_end:.2f}/s over {tg_lane.finished - tg_lane.started:.1f} s", "")
        table.add_row("busiest 1 s window at the sandbox", f"{peak_second}", f"<= {rate}")
        table.add_row("429s seen by the sandbox", f"{rate_limited}",
                      f"0 {mark(rate_limited == 0)}")
        table.add_row("duplicates (extra messages to one chat)", f"{tg_dupes}", f"0 {mark(tg_dupes == 0)}")
        table.add_row("lost (chats that got nothing)", f"{tg_lost}", f"0 {mark(tg_lost == 0)}")
        table.add_row("PTB HTTP connection pool (max connections)", f"{pool_size}",
                      f">= Dispatcher concurrency 32 {mark((pool_size or 0) >= 32)}")
        table.add_section()
        table.add_row("emails accepted / subscribers", f"{len(sink.messages):,} / {n_mail:,}", "")
        table.add_row("mail messages per second", f"{mail_rate:.1f}/s over {mail_s:.1f} s", "")
        table.add_row("SMTP connections used", f"{sink.connections}", "1 per burst")
        table.add_row("email duplicates / lost", f"{mail_dupes} / {mail_lost}",
                      f"0 / 0 {mark(mail_dupes == 0 and mail_lost == 0)}")
        broken += others.rows(table, mark)
        table.add_section()
        table.add_row("outbox rows by status", ", ".join(f"{k} {v:,}" for k, v in sorted(status.items())), "")
        table.add_row("rows that needed more than one attempt", f"{retries}", "")
        for cause, count in failures.causes.most_common(5):
            table.add_row(f"  retried because: {cause}", f"{count}", "")
        table.add_row("Store.record of the transition + fan-out", f"{record_s:.2f} s", "")
        console.print(table)

        if tg_lost or tg_dupes or mail_lost or mail_dupes:
            broken.append(f"telegram lost {tg_lost} dup {tg_dupes}; email lost {mail_lost} dup {mail_dupes}")
        if status.get("sent", 0) != total:
            broken.append(f"outbox not fully sent: {status}")
        for lane in (tg_lane, mail_lane):
            if lane.extra.get("timed_out"):
                broken.append(f"the {lane.channel} lane did not finish within {timeout:.0f} s")
    finally:
        telegram.stop()
        sink.stop()
        others.stop()
        tmp.cleanup()
    for problem in broken:
        console.print(f"[red]BROKEN RUN[/red]: {problem}")
    return 1 if broken else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=None, help="Telegram chats (default 10,000)")
    parser.add_argument("--rate", type=int, default=None, help="Telegram messages/s allowed (default 30)")
    parser.add_argument("--emails", type=int, default=None, help="email subscribers (default 10,000)")
    parser.add_argument("--webhooks", type=int, default=None, help="JSON webhooks (default 2,000)")
    parser.add_argument("--rooms", type=int, default=None, help="Matrix rooms (default 1,000)")
    parser.add_argument("--quick", action="store_true",
                        help="CI size: 1,000 chats at 200/s, 1,000 emails, 300 webhooks, 200 rooms")
    parser.add_argument("--together", action="store_true", help="both channels through one Dispatcher")
    parser.add_argument("--sandbox-thread", action="store_true",
                        help="run the Telegram sandbox in this process (shares the GIL with the client)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds before a lane counts as stuck")
    args = parser.parse_args()
    quick = (1_000, 200, 1_000, 300, 200)
    full = (10_000, 30, 10_000, 2_000, 1_000)
    defaults = quick if args.quick else full
    args.subscribers = defaults[0] if args.subscribers is None else args.subscribers
    args.rate = defaults[1] if args.rate is None else args.rate
    args.emails = defaults[2] if args.emails is None else args.emails
    args.webhooks = defaults[3] if args.webhooks is None else args.webhooks
    args.rooms = defaults[4] if args.rooms is None else args.rooms
    if args.subscribers < 1 or args.rate < 1 or min(args.emails, args.webhooks, args.rooms) < 0:
        parser.error("--subscribers and --rate must be >= 1, --emails, --webhooks and --rooms >= 0")
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
