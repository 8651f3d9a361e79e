"""The database file: what is at its path (read without writing a byte), and opening it to write or to read.

``inspect`` is the one check every command makes; ``open_db`` and ``open_readonly`` refuse through it
before SQLite touches the file, so another application's database, a corrupt file or one upgraded by a
newer presswatch is never written to.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from enum import StrEnum
from pathlib import Path

from sqlite_utils import Database

from bot import __version__
from bot.storage.migrations import NAMES, SCHEMA, SCHEMA_TABLE, migrations

MAGIC = b"SQLite format 3\x00"
HEADER = 100  # bytes: SQLite's file header
_WAL_FORMAT = 2  # header bytes 18 and 19 (write and read format versions) of a WAL-mode database


class DatabaseError(Exception):
    """presswatch must not use this file; the message says why in one line, naming the path."""


class Contents(StrEnum):
    """What ``inspect`` found at a usable path."""

    MISSING = "missing"  # nothing there yet: `run` creates it
    EMPTY = "empty"  # a file with no tables (0 bytes, or a fresh SQLite file)
    PRESSWATCH = "presswatch"  # presswatch's schema, at most as new as this build's


def inspect(path: Path, *, write: bool, config_file: Path | None = None) -> Contents:
    """What is at ``path``, reading without writing; DatabaseError when presswatch must not use it.

    ``write``: also require what `run` needs, a writable file and a writable folder for SQLite's
    ``-wal`` and ``-shm`` files (or a folder to create the file in).
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        if write:
            _check_folder(path, creating=True)
        return Contents.MISSING
    except OSError as exc:
        raise DatabaseError(f"cannot read {path}: {exc.strerror}") from None
    _check_file(path, info, config_file)
    contents = Contents.EMPTY if info.st_size == 0 else _check_contents(path)
    if write:
        _check_writable(path)
    return contents


def _check_folder(path: Path, *, creating: bool) -> None:
    folder = path.parent
    if not folder.is_dir():
        raise DatabaseError(f"cannot create {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        needs = path.name if creating else f"{path.name}-wal and {path.name}-shm"
        raise DatabaseError(f"cannot write in folder {folder}: presswatch run needs to create {needs} there")


def _check_file(path: Path, info: os.stat_result, config_file: Path | None) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise DatabaseError(f"{path} is a folder, not a database file")
    if not stat.S_ISREG(info.st_mode):
        raise DatabaseError(f"{path} is not a regular file")
    if config_file is not None and config_file.exists() and path.samefile(config_file):
        raise DatabaseError(f"{path} is the config file itself, not a database file")
    if not os.access(path, os.R_OK):
        raise DatabaseError(f"cannot read {path}: permission denied")


def _check_writable(path: Path) -> None:
    for target in (path, _side(path, "-wal"), _side(path, "-shm")):
        if target.exists() and not os.access(target, os.W_OK):
            raise DatabaseError(f"{target} is read-only: presswatch run writes to it")
    _check_folder(path, creating=False)


def _side(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _check_contents(path: Path) -> Contents:
    """Ours (and not newer than this build), empty, or refused: not SQLite, foreign, corrupt or newer."""
    with path.open("rb") as file:
        header = file.read(HEADER)
    if header[: len(MAGIC)] != MAGIC:
        raise DatabaseError(f"{path} is not a SQLite database")
    if len(header) < HEADER:
        raise DatabaseError(f"{path} is truncated: shorter than a SQLite header")
    try:
        conn = connect_readonly(path)
        try:
            tables = {row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")}
            applied = _applied(conn, tables)
            newest = _newest_stamp(conn, tables)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f'{path} is corrupt or truncated: SQLite reports "{exc}"') from None
    if not applied:
        others = sorted(tables - {migrations.migrations_table})
        if others:
            shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
            raise DatabaseError(f"{path} is another application's SQLite database (tables: {shown}), not presswatch's")
        return Contents.EMPTY
    unknown = [name for name in applied if name not in NAMES]
    if unknown:
        raise DatabaseError(_newer(path, unknown, newest))
    return Contents.PRESSWATCH


def _applied(conn: sqlite3.Connection, tables: set[str]) -> list[str]:
    if migrations.migrations_table not in tables:
        return []
    rows = conn.execute(f"SELECT name FROM {migrations.migrations_table} WHERE migration_set = ? ORDER BY rowid",
                        [migrations.name])
    return [str(row[0]) for row in rows]


def _newest_stamp(conn: sqlite3.Connection, tables: set[str]) -> tuple[int, str] | None:
    if SCHEMA_TABLE not in tables:
        return None
    row = conn.execute(f"SELECT schema, presswatch FROM {SCHEMA_TABLE} ORDER BY schema DESC LIMIT 1").fetchone()
    return (int(row[0]), str(row[1])) if row else None


def _newer(path: Path, unknown: list[str], newest: tuple[int, str] | None) -> str:
    ours = f"this is presswatch {__version__} (schema {SCHEMA}): upgrade presswatch"
    if newest is not None and newest[0] > SCHEMA:
        return f"{path} was upgraded by presswatch {newest[1]} (schema {newest[0]}); {ours}"
    return f"{path} was upgraded by a newer presswatch (migrations {', '.join(unknown)}); {ours}"


def connect_readonly(path: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """A read-only connection that creates no file, beside a running daemon or not."""
    uri = path.absolute().as_uri()
    # A WAL database that no connection has open (no -wal file) is complete in its main file. Opened
    # with mode=ro, SQLite would still create -wal and -shm files: in someone else's folder, or one we
    # may not write to. A writer starting meanwhile writes to a new -wal, not to the main file.
    if _is_wal(path) and not _side(path, "-wal").exists():
        return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, check_same_thread=check_same_thread)
    return sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=check_same_thread)


def _is_wal(path: Path) -> bool:
    with path.open("rb") as file:
        header = file.read(20)
    return len(header) == 20 and header[18] == header[19] == _WAL_FORMAT


def open_db(path: Path | str | None) -> Database:
    """Open (or create) the database file to write and bring its schema up to date. None: in memory.

    DatabaseError, before anything is written, when ``inspect`` refuses the file.
    """
    if path is None:
        db = Database(memory=True)
    else:
        inspect(Path(path), write=True)
        db = Database(Path(path))
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=5000")
    migrations.apply(db)
    return db


def open_readonly(path: Path) -> Database | None:
    """The database opened read-only, never creating or migrating it; None when it has no schema yet.

    DatabaseError when ``inspect`` refuses the file.
    """
    if inspect(path, write=False) is not Contents.PRESSWATCH:
        return None
    conn = connect_readonly(path)
    conn.execute("PRAGMA busy_timeout=5000")
    return Database(conn)
