"""Bluesky and Mastodon passes for bench/poll_cycle.py: requests per full pass against each platform's floor.

For N accounts on each platform (the sandboxes in this process, on loopback; the real watchers and Monitor):

* Bluesky: ``--omitted-percent`` of the actors are taken down, so every getProfiles omits them and each is
  classified by its own getProfile. Floor: ceil(N/25) + the omitted actors (the first pass, by handle,
  also resolves the DIDs of the omitted ones: one resolveHandle each, once).
* Mastodon 4.3+: batches of 40 ids. Floor: ceil(N/40).
* Mastodon before 4.3 (no batch route): one request an account, plus the one batch request that finds the
  route missing on the first pass. Floor: N.

Figures, not assertions: the run is reported broken only when a pass read fewer accounts than watched, or
made more requests than its floor.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _now() -> datetime:
    return datetime.now(UTC)


async def _passes(platform: str, handles: list[str], watcher: Any, floors: tuple[int, int],
                  served: Any, label: str) -> dict[str, Any]:
    """Two full passes (first: by handle; second: steady, by id) of one lane; their figures and problems."""
    from bot.polling.monitor import Monitor
    from bot.ratelimit import SlidingWindow
    from bot.storage.accounts import Store, open_db
    from bot.storage.outbox import Outbox

    with tempfile.TemporaryDirectory(prefix="presswatch-bench-") as tmp:
        db = open_db(Path(tmp) / "bench.db")
        store = Store(db, Outbox(db))
        store.sync_watchlist(((h, ()) for h in handles), _now(), platform)
        monitor = Monitor(store, store.outbox, watcher, SlidingWindow(10**9, 900), confirmations=2,
                          poll_interval=600, clock=_now, lane=platform)
        rows, problems = [], []
        for phase, floor in zip(("first pass (by handle)", "steady pass (by id)"), floors, strict=True):
            before, started = served(), time.perf_counter()
            report = await monitor.run_cycle(_now())
            wall = time.perf_counter() - started
            rows.append({"phase": phase, "requests": report.requests, "served": served() - before,
                         "floor": floor, "ok": report.ok, "wall": wall})
            if report.ok != len(handles) or report.errors:
                problems.append(f"{label} {phase}: {report.ok} of {len(handles)} read, {report.errors[:2]}")
            if served() - before > floor or report.requests != served() - before:
                problems.append(f"{label} {phase}: {report.requests} requests counted, {served() - before} "
                                f"served, floor {floor}")
        db.close()
    await watcher.aclose()
    return {"platform": label, "accounts": len(handles), "rows": rows, "problems": problems}


async def bluesky(accounts: int, omitted_percent: float) -> dict[str, Any]:
    from bot.sandbox.bluesky_api import BlueskySandbox
    from watchers.bluesky import BlueskyWatcher

    omitted = round(accounts * omitted_percent / 100)
    with BlueskySandbox(rate_limit=10**9) as sandbox:
        handles = [f"acct{i}.bsky.social" for i in range(accounts)]
        for i, handle in enumerate(handles):
            did = sandbox.add_account(handle)
            if i < omitted:
                sandbox.set(did, taken_down=True)
        watcher = BlueskyWatcher.connect(sandbox.base_url, {"TR": "did:plc:cquoj7aozvmkud2gifeinkda"}, clock=_now)
        floor = math.ceil(accounts / 25) + omitted
        result = await _passes("bluesky", handles, watcher, (floor + omitted, floor), lambda: sandbox.request_count,
                               "bluesky")
    result["omitted"] = omitted
    return result


async def mastodon(accounts: int, version: str) -> dict[str, Any]:
    from bot.sandbox.mastodon_api import MastodonSandbox
    from watchers.mastodon import MastodonWatcher

    with MastodonSandbox("bench.social", version=version, rate_limit=10**9) as sandbox:
        handles = [f"acct{i}@bench.social" for i in range(accounts)]
        for i in range(accounts):
            sandbox.add_account(f"acct{i}")
        watcher = MastodonWatcher.connect("bench.social", sandbox.base_url)
        batch = version >= "4.3"
        steady = math.ceil(accounts / 40) if batch else accounts
        return await _passes("mastodon", handles, watcher, (accounts, steady + (0 if batch else 1)),
                             lambda: sandbox.request_count, f"mastodon {version}")


def measure(accounts: list[int], old_accounts: int, omitted_percent: float) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        found = []
        for n in accounts:
            found.append(await bluesky(n, omitted_percent))
            found.append(await mastodon(n, "4.3.0"))
        found.append(await mastodon(old_accounts, "4.2.0"))
        return found

    return asyncio.run(run())


def show(results: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 110))
    table = Table(title="Bluesky and Mastodon passes (sandboxes in this process; figures, not assertions)")
    for column in ("platform", "accounts", "phase", "requests\nreport/served/floor", "read", "wall s"):
        table.add_column(column, justify="right")
    for res in results:
        omitted = f" ({res['omitted']} omitted)" if res.get("omitted") else ""
        for i, row in enumerate(res["rows"]):
            table.add_row(res["platform"] if i == 0 else "", f"{res['accounts']:,}{omitted}" if i == 0 else "",
                          row["phase"], f"{row['requests']} / {row['served']} / {row['floor']}", f"{row['ok']:,}",
                          f"{row['wall']:.2f}")
        table.add_section()
    console.print(table)
    console.print("floors: Bluesky ceil(N/25) + one getProfile per omitted actor (first pass: + one resolveHandle "
                  "each); Mastodon 4.3+ ceil(N/40); before 4.3 one request an account (+1 for the missing batch "
                  "route on the first steady pass)")
    for res in results:
        for problem in res["problems"]:
            console.print(f"[red]BROKEN RUN[/red] {problem}")
