"""The soak bench's compact table, from the figures dict that ``--json`` prints whole."""

from __future__ import annotations

from typing import Any


def _lag(spread: dict[str, Any]) -> str:
    if spread.get("median") is None:
        return "-"
    return f"{spread['median']}/{spread['p95']}/{spread['max']} s"


def _pairs(values: dict[str, Any]) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(values.items())) or "-"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _rss(sample: dict[str, Any] | None) -> str:
    return "-" if not sample else f"{sample['mb']} MB (pid {sample['pid']})"


def _stall(channel: str, v: dict[str, Any]) -> str:
    at = f" from {v['at_s']} s" if v["at_s"] is not None else ""
    return f"{channel} {v['longest_s']} s{at} (max due {v['max_due']})"


Row = tuple[str, str, str]  # section (on its first row only), figure, value


def _run(run: dict[str, Any]) -> list[Row]:
    return [
        ("run", "seed / accounts / poll interval", f"{run['seed']} / {run['accounts']} / {run['interval']} s"),
        ("", "chaos / drain / wall", f"{run['chaos_s']} s (a day x{run['compression']}) / {run['drain_s']} s"
                                     f" / {run['wall_s']} s"),
        ("", "faults played", _pairs(run["faults"])),
    ]


def _transitions(t: dict[str, Any]) -> list[Row]:
    return [
        ("transitions", "caused (held long enough)", f"{t['caused']} ({t['caused_held']})"),
        ("", "recorded / matched", f"{t['recorded']} / {t['matched']}"),
        ("", "precision / recall", f"{_ratio(t['precision'])} / {_ratio(t['recall'])}"),
        ("", "recorded matching nothing", f"{t['false']} {t['false_examples'][:3] or ''}".strip()),
        ("", "held but not recorded (first)", ", ".join(t["missed_examples"][:3]) or "-"),
        ("", "detection lag median/p95/max", _lag(t["detection_lag_s"])),
        ("flickers", "caused / served to a poll / recorded",
         f"{t['flickers']} / {t['flickers_served']} / {t['flickers_recorded']}"),
    ]


def _alerts(a: dict[str, Any]) -> list[Row]:
    return [
        ("alerts", "expected / outbox rows", f"{a['expected']} / {a['outbox_rows']}"
                                             f" (not expected: {a['outbox_rows_unexpected']})"),
        ("", "delivered (of expected)", str(a["delivered"])),
        ("", "duplicates (in flight at a kill)", f"{a['duplicates']} ({a['duplicates_in_flight_at_kill']})"),
        ("", "lost (target 0)", str(a["lost"])),
        ("", "lost, by outbox status", _pairs(a["lost_by_outbox_status"])),
        ("", "sent rows never received", str(a["sent_not_received"])),
        ("", "unexpected deliveries", str(a["unexpected"])),
        ("", "outbox by status", _pairs(a["outbox_by_status"])),
        ("", "rows in flight at each kill", ", ".join(map(str, a["in_flight_at_kills"])) or "-"),
        ("", "delivery lag median/p95/max", _lag(a["delivery_lag_s"])),
        ("", "longest stall with messages due", "; ".join(_stall(ch, v) for ch, v in a["stalls"].items())),
        ("", "messages / unparsed", f"{a['messages']} / {a['unparsed_messages']}"),
    ]


def _notices(n: dict[str, Any]) -> list[Row]:
    rows = [("", f"{item['kind']} ({item['condition']})", f"raised {item['raised']}, resolved {item['resolved']}")
            for item in n["by_condition"]] or [("", "by condition", "none")]
    rows.append(("", "to operators: queued / delivered / duplicates / lost",
                 f"{n['operator_rows']} / {n['delivered']} / {n['duplicates']} / {n['lost']}"))
    return [("notices", *rows[0][1:]), *rows[1:]]


def _daemon(r: dict[str, Any], run: dict[str, Any]) -> list[Row]:
    rows = [
        ("rss", "start / middle / end", f"{_rss(r['start'])} / {_rss(r['middle'])} / {_rss(r['end'])}"),
        ("", "by process: first, its life's quarters, last (peak)", "; ".join(
            f"pid {pid} {v['first']}, {', '.join(map(str, v['quarters']))}, {v['last']} ({v['peak']}) MB"
            for pid, v in r["by_pid"].items()) or "-"),
        ("daemon", "kills / unplanned exits / final exit code",
         f"{len(run['kills'])} / {len(run['unplanned_exits'])} / {run['final_exit']}"),
        ("", "ERROR lines in its log", str(run["error_lines"])),
    ]
    for title, counts in (("most frequent errors", run["errors"]), ("most frequent exceptions", run["exceptions"])):
        rows += [("", title if k == 0 else "", f"{count} x {line}") for k, (line, count) in enumerate(counts.items())]
    return rows


def table(f: dict[str, Any]) -> str:
    """Section, figure, value: one figure a line."""
    rows = [*_run(f["run"]), *_transitions(f["transitions"]), *_alerts(f["alerts"]), *_notices(f["notices"]),
            *_daemon(f["rss"], f["run"])]
    width = max(len(figure) for _s, figure, _v in rows)
    return "\n".join(f"{section:<12} {figure:<{width}}  {value}" for section, figure, value in rows)
