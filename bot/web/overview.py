"""The status page's figures, pure: accounts grouped by state, withholdings by country, restrictions over time.

Built from the public accounts and their transitions (bot.storage.public); no I/O, no clock (``now`` is given).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.countries import country_name
from bot.storage.public import PublicAccount, Step

# The groups of the status page, in the order it shows them.
GROUPS: tuple[tuple[str, str], ...] = (
    ("withheld", "Withheld in some countries"),
    ("suspended", "Suspended"),
    ("not_found", "Not found (deactivated or deleted)"),
    ("active", "Active"),
    ("unchecked", "Not checked yet"),
)
GROUP_NAMES = dict(GROUPS)
RESTRICTED = ("withheld", "suspended", "not_found")
# What an account was just before a transition of this kind (availability), when the kind says it.
_AVAILABILITY_BEFORE = {"suspended": "active", "unsuspended": "suspended", "deactivated": "active",
                        "reactivated": "not_found"}


def group_of(account: PublicAccount) -> str:
    """Suspended and not found first (withholdings do not show then), then withheld, active, unchecked."""
    if account.availability is None:
        return "unchecked"
    if account.availability != "active":
        return account.availability
    return "withheld" if account.withheld_in else "active"


@dataclass(frozen=True, slots=True)
class CountryRow:
    """A country where accounts are withheld now: how many, and since when (the oldest known start)."""

    code: str
    name: str
    count: int
    since: datetime | None  # None: every one of them was already withheld when presswatch first read it
    already: int  # how many were already withheld when first read (their start is not known)


@dataclass(frozen=True, slots=True)
class Overview:
    groups: dict[str, list[PublicAccount]]
    countries: list[CountryRow]
    series: list[tuple[datetime, int]]
    withheld_since: dict[tuple[int, str], datetime]


def withheld_since(steps: Iterable[Step]) -> dict[tuple[int, str], datetime]:
    """(account, country) -> when presswatch confirmed the withholding in force now (steps in order)."""
    since: dict[tuple[int, str], datetime] = {}
    for step in steps:
        if step.kind == "withheld":
            for code in step.countries:
                since[(step.account_pk, code)] = step.at
        elif step.kind == "unwithheld":
            for code in step.countries:
                since.pop((step.account_pk, code), None)
    return since


def country_rows(accounts: Iterable[PublicAccount], since: dict[tuple[int, str], datetime]) -> list[CountryRow]:
    """Countries with accounts withheld now (suspended and missing ones left out), the most first."""
    found: dict[str, list[datetime | None]] = defaultdict(list)
    for account in accounts:
        if group_of(account) == "withheld":
            for code in account.withheld_in:
                found[code].append(since.get((account.pk, code)))
    rows = []
    for code, starts in found.items():
        known = [start for start in starts if start is not None]
        rows.append(CountryRow(code, country_name(code), len(starts), min(known) if known else None,
                               len(starts) - len(known)))
    return sorted(rows, key=lambda row: (-row.count, row.name))


def _restricted(availability: str | None, withheld: Iterable[str]) -> bool:
    return availability is not None and (availability != "active" or bool(tuple(withheld)))


def _before(step: Step) -> bool:
    """Whether the account was restricted just before ``step``, from what the step itself says."""
    withheld = set(step.withheld_in)
    if step.kind == "withheld":
        withheld -= set(step.countries)
    elif step.kind == "unwithheld":
        withheld |= set(step.countries)
    return _restricted(_AVAILABILITY_BEFORE.get(step.kind, step.availability), withheld)


def restriction_series(accounts: Sequence[PublicAccount], steps: Sequence[Step], now: datetime,
                       points: int = 60) -> list[tuple[datetime, int]]:
    """How many accounts were restricted (withheld anywhere, suspended or not found) over time, at ``points``
    evenly spaced moments from the first account added until ``now``."""
    if not accounts:
        return []
    by_account: dict[int, list[Step]] = defaultdict(list)
    for step in steps:
        by_account[step.account_pk].append(step)
    changes: list[tuple[datetime, int]] = []
    for account in accounts:
        history = by_account.get(account.pk, [])
        state = _before(history[0]) if history else _restricted(account.availability, account.withheld_in)
        changes.append((account.added_at, int(state)))
        for step in history:
            after = _restricted(step.availability, step.withheld_in)
            if after != state:
                changes.append((step.at, 1 if after else -1))
                state = after
    changes.sort(key=lambda change: change[0])
    start = min(account.added_at for account in accounts)
    series, level, index = [], 0, 0
    for point in range(points + 1):
        moment = start + (now - start) * (point / points)
        while index < len(changes) and changes[index][0] <= moment:
            level += changes[index][1]
            index += 1
        series.append((moment, level))
    return series


def build(accounts: Sequence[PublicAccount], steps: Sequence[Step], now: datetime) -> Overview:
    """Everything the status page shows but the latest transitions."""
    groups: dict[str, list[PublicAccount]] = {name: [] for name, _ in GROUPS}
    for account in accounts:
        groups[group_of(account)].append(account)
    for members in groups.values():
        members.sort(key=lambda account: account.handle.casefold())
    since = withheld_since(steps)
    return Overview(groups, country_rows(accounts, since), restriction_series(accounts, steps, now), since)
