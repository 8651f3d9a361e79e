"""One-off reads for the CLI: `check` (look accounts up, write nothing) and `history` (read the store)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import Progress

from bot.config.model import Config
from bot.daemon import registry
from bot.models import Observation, Transition
from bot.ratelimit import SlidingWindow
from bot.social_handles import instance_of, parse_account
from bot.storage.database import DatabaseError, open_readonly
from bot.text import iso_ms
from watchers.base import BatchResult, Watcher, WatcherError

if TYPE_CHECKING:
    from sqlite_utils import Database

    from bot.storage.accounts import Store

PROGRESS_FROM = 200  # accounts: below this a check is quick and a bar would only flicker


def parse_handles(texts: Sequence[str]) -> tuple[list[str], list[str]]:
    """Normalised accounts (X handles, Bluesky handles or DIDs, ``user@instance``), and one problem line per
    text that is none of them."""
    handles, problems = [], []
    for text in texts:
        try:
            handles.append(parse_account(text)[1])
        except ValueError as exc:
            problems.append(str(exc))
    return handles, problems


Group = tuple[str, str | None]  # (platform, Mastodon instance): the accounts one watcher reads


def _group(handle: str) -> Group:
    platform = parse_account(handle)[0]
    return platform, instance_of(handle) if platform == "mastodon" else None


def _watcher(config: Config, group: Group) -> Watcher | str:
    """The watcher that reads a group, or why there is none."""
    platform, instance = group
    if platform == "x":
        return registry.build_watcher(config)
    if platform == "bluesky":
        return registry.build_bluesky(config) if config.bluesky else "the config has no bluesky section"
    assert instance is not None
    return registry.build_mastodon(config, instance) if config.mastodon else "the config has no mastodon section"


def known_ids(database: Path, handles: Sequence[str]) -> dict[str, str]:
    """Ids the daemon already resolved (they survive renames), read-only; {} without a database.

    DatabaseError when the file is not one presswatch may read (see bot.database.inspect).
    """
    db = open_readonly(database)
    if db is None:
        return {}
    try:
        return _store(db).account_ids(handles)
    except sqlite3.Error:
        return {}  # only a shortcut: the accounts are looked up by handle instead
    finally:
        db.close()


def _row(handle: str, observation: Observation | None, error: str | None) -> dict[str, Any]:
    if observation is None:
        return {"platform": _group(handle)[0], "handle": handle, "id": None, "availability": None,
                "protected": None, "limited": None, "withheld_in": [], "name": None,
                "error": error or "no answer for this account"}
    return {
        "platform": observation.platform,
        "handle": observation.handle or handle,
        "id": observation.account_id,
        "availability": str(observation.availability),
        "protected": observation.protected,
        "limited": bool(observation.limited),
        "withheld_in": sorted(observation.withheld_in or ()),
        "name": observation.name,
        "error": None,
    }


async def check_accounts(config: Config, handles: Sequence[str], progress: Console | None = None) -> list[dict]:
    """Look each account (default: the watchlist's, on every platform) up once; one row per distinct account,
    in the order given, each read by its platform's watcher (Mastodon's on its home instance).

    Handles differing only in case are one account, the first spelling is kept.
    """
    distinct: dict[str, str] = {}
    watchlist = [account for entry in config.watchlist for _, account in entry.accounts()]
    for handle in list(handles) or watchlist:
        distinct.setdefault(handle.casefold(), handle)
    targets = list(distinct.values())
    ids = known_ids(config.database, targets)
    found: dict[str, dict[str, Any]] = {}
    bar = Progress(console=progress, transient=True, disable=progress is None or len(targets) < PROGRESS_FROM)
    with bar:
        task = bar.add_task("Looking accounts up", total=len(targets))
        for group in dict.fromkeys(_group(h) for h in targets):
            members = [h for h in targets if _group(h) == group]
            watcher = _watcher(config, group)
            if isinstance(watcher, str):
                found |= {h.casefold(): _row(h, None, watcher) for h in members}
                continue
            async with watcher:
                found |= await _check_group(config, watcher, members, ids)
            bar.advance(task, len(members))
    return [found[h.casefold()] for h in targets]


async def _check_group(config: Config, watcher: Watcher, targets: list[str], ids: dict[str, str]) -> dict[str, Any]:
    """One platform's (or instance's) accounts, within its request budget."""
    rate = config.x.rate_limit
    section = config.bluesky if watcher.platform == "bluesky" else config.mastodon
    if watcher.platform != "x" and section is not None:
        rate = section.rate_limit
    limiter = SlidingWindow(rate.requests, rate.per)
    by_id = [h for h in targets if h.casefold() in ids]
    by_handle = [h for h in targets if h.casefold() not in ids]
    found: dict[str, dict[str, Any]] = {}
    for chunk, key in _chunks(by_id, by_handle, watcher.batch_size):
        await limiter.acquire()
        result, error = await _lookup(watcher, chunk, key, ids)
        observations = _by_request(result, key)
        for handle in chunk:
            request = ids[handle.casefold()] if key == "ids" else handle.casefold()
            found[handle.casefold()] = _row(handle, observations.get(request), error)
    return found


def _chunks(by_id: list[str], by_handle: list[str], size: int) -> list[tuple[list[str], str]]:
    chunks = [(by_id[i : i + size], "ids") for i in range(0, len(by_id), size)]
    return chunks + [(by_handle[i : i + size], "handles") for i in range(0, len(by_handle), size)]


async def _lookup(
    watcher: Any, chunk: list[str], key: str, ids: dict[str, str]
) -> tuple[BatchResult | None, str | None]:
    try:
        if key == "ids":
            return await watcher.lookup_ids([ids[h.casefold()] for h in chunk]), None
        return await watcher.lookup_handles(chunk), None
    except WatcherError as exc:
        return None, f"{type(exc).__name__}: {exc}"


def _by_request(result: BatchResult | None, key: str) -> dict[str, Observation]:
    if result is None:
        return {}
    return {(o.requested if key == "ids" else o.requested.casefold()): o for o in result.observations}


def history_rows(database: Path, handle: str | None, *, evidence: bool = False) -> list[dict[str, Any]]:
    """Recorded transitions, newest first, as the `history` command prints them; [] without a database.

    Read-only: never creates the file or its schema. DatabaseError when it cannot be read.
    """
    db = open_readonly(database)
    if db is None:
        return []
    try:
        store = _store(db)
        return [_history_row(store, t, evidence) for t in store.transitions(handle=handle)]
    except sqlite3.DatabaseError as exc:  # damage past the pages inspect() read
        raise DatabaseError(f'{database} cannot be read: SQLite reports "{exc}"') from None
    finally:
        db.close()


def _store(db: Database) -> Store:
    """The repository over a read-only database: these commands never record (nor fan out) anything."""
    from bot.storage.accounts import Store
    from bot.storage.outbox import Outbox

    return Store(db, Outbox(db))


def _history_row(store: Store, t: Transition, evidence: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "transition_id": t.id, "platform": t.platform, "handle": t.handle, "id": t.account_id, "kind": str(t.kind),
        "countries": list(t.countries), "withheld_in": list(t.withheld_in), "at": iso_ms(t.confirmed_at),
        "first_seen": iso_ms(t.first_seen_at), "previous_handle": t.previous_handle,
        "evidence": t.evidence_sha256,
    }
    if evidence:
        row["raw"] = json.loads(store.evidence(t.id) or "null")
    return row
