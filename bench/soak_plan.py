"""The soak bench's timeline, drawn from a seed: which account changes how and when, and which faults strike.

Pure: no I/O, no clock. Times are seconds from the start of the chaos phase. Each account takes each
event kind at most once, so a delivered "(handle, kind)" names exactly one caused transition; each new
state holds ``hold`` seconds of *good* time (outside the planned blackouts: X refusing our token, the
database locked or full, the daemon dead) before the same account changes again.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

COUNTRIES = ("TR", "IN", "RU", "PK", "DE", "BR")
EVERYWHERE = "XX"
TAGS = ("journalist", "outlet", "turkey", "india")
X_FAULTS = ("500", "502", "503", "html502", "timeout", "429", "malformed", "drop")
FLICKER_KINDS = ("suspended", "deactivated", "protected", "withheld")
# When things happen, as shares of the chaos phase.
SHARES = {"tg_down": 0.08, "kill1": 0.16, "x_auth": 0.22, "kill2": 0.44, "mass": 0.50, "restore": 0.66}
LOCK_SECONDS = 10.0  # twice bot/store.py's busy_timeout of 5 s

Window = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Settings:
    """The compressed day: how many accounts, how long the chaos lasts, how often the daemon polls."""

    accounts: int
    chaos: float  # seconds of changes and faults
    interval: float  # x.poll_interval
    confirmations: int = 2
    changes_per_account: float = 0.9
    flicker_share: float = 0.05

    @property
    def hold(self) -> float:
        """Good time a new state is kept before the same account changes again (well over confirmations)."""
        return (self.confirmations + 3) * self.interval

    @property
    def restart_margin(self) -> float:
        """Seconds a killed and restarted daemon may take to poll again (a planning margin only)."""
        return 2 * self.interval + 6

    @property
    def long(self) -> bool:
        """Long enough for the faults at their real-world length (a 401 burst past the 60 s stale floor)."""
        return self.chaos >= 300


@dataclass(frozen=True, slots=True)
class Change:
    """One state change of one account, as the bench causes it on the X sandbox."""

    at: float
    account: int
    kind: str
    countries: tuple[str, ...] = ()  # added (withheld) or lifted (unwithheld)
    new_handle: str = ""  # renamed


@dataclass(frozen=True, slots=True)
class Flicker:
    """A change shown to exactly one lookup (bot/sandbox/x_api.py flicker_next): never to be recorded."""

    at: float
    account: int
    kind: str
    countries: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault action; those with a duration come as a pair (x_auth/x_auth_end, tg_down/tg_up...)."""

    at: float
    kind: str
    fault: str = ""  # the X fault kind of an x_burst
    count: int = 0
    retry_after: int = 0


@dataclass(slots=True)
class Plan:
    """Everything the bench will do, by time; ``blackouts`` are the windows the daemon is planned blind in."""

    settings: Settings
    seed: int
    handles: list[str]
    tags: list[tuple[str, ...]]
    flicker_accounts: frozenset[int]
    changes: list[Change] = field(default_factory=list)
    flickers: list[Flicker] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    blackouts: list[Window] = field(default_factory=list)


@dataclass(slots=True)
class _Model:
    """What the bench knows of one account while drawing its changes."""

    handle: str
    availability: str = "active"
    protected: bool = False
    withheld: tuple[str, ...] = ()
    used: set[str] = field(default_factory=set)
    next_ok: float = 0.0


def good_time(start: float, end: float, blackouts: Sequence[Window]) -> float:
    """Seconds of [start, end] outside every blackout (blackouts may overlap)."""
    total, cursor = 0.0, start
    for b_start, b_end in sorted(blackouts):
        if b_end <= cursor or b_start >= end:
            continue
        total += max(0.0, b_start - cursor)
        cursor = max(cursor, b_end)
        if cursor >= end:
            return total
    return total + max(0.0, end - cursor)


def advance_good(start: float, need: float, blackouts: Sequence[Window]) -> float:
    """The first moment by which ``need`` seconds of good time have passed since ``start``."""
    cursor, left = start, need
    for b_start, b_end in sorted(blackouts):
        if b_end <= cursor:
            continue
        if b_start >= cursor + left:
            break
        left -= max(0.0, b_start - cursor)
        cursor = max(cursor, b_end)
    return cursor + left


def moves(model: _Model) -> list[str]:
    """The kinds this account may take next: unavailable accounts only come back; each kind once."""
    if model.availability == "suspended":
        return ["unsuspended"]
    if model.availability == "not_found":
        return ["reactivated"]
    blocked = {"withheld": bool(model.withheld), "unwithheld": not model.withheld,
               "protected": model.protected, "unprotected": not model.protected}
    kinds = ("withheld", "unwithheld", "suspended", "deactivated", "protected", "unprotected", "renamed")
    return [kind for kind in kinds if kind not in model.used and not blocked.get(kind, False)]


def _apply(model: _Model, change: Change) -> None:
    kind = change.kind
    model.used.add(kind)
    if kind in ("suspended", "deactivated"):
        model.availability = "suspended" if kind == "suspended" else "not_found"
    elif kind in ("unsuspended", "reactivated"):
        model.availability = "active"
    elif kind in ("protected", "unprotected"):
        model.protected = kind == "protected"
    elif kind == "withheld":
        model.withheld = change.countries
    elif kind == "unwithheld":
        model.withheld = ()
    elif kind == "renamed":
        model.handle = change.new_handle


def _countries(rng: random.Random) -> tuple[str, ...]:
    if rng.random() < 0.1:
        return (EVERYWHERE,)
    return tuple(sorted(rng.sample(COUNTRIES, rng.choice((1, 1, 2)))))


def _change(rng: random.Random, at: float, index: int, model: _Model, kind: str) -> Change:
    if kind == "withheld":
        return Change(at, index, kind, _countries(rng))
    if kind == "unwithheld":
        return Change(at, index, kind, model.withheld)
    if kind == "renamed":
        return Change(at, index, kind, new_handle=model.handle + "r")
    return Change(at, index, kind)


def _faults(rng: random.Random, s: Settings) -> tuple[list[Fault], list[Window]]:
    """Faults at fixed shares of the chaos phase, apart from each other so that each one's effect shows.

    The kills come first: a restart must not hide what a later fault did to the running daemon. The lock
    and the full disk start three polls after the mass withholding and its lifting, while their hundreds
    of alerts are being delivered.
    """
    t, i = s.chaos, s.interval
    auth = 75.0 if s.long else 3 * i + 1
    tg_down = 30.0 if s.long else 6.0
    disk = 20.0 if s.long else 6.0
    tg, x_auth, kills = SHARES["tg_down"] * t, SHARES["x_auth"] * t, (SHARES["kill1"] * t, SHARES["kill2"] * t)
    lock, full = SHARES["mass"] * t + 3 * i, SHARES["restore"] * t + 3 * i
    faults = [
        Fault(tg, "tg_down"), Fault(tg + tg_down, "tg_up"), Fault(x_auth, "x_auth"), Fault(x_auth + auth, "x_auth_end"),
        *(Fault(at, "kill") for at in kills),
        Fault(lock, "db_lock"), Fault(lock + LOCK_SECONDS, "db_unlock"), Fault(full, "disk_full"),
        Fault(full + disk, "disk_ok"),
    ]
    faults += [Fault(share * t, "smtp_451", count=rng.randint(2, 5)) for share in (0.18, 0.60, 0.85)]
    faults += [Fault(share * t, "tg_429", count=rng.randint(3, 6), retry_after=rng.randint(1, 3))
               for share in (0.30, 0.60, 0.88)]
    bursts = 25 if s.long else 8
    kinds = [X_FAULTS[n % len(X_FAULTS)] for n in range(bursts)]
    rng.shuffle(kinds)  # every kind at least once when there are 8 bursts or more
    faults += [Fault((n + 0.5) * t / bursts, "x_burst", fault=kind, count=rng.randint(1, 4))
               for n, kind in enumerate(kinds)]
    blackouts = [(x_auth, x_auth + auth + i), (lock, lock + LOCK_SECONDS + i), (full, full + disk + 2 * i),
                 *((at, at + s.restart_margin) for at in kills)]
    return sorted(faults, key=lambda f: f.at), sorted(blackouts)


def _flickers(rng: random.Random, s: Settings, accounts: Sequence[int]) -> list[Flicker]:
    """About two flickers per reserved account, at least four intervals apart on one account."""
    out: list[Flicker] = []
    for index in accounts:
        at = rng.uniform(s.interval, 0.4 * s.chaos)
        while at < s.chaos - s.interval:
            kind = rng.choice(FLICKER_KINDS)
            out.append(Flicker(at, index, kind, _countries(rng) if kind == "withheld" else ()))
            at += max(4 * s.interval, rng.uniform(0.3, 0.6) * s.chaos)
    return sorted(out, key=lambda f: f.at)


def make_plan(seed: int, s: Settings) -> Plan:
    """The whole timeline for ``seed``: the same seed always gives the same plan."""
    rng = random.Random(seed)
    handles = [f"pw{n}" for n in range(s.accounts)]
    tags = [tuple(sorted(rng.sample(TAGS, rng.choice((0, 1, 1, 2))))) for _ in handles]
    reserved = frozenset(rng.sample(range(s.accounts), max(2, int(s.accounts * s.flicker_share))))
    faults, blackouts = _faults(rng, s)
    plan = Plan(s, seed, handles, tags, reserved, faults=faults, blackouts=blackouts,
                flickers=_flickers(rng, s, sorted(reserved)))
    plan.changes = _changes(rng, s, handles, reserved, blackouts)
    return plan


def _changes(rng: random.Random, s: Settings, handles: list[str], reserved: frozenset[int],
             blackouts: list[Window]) -> list[Change]:
    models = [_Model(handle) for handle in handles]
    pool = [n for n in range(len(handles)) if n not in reserved]
    ticks: list[tuple[float, str]] = [(rng.uniform(2 * s.interval, s.chaos), "one")
                                      for _ in range(int(len(pool) * s.changes_per_account))]
    ticks += [(SHARES["mass"] * s.chaos, "mass"), (SHARES["restore"] * s.chaos, "restore")]
    mass: list[int] = []
    changes: list[Change] = []

    def take(at: float, index: int, kind: str, countries: tuple[str, ...] | None = None) -> None:
        change = Change(at, index, kind, countries) if countries else _change(rng, at, index, models[index], kind)
        _apply(models[index], change)
        models[index].next_ok = advance_good(at, s.hold, blackouts)
        changes.append(change)

    for at, what in sorted(ticks):
        if advance_good(at, s.hold, blackouts) > s.chaos:
            continue  # too late: the daemon could not confirm it before the chaos ends
        if what == "mass":  # February 2021: hundreds withheld in India at once
            ready = [n for n in pool if models[n].next_ok <= at and "withheld" in moves(models[n])]
            mass = sorted(rng.sample(ready, min(len(ready), max(5, len(pool) // 10))))
            for index in mass:
                take(at, index, "withheld", ("IN",))
        elif what == "restore":  # ... many restored hours later
            for index in mass:
                if models[index].next_ok <= at and "unwithheld" in moves(models[index]):
                    take(at, index, "unwithheld")
        else:
            for _attempt in range(20):
                index = rng.choice(pool)
                options = moves(models[index]) if models[index].next_ok <= at else []
                if options:
                    take(at, index, rng.choice(options))
                    break
    return changes

