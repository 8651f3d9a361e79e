"""bot.resilience: which errors are outages, the shared backoff, and restarting a task that died."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

from bot.daemon.supervise import supervise
from bot.storage.guard import StorageGuard, is_storage_error
from tests.helpers_core import T0, FakeMonotonic, until


def test_a_full_database_and_a_lock_are_outages_a_constraint_is_a_bug(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "full.db")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, blob TEXT)")
    conn.commit()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full from here on
    try:
        conn.execute("INSERT INTO t (blob) VALUES (?)", ["x" * 100_000])
    except sqlite3.Error as exc:
        full = exc
    conn.execute("PRAGMA max_page_count = 1000000")
    conn.execute("INSERT INTO t (id, blob) VALUES (1, 'a')")
    try:
        conn.execute("INSERT INTO t (id, blob) VALUES (1, 'b')")
    except sqlite3.Error as exc:
        duplicate = exc
    assert "full" in str(full) and is_storage_error(full)
    assert is_storage_error(sqlite3.OperationalError("database is locked"))
    assert not is_storage_error(duplicate) and not is_storage_error(ValueError("x"))


def test_the_guard_backs_off_while_refused_and_reports_an_outage_that_lasted() -> None:
    mono = FakeMonotonic()
    reports: list[tuple[object, object, str]] = []
    guard = StorageGuard(initial=1, maximum=4, report_after=30, monotonic=mono.monotonic,
                         on_recovered=lambda since, until, cause: reports.append((since, until, cause)))
    delays = [guard.failed(sqlite3.OperationalError("database is locked"), T0, "a claim") for _ in range(4)]
    assert delays == [1, 2, 4, 4] and guard.wait() == 4
    mono.now += 4
    assert guard.wait() == 0
    guard.succeeded(T0 + timedelta(seconds=45))
    assert reports == [(T0, T0 + timedelta(seconds=45), "database is locked")]
    assert guard.failing_since is None and guard.wait() == 0
    guard.failed(sqlite3.OperationalError("database is locked"), T0, "a claim")
    guard.succeeded(T0 + timedelta(seconds=2))  # a short hiccup: logged, not reported
    assert len(reports) == 1


async def test_a_task_that_dies_is_started_again_and_the_restart_is_told() -> None:
    stop = asyncio.Event()
    runs: list[int] = []
    told: list[tuple[str, str]] = []

    async def task() -> None:
        runs.append(len(runs))
        if len(runs) < 3:
            raise KeyError(f"bug {len(runs)}")
        await stop.wait()

    runner = asyncio.create_task(supervise("dispatcher", task, stop, initial=0.001,
                                           on_restart=lambda name, exc: told.append((name, str(exc)))))
    await until(lambda: len(runs) == 3, what="the third start")
    stop.set()
    await asyncio.wait_for(runner, 5)
    assert told == [("dispatcher", "'bug 1'"), ("dispatcher", "'bug 2'")]
