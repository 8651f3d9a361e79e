"""bot.database, bot.migrations' schema stamp and bot.lock, on real SQLite files."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot import __version__
from bot.storage.accounts import Store
from bot.storage.accounts import open_db as open_db_from_store
from bot.storage.database import Contents, DatabaseError, inspect, open_db, open_readonly
from bot.storage.lock import DaemonLock, LockHeld, lock_path
from bot.storage.migrations import NAMES, SCHEMA, SCHEMA_TABLE, migrations
from bot.storage.outbox import Outbox
from tests.helpers_core import T0


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def presswatch_db(path: Path) -> Path:
    db = open_db(path)
    Store(db, Outbox(db)).sync_watchlist([("alice", ["journalist"])], T0)
    db.close()  # the last connection checkpoints: everything is in the main file, no -wal left
    return path


def foreign_db(path: Path, *, wal: bool = False) -> Path:
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("INSERT INTO notes VALUES ('not yours')")
    conn.commit()
    conn.close()
    return path


def newer_db(path: Path) -> Path:
    """What a later presswatch leaves: a migration this build does not know, stamped with its version."""
    presswatch_db(path)
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, ?, ?)",
                 ["presswatch", "m099_from_the_future", "2027-01-01 00:00:00+00:00"])
    conn.execute(f"INSERT INTO {SCHEMA_TABLE} (schema, presswatch) VALUES (?, ?)", [SCHEMA + 1, "0.3.0"])
    conn.commit()
    conn.close()
    return path


def test_open_db_is_still_importable_from_bot_store() -> None:
    assert open_db_from_store is open_db


@pytest.mark.parametrize("write", [True, False], ids=["write", "read"])
def test_inspect_accepts_what_presswatch_can_use(tmp_path: Path, write: bool) -> None:
    assert inspect(tmp_path / "new.db", write=write) is Contents.MISSING
    (tmp_path / "zero.db").write_bytes(b"")
    assert inspect(tmp_path / "zero.db", write=write) is Contents.EMPTY
    sqlite3.connect(tmp_path / "blank.db").execute("PRAGMA user_version = 0").connection.close()
    assert inspect(tmp_path / "blank.db", write=write) is Contents.EMPTY
    assert inspect(presswatch_db(tmp_path / "pw.db"), write=write) is Contents.PRESSWATCH


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: Path("/dev/null"), "/dev/null is not a regular file"),
        (lambda d: d, "is a folder, not a database file"),
        (lambda d: foreign_db(d / "other.db"), "another application's SQLite database (tables: notes)"),
        (lambda d: foreign_db(d / "other.db", wal=True), "another application's SQLite database"),
        (lambda d: _write(d / "text.db", b"version: 1\n"), "is not a SQLite database"),
        (lambda d: _write(d / "short.db", b"SQLite format 3\x00\x10\x00"), "is truncated"),
        (lambda d: _write(d / "junk.db", b"SQLite format 3\x00" + b"\xff" * 4000), "is corrupt or truncated"),
        (lambda d: _truncate(presswatch_db(d / "cut.db")), "is corrupt or truncated"),
        (lambda d: newer_db(d / "new.db"), f"was upgraded by presswatch 0.3.0 (schema {SCHEMA + 1}); this is"
                                           f" presswatch {__version__} (schema {SCHEMA}): upgrade presswatch"),
    ],
    ids=["device", "folder", "foreign", "foreign-wal", "text", "short", "junk", "truncated", "newer"],
)
def test_inspect_refuses_without_writing(tmp_path: Path, make: Callable[[Path], Path], message: str) -> None:
    path = make(tmp_path)
    before = sorted(os.listdir(tmp_path))
    digest_before = digest(path) if path.is_file() else None
    for write in (True, False):
        with pytest.raises(DatabaseError) as caught:
            inspect(path, write=write)
        assert message in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(DatabaseError):
        open_db(path)
    with pytest.raises(DatabaseError):
        open_readonly(path)
    assert sorted(os.listdir(tmp_path)) == before  # not even a -wal or -shm beside it
    assert (digest(path) if path.is_file() else None) == digest_before


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _truncate(path: Path) -> Path:
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size // 2)
    return path


def test_inspect_refuses_the_config_file_itself(tmp_path: Path) -> None:
    config = _write(tmp_path / "config.yaml", b"version: 1\n")
    with pytest.raises(DatabaseError, match="is the config file itself"):
        inspect(tmp_path / "." / "config.yaml", write=False, config_file=config)


def test_writing_needs_an_existing_folder(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match=r"folder .*/nope does not exist"):
        inspect(tmp_path / "nope" / "pw.db", write=True)
    assert inspect(tmp_path / "nope" / "pw.db", write=False) is Contents.MISSING
    assert not (tmp_path / "nope").exists()


def test_open_readonly_creates_nothing(tmp_path: Path) -> None:
    assert open_readonly(tmp_path / "pw.db") is None
    path = presswatch_db(tmp_path / "pw.db")
    db = open_readonly(path)
    assert db is not None
    assert [t.handle for t in Store(db, Outbox(db)).transitions()] == []
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.execute("DELETE FROM accounts")
    db.close()
    assert sorted(os.listdir(tmp_path)) == ["pw.db"]  # a closed WAL database: read from the main file alone


def test_open_readonly_reads_what_a_writer_has_not_checkpointed(tmp_path: Path) -> None:
    writer = open_db(tmp_path / "pw.db")
    Store(writer, Outbox(writer)).sync_watchlist([("alice", [])], T0)
    reader = open_readonly(tmp_path / "pw.db")
    assert reader is not None
    assert [row["handle"] for row in reader.query("SELECT handle FROM accounts")] == ["alice"]
    Store(writer, Outbox(writer)).sync_watchlist([("alice", []), ("bob", [])], T0)
    assert [row["handle"] for row in reader.query("SELECT handle FROM accounts ORDER BY pk")] == ["alice", "bob"]
    reader.close()
    writer.close()


def test_each_migration_stamps_its_schema_and_our_version(tmp_path: Path) -> None:
    db = open_db(tmp_path / "pw.db")
    stamps = [(row["schema"], row["presswatch"]) for row in db.query(f"SELECT * FROM {SCHEMA_TABLE} ORDER BY schema")]
    assert stamps == [(number, __version__) for number in range(1, SCHEMA + 1)]
    assert [m.name for m in migrations.applied(db)] == NAMES
    db.close()


def test_a_database_made_before_the_stamp_gets_it_on_opening(tmp_path: Path) -> None:
    legacy = Database(tmp_path / "old.db")
    migrations.apply(legacy, stop_before="m004_schema_record")
    legacy.execute(f"DROP TABLE {SCHEMA_TABLE}")  # as presswatch 0.1.0 made them: no stamp table at all
    legacy.close()
    reopened = open_db(tmp_path / "old.db")
    stamps = [(row["schema"], row["presswatch"]) for row in reopened.query(f"SELECT * FROM {SCHEMA_TABLE}")]
    assert stamps == [(number, __version__) for number in range(NAMES.index("m004_schema_record") + 1, SCHEMA + 1)]
    reopened.close()


def test_a_second_lock_on_one_database_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    database = tmp_path / "pw.db"
    (tmp_path / "link.db").symlink_to(database)
    with DaemonLock(database):
        for path in (database, tmp_path / "link.db"):
            with pytest.raises(LockHeld) as held:
                DaemonLock(path).acquire()
            assert held.value.pid == os.getpid()
    assert lock_path(tmp_path / "link.db") == tmp_path / "pw.db.lock"
    DaemonLock(database).acquire().release()  # released: free again
