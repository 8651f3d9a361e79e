"""Benchmark: one poll cycle over N watched accounts against the sandbox X API.

    python bench/poll_cycle.py [--accounts 10000 100000] [--rounds N] [--change-percent 1]

For each N a child process (a clean peak RSS per size) starts the X sandbox in its own process,
builds a Store on a temporary file and a Monitor on the real tweepy watcher, then runs:

* cycle 1: handles resolved to ids, baselines recorded (reported apart: it is a one-off);
* ``--rounds`` steady cycles (by id, nothing changes), each paired with a bare baseline: plain
  ``requests.Session`` GETs of /2/users over the same id batches with ``json.loads`` of each body,
  no detection, no storage;
* a change variant: ``--change-percent`` of the accounts are withheld in TR through the sandbox's
  control API, then one cycle sees them (pending candidates written) and the next confirms them
  (transitions, evidence and outbox rows for ``--subscribers`` subscribers written).

Then (bench/poll_cycle_platforms.py) a full pass of each other platform against its floor: Bluesky
(``--platform-accounts``, ``--omitted-percent`` of them taken down), a Mastodon 4.3 instance and one before
4.3 (``--old-instance-accounts``); ``--platform-accounts 0`` skips them.

It prints figures; it does not assert timings. It exits non-zero only when the run itself is broken:
a cycle whose request count is not ceil(N/100) (by its CycleReport or by the sandbox's own count),
accounts not read, or a transition count other than the number of changed accounts.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TOKEN = "sandbox-token"
PREFIX = "acct"  # XSandbox.seed's default prefix: handles acct0, acct1, ...
USER_FIELDS = "withheld,protected,created_at,description,verified,public_metrics"
TARGET_RATIO = 1.5
TARGET_RSS_MB = 300


def folder_mb(folder: Path) -> float:
    """The size of the files in ``folder`` (the database and its WAL), in MiB."""
    return sum(f.stat().st_size for f in folder.iterdir()) / 2**20


def _rss_now_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class Sandbox:
    """``python -m bot.sandbox.x_api`` in its own process, driven over HTTP."""

    def __init__(self, accounts: int) -> None:
        import requests

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.sandbox.x_api", "--port", "0", "--seed", str(accounts),
             "--rate-limit", "1000000", "--bearer-token", TOKEN],
            stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("http://"):
            self.proc.kill()
            raise SystemExit(f"the X sandbox did not start (printed {line!r})")
        self.base_url = line
        self.control = requests.Session()
        self.control.trust_env = False

    def stats(self) -> int:
        response = self.control.get(f"{self.base_url}/_sandbox/stats", timeout=30)
        response.raise_for_status()
        return int(response.json()["requests"])

    def call(self, action: str, **payload: Any) -> Any:
        response = self.control.post(f"{self.base_url}/_sandbox/{action}", json=payload, timeout=30)
        response.raise_for_status()
        return response.json()["result"]

    def close(self) -> None:
        self.control.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def bare_baseline(base_url: str, batches: list[list[str]]) -> float:
    """The floor: the same GETs with plain requests + json.loads, nothing else. Seconds."""
    import requests

    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    url = f"{base_url}/2/users"
    started = time.perf_counter()
    for batch in batches:
        response = session.get(url, params={"ids": ",".join(batch), "user.fields": USER_FIELDS}, timeout=30)
        if response.status_code != 200:
            raise SystemExit(f"baseline: HTTP {response.status_code}: {response.text[:200]}")
        json.loads(response.content)
    elapsed = time.perf_counter() - started
    session.close()
    return elapsed


async def measure(accounts: int, rounds: int, change_percent: float, subscribers: int,
                  profile: str | None) -> dict[str, Any]:
    from bot import clock
    from bot.polling.monitor import Monitor
    from bot.ratelimit import SlidingWindow
    from bot.storage.accounts import Store, open_db
    from bot.storage.outbox import Outbox, SubscriberSpec
    from watchers.x import XWatcher

    expected = math.ceil(accounts / 100)
    problems: list[str] = []
    out: dict[str, Any] = {"accounts": accounts, "expected_requests": expected, "problems": problems}
    sandbox = Sandbox(accounts)
    tmp = tempfile.TemporaryDirectory(prefix="presswatch-bench-")
    try:
        db = open_db(Path(tmp.name) / "bench.db")
        outbox = Outbox(db)
        store = Store(db, outbox)
        now = clock.now()
        store.sync_watchlist(((f"{PREFIX}{i}", ()) for i in range(accounts)), now)
        for i in range(subscribers):  # so the confirming cycle writes outbox rows too
            outbox.upsert_subscriber(SubscriberSpec(key=f"bench:{i}", name=f"sub {i}", channel="email",
                                                    address=f"sub{i}@example.org"), now)
        watcher = XWatcher.connect(TOKEN, sandbox.base_url, 30)
        monitor = Monitor(store, outbox, watcher, SlidingWindow(10**9, 900), confirmations=2, poll_interval=600,
                          clock=clock.now)
        out["rss_after_setup_mb"] = _rss_now_mb()

        async def cycle(label: str, prof: cProfile.Profile | None = None) -> dict[str, Any]:
            before = sandbox.stats()
            started = time.perf_counter()
            if prof is not None:
                prof.enable()
            report = await monitor.run_cycle(clock.now())
            if prof is not None:
                prof.disable()
            wall = time.perf_counter() - started
            served = sandbox.stats() - before
            row = {"wall": wall, "requests": report.requests, "served": served, "ok": report.ok,
                   "failed": report.failed, "transitions": len(report.transitions),
                   "rss_now_mb": _rss_now_mb(), "rss_peak_mb": _rss_peak_mb()}
            if report.requests != expected or served != expected:
                problems.append(f"{label}: {report.requests} requests by the CycleReport, {served} served by "
                                f"the sandbox; expected ceil({accounts}/100) = {expected}")
            if report.ok != accounts or report.failed or report.errors:
                problems.append(f"{label}: {report.ok} read, {report.failed} not read, errors {report.errors[:3]}")
            return row

        out["cycle1"] = await cycle("cycle 1 (by handle)")
        ids = [w.account.account_id or "" for w in store.watched("x")]
        if not all(ids):
            problems.append("cycle 1 left accounts without an id")
        batches = [ids[i : i + 100] for i in range(0, len(ids), 100)]

        steady, bare = [], []
        prof = cProfile.Profile() if profile else None
        for r in range(rounds):
            before = sandbox.stats()
            bare.append(await asyncio.to_thread(bare_baseline, sandbox.base_url, batches))
            if (served := sandbox.stats() - before) != expected:
                problems.append(f"baseline {r + 1}: {served} requests served, expected {expected}")
            steady.append(await cycle(f"steady cycle {r + 1}", prof if r == rounds - 1 else None))
        if prof is not None and profile:
            prof.dump_stats(profile)
        out["steady"], out["bare"] = steady, bare
        out["steady_wall"] = statistics.median(row["wall"] for row in steady)
        out["bare_wall"] = statistics.median(bare)
        out["ratio"] = out["steady_wall"] / out["bare_wall"]
        for row in steady:
            if row["transitions"]:
                problems.append("a steady cycle recorded transitions")

        changed = max(1, round(accounts * change_percent / 100)) if change_percent > 0 else 0
        if changed:
            step = accounts // changed
            for account_id in ids[::step][:changed]:
                sandbox.call("set_withheld", x=account_id, countries=["TR"])
            bare_change = await asyncio.to_thread(bare_baseline, sandbox.base_url, batches)
            sees = await cycle("change: first sight (pending)")
            confirms = await cycle("change: confirmation (transitions)")
            if sees["transitions"] != 0 or confirms["transitions"] != changed:
                problems.append(f"change variant: {sees['transitions']} then {confirms['transitions']} "
                                f"transitions; expected 0 then {changed}")
            outbox_rows = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
            if outbox_rows != changed * subscribers:
                problems.append(f"change variant: {outbox_rows} outbox rows, expected {changed * subscribers}")
            out["change"] = {"accounts_changed": changed, "pending": sees, "confirm": confirms,
                             "bare_wall": bare_change, "outbox_rows": outbox_rows}
        await watcher.aclose()
        db.close()
        out["db_mb"] = folder_mb(Path(tmp.name))
    finally:
        sandbox.close()
        tmp.cleanup()
    out["rss_peak_mb"] = _rss_peak_mb()
    return out


def run_child(accounts: int, args: argparse.Namespace) -> dict[str, Any]:
    """One size in its own process: its ru_maxrss is this size's peak alone."""
    command = [sys.executable, __file__, "--one", str(accounts), "--rounds", str(args.rounds),
               "--change-percent", str(args.change_percent), "--subscribers", str(args.subscribers)]
    if args.profile:
        command += ["--profile", f"{args.profile}.{accounts}"]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode not in (0, 1) or not lines:
        raise SystemExit(f"the benchmark child for {accounts} accounts failed (exit {done.returncode})")
    return dict(json.loads(lines[-1]))


def show(results: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 130))
    table = Table(title="presswatch poll cycle (X sandbox in its own process; figures, not assertions)")
    for column in ("accounts", "phase", "requests\nreport/served/ceil(N/100)", "wall s",
                   "bare s", "ratio\n(<= 1.5 @100k)", "transitions", "RSS now\nMB"):
        table.add_column(column, justify="right")
    for res in results:
        n, exp = res["accounts"], res["expected_requests"]

        def req(row: dict[str, Any], exp: int = exp) -> str:
            return f"{row['requests']} / {row['served']} / {exp}"

        c1 = res["cycle1"]
        table.add_row(f"{n:,}", "cycle 1 (by handle, baseline)", req(c1), f"{c1['wall']:.2f}", "", "",
                      str(c1["transitions"]), f"{c1['rss_now_mb']:.0f}")
        for i, (row, bare) in enumerate(zip(res["steady"], res["bare"], strict=True), 1):
            table.add_row("", f"steady {i}", req(row), f"{row['wall']:.2f}", f"{bare:.2f}",
                          f"{row['wall'] / bare:.2f}", str(row["transitions"]), f"{row['rss_now_mb']:.0f}")
        ok = "ok" if res["ratio"] <= TARGET_RATIO else "MISSED"
        table.add_row("", "[b]steady, median[/b]", "", f"[b]{res['steady_wall']:.2f}[/b]",
                      f"[b]{res['bare_wall']:.2f}[/b]", f"[b]{res['ratio']:.2f}[/b] ({ok})", "", "")
        if ch := res.get("change"):
            for label, row in (("pending", ch["pending"]), ("confirm", ch["confirm"])):
                table.add_row("", f"{ch['accounts_changed']:,} changed: {label}", req(row), f"{row['wall']:.2f}",
                              f"{ch['bare_wall']:.2f}", f"{row['wall'] / ch['bare_wall']:.2f}",
                              str(row["transitions"]), f"{row['rss_now_mb']:.0f}")
        table.add_section()
    console.print(table)
    for res in results:
        rss = res["rss_peak_mb"]
        note = "ok" if rss < TARGET_RSS_MB else "MISSED"
        extra = ""
        if ch := res.get("change"):
            extra = f"; change variant wrote {ch['outbox_rows']:,} outbox rows"
        console.print(
            f"{res['accounts']:>7,} accounts: peak RSS {rss:.0f} MB ({note}; target < {TARGET_RSS_MB} MB; "
            f"ru_maxrss of the whole benchmark process for this size, sandbox excluded; "
            f"{res['rss_after_setup_mb']:.0f} MB after setup); steady ratio {res['ratio']:.2f} "
            f"(target <= {TARGET_RATIO} at 100,000); database {res['db_mb']:.0f} MB{extra}"
        )
        for problem in res["problems"]:
            console.print(f"[red]BROKEN RUN[/red] {res['accounts']:,}: {problem}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=3, help="steady cycles (each with its bare baseline)")
    parser.add_argument("--change-percent", type=float, default=1.0,
                        help="accounts withheld before the change variant (0: skip it)")
    parser.add_argument("--subscribers", type=int, default=10,
                        help="subscribers matching every transition of the change variant")
    parser.add_argument("--inline", action="store_true", help="run every size in this process (no child)")
    parser.add_argument("--profile", help="cProfile the last steady cycle into FILE.N")
    parser.add_argument("--platform-accounts", type=int, nargs="+", default=[1_000, 10_000],
                        help="accounts on Bluesky and on a Mastodon 4.3 instance (0: skip the other platforms)")
    parser.add_argument("--old-instance-accounts", type=int, default=200, help="on a Mastodon 4.2 instance")
    parser.add_argument("--omitted-percent", type=float, default=1.0, help="Bluesky actors taken down")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child: one size, JSON out
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.one is not None:
        result = asyncio.run(measure(args.one, args.rounds, args.change_percent, args.subscribers, args.profile))
        print(json.dumps(result))
        return 1 if result["problems"] else 0
    results = []
    for n in args.accounts:
        if args.inline:
            profile = f"{args.profile}.{n}" if args.profile else None
            results.append(asyncio.run(measure(n, args.rounds, args.change_percent, args.subscribers, profile)))
        else:
            results.append(run_child(n, args))
    show(results)
    broken = any(res["problems"] for res in results)
    if [n for n in args.platform_accounts if n > 0]:
        import poll_cycle_platforms as platforms

        others = platforms.measure([n for n in args.platform_accounts if n > 0], args.old_instance_accounts,
                                   args.omitted_percent)
        platforms.show(others)
        broken |= any(res["problems"] for res in others)
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
