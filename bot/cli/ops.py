"""The operator's everyday commands beside a running daemon: import, accounts, remove, backup.

Each loads the config like the other commands (main's helpers, imported when a command runs: main
registers these), checks the database first, and says every problem in one line.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:
    from bot.tools.accounts import Removal

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
BUSY = ("the database stayed locked by another writer for more than 5 s; nothing was changed:"
        " run the command again")


def _say(console: Console, line: str) -> None:
    """One line as it is: no markup, highlighting or wrapping, outside values made one-line-safe."""
    from bot.config.reader import one_line_safe

    console.out(one_line_safe(line), highlight=False)


def cmd_import(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Show what a list adds; with --apply, watch its new accounts with their reference."""
    from bot import clock
    from bot.cli.main import config_path, load_or_report
    from bot.cli.preflight import Refused, check_database, problem_line, refused
    from bot.lists import parse_tags
    from bot.storage.database import DatabaseError
    from bot.tools.imports import ListError, apply_import, clean_reference, plan_import, plan_lines, plan_rows

    path = config_path(args)
    config = load_or_report(path, err)
    if config is None:
        return EXIT_INVALID
    tags, bad = parse_tags(args.tags)
    try:
        if bad:
            raise ValueError(f"--tags: {bad[0]!r} is not a tag: 1 to 32 of a-z, 0-9, '_' or '-'")
        reference = clean_reference(args.source) if args.source is not None else _default_reference(args.file)
        check_database(path, config, write=args.apply)
        plan = plan_import(config, *_read(args.file), tags)
        if args.apply and plan.new:
            plan = apply_import(config, plan, reference, clock.now())
    except (ValueError, ListError, Refused) as exc:
        _say(err, str(exc))
        return EXIT_INVALID
    except DatabaseError as exc:
        _say(err, str(refused(path, exc)))
        return EXIT_INVALID
    except sqlite3.OperationalError as exc:
        _say(err, problem_line(path, BUSY if "locked" in str(exc) else f"SQLite reports \"{exc}\""))
        return EXIT_INVALID
    if args.json:
        print(json.dumps(plan_rows(plan, applied=args.apply, reference=reference), ensure_ascii=False, indent=2))
    else:
        for line in plan_lines(plan, applied=args.apply, reference=reference):
            _say(out, line)
    return EXIT_FAILED if plan.found.invalid else EXIT_OK


def _read(file: str) -> tuple[str, str]:
    from bot.tools.imports import read_source

    return read_source(file)


def _default_reference(file: str) -> str | None:
    """The file's name when no --source is given (standard input has none)."""
    from pathlib import Path

    from bot.tools.imports import clean_reference

    return None if file == "-" else clean_reference(Path(file).name)


def cmd_accounts(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Every watched account with where it came from and its state; read-only."""
    from bot.cli.main import _table, config_path, load_or_report
    from bot.cli.preflight import Refused, check_database, refused
    from bot.storage.database import DatabaseError
    from bot.tools.accounts import account_rows, state_words

    path = config_path(args)
    config = load_or_report(path, err)
    if config is None:
        return EXIT_INVALID
    try:
        check_database(path, config, write=False)
        rows = account_rows(config, source=args.source, tag=args.tag)
    except Refused as exc:
        _say(err, str(exc))
        return EXIT_INVALID
    except DatabaseError as exc:
        _say(err, str(refused(path, exc)))
        return EXIT_INVALID
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    elif not rows:
        _say(out, "No accounts are watched" + (" that match." if args.source or args.tag else "."))
    else:
        shown = [_shown(row, state_words(row)) for row in rows]
        _table(out, f"Watched accounts ({len(rows)})", shown,
               ["handle", "id", "source", "tags", "state", "withheld_in", "since"])
    return EXIT_OK


def _shown(row: dict[str, Any], state: str) -> dict[str, Any]:
    source = f"{row['source']}: {row['reference']}" if row["reference"] else row["source"]
    return row | {"source": source, "state": state, "since": (row["since"] or "").replace("T", " ")}


def cmd_remove(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Stop watching accounts from an import or Telegram; the config's own are edited in the file."""
    from bot.cli.main import config_path, load_or_report
    from bot.cli.preflight import Refused, check_database, problem_line
    from bot.tools.accounts import remove_handles, remove_reference
    from bot.tools.check import parse_handles

    usage = 'usage: presswatch remove HANDLE... | --source "REFERENCE"'
    if bool(args.handles) == (args.source is not None):
        _say(err, "give the handles to remove, or --source with an import's reference, not both")
        _say(err, usage)
        return EXIT_INVALID
    path = config_path(args)
    config = load_or_report(path, err)
    if config is None:
        return EXIT_INVALID
    handles, problems = parse_handles(args.handles)
    if problems:
        for problem in problems:
            _say(err, problem)
        _say(err, usage)
        return EXIT_INVALID
    try:
        check_database(path, config, write=True)
        if args.source is not None:
            removal, references = remove_reference(config, args.source)
        else:
            removal, references = remove_handles(config, path, handles), []
    except Refused as exc:
        _say(err, str(exc))
        return EXIT_INVALID
    except sqlite3.OperationalError as exc:
        _say(err, problem_line(path, BUSY if "locked" in str(exc) else f"SQLite reports \"{exc}\""))
        return EXIT_INVALID
    return _removed(out, err, removal, references, args.source)


def _removed(out: Console, err: Console, removal: Removal, references: list[str], source: str | None) -> int:
    for line in removal.in_config:
        _say(err, line)
    if removal.in_config:
        _say(err, "Nothing was removed.")
        return EXIT_INVALID
    for line in removal.missing:
        _say(err, line)
    if references:
        _say(err, "References in use: " + "; ".join(f'"{ref}"' for ref in references))
    if removal.removed:
        handles = ", ".join(f"@{account.handle}" for account in removal.removed)
        what = f' imported with "{source}"' if source is not None else ""
        _say(out, f"No longer watched ({len(removal.removed)}{what}): {handles}. Their history is kept;"
                  " a running presswatch stops polling them from its next cycle.")
    return EXIT_FAILED if removal.missing else EXIT_OK


def cmd_backup(args: argparse.Namespace, out: Console, err: Console) -> int:
    """A consistent copy of the database, beside a running daemon or not."""
    from pathlib import Path

    from bot.cli.main import config_path, load_or_report
    from bot.cli.preflight import problem_line
    from bot.storage.backup import BackupRefused, backup

    path = config_path(args)
    config = load_or_report(path, err)
    if config is None:
        return EXIT_INVALID
    target = Path(args.file)
    try:
        report = backup(config.database, target, force=args.force)
    except BackupRefused as exc:
        _say(err, problem_line(path, str(exc)) if exc.database else str(exc))
        return EXIT_INVALID
    except OSError as exc:
        _say(err, f"cannot write {target}: {exc.strerror or exc}")
        return EXIT_INVALID
    _say(out, f"{report.path}: a copy of {config.database} ({report.size:,} bytes; {report.accounts} watched"
              f" accounts, {report.transitions} transitions). Restore it with presswatch stopped: see the"
              " README, \"Backups\".")
    return EXIT_OK


COMMANDS = {"import": cmd_import, "accounts": cmd_accounts, "remove": cmd_remove, "backup": cmd_backup}
