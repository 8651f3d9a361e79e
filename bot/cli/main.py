"""The `presswatch` command: validate, plan, check, run, history, demo; import, accounts, remove, backup (ops)."""
# ruff: noqa: E402  (the imports below load while a Ctrl-C or SIGTERM is held, see _SHIELD)

from __future__ import annotations

from bot.cli.signals import HangUps, StartupShield, StopSignals

_SHIELD = StartupShield()
_SHIELD.hold()  # released once this module has loaded: a stop asked meanwhile then exits 0, no traceback

import argparse
import asyncio
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bot.cli import logs, ops
from bot.cli.parser import build_parser
from bot.config.model import Config, ConfigError, load_config
from bot.config.reader import one_line_safe

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def config_path(args: argparse.Namespace) -> Path:
    return Path(getattr(args, "config", None) or os.environ.get("PRESSWATCH_CONFIG") or "config.yaml")


def load_or_report(path: Path, err: Console) -> Config | None:
    """Load the config; on problems print each one and return None."""
    try:
        return load_config(path)
    except ConfigError as exc:
        report_problems(err, f"{path}: invalid config", [str(problem) for problem in exc.problems])
        return None


def report_problems(err: Console, title: str, lines: Sequence[str]) -> None:
    """A title, then one problem a line, never wrapped or cropped whatever the terminal (or pipe) width.

    ``Console.out`` writes plain text: no markup, emoji codes or highlighting from what the file contains.
    """
    err.out(one_line_safe(title), style="bold red", highlight=False)
    for line in lines:
        err.out(f"  {one_line_safe(line)}", highlight=False)


def cmd_validate(args: argparse.Namespace, out: Console, err: Console) -> int:
    path = config_path(args)
    config = load_or_report(path, err)
    if config is None:
        return EXIT_INVALID
    from bot.cli.preflight import Refused, check_database
    from bot.storage.database import DatabaseError
    from bot.tools.plan import added_on_telegram, config_plan

    try:
        check_database(path, config, write=True)
        found = config_plan(config, added_on_telegram(config.database, _x_handles(config)))
    except Refused as exc:
        return _refuse(err, exc)
    except DatabaseError:
        found = config_plan(config)  # check_database read it a moment ago; the plan is the config's alone
    out.print(f"{path}: valid ({len(config.watchlist)} watched accounts, {len(config.subscribers)} subscribers,"
              f" {len(config.operators)} operators)", markup=False, highlight=False)
    for warning in found.warnings:  # valid all the same: warnings are not errors
        err.out(one_line_safe(f"warning: {warning}"), highlight=False)
    return EXIT_OK


def cmd_plan(args: argparse.Namespace, out: Console, err: Console) -> int:
    """What the budget allows for the config; sends nothing to X, reads the database only to count accounts."""
    from bot.cli.preflight import Refused, check_database, refused
    from bot.storage.database import DatabaseError
    from bot.tools.plan import added_on_telegram, config_plan, plan_json, plan_lines

    path = config_path(args)
    config = load_or_report(path, err)
    if config is None:
        return EXIT_INVALID
    try:
        check_database(path, config, write=False)
        found = config_plan(config, added_on_telegram(config.database, _x_handles(config)))
    except Refused as exc:
        return _refuse(err, exc)
    except DatabaseError as exc:
        return _refuse(err, refused(path, exc))
    if args.json:
        print(json.dumps(plan_json(found), ensure_ascii=False, indent=2))
    else:
        for line in plan_lines(found):
            out.out(one_line_safe(line), highlight=False)
    return EXIT_OK


def cmd_run(args: argparse.Namespace, out: Console, err: Console) -> int:
    """The daemon, alone on its database: refused (2) while another `run` holds the database's lock."""
    signals, hangups = StopSignals(), HangUps()
    signals.install()
    hangups.install()
    from bot.cli.preflight import Refused, check_database, refused, take_lock
    from bot.storage.database import DatabaseError
    from bot.web.server import WebError

    path = config_path(args)
    config = load_or_report(path, err)
    if config is None:
        return EXIT_INVALID
    logs.setup(args.log_level, config.secrets())
    try:
        check_database(path, config, write=True)
        take_lock(path, config)  # held until the process ends, however it ends: the OS releases it
        _serve(config, path, signals, hangups)
    except Refused as exc:
        return _refuse(err, exc)
    except DatabaseError as exc:  # open_db's own refusal, should the file have changed since the check
        return _refuse(err, refused(path, exc))
    except WebError as exc:  # server.listen taken or not ours to bind
        return _refuse(err, exc)
    return EXIT_OK


def _serve(config: Config, path: Path, signals: StopSignals, hangups: HangUps) -> None:
    """Run the daemon until the first stop signal (see StopSignals for the second), reading ``path`` again on
    SIGHUP and when it changes (see bot.daemon.reload)."""
    from bot.daemon.app import App
    from bot.daemon.reload import Reloader, run_with_reload

    async def daemon() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        signals.attach(loop, stop)
        app = App(config)
        reloader = Reloader(app, path)
        hangups.attach(loop, reloader.request)
        await run_with_reload(app, reloader, stop)

    try:
        asyncio.run(daemon())
    finally:
        hangups.detach()
        signals.detach()


def cmd_check(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Writes nothing: the database, when there is one, only lends the ids it knows (read-only)."""
    from bot.cli.preflight import Refused, check_database, refused
    from bot.storage.database import DatabaseError
    from bot.tools.check import check_accounts, parse_handles

    path = config_path(args)
    config = load_or_report(path, err)
    if config is None:
        return EXIT_INVALID
    logs.setup("WARNING", config.secrets())
    handles, problems = parse_handles(args.handles)
    if problems:
        for problem in problems:
            err.print(problem, markup=False, highlight=False)
        err.print("usage: presswatch check [--json] [HANDLE...]   (HANDLE: name, @name or an x.com link; "
                  "bsky:name.bsky.social; user@instance)")
        return EXIT_INVALID
    try:
        check_database(path, config, write=False)
        rows = asyncio.run(check_accounts(config, handles, progress=err if not args.json else None))
    except Refused as exc:
        return _refuse(err, exc)
    except DatabaseError as exc:
        return _refuse(err, refused(path, exc))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        _table(out, "Accounts", rows, ["handle", "id", "availability", "protected", "withheld_in", "name", "error"])
    return EXIT_FAILED if any(row["error"] for row in rows) else EXIT_OK


def cmd_history(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Read-only: works beside a running daemon; a database not created yet has no transitions."""
    from bot.cli.preflight import Refused, check_database, refused
    from bot.storage.database import DatabaseError
    from bot.tools.check import history_rows, parse_handles

    path = config_path(args)
    config = load_or_report(path, err)
    if config is None:
        return EXIT_INVALID
    handles, problems = parse_handles([args.handle] if args.handle else [])
    if problems:
        err.print(problems[0], markup=False, highlight=False)
        err.print("usage: presswatch history [--json] [--evidence] [HANDLE]")
        return EXIT_INVALID
    try:
        check_database(path, config, write=False)
        rows = history_rows(config.database, handles[0] if handles else None, evidence=args.evidence)
    except Refused as exc:
        return _refuse(err, exc)
    except DatabaseError as exc:
        return _refuse(err, refused(path, exc))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    elif not rows:
        out.print("No transitions recorded" + (f" for @{args.handle}." if args.handle else "."), markup=False)
    else:
        columns = ["at", "handle", "kind", "countries", "withheld_in", "id", "evidence"]
        _table(out, "Transitions, newest first", rows, columns + (["raw"] if args.evidence else []))
    return EXIT_OK


def _refuse(err: Console, problem: Exception) -> int:
    """The problem as one line on stderr; exit 2."""
    err.print(str(problem), markup=False, highlight=False, soft_wrap=True)
    return EXIT_INVALID


def cmd_demo(args: argparse.Namespace, out: Console, err: Console) -> int:
    from bot.tools.demo import run_demo

    return run_demo(out, fast=args.fast)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _table(out: Console, title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(column)) for column in columns))
    out.print(table)


COMMANDS = {"validate": cmd_validate, "plan": cmd_plan, "check": cmd_check, "run": cmd_run, "history": cmd_history,
            "demo": cmd_demo, **ops.COMMANDS}  # import, accounts, remove, backup


_SHIELD.release()


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit code. A Ctrl-C before a command handles it is a quiet exit 0."""
    try:
        args = build_parser().parse_args(argv)
        out, err = Console(), Console(stderr=True)
        return COMMANDS[args.command](args, out, err)
    except KeyboardInterrupt:
        return EXIT_OK


def _x_handles(config: Config) -> list[str]:
    """The X accounts the config lists (what `plan` budgets against X's rate limit)."""
    return [entry.x_handle for entry in config.watchlist if entry.x_handle]
