"""Benchmark: detection latency of the real daemon against the X sandbox, in real time, on a compressed budget.

    python bench/latency.py [--accounts 1000 30000] [--quick] [--requests 300 --per 15] [--passes 8]
                            [--recheck-after 0.25] [--changes-per-1000 40] [--seed 1] [--json] [--profile FILE]

For each size N: the X sandbox (in this process) is seeded with N accounts; `presswatch run` of the tree this
file lives in (a real process) polls them on a budget of ``--requests`` every ``--per`` seconds (the sandbox
enforces the same limit, and answers 429 past it). Once every account has been read by id, accounts are
withheld in India at random times over ``--passes`` full passes; each change's latency is from the moment
the sandbox changed to the transition's ``confirmed_at`` in the database (the alert is queued in the same
transaction). It prints mean, p95 and max latency next to the floor of the model

    mean floor = pass / 2 + (confirmations - 1) x recheck_after
    max floor  = pass     + (confirmations - 1) x recheck_after
    (recheck_after no longer than a pass: the next regular read would come first)

(pass: a full pass at the rate left after the 10% reserve), the most requests the sandbox saw in any window
of ``--per`` seconds against the limit, 429s, and the daemon's CPU seconds per full pass (its CPU time over
the account reads it made, in passes). Targets: mean within 1.15x of the floor, max within the max floor + 2 s,
no 429, no window over the limit. It prints figures and exits 0 whether or not they are met; non-zero only
when the run itself is broken (the daemon died, a change never confirmed).

On a tree from before deadline scheduling (no ``detection.recheck_after``) the daemon gets today's fixed
cycle instead: ``x.poll_interval`` = the shortest full pass its budget allows, confirmations a cycle apart;
copy this file into that tree and run it there to get its figures. --quick: 1,000 accounts, 3 passes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bot.sandbox.x_api import XSandbox  # noqa: E402

TOKEN = "sandbox-token"
RESERVE = 0.1
CONFIRMATIONS = 2
MIN_READ_SECONDS = 20.0  # at least this long of changes, however short a pass is


def deadline_tree() -> bool:
    """Whether the tree under test schedules by deadline (it knows ``detection.recheck_after``)."""
    from bot.config.sections import DetectionConfig

    return "recheck_after" in DetectionConfig.model_fields


@dataclass
class Result:
    accounts: int
    scheduling: str
    pass_seconds: float
    changes: int
    confirmed: int
    mean: float
    p95: float
    max: float
    mean_floor: float
    max_floor: float
    most_in_window: int
    limit: int
    status_429: int
    other_errors: int
    cpu_per_pass: float
    elapsed: float


def config(folder: Path, url: str, accounts: int, args: argparse.Namespace, pass_seconds: float) -> Path:
    x: dict[str, Any] = {"bearer_token": "${X_BEARER_TOKEN}", "api_base_url": url, "timeout": 10,
                         "rate_limit": {"requests": args.requests, "per": args.per}}
    detection: dict[str, Any] = {"confirmations": CONFIRMATIONS}
    if deadline_tree():
        x |= {"poll_interval": "auto", "min_poll_interval": 0.1, "reserve": f"{RESERVE * 100:g}%"}
        detection["recheck_after"] = args.recheck_after
    else:  # today's fixed cycle, as short as its budget allows (it keeps no reserve)
        x["poll_interval"] = math.ceil(accounts / 100) * args.per / args.requests
    text = {"version": 1, "database": "presswatch.db", "x": x, "detection": detection,
            "watchlist": [{"handle": f"acct{n}"} for n in range(accounts)]}
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(text, sort_keys=False), encoding="utf-8")
    return path


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def most_in_window(times: list[float], per: float) -> int:
    """The most requests in any window of ``per`` seconds (sliding: stricter than X's fixed windows)."""
    times, most, start = sorted(times), 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= per:
            start += 1
        most = max(most, end - start + 1)
    return most


def reads(records: list[Any]) -> int:
    """Accounts asked for by the sandbox's answered requests."""
    return sum(len((r.query.get("ids") or r.query.get("usernames") or "").split(",")) for r in records
               if r.status == 200)


def confirmed(db: Path) -> dict[str, float]:
    """Each account's first transition, as a Unix time (read-only: the daemon may still be writing)."""
    from datetime import datetime

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT a.handle, t.confirmed_at FROM transitions t JOIN accounts a ON a.pk = "
                            "t.account_pk ORDER BY t.id").fetchall()
    except sqlite3.OperationalError:
        return {}
    finally:
        conn.close()
    found: dict[str, float] = {}
    for handle, at in rows:
        found.setdefault(handle, datetime.fromisoformat(at).timestamp())
    return found


def wait(what: str, predicate: Any, timeout: float, daemon: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if daemon.poll() is not None:
            raise SystemExit(f"the daemon exited ({daemon.returncode}) while waiting for {what}")
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def run_size(accounts: int, args: argparse.Namespace) -> Result:
    regular_rate = args.requests / args.per * (1 - RESERVE)
    per_pass = math.ceil(accounts / 100)
    pass_seconds = per_pass / regular_rate
    confirming = (CONFIRMATIONS - 1) * min(args.recheck_after, pass_seconds)  # a regular read may come first
    rng = random.Random(args.seed + accounts)
    folder = Path(tempfile.mkdtemp(prefix="presswatch-latency-"))
    with XSandbox(TOKEN, rate_limit=args.requests, window=args.per) as x:
        x.seed(accounts)
        path = config(folder, x.base_url, accounts, args, pass_seconds)
        env = os.environ | {"X_BEARER_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
        log = (folder / "daemon.log").open("wb")
        profile = ["-m", "cProfile", "-o", f"{args.profile}.{accounts}"] if args.profile else []
        daemon = subprocess.Popen([sys.executable, *profile, "-m", "bot.cli", "run", "-c", str(path)], stdout=log,
                                  stderr=subprocess.STDOUT, env=env, cwd=folder)
        try:
            # Warm: every handle resolved and every account read by id once.
            wait("a first pass by id", lambda: reads([r for r in x.requests if "ids" in r.query]) >= accounts,
                 120 + 4 * pass_seconds, daemon)
            started, cpu0, served0 = time.time(), cpu_seconds(daemon.pid), len(x.requests)
            span = max(args.passes * pass_seconds, MIN_READ_SECONDS if not args.quick else 8.0)
            count = max(10, round(accounts * args.changes_per_1000 / 1000))
            when = sorted(rng.uniform(0, span) for _ in range(count))
            chosen = rng.sample(range(accounts), count)
            changed: dict[str, float] = {}
            for offset, n in zip(when, chosen, strict=True):
                time.sleep(max(0.0, started + offset - time.time()))
                changed[f"acct{n}"] = time.time()
                x.set_withheld(f"acct{n}", ["IN"])
            limit = 3 * (pass_seconds + confirming) + 10
            db = folder / "presswatch.db"
            deadline = time.time() + limit
            while time.time() < deadline and len(set(changed) & set(confirmed(db))) < len(changed):
                if daemon.poll() is not None:
                    raise SystemExit(f"the daemon exited ({daemon.returncode}); see {folder / 'daemon.log'}")
                time.sleep(0.2)
            elapsed, cpu = time.time() - started, cpu_seconds(daemon.pid) - cpu0
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(30)
            except subprocess.TimeoutExpired:
                daemon.kill()
            log.close()
        records = x.requests
    seen = confirmed(folder / "presswatch.db")
    latencies = sorted(seen[h] - at for h, at in changed.items() if h in seen)
    measured = records[served0:]
    passes = reads(measured) / accounts
    result = Result(
        accounts=accounts, scheduling="deadline" if deadline_tree() else "fixed cycle", pass_seconds=pass_seconds,
        changes=len(changed), confirmed=len(latencies),
        mean=statistics.fmean(latencies) if latencies else math.nan,
        p95=latencies[min(len(latencies) - 1, math.ceil(0.95 * len(latencies)) - 1)] if latencies else math.nan,
        max=latencies[-1] if latencies else math.nan,
        mean_floor=pass_seconds / 2 + confirming, max_floor=pass_seconds + confirming,
        most_in_window=most_in_window([r.time for r in records], args.per), limit=args.requests,
        status_429=sum(1 for r in records if r.status == 429),
        other_errors=sum(1 for r in records if r.status not in (200, 429)),
        cpu_per_pass=cpu / passes if passes else math.nan, elapsed=elapsed)
    if result.confirmed < result.changes:
        print(f"  {result.changes - result.confirmed} changes never confirmed; see {folder / 'daemon.log'}",
              file=sys.stderr)
    return result


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def show(r: Result) -> None:
    print(f"\n{r.accounts:,} accounts, {r.scheduling} scheduling: pass {r.pass_seconds:.2f} s at the budget less the "
          f"reserve; {r.changes} changes, {r.confirmed} confirmed in {r.elapsed:.0f} s")
    print(f"  latency  mean {r.mean:6.2f} s  (floor {r.mean_floor:.2f} s, {r.mean / r.mean_floor:.2f}x; target "
          f"1.15x: {verdict(r.mean <= 1.15 * r.mean_floor)})")
    print(f"           p95  {r.p95:6.2f} s")
    print(f"           max  {r.max:6.2f} s  (floor {r.max_floor:.2f} s; target floor + 2 s: "
          f"{verdict(r.max <= r.max_floor + 2)})")
    print(f"  requests most in any {ARGS.per:g} s window {r.most_in_window} of {r.limit} "
          f"({verdict(r.most_in_window <= r.limit)}); 429s {r.status_429} ({verdict(r.status_429 == 0)}); "
          f"other errors {r.other_errors}")
    print(f"  CPU      {r.cpu_per_pass:.3f} s of the daemon per full pass")


def main(argv: list[str] | None = None) -> int:
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[1000, 30_000])
    parser.add_argument("--quick", action="store_true", help="1,000 accounts, 3 passes (a minute or so)")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--per", type=float, default=15.0)
    parser.add_argument("--passes", type=int, default=8)
    parser.add_argument("--recheck-after", type=float, default=0.25)
    parser.add_argument("--changes-per-1000", type=float, default=40.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument("--profile", help="cProfile the daemon into FILE.N (N: the accounts)")
    ARGS = args = parser.parse_args(argv)
    if args.quick:
        args.accounts, args.passes = [1000], 3
    print(f"budget {args.requests} requests every {args.per:g} s ({RESERVE:.0%} reserve), {CONFIRMATIONS} "
          f"confirmations, recheck_after {args.recheck_after:g} s; tree {ROOT} "
          f"({'deadline' if deadline_tree() else 'fixed cycle'} scheduling)")
    results = []
    for accounts in args.accounts:
        results.append(run_size(accounts, args))
        show(results[-1])
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    return 0 if all(r.confirmed == r.changes for r in results) else 1


ARGS: argparse.Namespace
if __name__ == "__main__":
    raise SystemExit(main())
