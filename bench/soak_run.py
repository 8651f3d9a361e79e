"""The soak bench's runner: plays the plan on the sandboxes and the daemon, and logs what it really did.

The log is the ground truth the figures are computed from: every change as applied (with its wall time),
every flicker queued, every fault with its start and end, the outbox rows in flight at each kill.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from soak_plan import Change, Fault, Flicker, Plan
from soak_world import X_TOKEN, Daemon, Sandboxes

from bot import clock

DUE_SQL = ("SELECT s.channel, count(*) FROM outbox o JOIN subscribers s ON s.id = o.subscriber_id"
           " WHERE o.status = 'pending' AND o.next_attempt_at <= ? AND s.enabled = 1 GROUP BY s.channel")
SENDING_SQL = (
    "SELECT s.address, a.account_id, t.kind FROM outbox o JOIN subscribers s ON s.id = o.subscriber_id"
    " JOIN transitions t ON t.id = o.transition_id JOIN accounts a ON a.pk = t.account_pk"
    " WHERE o.status = 'sending'")


@dataclass(frozen=True, slots=True)
class Caused:
    """One change the bench made on X: the account (by id), the kind, the countries, when."""

    at: float  # unix time
    account_id: str
    kind: str
    countries: tuple[str, ...]
    handle: str  # the handle after the change (the new one for a rename)
    previous_handle: str
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Kill:
    at: float
    pid: int
    in_flight: tuple[tuple[str, str, str], ...]  # (address, account id, kind) of rows 'sending'
    restarted_pid: int


@dataclass(slots=True)
class Log:
    caused: list[Caused] = field(default_factory=list)
    flickers: list[tuple[float, str, str]] = field(default_factory=list)  # (unix time, account id, kind)
    faults: list[tuple[float, str]] = field(default_factory=list)  # (unix time, what)
    kills: list[Kill] = field(default_factory=list)
    rss: list[tuple[float, int, int]] = field(default_factory=list)  # (unix time, pid, VmRSS kB)
    # (unix time, channel, rows due now, messages received so far on that channel)
    queue: list[tuple[float, str, int, int]] = field(default_factory=list)
    exits: list[tuple[float, int, int | None]] = field(default_factory=list)  # unplanned: (time, pid, code)


def db_rows(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """A read-only look at the daemon's database (WAL lets a reader in while it writes)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


class Runner:
    """Plays one plan; ``start`` is the unix time the chaos phase began."""

    def __init__(self, plan: Plan, box: Sandboxes, daemon: Daemon, db: Path) -> None:
        self.plan, self.box, self.daemon, self.db = plan, box, daemon, db
        self.log = Log()
        self.start = 0.0
        self.handles = list(plan.handles)
        self._lock: sqlite3.Connection | None = None
        self._stop = threading.Event()
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def play(self) -> None:
        """Apply every action at its time (the bench waits on an Event: it can be told to stop)."""
        actions: list[tuple[float, int, Callable[[], None]]] = []
        actions += [(c.at, n, partial(self._change, c)) for n, c in enumerate(self.plan.changes)]
        actions += [(f.at, n, partial(self._flicker, f)) for n, f in enumerate(self.plan.flickers)]
        actions += [(f.at, n, partial(self._fault, f)) for n, f in enumerate(self.plan.faults)]
        self.start = clock.unix()
        try:
            for at, _n, action in sorted(actions, key=lambda a: (a[0], a[1])):
                if self._stop.wait(max(0.0, self.start + at - clock.unix())):
                    return
                self._watch_exit()
                action()
            self._stop.wait(max(0.0, self.start + self.plan.settings.chaos - clock.unix()))
        finally:
            self.clear_faults()

    def stop(self) -> None:
        """Cut the chaos phase short (Ctrl-C)."""
        self._stop.set()

    def sample_rss(self) -> None:
        """Sample the daemon's VmRSS and the alerts due every second, until ``done``."""
        self._sampler.start()

    def done(self) -> None:
        self._done.set()
        self._sampler.join(5)

    def _sample(self) -> None:
        while True:
            now = clock.unix()
            rss = self.daemon.rss_kb() if self.daemon.alive() else None
            if rss is not None:
                self.log.rss.append((now, self.daemon.pid, rss))
            try:
                due = dict(db_rows(self.db, DUE_SQL, (clock.now().isoformat(),)))
            except sqlite3.Error:
                due = None  # a busy moment: skip this sample
            if due is not None:
                received = {"telegram": len(self.box.tg.messages), "email": len(self.box.mail.messages)}
                self.log.queue += [(now, channel, int(due.get(channel, 0)), n) for channel, n in received.items()]
            if self._done.wait(1.0):
                return

    def _watch_exit(self) -> None:
        proc = self.daemon.proc
        if proc is not None and proc.poll() is not None and not any(e[1] == proc.pid for e in self.log.exits):
            self.log.exits.append((clock.unix(), proc.pid, proc.returncode))

    def _change(self, change: Change) -> None:
        x, ident = self.box.x, self.box.ids[change.account]
        before = self.handles[change.account]
        actions: dict[str, Callable[[], None]] = {
            "withheld": lambda: x.set_withheld(ident, change.countries),
            "unwithheld": lambda: x.set_withheld(ident, ()),
            "suspended": lambda: x.suspend(ident), "unsuspended": lambda: x.unsuspend(ident),
            "deactivated": lambda: x.deactivate(ident), "reactivated": lambda: x.reactivate(ident),
            "protected": lambda: x.set_protected(ident, True), "unprotected": lambda: x.set_protected(ident, False),
            "renamed": lambda: x.rename(ident, change.new_handle),
        }
        actions[change.kind]()
        after = change.new_handle or before
        self.handles[change.account] = after
        self.log.caused.append(Caused(clock.unix(), ident, change.kind, change.countries, after, before,
                                      self.plan.tags[change.account]))

    def _flicker(self, flicker: Flicker) -> None:
        ident = self.box.ids[flicker.account]
        changes: dict[str, Any] = {"withheld_in": flicker.countries} if flicker.kind == "withheld" else {
            flicker.kind: True}
        self.box.x.flicker_next(ident, **changes)
        self.log.flickers.append((clock.unix(), ident, flicker.kind))

    def _fault(self, fault: Fault) -> None:
        box, kind = self.box, fault.kind
        detail = kind if not fault.fault else f"{kind} {fault.fault}"
        if kind == "x_burst":
            box.x.fail_next(fault.fault, fault.count)
        elif kind in ("x_auth", "x_auth_end"):  # X refuses our bearer token: real 401s
            box.x.bearer_token = "revoked-token" if kind == "x_auth" else X_TOKEN
        elif kind in ("tg_down", "tg_up"):
            box.tg.set_down(kind == "tg_down")
        elif kind == "tg_429":
            box.tg.fail_next("429", fault.count, retry_after=fault.retry_after)
        elif kind == "smtp_451":
            box.mail.refuse_next(fault.count)
        elif kind == "db_lock":
            self._hold_lock(True)
        elif kind == "db_unlock":
            self._hold_lock(False)
        elif kind in ("disk_full", "disk_ok"):
            if self.daemon.alive():
                self.daemon.limit_writes(kind == "disk_full")
        elif kind == "kill":
            self._kill()
        self.log.faults.append((clock.unix(), detail + (f" x{fault.count}" if fault.count else "")))

    def _hold_lock(self, hold: bool) -> None:
        """Another connection holding the write lock (BEGIN EXCLUSIVE) for longer than the busy timeout."""
        if hold and self._lock is None:
            self._lock = sqlite3.connect(self.db, timeout=30, isolation_level=None)
            self._lock.execute("BEGIN EXCLUSIVE")
        elif not hold and self._lock is not None:
            self._lock.execute("ROLLBACK")
            self._lock.close()
            self._lock = None

    def _kill(self) -> None:
        """SIGKILL, after a bounded wait for rows in flight; their snapshot is taken with the daemon frozen."""
        deadline = clock.monotonic() + 3 * self.plan.settings.interval
        while clock.monotonic() < deadline and self.daemon.alive() and not db_rows(self.db, SENDING_SQL):
            if self._stop.wait(0.05):
                break
        pid = self.daemon.pid
        in_flight: list[tuple[Any, ...]] = []
        if self.daemon.alive():
            self.daemon.freeze()
            in_flight = db_rows(self.db, SENDING_SQL)
        self.daemon.kill()
        killed_at = clock.unix()
        self.daemon.start()
        self.log.kills.append(Kill(killed_at, pid, tuple((str(a), str(i), str(k)) for a, i, k in in_flight),
                                   self.daemon.pid))

    def clear_faults(self) -> None:
        """The drain has no faults: every switch back to normal (harmless when already normal)."""
        box = self.box
        box.x.bearer_token = X_TOKEN
        box.tg.set_down(False)
        self._hold_lock(False)
        if self.daemon.alive():
            self.daemon.limit_writes(False)
