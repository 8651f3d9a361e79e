"""The `presswatch` command line: its commands, their options, and each one's description and examples."""

from __future__ import annotations

import argparse
import os
from importlib.metadata import PackageNotFoundError, version

DESCRIPTION = """\
Watch journalists' X accounts; alert their defenders when one is withheld,
suspended or restored."""
EPILOG = """\
examples:
  presswatch validate
  presswatch plan
  presswatch check @MahirZeynalov
  presswatch run -c /etc/presswatch/config.yaml
  presswatch history --json MahirZeynalov
  presswatch import court-order.txt --source "Court order 2016/1234" --apply

The config is -c FILE (before or after the command), else $PRESSWATCH_CONFIG,
else ./config.yaml. Each command has its own --help, with examples."""

# name -> (one line for the command list, description, examples): the texts of `presswatch NAME --help`.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": (
        "check the config and print every problem",
        """\
Check the config file and its database file, and print every problem,
one a line, as `path: message (line N)`; then the plan's warnings, if any
(see `presswatch plan`). Exit 0 when valid (with warnings or not), 2 when not.""",
        """\
examples:
  presswatch validate
  presswatch validate -c /etc/presswatch/config.yaml""",
    ),
    "plan": (
        "what X's budget allows: periods, latency, cost; sends nothing",
        """\
For the config, with nothing sent to X: the accounts (the watchlist, and
those added on Telegram when the database exists), the requests of a full
pass and the shortest pass the budget allows, each poll period in use and
how many accounts have it, the expected detection latency (from a change to
its confirmed alert), the pay-per-use cost a day and a month, and warnings
(an own interval the budget cannot meet, a reserve too small for a burst of
rechecks). --json prints one object. Exit 0 (warnings are not errors); 2 on
an invalid config or an unusable database.""",
        """\
examples:
  presswatch plan
  presswatch plan --json -c /etc/presswatch/config.yaml""",
    ),
    "check": (
        "look accounts up once; writes nothing, alerts no one",
        """\
Look the accounts up once and print their state: the watchlist, or the
HANDLEs given (name, @name or an x.com link; bsky:name.bsky.social or a
bsky.app link; user@instance for Mastodon). Writes nothing and alerts no
one; the database, when there is one, is only read for the ids it knows.
Exit 0; 1 when an account could not be read; 2 on a bad handle or an
unusable database.""",
        """\
examples:
  presswatch check
  presswatch check --json @MahirZeynalov https://x.com/another_account""",
    ),
    "run": (
        "the daemon: poll, record, alert, answer Telegram",
        """\
The daemon: poll the watchlist on schedule, record every confirmed change
with its evidence, alert the subscribers and answer Telegram commands. One
`run` per database. Ctrl-C or SIGTERM stops it once what it is sending has
gone (a second Ctrl-C stops at once). Secrets come from the environment.""",
        """\
example:
  export X_BEARER_TOKEN=... TELEGRAM_BOT_TOKEN=... SMTP_PASSWORD=...
  presswatch run -c /etc/presswatch/config.yaml --log-level INFO""",
    ),
    "history": (
        "recorded transitions, newest first",
        """\
The recorded transitions, newest first: of every account, or of one HANDLE.
Read-only: works beside a running daemon. --evidence adds the raw API entry
each transition was recorded from.""",
        """\
examples:
  presswatch history
  presswatch history --json --evidence MahirZeynalov""",
    ),
    "import": (
        "watch the accounts a list names (a court order, a CSV)",
        """\
Read a list of accounts as it comes: text with @handles and x.com or
twitter.com links (profiles, posts), one handle a line, or CSV with a
`handle` column (and optional `tags` and `note` columns). Prints what would
be added, what is watched already and every invalid entry with its line;
writes nothing without --apply. With --apply the new accounts are watched
with the list's reference (--source, default the file's name): a running
daemon polls them from its next cycle, the first poll a baseline. FILE `-`
reads standard input. Exit 0; 1 when some entries were invalid (the rest
are imported); 2 when the list, the config or the database is unusable.""",
        """\
examples:
  presswatch import court-order.txt --source "Court order 2016/1234" --tags tr
  presswatch import court-order.txt --source "Court order 2016/1234" --apply
  presswatch import accounts.csv --json
  presswatch import - --apply""",
    ),
    "accounts": (
        "every watched account, where it came from, its state",
        """\
Every watched account: its X id, handle, where it came from (config,
telegram or import, with the list's reference), tags, state, the countries
it is withheld in and since when. Read-only: works beside a running daemon.
--source takes a reference (any case) or config, telegram, import.""",
        """\
examples:
  presswatch accounts
  presswatch accounts --source "Court order 2016/1234" --json
  presswatch accounts --tag journalist""",
    ),
    "remove": (
        "stop watching imported or Telegram accounts (history kept)",
        """\
Stop watching accounts that came from an import or from Telegram; their
history is kept. --source removes every account imported with that
reference (undoing an import). An account from the config file is removed
by editing the file: remove says where it is and exits 2, removing nothing.
A running daemon stops polling them from its next cycle. Exit 0; 1 when a
handle or reference matched nothing; 2 for a config account.""",
        """\
examples:
  presswatch remove @some_account another_one
  presswatch remove --source "Court order 2016/1234\"""",
    ),
    "backup": (
        "a consistent copy of the database, beside a running daemon",
        """\
Copy the database to FILE while the daemon runs: one consistent snapshot
(SQLite's VACUUM INTO), checked, readable by its owner only. Refuses to
overwrite FILE unless --force. To restore: stop presswatch, delete the
database's -wal and -shm files, copy FILE over the database, start it.""",
        """\
examples:
  presswatch backup /var/backups/presswatch/presswatch-2026-11-22.db
  presswatch backup --force /var/backups/presswatch/latest.db""",
    ),
    "demo": (
        "the whole pipeline against the bundled sandboxes, on real cases",
        """\
The whole pipeline against emulators of the X API, the Telegram Bot API and
a mail server on 127.0.0.1 (nothing leaves this machine), scripted on two
real cases: Turkey 2016 and India 2021. Prints each alert as delivered.
Exit 0 when every expected alert arrived once.""",
        """\
example:
  presswatch demo""",
    ),
}


def installed_version() -> str:
    """The version of the installed distribution (its metadata), as `pip` knows it."""
    try:
        return version("presswatch")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def build_parser() -> argparse.ArgumentParser:
    """The parser of `presswatch [-c FILE] COMMAND ...` (``-c`` is accepted after the command too)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", default=argparse.SUPPRESS, metavar="FILE",
                        help="config file (default: $PRESSWATCH_CONFIG or ./config.yaml)")
    parser = argparse.ArgumentParser(prog="presswatch", parents=[common], description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands = {name: sub.add_parser(name, parents=[common] if name != "demo" else [], help=line,
                                     description=text, epilog=examples,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
                for name, (line, text, examples) in COMMANDS.items()}
    commands["plan"].add_argument("--json", action="store_true", help="print one JSON object")
    commands["check"].add_argument("--json", action="store_true", help="print a JSON array")
    commands["check"].add_argument("handles", nargs="*", metavar="HANDLE",
                                   help="handles to look up (default: the watchlist)")
    commands["run"].add_argument("--log-level", default=os.environ.get("PRESSWATCH_LOG_LEVEL", "INFO"),
                                 choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                                 help="the least severe messages logged (default: $PRESSWATCH_LOG_LEVEL or INFO)")
    commands["history"].add_argument("--json", action="store_true", help="print a JSON array")
    commands["history"].add_argument("--evidence", action="store_true",
                                     help="include the raw API entry of each transition")
    commands["history"].add_argument("handle", nargs="?", metavar="HANDLE", help="one account (default: all)")
    commands["demo"].add_argument("--fast", action="store_true", help="shorter pauses (used by the tests)")
    _operations(commands)
    return parser


def _operations(commands: dict[str, argparse.ArgumentParser]) -> None:
    """The arguments of import, accounts, remove and backup."""
    importing = commands["import"]
    importing.add_argument("file", metavar="FILE", help="the list: a text or CSV file, or - for standard input")
    importing.add_argument("--source", metavar="TEXT", help="the list's reference, shown in alerts and `accounts`")
    importing.add_argument("--tags", metavar="A,B", default="", help="tags added to every account of the list")
    importing.add_argument("--apply", action="store_true", help="watch the new accounts (default: only show)")
    importing.add_argument("--json", action="store_true", help="print a JSON array, one object per entry")
    listing = commands["accounts"]
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.add_argument("--source", metavar="TEXT", help="an import's reference, or config, telegram, import")
    listing.add_argument("--tag", metavar="T", help="only accounts with this tag")
    removing = commands["remove"]
    removing.add_argument("handles", nargs="*", metavar="HANDLE", help="accounts to stop watching")
    removing.add_argument("--source", metavar="TEXT", help="every account imported with this reference")
    copying = commands["backup"]
    copying.add_argument("file", metavar="FILE", help="the copy to write")
    copying.add_argument("--force", action="store_true", help="replace FILE if it exists")
