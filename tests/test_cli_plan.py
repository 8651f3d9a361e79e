"""`presswatch plan` and the plan's warnings in `validate`, as real processes: nothing is sent to X."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.storage.accounts import Store, open_db
from bot.storage.outbox import Outbox
from tests.e2e import presswatch

HEAD = "version: 1\ndatabase: presswatch.db\nx:\n  bearer_token: ${X_BEARER_TOKEN}\n  api_base_url: http://127.0.0.1:9\n"


def write(tmp_path: Path, accounts: int, *, x: str = "", rest: str = "", own: str = "") -> Path:
    """A config with ``accounts`` watched handles (X at a closed port: any request would fail loudly)."""
    path = tmp_path / "config.yaml"
    path.write_text(HEAD + x + rest + "watchlist:\n" + "".join(f"  - handle: reporter{n}\n" for n in range(accounts))
                    + own)
    return path


def plan(path: Path) -> dict[str, object]:
    result = presswatch("plan", "--json", config=path)
    assert result.returncode == 0, result.stderr
    found: dict[str, object] = json.loads(result.stdout)
    return found


def test_plan_json_for_1000_accounts_on_the_default_budget(tmp_path: Path) -> None:
    found = plan(write(tmp_path, 1000))
    assert {key: found[key] for key in ("accounts", "requests_per_pass", "pass_seconds", "poll_interval_seconds",
                                        "latency_seconds", "cost_usd", "warnings")} == {
        "accounts": 1000, "requests_per_pass": 10, "pass_seconds": 33.333,  # 10 requests, 3.3 s apart
        "poll_interval_seconds": 60.0,  # auto: the budget allows 33 s, min_poll_interval says a minute
        "latency_seconds": {"mean": 45.0, "max": 75.0},  # half a period / a period, then one recheck 15 s later
        "cost_usd": {"day": 10.0, "month": 300.0}, "warnings": []}
    assert found["tiers"] == [{"interval_seconds": 60.0, "accounts": 1000, "own": False,
                               "latency_seconds": {"mean": 45.0, "max": 75.0}}]
    assert not (tmp_path / "presswatch.db").exists()  # plan creates nothing


def test_plan_for_30000_accounts_with_own_intervals_and_a_thin_reserve(tmp_path: Path) -> None:
    own = "  - handle: named_in_court\n    poll_interval: 1m\n  - handle: also_named\n    poll_interval: 1s\n"
    found = plan(write(tmp_path, 30_000, x="  reserve: 1%\n", own=own))
    assert (found["accounts"], found["requests_per_pass"], found["poll_interval"]) == (30_002, 301, "auto")
    assert found["pass_seconds"] == pytest.approx(301 / (300 * 0.99 / 900), abs=0.01)
    tiers = [(tier["interval_seconds"], tier["accounts"], tier["own"]) for tier in found["tiers"]]  # type: ignore[attr-defined, index]
    assert tiers == [(found["poll_interval_seconds"], 30_000, False), (1.0, 1, True), (60.0, 1, True)]
    assert found["cost_usd"] == {"day": 300.02, "month": 9000.6}
    warnings: list[str] = found["warnings"]  # type: ignore[assignment]
    assert len(warnings) == 2, warnings
    assert warnings[0].startswith("watchlist.30001.poll_interval: 1s for @also_named is shorter than the 3s between")
    assert warnings[1].startswith("x.reserve: 1% leaves about ")


def test_plan_counts_the_accounts_added_on_telegram(tmp_path: Path) -> None:
    path = write(tmp_path, 150)
    db = open_db(tmp_path / "presswatch.db")
    store, now = Store(db, Outbox(db)), datetime(2026, 12, 1, tzinfo=UTC)
    for n in range(60):
        store.add_account(f"added{n}", [], "telegram", None, now)
    store.add_account("reporter3", [], "telegram", None, now)  # also in the config: counted once
    db.close()
    found = plan(path)
    assert (found["accounts"], found["accounts_added_on_telegram"], found["requests_per_pass"]) == (210, 60, 3)
    text = presswatch("plan", config=path)
    assert text.returncode == 0, text.stderr
    assert "accounts            210 (210 on the shared period, 0 with their own interval, 60 of them added on " \
           "Telegram)" in text.stdout.splitlines()


def test_plan_text_names_every_figure(tmp_path: Path) -> None:
    result = presswatch("plan", config=write(tmp_path, 200, x="  poll_interval: 10m\n"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split("  ")[0] for line in lines] == [
        "accounts", "budget", "a full pass", "poll interval", "periods in use", "detection latency",
        "pay-per-use cost"]
    assert "poll interval       10m, as configured" in lines
    assert "pay-per-use cost    $2.00 a day, $60.00 a 30-day month ($0.010 per account read, billed once per UTC " \
           "day)" in lines


def test_validate_prints_the_plans_warnings_and_still_passes(tmp_path: Path) -> None:
    path = write(tmp_path, 3000, x="  poll_interval: 1m\n  jitter: 5s\n")
    result = presswatch("validate", config=path)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 3, result.stderr
    assert warnings[0].startswith("warning: x.poll_interval 1m for 3,000 accounts: need 50.0 account reads a "
                                  "second, more than the 30.0 the budget allows")
    assert warnings[1].startswith("warning: x.reserve: 10% leaves about 333 reads a period (1m40s) for rechecks")
    assert warnings[2].startswith("warning: x.jitter: no longer used")
    assert f"{path}: valid (3000 watched accounts" in result.stdout


def test_plan_refuses_an_invalid_config(tmp_path: Path) -> None:
    result = presswatch("plan", "--json", config=write(tmp_path, 1, x="  poll_interval: soon\n"))
    assert (result.returncode, result.stdout) == (2, "")
    assert "x.poll_interval: 'soon' is not a duration (use auto, 30s" in result.stderr


def test_plan_budgets_bluesky_and_each_mastodon_instance_on_their_own(tmp_path: Path) -> None:
    home = lambda n: "mastodon.social" if n % 2 else "kolektiva.social"  # noqa: E731
    people = "".join(f"  - name: Person {n}\n    x: person{n}\n    bluesky: person{n}.bsky.social\n"
                     f"    mastodon: person{n}@{home(n)}\n" for n in range(100))
    rest = "bluesky: {}\nmastodon:\n  rate_limit: {requests: 300, per: 5m}\n"
    found = plan(write(tmp_path, 1000, rest=rest, own=people))
    assert found["accounts"] == 1100 and found["requests_per_pass"] == 11  # X: 1,000 handles and 100 people
    lanes = {lane["lane"]: lane for lane in found["platforms"]}  # type: ignore[attr-defined]
    assert list(lanes) == ["bluesky", "mastodon:kolektiva.social", "mastodon:mastodon.social"]
    bluesky, kolektiva = lanes["bluesky"], lanes["mastodon:kolektiva.social"]
    assert (bluesky["accounts"], bluesky["requests_per_pass"], bluesky["accounts_per_request"]) == (100, 4, 25)
    assert bluesky["rate_limit"] == {"requests": 3000, "per_seconds": 300.0}
    assert (kolektiva["accounts"], kolektiva["requests_per_pass"], kolektiva["accounts_per_request"]) == (50, 2, 40)
    assert kolektiva["poll_interval_seconds"] == 60.0  # auto, on its own 300 requests every 5 minutes
    text = presswatch("plan", config=tmp_path / "config.yaml").stdout
    assert "Bluesky:" in text and "Mastodon (mastodon.social):" in text and "100 accounts, 4 requests a pass" in text
