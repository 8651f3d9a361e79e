"""X, Bluesky and Mastodon end to end: `presswatch run` against all three sandboxes (two Mastodon instances,
one before 4.3), the Telegram sandbox for alerts, and `presswatch history --json` for what was recorded."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e import WAIT, Daemon, db_rows, history, presswatch, wait_until, write_config

from bot.countries import BLUESKY_LABELERS
from bot.sandbox.bluesky_api import BlueskySandbox
from bot.sandbox.mastodon_api import MastodonSandbox
from bot.sandbox.telegram_api import TelegramSandbox
from bot.sandbox.x_api import XSandbox

TR = BLUESKY_LABELERS["TR"]
EVERYTHING, BSKY_ONLY, MASTO_ONLY, X_ONLY = -1001, -1002, -1003, -1004


def fast() -> dict[str, Any]:
    """Compressed time, as the X section of the sandbox configs (a fresh dict: YAML aliases are refused)."""
    return {"poll_interval": 0.3, "timeout": 1, "rate_limit": {"requests": 50, "per": 5}}


@pytest.fixture
def bsky() -> Iterator[BlueskySandbox]:
    with BlueskySandbox() as sandbox:
        sandbox.slow_seconds = 2.0
        yield sandbox


@pytest.fixture
def masto() -> Iterator[MastodonSandbox]:
    with MastodonSandbox("mastodon.social", version="4.3.0") as sandbox:
        sandbox.slow_seconds = 2.0
        yield sandbox


@pytest.fixture
def old_masto() -> Iterator[MastodonSandbox]:
    with MastodonSandbox("old.social", version="4.2.0") as sandbox:
        sandbox.slow_seconds = 2.0
        yield sandbox


def config(tmp: Path, x: XSandbox, bsky: BlueskySandbox, masto: MastodonSandbox, old: MastodonSandbox,
           tg: TelegramSandbox, watchlist: list[dict[str, Any]]) -> Path:
    for chat in (EVERYTHING, BSKY_ONLY, MASTO_ONLY, X_ONLY):
        tg.add_chat(chat, "supergroup", title=str(chat))
    every = ["restricted", "restored", "other"]  # each written out: the config refuses YAML aliases
    return write_config(
        tmp, x_url=x.base_url, tg_url=tg.base_url, watchlist=watchlist,
        subscribers=[
            {"name": "all", "telegram_chat": EVERYTHING, "events": list(every)},
            {"name": "bluesky desk", "telegram_chat": BSKY_ONLY, "events": list(every), "platforms": ["bluesky"]},
            {"name": "mastodon desk", "telegram_chat": MASTO_ONLY, "events": list(every), "platforms": ["mastodon"]},
            {"name": "x desk", "telegram_chat": X_ONLY, "events": list(every), "platforms": ["x"]},
        ],
        extra={"bluesky": {"api_base_url": bsky.base_url, "labelers": {"TR": TR}, **fast()},
               "mastodon": {"instance_urls": {"mastodon.social": masto.base_url, "old.social": old.base_url},
                            **fast()}})


def transitions(cfg: Path) -> list[dict[str, Any]]:
    return db_rows(cfg, "SELECT t.platform, t.kind, t.countries, t.handle FROM transitions t ORDER BY t.id")


def baselined(cfg: Path, count: int) -> bool:
    try:
        rows = db_rows(cfg, "SELECT count(*) AS n FROM accounts WHERE availability IS NOT NULL")
    except Exception:  # the daemon has not created the database yet
        return False
    return bool(rows[0]["n"] >= count)


def alerts(tg: TelegramSandbox, chat: int) -> list[str]:
    """One entry per alert, digests split into their lines."""
    found = []
    for message in tg.sent_to(chat):
        plain = message["plain"]
        if re.match(r"presswatch: \d+ changes at once", plain):
            found.extend(line for line in plain.splitlines()[1:] if line and line[0] in "🔴🟢🔵")
        else:
            found.append(plain.splitlines()[0])
    return found


def test_a_mixed_entry_alerts_by_platform_and_the_platforms_filter_routes_them(
        x_sandbox: XSandbox, bsky: BlueskySandbox, masto: MastodonSandbox, old_masto: MastodonSandbox,
        tg_sandbox: TelegramSandbox, tmp_path: Path) -> None:
    x_sandbox.add_account("MahirZeynalov")
    did = bsky.add_account("mahir.bsky.social", name="Mahir Zeynalov")
    masto.add_account("mahir", name="Mahir Zeynalov")
    old = old_masto.add_account("reporter")
    cfg = config(tmp_path, x_sandbox, bsky, masto, old_masto, tg_sandbox, [
        {"name": "Mahir Zeynalov", "x": "MahirZeynalov", "bluesky": "mahir.bsky.social",
         "mastodon": "mahir@mastodon.social", "tags": ["journalist"]},
        {"mastodon": "reporter@old.social"},
    ])
    with Daemon(cfg) as daemon:
        wait_until(lambda: baselined(cfg, 4), what="the baseline of all four accounts")
        x_sandbox.set_withheld("MahirZeynalov", ["TR"])
        bsky.label(did, TR, "!hide")
        masto.set("mahir", suspended=True)
        old_masto.set(old, limited=True)
        wait_until(lambda: len(transitions(cfg)) == 4, what="four transitions")
        bsky.negate(did, TR)  # the labeler negates its label: the AppView stops serving it
        wait_until(lambda: len(transitions(cfg)) == 5, what="the label lifted")
        assert tg_sandbox.wait_for_messages(1, WAIT)
        wait_until(lambda: len(alerts(tg_sandbox, EVERYTHING)) == 5, what="five alerts in the everything chat")
        assert daemon.stop() == 0

    recorded = {(t["platform"], t["kind"], t["handle"]) for t in transitions(cfg)}
    assert recorded == {("x", "withheld", "MahirZeynalov"), ("bluesky", "withheld", "mahir.bsky.social"),
                        ("bluesky", "unwithheld", "mahir.bsky.social"),
                        ("mastodon", "suspended", "mahir@mastodon.social"),
                        ("mastodon", "limited", "reporter@old.social")}
    assert len(transitions(cfg)) == 5  # each once
    rows = history(cfg, "mahir.bsky.social")
    assert [(r["platform"], r["kind"], r["countries"], r["id"]) for r in rows] == [
        ("bluesky", "unwithheld", ["TR"], did), ("bluesky", "withheld", ["TR"], did)]
    everything = alerts(tg_sandbox, EVERYTHING)
    assert any("@mahir.bsky.social is now hidden in Turkey (TR) on Bluesky" in a for a in everything), everything
    assert any("@mahir@mastodon.social has been suspended on Mastodon" in a for a in everything), everything
    assert any("@MahirZeynalov is now withheld in Turkey (TR)" in a and "on X" not in a for a in everything)
    assert len(alerts(tg_sandbox, BSKY_ONLY)) == 2 and all("Bluesky" in a for a in alerts(tg_sandbox, BSKY_ONLY))
    assert len(alerts(tg_sandbox, MASTO_ONLY)) == 2 and all("Mastodon" in a for a in alerts(tg_sandbox, MASTO_ONLY))
    assert len(alerts(tg_sandbox, X_ONLY)) == 1
    lanes = {r["platform"] for r in db_rows(cfg, "SELECT DISTINCT platform FROM polls")}
    assert lanes == {"x", "bluesky", "mastodon:mastodon.social", "mastodon:old.social"}
    # the instance before 4.3 is read one account a request, never by the batch route again
    assert sum(r.path == "/api/v1/accounts" for r in old_masto.requests) == 1


def test_no_false_transition_under_each_platforms_faults_and_omissions(
        x_sandbox: XSandbox, bsky: BlueskySandbox, masto: MastodonSandbox, old_masto: MastodonSandbox,
        tg_sandbox: TelegramSandbox, tmp_path: Path) -> None:
    x_sandbox.add_account("steady")
    handles = [f"user{i}.bsky.social" for i in range(30)]  # two getProfiles a pass
    for handle in handles:
        bsky.add_account(handle)
    gone = bsky.add_account("gone.bsky.social")
    bsky.set(gone, taken_down=True)  # omitted by every getProfiles, classified alone each time
    ids = [masto.add_account(f"m{i}") for i in range(3)]
    old_masto.add_account("old")
    cfg = config(tmp_path, x_sandbox, bsky, masto, old_masto, tg_sandbox, [
        {"handle": "steady"}, *({"bluesky": h} for h in [*handles, "gone.bsky.social"]),
        *({"mastodon": f"m{i}@mastodon.social"} for i in range(3)), {"mastodon": "old@old.social"},
    ])
    faults = ["500", "502", "503", "timeout", "malformed", "drop", "429"]
    with Daemon(cfg) as daemon:
        wait_until(lambda: baselined(cfg, 1 + 31 + 4), what="every account's baseline")
        for sandbox in (bsky, masto, old_masto):
            for fault in faults:
                sandbox.fail_next("ok")  # spread over the passes, so that single lookups are hit too
                sandbox.fail_next(fault)
        for sandbox, extra in ((bsky, 6), (masto, 6), (old_masto, 6)):
            target = sandbox.request_count + 2 * len(faults) + extra
            assert sandbox.wait_for_requests(target, WAIT), f"{sandbox.name}: {sandbox.request_count} of {target}"
        assert transitions(cfg) == [], "a fault or an omission became a transition"
        masto.set(ids[0], suspended=True)
        bsky.set(handles[0], deactivated=True)
        wait_until(lambda: len(transitions(cfg)) == 2, what="the two real changes")
        assert daemon.stop() == 0
    assert {(t["platform"], t["kind"]) for t in transitions(cfg)} == {
        ("mastodon", "suspended"), ("bluesky", "deactivated")}
    suspended = db_rows(cfg, "SELECT availability FROM accounts WHERE handle = 'gone.bsky.social'")
    assert suspended == [{"availability": "suspended"}]


def test_check_reads_every_platform_and_history_names_it(
        x_sandbox: XSandbox, bsky: BlueskySandbox, masto: MastodonSandbox, old_masto: MastodonSandbox,
        tg_sandbox: TelegramSandbox, tmp_path: Path) -> None:
    x_sandbox.add_account("MahirZeynalov")
    did = bsky.add_account("mahir.bsky.social")
    bsky.label(did, TR)
    ident = masto.add_account("mahir")
    masto.set(ident, limited=True)
    cfg = config(tmp_path, x_sandbox, bsky, masto, old_masto, tg_sandbox, [
        {"name": "Mahir Zeynalov", "x": "MahirZeynalov", "bluesky": "mahir.bsky.social",
         "mastodon": "mahir@mastodon.social"}])
    result = presswatch("check", "--json", config=cfg)
    assert result.returncode == 0, result.stderr
    rows = {row["platform"]: row for row in json.loads(result.stdout)}
    assert (rows["x"]["handle"], rows["x"]["limited"]) == ("MahirZeynalov", False)
    assert (rows["bluesky"]["id"], rows["bluesky"]["withheld_in"]) == (did, ["TR"])
    assert (rows["mastodon"]["handle"], rows["mastodon"]["id"], rows["mastodon"]["limited"]) == (
        "mahir@mastodon.social", ident, True)
    one = presswatch("check", "--json", "https://bsky.app/profile/mahir.bsky.social", config=cfg)
    assert [row["handle"] for row in json.loads(one.stdout)] == ["mahir.bsky.social"]
    assert not (tmp_path / "presswatch.db").exists()  # check writes nothing
