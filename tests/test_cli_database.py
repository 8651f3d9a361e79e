"""The database file through the real CLI: one `database: message (line N)` line and exit 2 for every file
presswatch must not use, never a traceback, never a byte written to a file that is not ours; read-only
`history` and `check`; a database upgraded by a newer presswatch refused by every command."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e import WAIT, env, write_config

from bot import __version__
from bot.sandbox.x_api import XSandbox
from bot.storage.accounts import Store, open_db
from bot.storage.migrations import SCHEMA, SCHEMA_TABLE
from bot.storage.outbox import Outbox
from tests.helpers_core import T0

READS = ("history", "check")

# As root, file modes bind no one: the CLI runs without the two capabilities that override them, as
# an ordinary operator would (exit 77 when they cannot be dropped).
DROP_DAC = """
import ctypes, os, sys
if os.geteuid() == 0:
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP, effective from the exec below
            sys.exit(77)
os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
"""


def cli(*args: str) -> list[str]:
    return [sys.executable, "-c", DROP_DAC, "-m", "bot.cli", *args]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run_all(config: Path, commands: tuple[str, ...]) -> dict[str, Result]:
    """Each command at once in its own process (they must not wait for one another), to completion."""
    procs = {command: subprocess.Popen(cli(command, "-c", str(config)), stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, env=env()) for command in commands}
    results = {}
    for command, proc in procs.items():
        try:
            out, err = proc.communicate(timeout=WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        results[command] = Result(proc.returncode, out, err)
    return results


@pytest.fixture(scope="module", autouse=True)
def _file_modes_bind() -> None:
    if subprocess.run(cli("--help"), capture_output=True, env=env(), check=False).returncode == 77:
        pytest.skip("running as root without CAP_SETPCAP: file modes cannot be made to bind")


@pytest.fixture
def x() -> Iterator[XSandbox]:
    with XSandbox() as sandbox:
        sandbox.add_account("calm_one")
        yield sandbox


def presswatch_db(path: Path) -> Path:
    db = open_db(path)
    Store(db, Outbox(db)).sync_watchlist([("calm_one", [])], T0)
    db.close()
    return path


def foreign_db(path: Path, *, wal: bool = False) -> Path:
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.commit()
    conn.close()
    return path


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def truncated(path: Path) -> Path:
    presswatch_db(path)
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size // 2)
    return path


def chmod(path: Path, mode: int) -> Path:
    path.chmod(mode)
    return path


ALL = ("validate", "run", "history", "check")
PATHS = ("validate", "history")  # cases about the path alone: the write check and the read check


@dataclass(frozen=True)
class Case:
    database: str  # as written in the config, relative to its folder
    make: Callable[[Path], object]  # prepares the folder
    message: str  # in the one line every refusing command prints
    commands: tuple[str, ...] = ALL
    reads_fine: bool = False  # history and check still work


CASES = {
    "dev-null": Case("/dev/null", lambda d: None, "database: /dev/null is not a regular file", PATHS),
    "empty": Case("", lambda d: None, "database: must not be empty", PATHS),
    "folder": Case("data", lambda d: (d / "data").mkdir(), "data is a folder, not a database file", PATHS),
    "config-file": Case("config.yaml", lambda d: None, "config.yaml is the config file itself", PATHS),
    "missing-folder": Case("nope/pw.db", lambda d: None, "/nope/pw.db: folder", reads_fine=True),
    "foreign": Case("other.db", lambda d: foreign_db(d / "other.db"), "another application's SQLite database"),
    "foreign-wal": Case("other.db", lambda d: foreign_db(d / "other.db", wal=True), "another application's"),
    "not-sqlite": Case("notes.txt", lambda d: write(d / "notes.txt", b"hello\n"), "is not a SQLite database",
                       PATHS),
    "corrupt": Case("bad.db", lambda d: write(d / "bad.db", b"SQLite format 3\x00" + b"\xff" * 5000),
                    "bad.db is corrupt or truncated"),
    "truncated": Case("cut.db", lambda d: truncated(d / "cut.db"), "cut.db is corrupt or truncated"),
    "unreadable": Case("pw.db", lambda d: chmod(presswatch_db(d / "pw.db"), 0o200), "cannot read", PATHS),
    "read-only-file": Case("pw.db", lambda d: chmod(presswatch_db(d / "pw.db"), 0o444), "pw.db is read-only",
                           reads_fine=True),
    "read-only-folder": Case("ro/pw.db", lambda d: chmod((presswatch_db(_mkdir(d / "ro") / "pw.db")).parent, 0o555),
                             "cannot write in folder", reads_fine=True),
}


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (but the config) and its sha256: what a refused command must leave alone."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != "config.yaml" and os.access(path, os.R_OK):
            found[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_file() or path.is_dir():
            found[str(path.relative_to(folder))] = "(unreadable)" if path.is_file() else "(folder)"
    return found


@pytest.mark.parametrize("name", list(CASES))
def test_a_database_presswatch_must_not_use_is_one_line_and_exit_2(
        name: str, x: XSandbox, tmp_path: Path) -> None:
    case = CASES[name]
    config = write_config(tmp_path, x_url=x.base_url, watchlist=[{"handle": "calm_one"}],
                          extra={"database": case.database})
    case.make(tmp_path)
    before = snapshot(tmp_path)
    try:
        results = run_all(config, case.commands)
    finally:
        for path in tmp_path.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)  # so that pytest can clean up
    refusing = [c for c in case.commands if not (case.reads_fine and c in READS)]
    for command in refusing:
        result = results[command]
        assert result.returncode == 2, (command, result.stderr)
        # A config problem (database: "") comes under the config's header line; a file problem alone.
        lines = [line.strip() for line in result.stderr.strip().splitlines() if not line.endswith("invalid config")]
        assert len(lines) == 1 and lines[0].startswith("database: ") and lines[0].endswith(" (line 2)"), (
            command, result.stderr)
        assert case.message in lines[0], (command, lines[0])
    for command in set(case.commands) - set(refusing):
        assert results[command].returncode == 0, (command, results[command].stderr)
        assert "Traceback" not in results[command].stderr
    assert snapshot(tmp_path) == before  # no byte written, no file created (no -wal, -shm or lock either)


def test_history_without_a_database_prints_none_and_creates_nothing(x: XSandbox, tmp_path: Path) -> None:
    config = write_config(tmp_path, x_url=x.base_url, watchlist=[{"handle": "calm_one"}])
    results = run_all(config, ("history", "check"))
    assert results["history"].returncode == 0, results["history"].stderr
    assert results["history"].stdout.strip() == "No transitions recorded."
    assert results["check"].returncode == 0, results["check"].stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]


def test_a_database_upgraded_by_a_newer_presswatch_is_refused_by_every_command(x: XSandbox, tmp_path: Path) -> None:
    config = write_config(tmp_path, x_url=x.base_url, watchlist=[{"handle": "calm_one"}])
    path = presswatch_db(tmp_path / "presswatch.db")
    conn = sqlite3.connect(path)  # what a later presswatch leaves: a migration we do not know, its stamp
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES"
                 " ('presswatch', 'm005_later', '2027-01-01 00:00:00+00:00')")
    conn.execute(f"INSERT INTO {SCHEMA_TABLE} (schema, presswatch) VALUES (?, '0.3.0')", [SCHEMA + 1])
    conn.commit()
    conn.close()
    before = snapshot(tmp_path)
    expected = (f"database: {path} was upgraded by presswatch 0.3.0 (schema {SCHEMA + 1}); this is presswatch"
                f" {__version__} (schema {SCHEMA}): upgrade presswatch (line 2)")
    for command, result in run_all(config, ALL).items():
        assert (result.returncode, result.stderr.strip()) == (2, expected), command
    assert snapshot(tmp_path) == before


def test_check_prints_one_row_per_distinct_handle(x: XSandbox, tmp_path: Path) -> None:
    config = write_config(tmp_path, x_url=x.base_url, watchlist=[{"handle": "calm_one"}])
    x.add_account("other_one")
    same = ["calm_one", "@CALM_ONE", "https://x.com/calm_one", "other_one", "twitter.com/Calm_One"]
    result = subprocess.run(cli("check", "--json", *same, "-c", str(config)), capture_output=True, text=True,
                            env=env(), timeout=WAIT, check=False)
    assert result.returncode == 0, result.stderr
    assert [row["handle"] for row in json.loads(result.stdout)] == ["calm_one", "other_one"]
    table = subprocess.run(cli("check", *same, "-c", str(config)), capture_output=True, text=True,
                           env=env(), timeout=WAIT, check=False)
    rows = [line.split()[1] for line in table.stdout.splitlines() if line.startswith("│ ")]
    assert rows == ["calm_one", "other_one"], table.stdout
