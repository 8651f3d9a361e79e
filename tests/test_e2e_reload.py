"""Hot reload of a running `presswatch run`: edits of its config file (saved by rename, as editors do) take
effect without a restart, a broken one changes nothing and is told to the operators once, a good one after
it is applied and told once; no alert lost, no false alert."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
from pathlib import Path
from typing import Any

import yaml
from e2e import WAIT, Daemon, cycles, db_rows, wait_until, write_config

from bot.sandbox.mail import MailSink
from bot.sandbox.x_api import XSandbox

DESK, OPS, OPS2 = "desk@rights.test", "ops@rights.test", "night-ops@rights.test"
APPLIED_WITHIN = 5.0  # seconds: the operator contract for a good save


def save_by_rename(config: Path, change: Any) -> None:
    """Edit the YAML as an editor saves it: a new file written beside it, renamed over it."""
    data = yaml.safe_load(config.read_text())
    change(data)
    fresh = config.with_suffix(".tmp")
    fresh.write_text(yaml.safe_dump(data, sort_keys=False))
    os.replace(fresh, config)


def applied(daemon: Daemon, count: int) -> None:
    """Wait, within the contract's 5 seconds, for the ``count``th version applied since the start."""
    wait_until(lambda: daemon.output().count(": applied ") >= count, APPLIED_WITHIN, f"version {count} applied")


def watched(config: Path) -> set[str]:
    return {r["handle"] for r in db_rows(config, "SELECT handle FROM accounts WHERE watched = 1")}


def baselined(config: Path) -> set[str]:
    """The watched accounts whose first read is recorded (none while the daemon is creating its database)."""
    try:
        rows = db_rows(config, "SELECT handle FROM accounts WHERE watched = 1 AND availability IS NOT NULL")
    except sqlite3.OperationalError:
        return set()
    return {row["handle"] for row in rows}


def transitions(config: Path) -> list[tuple[str, str, int]]:
    """(handle, kind, alerts queued for subscribers) of every transition, in order."""
    rows = db_rows(config, "SELECT a.handle, t.kind, (SELECT count(*) FROM outbox o WHERE o.transition_id = t.id)"
                           " AS alerts FROM transitions t JOIN accounts a ON a.pk = t.account_pk ORDER BY t.id")
    return [(r["handle"], r["kind"], r["alerts"]) for r in rows]


def mail_to(sink: MailSink, address: str) -> list[str]:
    return [str(m["Subject"]) for m in sink.messages if m["To"] == address]


def keys(request: Any) -> set[str]:
    """The ids and handles one request to X asked for."""
    return {key.casefold() for value in request.query.values() for key in value.split(",")}


def asked(x: XSandbox, start: int) -> set[str]:
    return set().union(*(keys(r) for r in x.requests[start:]))


def line_with(config: Path, text: str) -> int:
    return next(n for n, line in enumerate(config.read_text().splitlines(), 1) if text in line)


def test_edits_of_a_running_daemon_apply_or_are_refused_without_a_restart(
        x_sandbox: XSandbox, mail_sink: MailSink, tmp_path: Path) -> None:
    x = x_sandbox
    for handle in ("alpha", "beta", "gamma", "delta"):
        x.add_account(handle)
    config = write_config(tmp_path, x_url=x.base_url, smtp_port=mail_sink.port,
                          watchlist=[{"handle": "alpha"}, {"handle": "beta"}],
                          subscribers=[{"name": "Desk", "email": DESK, "countries": ["TR", "RU"]}],
                          operators=[{"email": OPS}])
    with Daemon(config) as daemon:
        wait_until(lambda: baselined(config) == {"alpha", "beta"}, what="the first baseline")
        pid = daemon.proc.pid if daemon.proc else 0

        # 1. An account added (a baseline, never an alert), one removed (no longer polled; history kept).
        x.set_withheld("gamma", ["TR"])  # already withheld when it is added: not news
        save_by_rename(config, lambda c: c.update(watchlist=[{"handle": "alpha"}, {"handle": "gamma"}]))
        applied(daemon, 1)
        wait_until(lambda: baselined(config) == {"alpha", "gamma"}, what="gamma's baseline")
        start = len(x.requests)
        cycles(x, 2)
        assert "beta" not in asked(x, start + 1) and x.account("beta")["id"] not in asked(x, start + 1)
        x.suspend("beta")  # no longer watched: no alert
        assert "beta" in {r["handle"] for r in db_rows(config, "SELECT handle FROM accounts WHERE watched = 0")}

        # 2. The subscriber's countries narrowed to RU: withheld in TR is recorded but alerts no one.
        def narrow(c: dict[str, Any]) -> None:
            c["subscribers"][0]["countries"] = ["RU"]
        save_by_rename(config, narrow)
        applied(daemon, 2)
        x.set_withheld("alpha", ["TR"])
        wait_until(lambda: ("alpha", "withheld", 0) in transitions(config), what="alpha withheld in TR, unrouted")
        x.set_withheld("gamma", ["TR", "RU"])  # now in RU too: the desk is alerted
        assert mail_sink.wait_for(1, WAIT)
        assert mail_to(mail_sink, DESK) == ["[presswatch] @gamma withheld in Russia (RU)"]

        # 3. detection.confirmations 2 -> 5: a change seen by four reads is not recorded yet.
        save_by_rename(config, lambda c: c["detection"].update(confirmations=5))
        applied(daemon, 3)
        before = len(transitions(config))
        x.suspend("alpha")
        start, alpha = len(x.requests), x.account("alpha")["id"]
        # Three requests for alpha since: two answered (enough for the old 2), at most four reads in all (the
        # one on the wire may have seen it too, the third may be answered): under the new 5.
        wait_until(lambda: sum(alpha in keys(r) for r in x.requests[start:]) >= 3, what="three requests for alpha")
        assert len(transitions(config)) == before, "confirmed with fewer reads than the new confirmations"
        wait_until(lambda: ("alpha", "suspended", 1) in transitions(config), what="the suspension confirmed")
        assert mail_sink.wait_for(2, WAIT)

        # 4. A broken file: every problem logged with its line, nothing applied, the operators told once
        # (a SIGHUP reading the same version again tells no one again).
        def broken(c: dict[str, Any]) -> None:
            c["subscribers"][0]["countries"] = ["RU", "Narnia"]
            c["detection"]["confirmations"] = 0
            c["watchlist"].append({"handle": "delta"})
        save_by_rename(config, broken)
        expected = [f"subscribers.0.countries.1: .+ \\(line {line_with(config, 'Narnia')}\\)",
                    f"detection.confirmations: .+ \\(line {line_with(config, 'confirmations: 0')}\\)"]
        wait_until(lambda: all(re.search(e, daemon.output()) for e in expected), WAIT, "the problems logged")
        wait_until(lambda: len(mail_to(mail_sink, OPS)) == 1, what="the operators told")
        os.kill(pid, signal.SIGHUP)
        wait_until(lambda: daemon.output().count("read on SIGHUP: not applied (2 problems)") == 1, what="SIGHUP")
        x.unsuspend("alpha")  # the daemon goes on polling and alerting under the last good config (5 reads)
        wait_until(lambda: ("alpha", "unsuspended", 1) in transitions(config), what="the unsuspension")
        assert "delta" not in watched(config)

        # 5. A key that needs a restart (the database) refuses the whole version: delta still not added.
        def moved(c: dict[str, Any]) -> None:
            c["subscribers"][0]["countries"] = ["RU"]
            c["detection"]["confirmations"] = 1
            c["database"] = "elsewhere.db"
        save_by_rename(config, moved)
        wait_until(lambda: re.search(r"database: cannot change while presswatch runs.+\(line 2\)", daemon.output())
                   is not None, what="the database change refused")
        wait_until(lambda: len(mail_to(mail_sink, OPS)) == 2, what="the operators told of that version")

        # 6. Fixed: applied, the operators told once that a good version is back.
        save_by_rename(config, lambda c: c.update(database="presswatch.db"))
        applied(daemon, 4)
        wait_until(lambda: len(mail_to(mail_sink, OPS)) == 3, what="the operators told it is good again")
        wait_until(lambda: baselined(config) == {"alpha", "gamma", "delta"}, what="delta's baseline")
        x.set_withheld("delta", ["RU"])  # confirmations 1 now: alerted
        wait_until(lambda: len(mail_to(mail_sink, DESK)) == 4, what="delta's alert")
        assert daemon.stop() == 0

    assert mail_to(mail_sink, DESK) == [
        "[presswatch] @gamma withheld in Russia (RU)", "[presswatch] @alpha suspended",
        "[presswatch] @alpha no longer suspended", "[presswatch] @delta withheld in Russia (RU)"]
    ops = mail_to(mail_sink, OPS)
    assert [subject.split(": ")[0] for subject in ops] == [
        "[presswatch health] An edit of the config file was not applied",
        "[presswatch health] An edit of the config file was not applied", "[presswatch health] Recovered"]
    assert [(h, k) for h, k, _ in transitions(config)] == [
        ("alpha", "withheld"), ("gamma", "withheld"), ("alpha", "suspended"), ("alpha", "unsuspended"),
        ("delta", "withheld")]
    assert not os.path.exists(tmp_path / "elsewhere.db")
    output = daemon.output()
    assert "Traceback" not in output and "sandbox-token" not in output


def test_a_write_in_place_a_deleted_file_and_its_return_operators_interval_and_templates(
        x_sandbox: XSandbox, mail_sink: MailSink, tmp_path: Path) -> None:
    x = x_sandbox
    x.add_account("alpha")
    config = write_config(tmp_path, x_url=x.base_url, smtp_port=mail_sink.port, watchlist=[{"handle": "alpha"}],
                          subscribers=[{"name": "Desk", "email": DESK}], operators=[{"email": OPS}])
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "alert.txt.j2").write_text("Reloaded template: {{ subject }}\n")
    with Daemon(config) as daemon:
        wait_until(lambda: baselined(config) == {"alpha"}, what="the first baseline")
        # Written in place (no rename): the templates and a longer shared interval, from the next alert.
        data = yaml.safe_load(config.read_text())
        data["x"]["poll_interval"] = 0.6
        data["templates"] = "tpl"
        data["operators"].append({"email": OPS2})  # an operator added: told from the next notice
        original = config.read_text()
        with config.open("w") as file:
            file.write(yaml.safe_dump(data, sort_keys=False))
        applied(daemon, 1)
        assert "shared period 600ms (as configured)" in daemon.output()
        x.set_withheld("alpha", ["TR"])
        assert mail_sink.wait_for(1, WAIT)
        [alert] = [m for m in mail_sink.messages if m["To"] == DESK]
        assert alert.get_body(("plain",)).get_content().startswith("Reloaded template: [presswatch] @alpha withheld")

        # Deleted: refused (the daemon goes on), the operators told once; back as it was: told it is good.
        config.unlink()
        wait_until(lambda: f"(file): file not found: {config}" in daemon.output(), what="the missing file logged")
        wait_until(lambda: len(mail_to(mail_sink, OPS)) == len(mail_to(mail_sink, OPS2)) == 1, what="both told")
        config.write_text(original)  # the first version: valid, and applied again (the interval back to 300ms)
        applied(daemon, 2)
        wait_until(lambda: len(mail_to(mail_sink, OPS)) == 2, what="the operators told it is good again")
        x.set_withheld("alpha", [])
        wait_until(lambda: len(mail_to(mail_sink, DESK)) == 2, what="the second alert")
        assert daemon.stop() == 0
    subjects = mail_to(mail_sink, OPS)
    assert mail_to(mail_sink, OPS2) == subjects[:1]  # the first version, without night-ops, is back for the second
    assert subjects[0].startswith(
        "[presswatch health] An edit of the config file was not applied: config.yaml: problems found: 1; ")
    assert subjects[1].startswith("[presswatch health] Recovered: config.yaml is valid again")
    [_, back] = [m for m in mail_sink.messages if m["To"] == DESK]
    assert not back.get_body(("plain",)).get_content().startswith("Reloaded template")  # the bundled one again
    assert "Traceback" not in daemon.output()
