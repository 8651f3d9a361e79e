"""`presswatch accounts` (every watched account, where it came from, its state) and `presswatch remove`
(stop watching accounts imported or added on Telegram; the config's own are edited in the file)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bot.chatbot.ownership import NOT_OWNER
from bot.config.model import Config
from bot.config.reader import ConfigError, read_yaml
from bot.models import Account
from bot.storage.accounts import open_db
from bot.storage.database import Contents, inspect, open_readonly
from bot.storage.outbox import Outbox
from bot.storage.roster import Listed, Roster, same_reference
from bot.text import iso

SOURCES = ("config", "telegram", "import")


def account_rows(config: Config, *, source: str | None = None, tag: str | None = None) -> list[dict[str, Any]]:
    """Every watched account, by handle: the database's (read-only), and config entries not polled yet.

    ``source``: a reference given at import (any case), or one of ``config``, ``telegram``, ``import``.
    ``tag``: accounts with that tag.
    """
    db = open_readonly(config.database)
    try:
        listed = Roster(db).listing() if db is not None else []
    finally:
        if db is not None:
            db.close()
    rows = [_listed_row(item) for item in listed]
    names = {name.casefold() for item in listed for name in (item.watched.account.handle, item.listed_handle)}
    rows += [_config_row(platform, handle, entry.tags) for entry in config.watchlist
             for platform, handle in entry.accounts()
             if handle.casefold() not in names]  # the daemon records it at its next start
    rows = [row for row in rows if _wanted(row, source, tag)]
    return sorted(rows, key=lambda row: row["handle"].casefold())


def _wanted(row: dict[str, Any], source: str | None, tag: str | None) -> bool:
    if source is not None and row["source"] != source.lower() and not same_reference(row["reference"], source):
        return False
    return tag is None or tag.lower() in row["tags"]


def _listed_row(item: Listed) -> dict[str, Any]:
    account, state = item.watched.account, item.watched.state
    return {
        "platform": account.platform, "handle": account.handle, "id": account.account_id, "source": account.source,
        "reference": account.reference, "tags": list(account.tags),
        "availability": str(state.availability) if state else None,
        "protected": state.protected if state else None, "limited": state.limited if state else None,
        "withheld_in": sorted(state.withheld_in) if state else [],
        "since": iso(item.watched.state_since) if item.watched.state_since else None,
        "note": item.note, "added": iso(item.added_at),
    }


def _config_row(platform: str, handle: str, tags: Sequence[str]) -> dict[str, Any]:
    return {"platform": platform, "handle": handle, "id": None, "source": "config", "reference": None,
            "tags": sorted(tags), "availability": None, "protected": None, "limited": None, "withheld_in": [],
            "since": None, "note": "", "added": None}


def state_words(row: dict[str, Any]) -> str:
    """'active', 'suspended', 'not found', '... , protected', or 'not polled yet'."""
    if row["availability"] is None:
        return "not polled yet"
    words = str(row["availability"]).replace("_", " ")
    return words + (", protected" if row["protected"] else "")


@dataclass(slots=True)
class Removal:
    """What a `remove` did: the accounts no longer watched, and the handles it could not remove and why."""

    removed: list[Account] = field(default_factory=list)
    in_config: list[str] = field(default_factory=list)  # one line each: edit the file instead
    missing: list[str] = field(default_factory=list)  # one line each: not watched


def remove_handles(config: Config, config_file: Path, handles: Sequence[str]) -> Removal:
    """Stop watching ``handles`` (history kept). Nothing at all is removed when one of them is the config's."""
    result = Removal()
    db = _open_existing(config)
    try:
        watched = Roster(db).watching(handles) if db is not None else {}
        in_config = _config_lines(config, config_file)
        targets: dict[int, Account] = {}
        for handle in handles:
            account = watched.get(handle.casefold())
            if _is_configs(handle, account, in_config):
                result.in_config.append(_config_refusal(handle, account, config_file, in_config))
            elif account is None:
                result.missing.append(f"@{handle} is not watched")
            else:
                targets[account.pk] = account
        if db is not None and targets and not result.in_config:
            result.removed = _unwatch(db, list(targets.values()))
    finally:
        if db is not None:
            db.close()
    return result


def remove_reference(config: Config, reference: str) -> tuple[Removal, list[str]]:
    """Stop watching every account imported with ``reference``; and the references in use (for a typo)."""
    db = _open_existing(config)
    if db is None:
        return Removal(missing=[f'no account was imported with the reference "{reference}"']), []
    try:
        roster = Roster(db)
        accounts = roster.imported(reference)
        if not accounts:
            return Removal(missing=[f'no watched account was imported with the reference "{reference}"']), \
                roster.references()
        return Removal(removed=_unwatch(db, accounts)), []
    finally:
        db.close()


def _is_configs(handle: str, account: Account | None, in_config: dict[str, int | None]) -> bool:
    """The config's to remove: recorded from it, or listed in the file now (under either of its handles),
    even if it came from an import or Telegram (the daemon's next start makes it the config's anyway)."""
    names = {handle.casefold()} | ({account.handle.casefold()} if account else set())
    return bool(names & in_config.keys()) or (account is not None and account.source == "config")


def _open_existing(config: Config) -> Database | None:
    """The database to write, None when it does not exist yet (a remove never creates it)."""
    if inspect(config.database, write=True) is Contents.MISSING:
        return None
    return open_db(config.database)


def _unwatch(db: Database, accounts: list[Account]) -> list[Account]:
    """Unwatch, then close the owners' subscriptions to them, as Telegram's /remove does."""
    Roster(db).unwatch([account.pk for account in accounts])
    outbox = Outbox(db)
    for account in accounts:
        for sub in outbox.enabled_keyed("owner:", f":{account.pk}"):  # bot.chatbot.ownership.owner_key
            outbox.disable(sub.id, NOT_OWNER)
    return accounts


def _config_lines(config: Config, config_file: Path) -> dict[str, int | None]:
    """The config's watchlist handles (casefolded) and the line of each in the file."""
    try:
        _, lines, _ = read_yaml(config_file)
    except ConfigError:
        lines = {}
    return {handle.casefold(): lines.get(("watchlist", index))
            for index, entry in enumerate(config.watchlist) for _, handle in entry.accounts()}


def _config_refusal(handle: str, account: Account | None, config_file: Path, lines: dict[str, int | None]) -> str:
    shown = account.handle if account else handle
    if handle.casefold() not in lines and (account is None or account.handle.casefold() not in lines):
        return (f"@{shown} came from the config, which no longer lists it: presswatch stops watching it when it"
                " next reads the config")
    line = lines.get(handle.casefold()) or (lines.get(account.handle.casefold()) if account else None)
    where = f"{config_file}, line {line}" if line else str(config_file)
    return f"@{shown} is in the config ({where}): remove it from the watchlist there"
