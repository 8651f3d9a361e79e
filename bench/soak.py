"""Soak bench: a compressed day of chaos against the sandboxes, and what presswatch made of it.

    python bench/soak.py [--seed 7] [--minutes 8] [--accounts 2000] [--quick] [--json] [--keep]

A real ``python -m bot.cli run`` child polls 2,000 accounts on the X sandbox every few seconds while the
bench changes them (every kind of transition, a February-2021-style mass withholding and its lifting,
flickers shown to one poll only) and strikes: X 5xx / timeouts / 429 / malformed bodies / drops, a 401
burst (X refusing the token), Telegram down and 429s, SMTP 451s, another connection holding the database
write lock for twice the busy timeout, a full disk (RLIMIT_FSIZE 0 on the daemon: every write fails with
EFBIG, chosen over a tmpfs because it needs no root or mount, touches only the daemon and is undone by
one call), and two SIGKILLs each followed by a restart. Then a drain with no faults, and the figures:
transitions caused vs recorded, alerts expected vs delivered, duplicates, lost, operator notices, RSS.

Helpers: soak_plan (the seeded timeline), soak_world (sandboxes, config, daemon), soak_run (plays the
plan, logs the ground truth), soak_parse / soak_score (the figures), soak_report (the table). The bench
prints figures and asserts nothing; it exits non-zero only when the harness itself failed.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sqlite3
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from soak_parse import read  # noqa: E402
from soak_plan import Plan, Settings, make_plan  # noqa: E402
from soak_report import table  # noqa: E402
from soak_run import Runner, db_rows  # noqa: E402
from soak_score import Inputs, score  # noqa: E402
from soak_world import Daemon, Sandboxes, write_config  # noqa: E402

from bot import clock  # noqa: E402

DAY = 86400.0


def settings(args: argparse.Namespace) -> tuple[Settings, float]:
    """The compressed schedule (chaos ~85% of --minutes) and the drain's bound."""
    total = args.minutes * 60
    interval = round(min(6.0, max(1.5, args.accounts / 500)), 1)
    return Settings(args.accounts, round(total * 0.85, 1), interval), max(30.0, total * 0.15 + 30)


def requests_per_minute(s: Settings) -> int:
    """X's budget, compressed: 1.5x what the polls need, never below 60 a minute."""
    return max(60, math.ceil(1.5 * math.ceil(s.accounts / 100) * 60 / s.interval))


def wait_until(check: Any, bound: float, step: float = 0.5) -> bool:
    """Poll ``check`` until it holds or ``bound`` seconds pass."""
    done = threading.Event()
    deadline = clock.monotonic() + bound
    while clock.monotonic() < deadline:
        if check():
            return True
        done.wait(step)
    return bool(check())


def baselined(db: Path, accounts: int) -> bool:
    try:
        return db_rows(db, "SELECT count(*) FROM accounts WHERE availability IS NOT NULL")[0][0] >= accounts
    except sqlite3.Error:
        return False  # not created yet


def drain(runner: Runner, db: Path, bound: float) -> float:
    """No faults: wait until nothing is queued or in flight and deliveries stopped moving (bounded)."""
    box, interval, started = runner.box, runner.plan.settings.interval, clock.monotonic()
    seen = {"count": -1, "since": started}

    def settled() -> bool:
        if not runner.daemon.alive():
            return True  # nothing more will happen
        count = len(box.tg.messages) + len(box.mail.messages)
        now = clock.monotonic()
        if count != seen["count"]:
            seen.update(count=count, since=now)
        busy = db_rows(db, "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')")[0][0]
        return not busy and now - seen["since"] >= 2 * interval and now - started >= 3 * interval

    wait_until(settled, bound)
    return clock.monotonic() - started


def run_info(args: argparse.Namespace, plan: Plan, runner: Runner, daemon: Daemon, extra: dict[str, Any]) -> dict:
    s = plan.settings
    kinds = Counter(what.split(" x")[0] for _at, what in runner.log.faults)
    return {"seed": args.seed, "accounts": s.accounts, "interval": s.interval, "chaos_s": s.chaos,
            "compression": round(DAY / s.chaos), "faults": dict(kinds),
            "kills": [{"pid": k.pid, "in_flight": len(k.in_flight), "restarted_pid": k.restarted_pid}
                      for k in runner.log.kills],
            "unplanned_exits": [{"pid": pid, "code": code} for _t, pid, code in runner.log.exits],
            "error_lines": sum(daemon.errors.values()), "errors": dict(daemon.errors.most_common(6)),
            "exceptions": dict(daemon.exceptions.most_common(6)), **extra}


def soak(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    began = clock.monotonic()
    s, drain_bound = settings(args)
    plan = make_plan(args.seed, s)
    print(f"soak: seed {args.seed}; {s.accounts} accounts polled every {s.interval} s; {s.chaos} s of chaos;"
          f" {len(plan.changes)} changes, {len(plan.flickers)} flickers, {len(plan.faults)} faults; in {folder}",
          file=sys.stderr)
    box = Sandboxes(s.accounts, requests_per_minute(s))
    config = write_config(folder, box, plan.handles, plan.tags, s.interval, requests_per_minute(s), s.confirmations)
    daemon = Daemon(config)
    try:
        db = folder / "presswatch.db"
        daemon.start()
        if not wait_until(lambda: baselined(db, s.accounts), 60 + s.accounts / 50):
            daemon.stop()
            raise RuntimeError(f"the daemon never recorded a baseline of {s.accounts} accounts ({daemon.log_path})")
        runner = Runner(plan, box, daemon, db)
        runner.sample_rss()
        runner.play()
        print("soak: chaos over; draining with no faults", file=sys.stderr)
        drained = drain(runner, db, drain_bound)
        ended = clock.unix()
        runner.stop()
        final = daemon.stop()
        runner.done()
        ids = {h.casefold(): i for h, i in zip(plan.handles, box.ids, strict=True)}
        ids |= {c.handle.casefold(): c.account_id for c in runner.log.caused}
        inputs = Inputs(plan, runner.log, read(list(box.tg.messages), list(box.mail.messages), ids), db,
                        [r.time for r in box.x.requests], box.x.flickers_served, runner.start, ended)
        figures = score(inputs)
        figures["run"] = run_info(args, plan, runner, daemon, {"drain_s": round(drained, 1), "final_exit": final,
                                                               "wall_s": round(clock.monotonic() - began, 1)})
        return figures
    finally:
        if daemon.alive():  # the bench was interrupted or failed: leave no daemon behind
            daemon.kill()
        box.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7, help="the timeline's random seed (printed)")
    parser.add_argument("--minutes", type=float, default=None, help="the schedule's length (default 8; --quick 1)")
    parser.add_argument("--accounts", type=int, default=None, help="watched accounts (default 2000; --quick 200)")
    parser.add_argument("--quick", action="store_true", help="a ~1 minute smoke run with 200 accounts")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (database, config, daemon log)")
    args = parser.parse_args(argv)
    args.minutes = args.minutes or (1.0 if args.quick else 8.0)
    args.accounts = args.accounts or (200 if args.quick else 2000)
    folder = Path(tempfile.mkdtemp(prefix="presswatch-soak-"))
    try:
        figures = soak(args, folder)
    except Exception as exc:  # the harness failed: no figures to trust
        print(f"soak: the bench failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        args.keep = True
        return 1
    finally:
        if args.keep:
            print(f"soak: work folder kept: {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(figures, indent=2) if args.json else table(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
