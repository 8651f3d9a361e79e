"""The whole daemon through the CLI: `presswatch run` against the X sandbox, then `history` and `check`."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from e2e import WAIT, Daemon, cycles, db_rows, history, presswatch, write_config

from bot.sandbox.x_api import XSandbox

ACCOUNTS = ["withheld_one", "suspended_one", "gone_one", "renamed_one", "calm_one"]




@pytest.fixture
def watched(x_sandbox: XSandbox, tmp_path: Path) -> Path:
    for handle in ACCOUNTS:
        x_sandbox.add_account(handle, name=handle.title())
    return write_config(tmp_path, x_url=x_sandbox.base_url, watchlist=[{"handle": h} for h in ACCOUNTS])


def test_a_scenario_records_each_transition_once(x_sandbox: XSandbox, watched: Path) -> None:
    x = x_sandbox
    with Daemon(watched) as daemon:
        cycles(x, 2)
        x.set_withheld("withheld_one", ["TR"])
        x.suspend("suspended_one")
        x.deactivate("gone_one")
        x.rename("renamed_one", "renamed_two")
        cycles(x, 3)
        x.set_withheld("withheld_one", ["TR", "IN"])
        cycles(x, 3)
        x.set_withheld("withheld_one", ["IN"])
        x.unsuspend("suspended_one")
        x.reactivate("gone_one")
        cycles(x, 3)
        assert daemon.stop() == 0

    rows = history(watched)
    kinds = Counter((row["handle"], row["kind"]) for row in rows)
    assert kinds == Counter({
        ("withheld_one", "withheld"): 2, ("withheld_one", "unwithheld"): 1,
        ("suspended_one", "suspended"): 1, ("suspended_one", "unsuspended"): 1,
        ("gone_one", "deactivated"): 1, ("gone_one", "reactivated"): 1,
        ("renamed_two", "renamed"): 1,
    })
    withheld = [r for r in rows if r["handle"] == "withheld_one"]  # newest first
    assert [(r["kind"], r["countries"], r["withheld_in"]) for r in withheld] == [
        ("unwithheld", ["TR"], ["IN"]), ("withheld", ["IN"], ["IN", "TR"]), ("withheld", ["TR"], ["TR"])]
    assert all(len(r["evidence"]) == 64 and r["at"].endswith("Z") for r in rows)
    assert {r["previous_handle"] for r in rows if r["kind"] == "renamed"} == {"renamed_one"}


def test_a_fault_burst_records_nothing_and_loses_nothing(x_sandbox: XSandbox, watched: Path) -> None:
    x = x_sandbox
    x.configure(slow_seconds=1.5, reset_in=1)
    with Daemon(watched) as daemon:
        cycles(x, 2)
        x.set_withheld("withheld_one", ["IN"])
        cycles(x, 1)  # the change is seen once: one confirmation short
        for kind in ("500", "html502", "timeout", "429", "malformed", "drop", "401", "403", "503"):
            x.fail_next(kind)
        cycles(x, 9)
        during = db_rows(watched, "SELECT count(*) AS n FROM transitions")[0]["n"]
        cycles(x, 3)
        assert daemon.stop() == 0
    assert during == 0, "a failed poll must never confirm a change"
    assert [(r["handle"], r["kind"]) for r in history(watched)] == [("withheld_one", "withheld")]
    states = db_rows(watched, "SELECT handle, availability, withheld_in FROM accounts ORDER BY pk")
    assert all(s["availability"] == "active" for s in states)


def test_kill_9_mid_cycle_then_restart_records_each_transition_once(x_sandbox: XSandbox, watched: Path) -> None:
    x = x_sandbox
    with Daemon(watched) as first:
        cycles(x, 2)
        x.set_withheld("withheld_one", ["TR"])
        x.suspend("suspended_one")
        cycles(x, 3)  # both confirmed and recorded
        x.set_withheld("calm_one", ["IN"])
        cycles(x, 1)  # seen once: pending
        x.pause()
        assert x.wait_for_held(1, WAIT)
        first.kill()  # in the middle of a cycle, with a request in flight
    x.resume()
    before = history(watched)
    with Daemon(watched) as second:
        cycles(x, 4)
        assert second.stop() == 0
    after = history(watched)
    assert Counter((r["handle"], r["kind"]) for r in before) == Counter(
        {("withheld_one", "withheld"): 1, ("suspended_one", "suspended"): 1})
    assert Counter((r["handle"], r["kind"]) for r in after) == Counter(
        {("withheld_one", "withheld"): 1, ("suspended_one", "suspended"): 1, ("calm_one", "withheld"): 1})


def test_check_prints_state_and_writes_nothing(x_sandbox: XSandbox, watched: Path) -> None:
    x_sandbox.set_withheld("withheld_one", ["TR", "IN"])
    x_sandbox.suspend("suspended_one")
    result = presswatch("check", "--json", config=watched)
    assert result.returncode == 0, result.stderr
    rows = {row["handle"]: row for row in json.loads(result.stdout)}
    assert rows["withheld_one"]["withheld_in"] == ["IN", "TR"]
    assert rows["suspended_one"]["availability"] == "suspended"
    assert rows["gone_one"]["availability"] == "active" and rows["gone_one"]["error"] is None
    assert not (watched.parent / "presswatch.db").exists()

    table = presswatch("check", "@withheld_one", "https://x.com/nobody_here", config=watched)
    assert table.returncode == 0
    assert "withheld_one" in table.stdout and "not_found" in table.stdout


def test_check_fails_with_exit_1_when_x_is_down(x_sandbox: XSandbox, watched: Path) -> None:
    x_sandbox.fail_next("401")
    result = presswatch("check", "--json", "withheld_one", config=watched)
    assert result.returncode == 1
    [row] = json.loads(result.stdout)
    assert "401" in row["error"] and row["availability"] is None
    assert "sandbox-token" not in result.stdout + result.stderr


def test_check_refuses_a_bad_handle_with_usage(watched: Path) -> None:
    result = presswatch("check", "not a handle!", config=watched)
    assert result.returncode == 2
    assert "usage: presswatch check" in result.stderr


def test_validate_names_key_and_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("version: 1\ndatabase: x.db\nx:\n  bearer_token: t0ken-value\n  pol_interval: 10m\n"
                    "watchlist:\n  - handle: 'bad handle'\n")
    result = presswatch("validate", config=path)
    assert result.returncode == 2
    assert "x.pol_interval: unknown key" in result.stderr and "(line 5)" in result.stderr
    assert "watchlist.0.handle" in result.stderr and "(line 7)" in result.stderr
    ok = presswatch("validate", config=Path(__file__).resolve().parent.parent / "config.example.yaml")
    assert ok.returncode == 0, ok.stderr


def test_config_flag_is_accepted_after_and_before_the_command(watched: Path) -> None:
    after = presswatch("validate", config=watched)
    before = presswatch("-c", str(watched), "validate")
    assert after.returncode == before.returncode == 0
