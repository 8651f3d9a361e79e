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
  presswatch check @MahirZeynalov
  presswatch run -c /etc/presswatch/config.yaml
  presswatch history --json MahirZeynalov

The config is -c FILE (before or after the command), else $PRESSWATCH_CONFIG,
else ./config.yaml. Each command has its own --help, with examples."""

# name -> (one line for the command list, description, examples): the texts of `presswatch NAME --help`.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": (
        "check the config and print every problem",
        """\
Check the config file and its database file, and print every problem,
one a line, as `path: message (line N)`. Exit 0 when valid, 2 when not.""",
        """\
examples:
  presswatch validate
  presswatch validate -c /etc/presswatch/config.yaml""",
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
    return parser
