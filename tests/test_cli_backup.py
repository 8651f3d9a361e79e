"""`presswatch backup` while `presswatch run` writes: a copy that opens and holds every transition recorded
before the backup started; refusals that write nothing; and a restore done as the README says."""

from __future__ import annotations

import shutil
import sqlite3
import stat
from pathlib import Path

import pytest
from e2e import Daemon, cycles, db_rows, history, presswatch, wait_until, write_config

from bot.sandbox.x_api import XSandbox
from bot.storage.backup import BackupRefused, backup
from bot.storage.database import Contents, inspect

ACCOUNTS = 150  # two requests a poll


def transitions(database: Path) -> dict[int, str]:
    """Transition id -> evidence sha256, read from a database file."""
    conn = sqlite3.connect(f"{database.absolute().as_uri()}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT id, evidence_sha256 FROM transitions"))
    finally:
        conn.close()


@pytest.fixture
def config(x_sandbox: XSandbox, tmp_path: Path) -> Path:
    x_sandbox.seed(ACCOUNTS, prefix="acct")
    return write_config(tmp_path, x_url=x_sandbox.base_url, watchlist=[{"handle": f"acct{n}"} for n in range(ACCOUNTS)],
                        extra={"detection": {"confirmations": 1}})


def test_a_backup_while_the_daemon_writes_holds_every_transition_recorded_before_it(
        x_sandbox: XSandbox, config: Path, tmp_path: Path) -> None:
    x, database = x_sandbox, config.parent / "presswatch.db"
    with Daemon(config) as daemon:
        cycles(x, 4)  # baselines recorded
        copies = []
        for round_ in range(3):
            for n in range(ACCOUNTS):  # every account changes: the daemon writes a transition each
                x.set_withheld(f"acct{n}", ["TR"] if round_ % 2 == 0 else [])
            wait_until(lambda r=round_: len(transitions(database)) >= (r + 1) * ACCOUNTS // 2,
                       what="transitions being recorded")
            for n in range(0, ACCOUNTS, 3):  # and goes on writing while the copy is made
                x.set_protected(f"acct{n}", round_ % 2 == 0)
            before = transitions(database)
            target = tmp_path / f"copy{round_}.db"
            result = presswatch("backup", str(target), config=config)
            assert result.returncode == 0, result.stderr
            copies.append((target, before))
        cycles(x, 2)
        assert daemon.stop() == 0
    for target, before in copies:
        assert inspect(target, write=False) is Contents.PRESSWATCH
        copied = transitions(target)
        assert before.items() <= copied.items(), "a transition recorded before the backup is missing from it"
        conn = sqlite3.connect(target)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
        assert stat.S_IMODE(target.stat().st_mode) == 0o600  # subscribers' addresses are in it
    assert len(transitions(copies[-1][0])) > len(copies[0][1])


def test_a_restore_done_as_the_readme_says_runs_with_the_copys_history(x_sandbox: XSandbox, config: Path,
                                                                       tmp_path: Path) -> None:
    x, database = x_sandbox, config.parent / "presswatch.db"
    with Daemon(config) as daemon:
        cycles(x, 3)
        x.suspend("acct7")
        wait_until(lambda: len(transitions(database)) == 1, what="the suspension")
        assert presswatch("backup", str(tmp_path / "saved.db"), config=config).returncode == 0
        x.suspend("acct8")
        wait_until(lambda: len(transitions(database)) == 2, what="the second suspension")
        assert daemon.stop() == 0
    # The README's restore: presswatch stopped, the -wal and -shm files deleted, the copy put in place.
    for side in ("-wal", "-shm"):
        database.with_name(database.name + side).unlink(missing_ok=True)
    shutil.copyfile(tmp_path / "saved.db", database)
    assert presswatch("validate", config=config).returncode == 0
    assert [(r["handle"], r["kind"]) for r in history(config)] == [("acct7", "suspended")]
    with Daemon(config) as daemon:
        # acct8's suspension happened after the copy: the restored daemon sees it again and records it.
        wait_until(lambda: len(db_rows(config, "SELECT id FROM transitions")) == 2, what="acct8 again")
        assert daemon.stop() == 0


def test_backup_refuses_to_overwrite_without_force_and_writes_nothing_when_refused(
        config: Path, tmp_path: Path) -> None:
    missing = presswatch("backup", str(tmp_path / "b.db"), config=config)
    assert missing.returncode == 2
    assert missing.stderr.strip() == (f"database: {config.parent / 'presswatch.db'} holds no presswatch data yet:"
                                      " nothing to back up (line 2)")
    (tmp_path / "b.db").write_bytes(b"an older copy")
    assert presswatch("remove", "acct1", config=config).returncode == 2  # acct1 is the config's
    database = config.parent / "presswatch.db"
    assert not database.exists()
    shutil.copyfile(Path(__file__).parent / "data" / "court_order.txt", tmp_path / "list.txt")
    assert presswatch("import", str(tmp_path / "list.txt"), "--apply", config=config).returncode == 1
    exists = presswatch("backup", str(tmp_path / "b.db"), config=config)
    assert (exists.returncode, exists.stderr.strip()) == (
        2, f"{tmp_path / 'b.db'} exists already: name another file, or add --force to replace it")
    assert (tmp_path / "b.db").read_bytes() == b"an older copy"
    forced = presswatch("backup", "--force", str(tmp_path / "b.db"), config=config)
    assert forced.returncode == 0, forced.stderr
    assert "10 watched accounts, 0 transitions" in forced.stdout
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no partial copy left


def test_backup_names_what_is_wrong_with_its_target(file_db: object, db_path: Path, tmp_path: Path) -> None:
    cases = {
        tmp_path: f"{tmp_path} is a folder: name the backup file, e.g. {tmp_path / 'presswatch-backup.db'}",
        tmp_path / "nope" / "b.db": f"cannot write {tmp_path / 'nope' / 'b.db'}: folder {tmp_path / 'nope'} does"
                                    " not exist",
        db_path: f"{db_path} is the database itself: name another file",
    }
    for target, message in cases.items():
        with pytest.raises(BackupRefused) as refused:
            backup(db_path, target)
        assert str(refused.value) == message
    with pytest.raises(BackupRefused, match="is the database itself"):
        backup(db_path, db_path, force=True)
    assert backup(db_path, tmp_path / "ok.db").accounts == 0
    foreign = tmp_path / "other.db"
    sqlite3.connect(foreign).execute("CREATE TABLE notes (x)").connection.close()
    with pytest.raises(BackupRefused) as refused:
        backup(foreign, tmp_path / "c.db")
    assert refused.value.database and "another application's SQLite database" in str(refused.value)
    assert not (tmp_path / "c.db").exists()
