"""A consistent copy of the database while the daemon writes: ``VACUUM INTO`` from a read-only connection.

The copy is one read transaction of SQLite's, so it holds exactly what was committed when it began (WAL lets
the daemon go on writing meanwhile); it is written beside the target under a temporary name, checked, synced
to disk, and only then given the target's name, so a target never holds half a copy.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from bot.storage.database import Contents, DatabaseError, connect_readonly, inspect


class BackupRefused(Exception):
    """The backup was not made; the message says why in one line. ``database``: the database is the cause
    (not the target)."""

    def __init__(self, message: str, *, database: bool = False) -> None:
        super().__init__(message)
        self.database = database


@dataclass(frozen=True, slots=True)
class BackupReport:
    """What a backup holds."""

    path: Path
    size: int  # bytes
    accounts: int  # watched
    transitions: int


def backup(database: Path, target: Path, *, force: bool = False) -> BackupReport:
    """Copy ``database`` to ``target``; BackupRefused (nothing written) when it cannot or must not.

    ``force``: replace an existing ``target`` (atomically: a reader sees the old copy or the new one).
    """
    try:
        contents = inspect(database, write=False)
    except DatabaseError as exc:
        raise BackupRefused(str(exc), database=True) from None
    if contents is not Contents.PRESSWATCH:
        raise BackupRefused(f"{database} holds no presswatch data yet: nothing to back up", database=True)
    _check_target(database, target, force)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        _copy(database, partial)
        report = _verify(partial, target)
        _place(partial, target, force)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return report


def _check_target(database: Path, target: Path, force: bool) -> None:
    if target.is_dir():
        raise BackupRefused(f"{target} is a folder: name the backup file, e.g. {target / 'presswatch-backup.db'}")
    if not target.parent.is_dir():
        raise BackupRefused(f"cannot write {target}: folder {target.parent} does not exist")
    if target.exists():
        if target.resolve() == database.resolve():
            raise BackupRefused(f"{target} is the database itself: name another file")
        if not force:
            raise BackupRefused(f"{target} exists already: name another file, or add --force to replace it")
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise BackupRefused(f"cannot write in folder {target.parent}: permission denied")


def _copy(database: Path, partial: Path) -> None:
    # An empty file made first, readable by its owner only: the copy holds subscribers' addresses.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    conn = connect_readonly(database)
    try:
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("VACUUM INTO ?", [str(partial)])
    except sqlite3.Error as exc:
        raise BackupRefused(f'copying {database} failed: SQLite reports "{exc}"', database=True) from None
    finally:
        conn.close()


def _verify(partial: Path, target: Path) -> BackupReport:
    """The copy opens, passes SQLite's check and is presswatch's; what it holds."""
    try:
        inspect(partial, write=False)
        conn = sqlite3.connect(f"{partial.absolute().as_uri()}?mode=ro", uri=True)
        try:
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            accounts = conn.execute("SELECT count(*) FROM accounts WHERE watched = 1").fetchone()[0]
            transitions = conn.execute("SELECT count(*) FROM transitions").fetchone()[0]
        finally:
            conn.close()
    except (DatabaseError, sqlite3.Error) as exc:
        raise BackupRefused(f"the copy of the database failed its check: {exc}") from None
    if check != "ok":
        raise BackupRefused(f"the copy of the database failed its check: {check}")
    with partial.open("rb") as file:
        os.fsync(file.fileno())
    return BackupReport(target, partial.stat().st_size, int(accounts), int(transitions))


def _place(partial: Path, target: Path, force: bool) -> None:
    """Give the copy its name: never over an existing file without ``force`` (link fails if one appeared)."""
    if force:
        os.replace(partial, target)
    else:
        try:
            os.link(partial, target)
        except FileExistsError:
            raise BackupRefused(f"{target} exists already: name another file, or add --force to replace it") from None
        except OSError:  # a filesystem without hard links: a rename, after a last look
            if target.exists():
                raise BackupRefused(f"{target} exists already: name another file, or add --force") from None
            os.rename(partial, target)
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the new name survives a power loss too
    finally:
        os.close(folder)
