"""What a command checks before it touches the database, as one `database: message (line N)` line each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.config.model import Config
from bot.config.reader import ConfigError, read_yaml
from bot.storage.database import DatabaseError, inspect
from bot.storage.lock import DaemonLock, LockHeld


def top_level_key(config_file: Path, key: str) -> tuple[Any, int | None]:
    """The raw value (before ${VAR} substitution) and line of a top-level key; (None, None) without one."""
    try:
        data, lines, _ = read_yaml(config_file)
    except ConfigError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    return data.get(key), lines.get((key,))


class Refused(Exception):
    """The command must not go on; the message is the whole line to print."""


def check_database(config_file: Path, config: Config, *, write: bool) -> None:
    """Refused when the config's database cannot be used (``write``: by `run`); see bot.database.inspect."""
    try:  # an empty path never gets here: the config refuses it (database: must not be empty)
        inspect(config.database, write=write, config_file=config_file)
    except DatabaseError as exc:
        raise refused(config_file, exc) from None


def refused(config_file: Path, exc: DatabaseError) -> Refused:
    """A database refusal as the config problem it is."""
    return Refused(problem_line(config_file, str(exc)))


def problem_line(config_file: Path, message: str) -> str:
    """``database: message (line N)``, N being the line of the config's ``database`` key."""
    _, line = top_level_key(config_file, "database")
    return f"database: {message}" + (f" (line {line})" if line is not None else "")


def take_lock(config_file: Path, config: Config) -> DaemonLock:
    """The daemon's lock on the config's database; Refused, naming the holder, while another has it."""
    try:
        return DaemonLock(config.database).acquire()
    except LockHeld as exc:
        holder = f"presswatch (pid {exc.pid})" if exc.pid else "another presswatch"
        raise Refused(problem_line(
            config_file, f"{config.database} is in use by {holder}: one `presswatch run` per database;"
                         " stop that one first or give this config its own")) from None
    except OSError as exc:
        raise Refused(problem_line(config_file, f"cannot lock {config.database}: {exc.strerror}")) from None
