"""Benchmark: the web server of `presswatch run` under load, while the daemon polls.

    python bench/web.py [--accounts 10000] [--transitions 100000] [--seconds 10] [--concurrency 8]

A database is seeded through presswatch's own repositories with ``--accounts`` watched accounts (their ids and
baselines recorded, as after a first poll) and ``--transitions`` transitions spread over two years (withheld
and lifted in TR, IN, RU, PK; suspensions and deactivations), about one in twenty accounts withheld now.
The X sandbox runs in its own process with the same accounts; `presswatch run` (its own process) polls them
every ``--poll`` seconds with the web server on. Then, for each of ``/``, ``/feed.atom`` and
``/api/v1/transitions``, ``--concurrency`` keep-alive clients request it for ``--seconds``: it prints requests
per second, p50, p99 and the slowest, the first (cold) request, and the poll cycles the daemon finished
meanwhile. Every poll commits, so each cycle outdates the web's cached answers: the figures include their rebuilds
(in the background, the answer before served meanwhile; the first request of an answer never built waits).

It prints figures; it asserts no timings. It exits non-zero only when the run is broken (an answer other than
200, the daemon not polling).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TOKEN = "sandbox-token"
ROUTES = ("/", "/feed.atom", "/api/v1/transitions")
COUNTRIES = ("TR", "IN", "RU", "PK")
FIRST_ID = 1_500_000_000_000_000_000  # the X sandbox's first seeded id: acct{i} is FIRST_ID + i


def seed_database(path: Path, accounts: int, transitions: int, now: datetime) -> dict[int, tuple[str, ...]]:
    """Accounts with baselines, and transitions through TransitionLog; the accounts withheld now, by index."""
    from bot.detect import detect
    from bot.models import AccountState, Availability, EventKind, Observation, StatusChange
    from bot.storage.accounts import Outcome, Store, open_db
    from bot.storage.outbox import Outbox

    db = open_db(path)
    store = Store(db, Outbox(db))
    start = now - timedelta(days=730)
    store.sync_watchlist(((f"acct{i}", ["journalist"] if i % 3 else ["media"]) for i in range(accounts)), start)
    rng = random.Random(12)
    withheld_now = {i: (COUNTRIES[i % 4],) for i in range(0, accounts, 20)}
    watched = store.watched()
    outcomes = []
    for index, entry in enumerate(watched):
        codes = frozenset(withheld_now.get(index, ()))
        entry_json = {"id": str(FIRST_ID + index), "username": f"acct{index}", "name": f"acct{index}"}
        observation = Observation("x", f"acct{index}", str(FIRST_ID + index), Availability.ACTIVE,
                                  json.dumps(entry_json), protected=False, withheld_in=codes,
                                  handle=f"acct{index}", name=f"acct{index}")
        outcomes.append(Outcome(entry, observation, detect(None, observation, None, 2)))
    store.record(outcomes, start)
    times = sorted(start + timedelta(seconds=rng.uniform(0, 729 * 86400)) for _ in range(transitions))
    kinds = [EventKind.WITHHELD, EventKind.UNWITHHELD, EventKind.SUSPENDED, EventKind.UNSUSPENDED,
             EventKind.DEACTIVATED, EventKind.REACTIVATED]
    with db.atomic():
        for number, moment in enumerate(times):
            index = rng.randrange(accounts)
            kind = kinds[number % len(kinds)] if number % 3 else kinds[number % 2]
            country = (COUNTRIES[index % 4],) if kind in (EventKind.WITHHELD, EventKind.UNWITHHELD) else ()
            current = AccountState(Availability.ACTIVE, False, frozenset(country), f"acct{index}", f"acct{index}")
            change = StatusChange(current, current, ())
            raw = json.dumps({"id": str(FIRST_ID + index), "username": f"acct{index}", "n": number})
            store.log.insert(watched[index].account.pk, change, kind, country, raw, moment, moment)
    db.close()
    return withheld_now


class Process:
    """A child process whose output goes to a file; the first line matching ``ready`` is waited for."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str], ready: str, timeout: float = 120) -> None:
        self.log = log
        self.file = log.open("wb")
        self.proc = subprocess.Popen(args, stdout=self.file, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while not (found := re.search(ready, self.output())):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{args[2]} did not start:\n{self.output()[-2000:]}")
            time.sleep(0.1)
        self.match = found

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.file.close()


async def load(url: str, seconds: float, concurrency: int) -> dict[str, Any]:
    """``concurrency`` keep-alive clients asking ``url`` for ``seconds``: latencies in ms, failures."""
    import aiohttp

    latencies: list[float] = []
    failures: list[int] = []
    deadline = time.monotonic() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            async with session.get(url) as response:
                await response.read()
                if response.status != 200:
                    failures.append(response.status)
            latencies.append((time.perf_counter() - started) * 1000)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        cold_started = time.perf_counter()
        async with session.get(url) as response:  # cold: the first build after the last commit, maybe
            await response.read()
        cold = (time.perf_counter() - cold_started) * 1000
        began = time.monotonic()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        elapsed = time.monotonic() - began
    ordered = sorted(latencies)
    return {"requests": len(latencies), "rps": len(latencies) / elapsed, "p50_ms": statistics.median(ordered),
            "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], "max_ms": ordered[-1],
            "first_ms": cold, "failures": failures}


def cycles(daemon: Process) -> list[str]:
    return re.findall(r"cycle: (\d+) requests, (\d+) accounts read", daemon.output())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--transitions", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--poll", type=float, default=5.0, help="the daemon's x.poll_interval, seconds")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from bot.sandbox.configs import sandbox_config, write_config
    from bot.sandbox.mail import free_port

    folder = Path(tempfile.mkdtemp(prefix="presswatch-web-bench-"))
    env = os.environ | {"X_BEARER_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    began = time.perf_counter()
    withheld = seed_database(folder / "presswatch.db", args.accounts, args.transitions, datetime.now(UTC))
    seeded = time.perf_counter() - began
    x = Process([sys.executable, "-m", "bot.sandbox.x_api", "--seed", str(args.accounts), "--rate-limit",
                 "100000000", "--window", "1", "--bearer-token", TOKEN], folder / "x.log", env, r"http://\S+")
    daemon: Process | None = None
    try:
        import requests

        for index, codes in withheld.items():  # the sandbox agrees with the seeded states
            requests.post(f"{x.match.group(0)}/_sandbox/set_withheld", json={"x": f"acct{index}",
                          "countries": list(codes)}, timeout=30).raise_for_status()
        port = free_port()
        config = sandbox_config(
            x_url=x.match.group(0), watchlist=[{"handle": f"acct{i}"} for i in range(args.accounts)],
            poll_interval=args.poll, x={"rate_limit": {"requests": 100000, "per": 1}, "jitter": 0.01},
            server={"listen": f"127.0.0.1:{port}", "public_url": f"http://127.0.0.1:{port}"})
        path = write_config(folder, config)
        daemon = Process([sys.executable, "-m", "bot.cli", "run", "-c", str(path)], folder / "daemon.log", env,
                         r"cycle: \d+ requests")
        url = f"http://127.0.0.1:{port}"
        results: dict[str, Any] = {"accounts": args.accounts, "transitions": args.transitions,
                                   "seed_seconds": round(seeded, 1), "routes": {}}
        for route in ROUTES:
            before = len(cycles(daemon))
            figures = asyncio.run(load(url + route, args.seconds, args.concurrency))
            figures["poll_cycles_meanwhile"] = len(cycles(daemon)) - before
            results["routes"][route] = figures
        done = cycles(daemon)
        results["cycles"] = len(done)
        problems = [f"{route}: HTTP {set(f['failures'])}" for route, f in results["routes"].items() if f["failures"]]
        if not done or any(int(read) != args.accounts for _, read in done):
            problems.append(f"the daemon's cycles did not read every account: {done[-3:]}")
        report(results, args, problems)
        return 1 if problems else 0
    finally:
        if daemon is not None:
            daemon.stop()
        x.stop()


def report(results: dict[str, Any], args: argparse.Namespace, problems: list[str]) -> None:
    if args.json:
        print(json.dumps(results | {"problems": problems}, indent=2))
        return
    print(f"web bench: {results['accounts']:,} accounts, {results['transitions']:,} transitions"
          f" (seeded in {results['seed_seconds']} s); daemon polling every {args.poll:g} s;"
          f" {args.concurrency} clients, {args.seconds:g} s per route")
    print(f"{'route':24} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'first ms':>9} {'polls':>6}")
    for route, f in results["routes"].items():
        print(f"{route:24} {f['rps']:8.0f} {f['p50_ms']:8.1f} {f['p99_ms']:8.1f} {f['max_ms']:8.0f}"
              f" {f['first_ms']:9.0f} {f['poll_cycles_meanwhile']:6d}")
    for problem in problems:
        print("PROBLEM:", problem)


if __name__ == "__main__":
    raise SystemExit(main())
