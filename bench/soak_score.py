"""The soak bench's figures: ground truth (what the bench caused) against the database and the deliveries.

Transitions: a recorded transition matches the caused change of the same account and kind (each account
takes each kind once) with the same countries, confirmed after it was caused. Recall counts only the
changes that held long enough to be seen: (confirmations + 1) poll intervals of time outside the
windows where the daemon could not see or write (X refusing the token, the database locked or full,
the daemon killed and not yet polling again).

Alerts: expected = every held caused change x every subscriber whose filters pass it (the README's rules,
soak_world.Sub.wants). A delivery is one (address, account, kind) arrival; repeats are duplicates, and
those whose row was 'sending' at a kill are the allowed kind. Lost = expected never delivered.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from soak_parse import Deliveries, Key
from soak_plan import Plan, Window, good_time
from soak_run import Caused, Log, db_rows
from soak_world import OPERATORS, SUBSCRIBERS

TRANSITIONS_SQL = ("SELECT t.id, a.account_id, t.kind, t.countries, t.confirmed_at FROM transitions t"
                   " JOIN accounts a ON a.pk = t.account_pk ORDER BY t.id")
OUTBOX_SQL = ("SELECT o.status, s.address, a.account_id, t.kind, o.sent_at FROM outbox o"
              " JOIN subscribers s ON s.id = o.subscriber_id JOIN transitions t ON t.id = o.transition_id"
              " JOIN accounts a ON a.pk = t.account_pk")
NOTICE_ROWS_SQL = ("SELECT s.address, o.notice_id, o.status FROM outbox o JOIN subscribers s ON s.id = o.subscriber_id"
                   " WHERE o.notice_id IS NOT NULL")
NOTICES_SQL = ("SELECT kind, coalesce(condition, '-'), count(*), count(resolved_at) FROM notices"
               " GROUP BY kind, condition ORDER BY kind, condition")


@dataclass(frozen=True, slots=True)
class Inputs:
    plan: Plan
    log: Log
    deliveries: Deliveries
    db: Path
    x_request_times: Sequence[float]  # when the X sandbox answered each request
    flickers_served: int
    started: float  # unix time the chaos phase began
    ended: float  # unix time the daemon was stopped


def unix(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def blackouts(inputs: Inputs) -> list[Window]:
    """The windows where the daemon could not see or write, as they really happened (with a poll's margin)."""
    interval = inputs.plan.settings.interval
    out: list[Window] = []
    opened: dict[str, float] = {}
    pairs = {"x_auth": "x_auth_end", "db_lock": "db_unlock", "disk_full": "disk_ok"}
    ends = {end: start for start, end in pairs.items()}
    for at, what in inputs.log.faults:
        if what in pairs:
            opened[what] = at
        elif what in ends and ends[what] in opened:
            out.append((opened.pop(ends[what]), at + (2 if what == "disk_ok" else 1) * interval))
    for start in opened.values():  # a fault cut short by the end of the chaos
        out.append((start, inputs.ended))
    for kill in inputs.log.kills:
        back = next((t for t in inputs.x_request_times if t > kill.at), inputs.ended)
        out.append((kill.at, back + interval))
    return sorted(out)


def held(inputs: Inputs, windows: Sequence[Window]) -> list[Caused]:
    """The caused changes whose new state lasted long enough to be seen and confirmed."""
    need = (inputs.plan.settings.confirmations + 1) * inputs.plan.settings.interval
    by_account: dict[str, list[Caused]] = {}
    for caused in inputs.log.caused:
        by_account.setdefault(caused.account_id, []).append(caused)
    out = []
    for changes in by_account.values():
        for n, caused in enumerate(changes):
            until = changes[n + 1].at if n + 1 < len(changes) else inputs.ended
            if good_time(caused.at, until, windows) >= need:
                out.append(caused)
    return out


def _spread(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "p95": None, "max": None}
    ordered = sorted(values)
    return {"median": round(statistics.median(ordered), 1), "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
            "max": round(ordered[-1], 1)}


def transitions(inputs: Inputs, ok: list[Caused]) -> tuple[dict[str, Any], set[tuple[str, str]]]:
    """Recorded against caused; also the (account id, kind) of the caused changes that were recorded."""
    caused = {(c.account_id, c.kind): c for c in inputs.log.caused}
    ok_keys = {(c.account_id, c.kind) for c in ok}
    flicker_ids = {ident for _at, ident, _kind in inputs.log.flickers}
    matched: dict[tuple[str, str], float] = {}
    false: list[str] = []
    flickers = 0
    rows = db_rows(inputs.db, TRANSITIONS_SQL)
    for _id, ident, kind, countries, confirmed in rows:
        c = caused.get((ident, kind))
        at = unix(confirmed)
        if c and (ident, kind) not in matched and set(json.loads(countries)) == set(c.countries) and at >= c.at - 1:
            matched[(ident, kind)] = at - c.at
        elif ident in flicker_ids:
            flickers += 1
        else:
            false.append(f"{ident} {kind} {countries}")
    found = [key for key in matched if key in ok_keys]
    figures = {"caused": len(inputs.log.caused), "caused_held": len(ok), "recorded": len(rows),
            "matched": len(matched), "precision": round(len(matched) / len(rows), 4) if rows else None,
            "recall": round(len(found) / len(ok), 4) if ok else None, "false": len(false),
            "false_examples": false[:5], "missed_examples": [f"{c.account_id} {c.kind}" for c in ok
                                                            if (c.account_id, c.kind) not in matched][:5],
            "flickers": len(inputs.log.flickers), "flickers_served": inputs.flickers_served,
            "flickers_recorded": flickers, "detection_lag_s": _spread(list(matched.values()))}
    return figures, set(matched)


def expected(ok: list[Caused]) -> dict[Key, Caused]:
    return {(sub.address, c.account_id, c.kind): c for c in ok for sub in SUBSCRIBERS
            if sub.wants(c.kind, c.countries, c.tags)}


def alerts(inputs: Inputs, ok: list[Caused], recorded: set[tuple[str, str]]) -> dict[str, Any]:
    want = expected(ok)
    arrivals = Counter(inputs.deliveries.alerts)
    optional = {(sub.address, c.account_id, c.kind) for c in inputs.log.caused for sub in SUBSCRIBERS
                if sub.wants(c.kind, c.countries, c.tags)}  # a change too short to count: no false alarm either
    in_flight = Counter(key for kill in inputs.log.kills for key in kill.in_flight)
    duplicates = sum(n - 1 for n in arrivals.values())
    at_kill = sum(min(n - 1, in_flight[key]) for key, n in arrivals.items() if n > 1)
    rows = db_rows(inputs.db, OUTBOX_SQL)
    status: dict[Key, str] = {(str(a), str(i), str(k)): st for st, a, i, k, _sent in rows}
    lost = [key for key in want if key not in arrivals]
    causes = Counter(status.get(key, "no outbox row" if key[1:] in recorded else "not recorded") for key in lost)
    lags = [unix(sent) - want[(str(a), str(i), str(k))].at for st, a, i, k, sent in rows
            if st == "sent" and sent and (str(a), str(i), str(k)) in want]
    return {"expected": len(want), "outbox_rows": len(rows),
            "outbox_rows_unexpected": sum(key not in optional for key in status),
            "outbox_by_status": dict(Counter(st for st, *_ in rows)),
            "delivered": sum(key in arrivals for key in want), "arrivals": sum(arrivals.values()),
            "unexpected": sum(n for key, n in arrivals.items() if key not in optional),
            "duplicates": duplicates, "duplicates_in_flight_at_kill": at_kill,
            "in_flight_at_kills": [len(kill.in_flight) for kill in inputs.log.kills],
            "lost": len(lost), "lost_by_outbox_status": dict(causes),
            "sent_not_received": sum(st == "sent" and key not in arrivals for key, st in status.items()),
            "delivery_lag_s": _spread(lags), "messages": inputs.deliveries.messages,
            "unparsed_messages": len(inputs.deliveries.unparsed), "unparsed_examples": inputs.deliveries.unparsed[:3],
            "unknown_handles": sorted(inputs.deliveries.unknown_handles)[:5]}


def notices(inputs: Inputs) -> dict[str, Any]:
    by_condition = [{"kind": kind, "condition": cond, "raised": n, "resolved": r}
                    for kind, cond, n, r in db_rows(inputs.db, NOTICES_SQL)]
    rows = db_rows(inputs.db, NOTICE_ROWS_SQL)
    arrivals = Counter(inputs.deliveries.notices)
    operators = {sub.address for sub in OPERATORS}
    queued = {(str(a), int(n)) for a, n, _st in rows if str(a) in operators}
    return {"by_condition": by_condition, "operator_rows": len(queued),
            "delivered": sum(key in arrivals for key in queued),
            "duplicates": sum(n - 1 for n in arrivals.values()),
            "lost": len(queued - set(arrivals))}


def rss(inputs: Inputs) -> dict[str, Any]:
    """VmRSS at the start, middle and end of the run, and per daemon process (each restart is its own)."""
    samples = inputs.log.rss
    if not samples:
        return {"start": None, "middle": None, "end": None, "by_pid": {}, "samples": 0}
    middle_at = samples[0][0] + (samples[-1][0] - samples[0][0]) / 2
    middle = min(samples, key=lambda s: abs(s[0] - middle_at))
    by_pid: dict[str, list[int]] = {}
    for _t, pid, kb in samples:
        by_pid.setdefault(str(pid), []).append(kb)

    def mb(kb: int) -> float:
        return round(kb / 1024, 1)

    return {"start": {"mb": mb(samples[0][2]), "pid": samples[0][1]}, "middle": {"mb": mb(middle[2]), "pid": middle[1]},
            "end": {"mb": mb(samples[-1][2]), "pid": samples[-1][1]}, "samples": len(samples),
            "by_pid": {pid: {"first": mb(kbs[0]), "last": mb(kbs[-1]), "peak": mb(max(kbs)), "samples": len(kbs),
                             "quarters": [mb(kbs[min(len(kbs) - 1, len(kbs) * q // 4)]) for q in (1, 2, 3)]}
                       for pid, kbs in by_pid.items()}}


def _longest_stall(samples: Sequence[tuple[float, int, int]]) -> tuple[float, float | None]:
    """(seconds, start) of the longest run of samples with rows due and the received count unchanged."""
    longest, start, began, count = 0.0, None, None, None
    for t, due, n in samples:
        if not due:
            began = None
        elif began is None or n != count:
            began = t  # something arrived (or nothing was due): a stall can only begin here
        elif t - began > longest:
            longest, start = t - began, began
        count = n
    return longest, start


def stalls(inputs: Inputs) -> dict[str, Any]:
    """Per channel, the longest stretch with messages due and none arriving: a dead or stuck dispatcher."""
    out: dict[str, Any] = {}
    for channel in ("telegram", "email"):
        samples = [(t, due, n) for t, ch, due, n in inputs.log.queue if ch == channel]
        longest, start = _longest_stall(samples)
        out[channel] = {"longest_s": round(longest, 1),
                        "at_s": None if start is None else round(start - inputs.started, 1),
                        "max_due": max((due for _t, due, _n in samples), default=0)}
    return out


def score(inputs: Inputs) -> dict[str, Any]:
    """Every figure of the run, as a JSON-ready dict."""
    windows = blackouts(inputs)
    ok = held(inputs, windows)
    found, recorded = transitions(inputs, ok)
    return {"transitions": found, "alerts": alerts(inputs, ok, recorded) | {"stalls": stalls(inputs)},
            "notices": notices(inputs),
            "rss": rss(inputs), "blackouts": [{"at_s": round(a - inputs.started, 1), "for_s": round(b - a, 1)}
                                              for a, b in windows]}
